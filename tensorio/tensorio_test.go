package tensorio

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
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
	f.Add(numpyScalar("<f4", "\x00\x00@@")) // a 0-d array
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

// numpyScalar is what np.save writes for a numpy scalar (a 0-d array),
// byte for byte as numpy 1.24 (Debian 12's python3-numpy) writes it:
// version 1.0, a header padded with spaces to 128 bytes in all, then the
// element. np.save("x.npy", np.float32(3)) is numpyScalar("<f4", "\x00\x00@@").
func numpyScalar(descr, data string) []byte {
	header := "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (), }"
	header += strings.Repeat(" ", 128-10-len(header)-1) + "\n"
	return []byte("\x93NUMPY\x01\x00v\x00" + header + data) // v: 118, the header's length
}

// 0-d arrays (issue 13): numpy's np.save of a scalar is read as a buffer
// of shape [], and WriteNpy writes shape () for one, so np.load gives a
// 0-d array back.
func TestNpyZeroDimensional(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		descr, data string
		want        *te.Buffer
	}{
		{"<f4", "\x00\x00@@", &te.Buffer{DType: te.Float32, Shape: []int{}, Floats: []float64{3}}},
		{"<f8", "\x00\x00\x00\x00\x00\x00\xd0\xbf", &te.Buffer{DType: te.Float64, Shape: []int{}, Floats: []float64{-0.25}}},
		{"<i8", "\xfb\xff\xff\xff\xff\xff\xff\xff", &te.Buffer{DType: te.Int64, Shape: []int{}, Ints: []int64{-5}}},
		{"|b1", "\x01", &te.Buffer{DType: te.Bool, Shape: []int{}, Ints: []int64{1}}},
	} {
		path := filepath.Join(dir, c.descr[1:]+".npy")
		raw := numpyScalar(c.descr, c.data)
		if len(raw) != 128+len(c.data) {
			t.Fatalf("%s: the fixture is %d bytes, numpy writes %d", c.descr, len(raw), 128+len(c.data))
		}
		os.WriteFile(path, raw, 0o644)
		got, err := ReadNpy(path)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(c.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", c.descr, d)
		}
		out := filepath.Join(dir, "w"+c.descr[1:]+".npy")
		if err := WriteNpy(out, got); err != nil {
			t.Fatal(err)
		}
		written, _ := os.ReadFile(out)
		if !bytes.Contains(written, []byte("'shape': ()")) {
			t.Errorf("%s: WriteNpy's header %q", c.descr, written)
		}
		back, err := ReadNpy(out)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(c.want, back); d != "" {
			t.Errorf("%s: round trip (-want +got):\n%s", c.descr, d)
		}
	}
	// a 0-d input is read from a 0-d file, and a file of shape (1,) is refused
	alpha, _ := te.Placeholder("alpha", nil, te.Float32)
	y, _ := te.Compute("y", nil, func([]te.Expr) te.Expr { return te.MulOf(alpha.At(), te.Float(2)) })
	k, _ := te.NewKernel("k", []*te.Tensor{alpha}, []*te.Tensor{y}, nil)
	os.WriteFile(filepath.Join(dir, "alpha.npy"), numpyScalar("<f4", "\x00\x00@@"), 0o644)
	in, _, err := Inputs(k, nil, dir, 0)
	if err != nil || len(in[0].Shape) != 0 || in[0].Floats[0] != 3 {
		t.Fatalf("Inputs: %v %v", in, err)
	}
	if err := WriteNpy(filepath.Join(dir, "alpha.npy"), &te.Buffer{DType: te.Float32, Shape: []int{1}, Floats: []float64{3}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Inputs(k, nil, dir, 0); err == nil || !strings.Contains(err.Error(), "holds float32[1], but alpha is float32[]") {
		t.Errorf("a (1,) file for a 0-d input: %v", err)
	}
}

// numpy reads WriteNpy's 0-d arrays as 0-d arrays (when a python3 with
// numpy is here).
func TestNumpyLoadsZeroDimensional(t *testing.T) {
	python := numpyPython(t)
	dir := t.TempDir()
	WriteNpy(filepath.Join(dir, "f.npy"), &te.Buffer{DType: te.Float32, Shape: []int{}, Floats: []float64{-1.5}})
	WriteNpy(filepath.Join(dir, "u.npy"), &te.Buffer{DType: te.UInt16, Shape: []int{}, Ints: []int64{65535}})
	script := `
import sys, numpy as np
f, u = np.load(sys.argv[1] + "/f.npy"), np.load(sys.argv[1] + "/u.npy")
assert f.shape == () and f.dtype == np.float32 and f == np.float32(-1.5), repr(f)
assert u.shape == () and u.dtype == np.uint16 and u == 65535, repr(u)
print("ok")
`
	out, err := exec.Command(python, "-c", script, dir).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("numpy: %v\n%s", err, out)
	}
}
