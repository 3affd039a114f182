package tensorio

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npz"
	"github.com/google/go-cmp/cmp"

	"github.com/tide-compiler/tide/te"
)

// Every dtype survives SaveWeights then LoadWeights with its shape, and
// numpy's format as another reader (npyio) sees it holds the same values.
func TestWeightsRoundTrip(t *testing.T) {
	var specs []WeightSpec
	shapes := [][]int{{3, 3, 1, 8, 2}, {4, 5}, {7}, {}, {2, 0, 3}}
	for i, dt := range te.ScalarTypes {
		specs = append(specs, WeightSpec{Name: "w_" + dt.String(), DType: dt, Shape: shapes[i%len(shapes)], Layer: "layer " + dt.String()})
	}
	bufs := RandomWeights(specs, 42)
	path := filepath.Join(t.TempDir(), "w.npz")
	if err := SaveWeights(path, specs, bufs); err != nil {
		t.Fatal(err)
	}
	got, err := LoadWeights(path, specs)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(bufs, got); d != "" {
		t.Fatalf("round trip (-saved +loaded):\n%s", d)
	}
	// the same file, read by npyio
	var f32 []float32
	if err := npz.Read(mustOpen(t, path), "w_float32.npy", &f32); err != nil {
		t.Fatal(err)
	}
	var u64 []uint64
	if err := npz.Read(mustOpen(t, path), "w_uint64.npy", &u64); err != nil {
		t.Fatal(err)
	}
	for i, s := range specs {
		switch s.DType {
		case te.Float32:
			for j, v := range f32 {
				if float64(v) != bufs[i].Floats[j] {
					t.Fatalf("npyio reads float32 element %d as %v, want %v", j, v, bufs[i].Floats[j])
				}
			}
		case te.UInt64:
			for j, v := range u64 {
				if int64(v) != bufs[i].Ints[j] {
					t.Fatalf("npyio reads uint64 element %d as %v, want %v", j, v, uint64(bufs[i].Ints[j]))
				}
			}
		}
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// RandomWeights follows ranges, is reproducible, and an array's values do
// not depend on the other arrays.
func TestRandomWeights(t *testing.T) {
	specs := []WeightSpec{
		{Name: "a", DType: te.UInt8, Shape: []int{100}, Range: &te.ValueRange{Lo: 0, Hi: 1}},
		{Name: "b", DType: te.Float32, Shape: []int{10, 10}, Range: &te.ValueRange{Lo: -0.5, Hi: 0.5}},
	}
	x, y := RandomWeights(specs, 7), RandomWeights(specs, 7)
	if d := cmp.Diff(x, y); d != "" {
		t.Fatalf("same seed, different weights:\n%s", d)
	}
	if msg := outOfRange(x[0], specs[0].Range) + outOfRange(x[1], specs[1].Range); msg != "" {
		t.Fatal(msg)
	}
	if d := cmp.Diff(x[1], RandomWeights(specs[1:], 7)[0]); d != "" {
		t.Fatalf("b depends on a:\n%s", d)
	}
	if cmp.Equal(x, RandomWeights(specs, 8)) {
		t.Fatal("seeds 7 and 8 give the same weights")
	}
}

// fixtureSpecs is the network of testdata/numpy_weights.npz, and
// fixtureValues the values make_weights.py stores there.
var fixtureSpecs = []WeightSpec{
	{Name: "u8", DType: te.UInt8, Shape: []int{3, 3, 1, 2, 4}},
	{Name: "i8", DType: te.Int8, Shape: []int{5}},
	{Name: "i16", DType: te.Int16, Shape: []int{4, 5}},
	{Name: "i32", DType: te.Int32, Shape: []int{2, 3, 4}},
	{Name: "u64", DType: te.UInt64, Shape: []int{2, 2}},
	{Name: "f32", DType: te.Float32, Shape: []int{2, 5}},
	{Name: "f64", DType: te.Float64, Shape: []int{3}},
	{Name: "flags", DType: te.Bool, Shape: []int{2, 3}},
	{Name: "scalar", DType: te.Float32, Shape: []int{}},
	{Name: "fortran", DType: te.Float32, Shape: []int{3, 4}},
	{Name: "fortran3", DType: te.Int16, Shape: []int{2, 3, 4}},
	{Name: "big_i32", DType: te.Int32, Shape: []int{2, 3}},
	{Name: "big_f64", DType: te.Float64, Shape: []int{4}},
}

func fixtureValues() []*te.Buffer {
	ramp := func(s WeightSpec, scale, offset int64) *te.Buffer {
		b := te.NewBuffer(s.DType, s.Shape)
		for i := 0; i < b.Len(); i++ {
			if b.Floats != nil {
				b.Floats[i] = float64(int64(i)*scale + offset)
			} else {
				b.Ints[i] = s.DType.Wrap(int64(i)*scale + offset)
			}
		}
		return b
	}
	s := fixtureSpecs
	with := func(s WeightSpec, ints []int64, floats []float64) *te.Buffer {
		return &te.Buffer{DType: s.DType, Shape: s.Shape, Ints: ints, Floats: floats}
	}
	f32 := ramp(s[5], 1, 0)
	for i := range f32.Floats {
		f32.Floats[i] = f32.Floats[i]*0.25 - 1.5
	}
	return []*te.Buffer{
		ramp(s[0], 7, 0),
		with(s[1], []int64{-128, -1, 0, 1, 127}, nil),
		ramp(s[2], 1000, -9000),
		ramp(s[3], 100003, -1000000),
		with(s[4], []int64{0, 1, math.MinInt64, -1}, nil),
		f32,
		with(s[6], nil, []float64{0.1, -2.5, 1e300}),
		with(s[7], []int64{1, 0, 1, 0, 0, 1}, nil),
		with(s[8], nil, []float64{3.5}),
		ramp(s[9], 1, 0),
		ramp(s[10], 1, -5),
		ramp(s[11], 1000000, -3),
		with(s[12], nil, []float64{1.5, -0.125, 1e-300, 6.02e23}),
	}
}

// Files written by numpy's np.savez and np.savez_compressed load with their
// values: every dtype, a scalar, Fortran-ordered and big-endian arrays.
func TestLoadNumpyWeights(t *testing.T) {
	for _, name := range []string{"numpy_weights.npz", "numpy_weights_compressed.npz"} {
		t.Run(name, func(t *testing.T) {
			got, err := LoadWeights(filepath.Join("testdata", name), fixtureSpecs)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(fixtureValues(), got); d != "" {
				t.Fatalf("(-numpy wrote +loaded):\n%s", d)
			}
		})
	}
}

// numpy reads what SaveWeights writes (when a python3 with numpy is here).
func TestNumpyLoadsSavedWeights(t *testing.T) {
	python := numpyPython(t)
	path := filepath.Join(t.TempDir(), "w.npz")
	if err := SaveWeights(path, fixtureSpecs, fixtureValues()); err != nil {
		t.Fatal(err)
	}
	// numpy compares with the arrays of make_weights.py
	script := `
import sys, numpy as np
import runpy
good = runpy.run_path("testdata/make_weights.py", run_name="fixtures_only")["good"]
w = np.load(sys.argv[1])
assert sorted(w.files) == sorted(good), (w.files, list(good))
for k, v in good.items():
    got = w[k]
    assert got.dtype == v.dtype.newbyteorder("=") and got.shape == v.shape, (k, got.dtype, got.shape, v.dtype, v.shape)
    assert np.array_equal(got, v), (k, got, v)
print("ok")
`
	cmd := exec.Command(python, "-c", script, path)
	cmd.Dir = "."
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("numpy: %v\n%s", err, out)
	}
}

// badSpecs is the network testdata/numpy_bad.npz was written for.
var badSpecs = []WeightSpec{
	{Name: "b1_W1", DType: te.UInt8, Shape: []int{3, 3, 1, 8, 2}, Layer: "bitserial_conv2d b1_a (kernel)"},
	{Name: "b1_W2", DType: te.UInt8, Shape: []int{3, 3, 8, 8, 2}, Layer: "bitserial_conv2d b1_b (kernel)"},
	{Name: "fc_W", DType: te.Float32, Shape: []int{16, 10}, Layer: "dense fc (weight)"},
	{Name: "fc_b", DType: te.Float32, Shape: []int{10}, Layer: "dense fc (bias)"},
	{Name: "bn_scale", DType: te.Float32, Shape: []int{8}, Layer: "batch_norm bn (scale)"},
}

// One error lists every problem of a numpy-written file.
func TestLoadWeightsListsEveryProblem(t *testing.T) {
	_, err := LoadWeights("testdata/numpy_bad.npz", badSpecs)
	want := `testdata/numpy_bad.npz: no array b1_W1 for bitserial_conv2d b1_a (kernel); want uint8 (3, 3, 1, 8, 2) (the file has b1_w1: a misspelling?)
testdata/numpy_bad.npz: b1_W2 for bitserial_conv2d b1_b (kernel) has shape (3, 3, 8, 2, 8), want (3, 3, 8, 8, 2) (the same 1152 elements: another layout?)
testdata/numpy_bad.npz: fc_W for dense fc (weight) is float64, want float32: convert with .astype(np.float32)
testdata/numpy_bad.npz: fc_b for dense fc (bias) holds elements of numpy dtype "<f2", which Tide does not read; want float32: convert with .astype(np.float32)
testdata/numpy_bad.npz: no array bn_scale for batch_norm bn (scale); want float32 (8,)
testdata/numpy_bad.npz: extra array b1_w1 that the network does not use (did you mean b1_W1?)
testdata/numpy_bad.npz: extra array running_mean that the network does not use
testdata/numpy_bad.npz: the network's arrays are b1_W1, b1_W2, fc_W, fc_b, bn_scale`
	if err == nil || err.Error() != want {
		t.Fatalf("got\n%v\nwant\n%s", err, want)
	}
	var we *WeightsError
	if !errors.As(err, &we) || len(we.Problems) != 7 {
		t.Fatalf("%T %#v", err, err)
	}
}

// member is one entry of a test archive.
type member struct {
	name    string
	data    []byte
	deflate bool
	// claim, when set, is the uncompressed size the archive states.
	claim uint64
}

func makeNpz(t testing.TB, members ...member) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, m := range members {
		h := &zip.FileHeader{Name: m.name, Method: zip.Store, CRC32: crc32.ChecksumIEEE(m.data), UncompressedSize64: uint64(len(m.data))}
		body := m.data
		if m.deflate {
			h.Method = zip.Deflate
			var c bytes.Buffer
			fw, _ := flate.NewWriter(&c, flate.BestCompression)
			fw.Write(m.data)
			fw.Close()
			body = c.Bytes()
		}
		if m.claim != 0 {
			h.UncompressedSize64 = m.claim
		}
		h.CompressedSize64 = uint64(len(body))
		w, err := zw.CreateRaw(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// npyWith builds a .npy file from a header dictionary and data (version 1.0).
func npyWith(dict string, data []byte) []byte {
	hdr := []byte(npyMagic + "\x01\x00\x00\x00" + dict + "\n")
	binary.LittleEndian.PutUint16(hdr[8:], uint16(len(dict)+1))
	return append(hdr, data...)
}

func loadBytes(t *testing.T, data []byte, specs []WeightSpec) ([]*te.Buffer, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "weights.npz")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return LoadWeights(path, specs)
}

var w1 = WeightSpec{Name: "b1_W1", DType: te.UInt8, Shape: []int{3, 4}, Layer: "bitserial_conv2d b1_a (kernel)"}

// Each way a weights file can be broken is an error that says so.
func TestLoadWeightsErrors(t *testing.T) {
	good := encodeNpy(te.NewBuffer(te.UInt8, []int{3, 4}))
	f32 := encodeNpy(te.NewBuffer(te.Float32, []int{3, 4}))
	headerEnd := bytes.IndexByte(good, '\n') + 1
	huge := npyWith("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 1073741824), }", make([]byte, 12))
	v2 := append([]byte(npyMagic+"\x02\x00\xf0\xff\xff\xff"), make([]byte, 100)...)
	flip := append([]byte{}, good...)
	flip[len(flip)-1] ^= 1
	crcBad := bytes.Replace(makeNpz(t, member{name: "b1_W1.npy", data: good}), good, flip, 1)
	numpyGood, _ := os.ReadFile("testdata/numpy_weights.npz")
	cases := []struct {
		name  string
		file  []byte
		specs []WeightSpec
		want  []string // each must occur in the message
	}{
		{"not a zip", []byte("hello, world\n"), []WeightSpec{w1}, []string{
			"weights.npz: not an .npz file (np.savez writes a zip archive of NAME.npy arrays): zip: not a valid zip file"}},
		{"empty file", nil, []WeightSpec{w1}, []string{"weights.npz: the file is empty, not an .npz file"}},
		{"a .npy file", good, []WeightSpec{w1}, []string{"weights.npz: the file is a single .npy array, not an .npz archive of named arrays: save the weights with np.savez(path, NAME=array, ...)"}},
		{"cut archive", numpyGood[:len(numpyGood)/2], []WeightSpec{w1}, []string{"not an .npz file", "zip: not a valid zip file"}},
		{"missing", makeNpz(t), []WeightSpec{w1}, []string{
			"weights.npz: no array b1_W1 for bitserial_conv2d b1_a (kernel); want uint8 (3, 4)"}},
		{"wrong shape", makeNpz(t, member{name: "b1_W1.npy", data: encodeNpy(te.NewBuffer(te.UInt8, []int{4, 4}))}), []WeightSpec{w1}, []string{
			"weights.npz: b1_W1 for bitserial_conv2d b1_a (kernel) has shape (4, 4), want (3, 4)"}},
		{"wrong dtype", makeNpz(t, member{name: "b1_W1.npy", data: f32}), []WeightSpec{w1}, []string{
			"weights.npz: b1_W1 for bitserial_conv2d b1_a (kernel) is float32, want uint8: convert with .astype(np.uint8) (np.rint first if the values are not whole: astype truncates)"}},
		{"wrong dtype and shape", makeNpz(t, member{name: "b1_W1.npy", data: encodeNpy(te.NewBuffer(te.Int32, []int{12}))}), []WeightSpec{w1}, []string{
			"b1_W1 for bitserial_conv2d b1_a (kernel) is int32, want uint8: convert with .astype(np.uint8)\n",
			"b1_W1 for bitserial_conv2d b1_a (kernel) has shape (12,), want (3, 4) (the same 12 elements: another layout?)"}},
		{"extra", makeNpz(t, member{name: "b1_W1.npy", data: good}, member{name: "b1_W1_old.npy", data: good}), []WeightSpec{w1}, []string{
			"weights.npz: extra array b1_W1_old that the network does not use\n",
			"weights.npz: the network's arrays are b1_W1"}},
		{"typo", makeNpz(t, member{name: "b1_WI.npy", data: good}), []WeightSpec{w1}, []string{
			"weights.npz: no array b1_W1 for bitserial_conv2d b1_a (kernel); want uint8 (3, 4) (the file has b1_WI: a misspelling?)",
			"weights.npz: extra array b1_WI that the network does not use (did you mean b1_W1?)"}},
		{"positional", makeNpz(t, member{name: "arr_0.npy", data: good}), []WeightSpec{w1}, []string{
			"extra array arr_0 that the network does not use (np.savez names the arrays given without a keyword arr_0, arr_1, ...: pass each as NAME=array)"}},
		{"not an array", makeNpz(t, member{name: "b1_W1.npy", data: good}, member{name: "README.txt", data: []byte("hi")}), []WeightSpec{w1}, []string{
			`weights.npz: member "README.txt" is not a .npy array (np.savez stores each array as NAME.npy)`}},
		{"twice", makeNpz(t, member{name: "b1_W1.npy", data: good}, member{name: "b1_W1.npy", data: good}), []WeightSpec{w1}, []string{
			"weights.npz: the archive holds two arrays named b1_W1"}},
		{"no magic", makeNpz(t, member{name: "b1_W1.npy", data: []byte("just some text, no numpy header")}), []WeightSpec{w1}, []string{
			`weights.npz: b1_W1.npy is not a valid .npy array: it does not start with the .npy magic string "\x93NUMPY"`}},
		{"tiny member", makeNpz(t, member{name: "b1_W1.npy", data: []byte(npyMagic)}), []WeightSpec{w1}, []string{
			"weights.npz: b1_W1.npy is not a valid .npy array: it holds only 6 bytes"}},
		{"version", makeNpz(t, member{name: "b1_W1.npy", data: append([]byte(npyMagic+"\x04\x00"), good[8:]...)}), []WeightSpec{w1}, []string{
			"b1_W1.npy is not a valid .npy array: unknown .npy format version 4.0"}},
		{"cut header", makeNpz(t, member{name: "b1_W1.npy", data: good[:40]}), []WeightSpec{w1}, []string{
			"weights.npz: b1_W1.npy is not a valid .npy array: its header claims 118 bytes, but the member holds only 30 bytes after the first 10 (truncated?)"}},
		{"4 GiB header", makeNpz(t, member{name: "b1_W1.npy", data: v2}), []WeightSpec{w1}, []string{
			"b1_W1.npy is not a valid .npy array: its header claims 4294967280 bytes, but the member holds only 100 bytes after the first 12 (truncated?)"}},
		{"bad header", makeNpz(t, member{name: "b1_W1.npy", data: npyWith("{'descr': '|u1', 'fortran_order': Maybe, 'shape': (3, 4), }", make([]byte, 12))}), []WeightSpec{w1}, []string{
			`b1_W1.npy is not a valid .npy array: the header has "Maybe, 'shape': (3, ..." where a value should be`}},
		{"header key", makeNpz(t, member{name: "b1_W1.npy", data: npyWith("{'descr': '|u1', 'fortran_order': False, 'shape': (3, 4), 'x': 1}", make([]byte, 12))}), []WeightSpec{w1}, []string{
			`b1_W1.npy is not a valid .npy array: the header has an unknown key "x"`}},
		{"negative shape", makeNpz(t, member{name: "b1_W1.npy", data: npyWith("{'descr': '|u1', 'fortran_order': False, 'shape': (3, -4), }", make([]byte, 12))}), []WeightSpec{w1}, []string{
			"b1_W1.npy is not a valid .npy array: the header's shape has a dimension -4"}},
		{"shape beyond 2^31", makeNpz(t, member{name: "b1_W1.npy", data: npyWith("{'descr': '|u1', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", make([]byte, 12))}), []WeightSpec{w1}, []string{
			"b1_W1.npy is not a valid .npy array: the header's shape is larger than 2147483648 elements"}},
		{"huge shape, little data", makeNpz(t, member{name: "b1_W1.npy", data: huge}), []WeightSpec{w1}, []string{
			"has shape (2, 1073741824), want (3, 4)",
			"b1_W1.npy does not match its header (truncated): the header says uint8 (2, 1073741824), 2147483648 bytes of data, but the member holds 12"}},
		{"truncated data", makeNpz(t, member{name: "b1_W1.npy", data: good[:len(good)-2]}), []WeightSpec{w1}, []string{
			"weights.npz: b1_W1.npy does not match its header (truncated): the header says uint8 (3, 4), 12 bytes of data, but the member holds 10"}},
		{"extra data", makeNpz(t, member{name: "b1_W1.npy", data: append(append([]byte{}, good...), 0)}), []WeightSpec{w1}, []string{
			"b1_W1.npy does not match its header (more data than its shape): the header says uint8 (3, 4), 12 bytes of data, but the member holds 13"}},
		{"compressed, claims more than it holds", makeNpz(t, member{name: "b1_W1.npy", data: good[:headerEnd+5], deflate: true, claim: uint64(len(good))}), []WeightSpec{w1}, []string{
			"weights.npz: b1_W1.npy is not a valid .npy array: the member ends early (the archive is truncated or damaged)"}},
		{"checksum", crcBad, []WeightSpec{w1}, []string{"weights.npz: b1_W1.npy is damaged: zip: checksum error"}},
		{"bool byte", makeNpz(t, member{name: "m.npy", data: npyWith("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", []byte{1, 7})}), []WeightSpec{{Name: "m", DType: te.Bool, Shape: []int{2}, Layer: "where (mask)"}}, []string{
			"weights.npz: m for where (mask): element [1] is the byte 7, not a bool (0 or 1)"}},
		{"range", makeNpz(t, member{name: "b.npy", data: encodeNpy(&te.Buffer{DType: te.UInt8, Shape: []int{4}, Ints: []int64{0, 1, 2, 3}})}),
			[]WeightSpec{{Name: "b", DType: te.UInt8, Shape: []int{4}, Layer: "bitserial_dense d (kernel bits)", Range: &te.ValueRange{Lo: 0, Hi: 1}}}, []string{
				"weights.npz: b for bitserial_dense d (kernel bits): element [2] is 2, outside the declared range 0..1 (2 elements are)"}},
		{"bad specs", makeNpz(t), []WeightSpec{w1, w1, {Name: "", DType: te.Float32}}, []string{
			"weights.npz: the network lists b1_W1 twice", "weights.npz: weight 2 has no name"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bufs, err := loadBytes(t, c.file, c.specs)
			if err == nil {
				t.Fatalf("accepted: %v", bufs)
			}
			msg := err.Error() + "\n"
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message\n%s\nlacks\n%s", msg, w)
				}
			}
			if strings.Contains(msg, "runtime error") || strings.Contains(msg, "panic") {
				t.Errorf("message %q", msg)
			}
		})
	}
}

