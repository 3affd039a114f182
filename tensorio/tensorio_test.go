package tensorio

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tide-compiler/tide/te"
)

// Every dtype survives a round trip through a .npy file with its shape, and
// the header says what numpy needs to read it back.
func TestNpyRoundTrip(t *testing.T) {
	descr := map[te.DType]string{te.Bool: "'|b1'", te.Int8: "'|i1'", te.Int16: "'<i2'", te.Int32: "'<i4'",
		te.Int64: "'<i8'", te.UInt8: "'|u1'", te.UInt16: "'<u2'", te.UInt32: "'<u4'", te.UInt64: "'<u8'",
		te.Float32: "'<f4'", te.Float64: "'<f8'"}
	for _, dt := range te.ScalarTypes {
		t.Run(dt.String(), func(t *testing.T) {
			b := te.RandomBuffer(dt, []int{2, 3, 4}, nil, rand.New(rand.NewPCG(1, 2)))
			path := filepath.Join(t.TempDir(), "x.npy")
			if err := WriteNpy(path, b); err != nil {
				t.Fatal(err)
			}
			raw, _ := os.ReadFile(path)
			if !bytes.Contains(raw, []byte("'shape': (2, 3, 4)")) || !bytes.Contains(raw, []byte("'descr': "+descr[dt])) {
				t.Fatalf("header %q", raw[:90])
			}
			got, err := ReadNpy(path)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(b, got); d != "" {
				t.Fatalf("round trip (-wrote +read):\n%s", d)
			}
		})
	}
}

func TestReadNpyRejectsOtherFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.npy")
	os.WriteFile(path, []byte("not numpy"), 0o644)
	if _, err := ReadNpy(path); err == nil {
		t.Fatal("a text file was read as .npy")
	}
}

// Declared ranges bound random inputs, and reading a file outside the
// declared range is refused.
func TestInputsRespectRanges(t *testing.T) {
	X, _ := te.Placeholder("X", []te.Expr{te.Int(50)}, te.UInt8)
	if err := X.SetRange(0, 3); err != nil {
		t.Fatal(err)
	}
	Y, _ := te.Compute("Y", []te.Expr{te.Int(50)}, func(ax []te.Expr) te.Expr { return X.At(ax[0]) })
	k, _ := te.NewKernel("k", []*te.Tensor{X}, []*te.Tensor{Y}, nil)
	in, random, err := Inputs(k, nil, "", 5)
	if err != nil || !random[0] {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for _, v := range in[0].Ints {
		if v < 0 || v > 3 {
			t.Fatalf("value %d outside 0..3", v)
		}
		seen[v] = true
	}
	if len(seen) != 4 {
		t.Errorf("50 draws from 0..3 gave only %v", seen)
	}
	dir := t.TempDir()
	bad := te.NewBuffer(te.UInt8, []int{50})
	bad.Ints[7] = 4
	WriteNpy(filepath.Join(dir, "X.npy"), bad)
	if _, _, err := Inputs(k, nil, dir, 0); err == nil || !bytes.Contains([]byte(err.Error()), []byte("outside the declared range")) {
		t.Fatalf("got %v", err)
	}
}

// Damaged files are errors that say what is wrong, never crashes.
func TestReadNpyDamaged(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.npy")
	b := te.NewBuffer(te.Float32, []int{5})
	if err := WriteNpy(good, b); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(good)
	cases := map[string][]byte{
		"short data":     raw[:len(raw)-8],
		"extra data":     append(append([]byte{}, raw...), make([]byte, 8)...),
		"negative shape": bytes.Replace(raw, []byte("(5,)"), []byte("(-5,)"), 1),
		"huge shape":     bytes.Replace(raw, []byte("(5,)"), []byte("(99999999999999,)"), 1),
		"cut header":     []byte("\x93NUMPY\x01\x00\xff\x00{"),
		// issue 12: a header length of 2^32-1 (version 2) made npyio
		// allocate 4 GB; a file cut to 30 bytes panicked inside npyio
		"huge header length":  append([]byte("\x93NUMPY\x02\x00\xff\xff\xff\xff"), raw[10:]...),
		"header length 65535": append([]byte("\x93NUMPY\x01\x00\xff\xff"), raw[10:]...),
		"cut to 30 bytes":     raw[:30],
		"cut to 9 bytes":      raw[:9],
		"header length 0":     []byte("\x93NUMPY\x010\x00\x00"), // a crash FuzzReadNpy found in npyio
		"version 9":           append([]byte("\x93NUMPY\x09\x00"), raw[8:]...),
	}
	// each must be refused with what is wrong, not a recovered panic
	wantMsg := map[string]string{
		"huge header length":  "header length says 4294967295 bytes",
		"header length 65535": "header length says 65535 bytes",
		"cut to 30 bytes":     "a damaged or cut file",
		"cut to 9 bytes":      "magic",
		"version 9":           "format version 9.0",
	}
	for name, data := range cases {
		path := filepath.Join(dir, "bad.npy")
		os.WriteFile(path, data, 0o644)
		_, err := ReadNpy(path)
		switch {
		case err == nil:
			t.Errorf("%s: accepted", name)
		case wantMsg[name] != "" && !strings.Contains(err.Error(), wantMsg[name]):
			t.Errorf("%s: %v; want it to say %q", name, err, wantMsg[name])
		case strings.Contains(err.Error(), "runtime error"):
			t.Errorf("%s: a recovered panic, not a diagnosis: %v", name, err)
		default:
			t.Logf("%s: %v", name, err)
		}
	}
}

// FuzzReadNpy: whatever the bytes, ReadNpy returns a buffer or an error
// that says what is wrong, never a (recovered) runtime panic, and it does
// not allocate beyond what the file can hold (issue 12: a damaged header
// length allocated 4 GB).
func FuzzReadNpy(f *testing.F) {
	good := encodeNpy(&te.Buffer{DType: te.Float32, Shape: []int{2, 3}, Floats: []float64{1, 2, 3, 4, 5, 6}})
	f.Add(good)
	f.Add(good[:30])
	f.Add(append([]byte("\x93NUMPY\x02\x00\xff\xff\xff\xff"), good[10:]...))
	f.Add(append([]byte("\x93NUMPY\x01\x00\xff\xff"), good[10:]...))
	f.Add(bytes.Replace(good, []byte("(2, 3)"), []byte("(9999999, 3)"), 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "f.npy")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b, err := ReadNpy(path)
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20+64*uint64(len(data)) {
			t.Fatalf("allocated %d bytes for %d bytes of input", n, len(data))
		}
		if err != nil {
			if strings.Contains(err.Error(), "runtime error") {
				t.Fatalf("a recovered panic, not a diagnosis: %v", err)
			}
			return
		}
		if b.Len() != len(b.Ints)+len(b.Floats) {
			t.Fatalf("read %v%v with %d values", b.DType, b.Shape, len(b.Ints)+len(b.Floats))
		}
	})
}