// A header's claimed shape costs nothing before the data is there: a
// compressed member that claims 1 GiB of data but holds 12 bytes is
// refused after allocating about what it holds.
func TestLoadWeightsAllocatesWhatTheFileHolds(t *testing.T) {
	spec := WeightSpec{Name: "big", DType: te.UInt8, Shape: []int{1 << 30}}
	npy := npyWith("{'descr': '|u1', 'fortran_order': False, 'shape': (1073741824,), }", make([]byte, 12))
	hlen := bytes.IndexByte(npy, '\n') + 1
	file := makeNpz(t, member{name: "big.npy", data: npy, deflate: true, claim: uint64(hlen + 1<<30)})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := readWeights(bytes.NewReader(file), int64(len(file)), "big.npz", []WeightSpec{spec})
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "the member ends early") {
		t.Fatalf("got %v", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 4<<20 {
		t.Fatalf("allocated %d bytes for a %d-byte file", n, len(file))
	}
}

// SaveWeights refuses buffers it cannot write faithfully, listing them all,
// and leaves no file behind.
func TestSaveWeightsErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.npz")
	specs := []WeightSpec{
		{Name: "a", DType: te.UInt8, Shape: []int{3}, Layer: "conv a (kernel)"},
		{Name: "b", DType: te.Float32, Shape: []int{2}},
		{Name: "c", DType: te.Int16, Shape: []int{2}},
		{Name: "d", DType: te.UInt8, Shape: []int{2}, Range: &te.ValueRange{Lo: 0, Hi: 1}},
		{Name: "e", DType: te.Int32, Shape: []int{2}},
	}
	bufs := []*te.Buffer{
		{DType: te.UInt8, Shape: []int{3}, Ints: []int64{1, 300, -1}},
		{DType: te.Float32, Shape: []int{2}, Floats: []float64{0.5, 0.1}},
		{DType: te.Int16, Shape: []int{3}, Ints: []int64{1, 2, 3}},
		{DType: te.UInt8, Shape: []int{2}, Ints: []int64{1, 2}},
		nil,
	}
	err := SaveWeights(path, specs, bufs)
	want := `w.npz: element [1] of a for conv a (kernel) is 300, not a uint8 value (2 elements are not)
w.npz: element [1] of b is 0.1, not a float32 value
w.npz: the buffer for c is int16 (3,), want int16 (2,)
w.npz: d: element [1] is 2, outside the declared range 0..1
w.npz: no buffer for e`
	if err == nil || strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "") != want {
		t.Fatalf("got\n%v\nwant\n%s", err, want)
	}
	if err := SaveWeights(path, specs, bufs[:2]); err == nil || !strings.Contains(err.Error(), "2 buffers for 5 weights") {
		t.Fatalf("got %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("left %v", entries)
	}
}

// FuzzLoadWeights feeds arbitrary bytes to the .npz reader: nothing may
// panic, errors must be WeightsErrors, weights it accepts must have their
// specs' dtypes and shapes, and no input may allocate far more than its
// size (a header cannot make it allocate what it claims).
func FuzzLoadWeights(f *testing.F) {
	for _, name := range []string{"numpy_weights.npz", "numpy_weights_compressed.npz", "numpy_bad.npz"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		// corrupted variants: cut, and with a header byte changed
		f.Add(data[:len(data)*2/3])
		for _, at := range []string{"'shape': (", "'descr': '", "NUMPY"} {
			if i := bytes.Index(data, []byte(at)); i >= 0 {
				bad := append([]byte{}, data...)
				bad[i+len(at)] ^= 0x20
				f.Add(bad)
			}
		}
	}
	small := encodeNpy(&te.Buffer{DType: te.UInt8, Shape: []int{5}, Ints: []int64{0, 1, 2, 3, 4}})
	f.Add(makeNpz(f, member{name: "u8.npy", data: small}))
	f.Add(makeNpz(f, member{name: "u8.npy", data: small, deflate: true}))
	f.Add(makeNpz(f, member{name: "u8.npy", data: npyWith("{'descr': '|u1', 'fortran_order': False, 'shape': (1073741824,), }", make([]byte, 5)), deflate: true, claim: 1 << 30}))
	f.Add(small)
	specs := fixtureSpecs
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		bufs, err := readWeights(bytes.NewReader(data), int64(len(data)), "fuzz.npz", specs)
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20+64*uint64(len(data)) {
			t.Fatalf("allocated %d bytes for %d bytes of input", n, len(data))
		}
		if err != nil {
			var we *WeightsError
			if !errors.As(err, &we) || len(we.Problems) == 0 {
				t.Fatalf("error %T %v", err, err)
			}
			if strings.Contains(err.Error(), "runtime error") {
				t.Fatal(err)
			}
			return
		}
		for i, s := range specs {
			b := bufs[i]
			if b.DType != s.DType || !cmp.Equal(b.Shape, s.Shape) || b.Len() != len(b.Ints)+len(b.Floats) {
				t.Fatalf("%s: read %v %v, want %v %v", s.Name, b.DType, b.Shape, s.DType, s.Shape)
			}
		}
	})
}

// numpyPython is a python3 that imports numpy; it skips the test when
// there is none.
func numpyPython(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(p, "-c", "import numpy").Run() == nil {
			return p
		}
	}
	t.Skip("no python3 with numpy")
	return ""
}
