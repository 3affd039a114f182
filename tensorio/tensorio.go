// Package tensorio moves tensors between te.Buffers and the outside world:
// NumPy .npy files (through codeberg.org/sbinet/npyio, so numpy users can feed
// and check kernels) and seeded random inputs that respect declared ranges.
package tensorio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"codeberg.org/sbinet/npyio/npy"

	"tide/te"
)

// npyTypes maps the dtypes to the Go element types npyio reads and writes.
var npyTypes = map[te.DType]reflect.Type{
	te.Bool: reflect.TypeOf(false), te.Int8: reflect.TypeOf(int8(0)), te.Int16: reflect.TypeOf(int16(0)),
	te.Int32: reflect.TypeOf(int32(0)), te.Int64: reflect.TypeOf(int64(0)), te.UInt8: reflect.TypeOf(uint8(0)),
	te.UInt16: reflect.TypeOf(uint16(0)), te.UInt32: reflect.TypeOf(uint32(0)), te.UInt64: reflect.TypeOf(uint64(0)),
	te.Float32: reflect.TypeOf(float32(0)), te.Float64: reflect.TypeOf(float64(0)),
}

// WriteNpy writes b as a .npy file with its shape and dtype.
func WriteNpy(path string, b *te.Buffer) error {
	elem, ok := npyTypes[b.DType]
	if !ok {
		return fmt.Errorf("%s: cannot store %v in a .npy file", path, b.DType)
	}
	n := b.Len()
	flat := reflect.MakeSlice(reflect.SliceOf(elem), n, n)
	for i := 0; i < n; i++ {
		v := flat.Index(i)
		switch {
		case b.DType.IsFloat():
			v.SetFloat(b.Floats[i])
		case b.DType.IsBool():
			v.SetBool(b.Ints[i] != 0)
		case b.DType.IsUInt():
			v.SetUint(uint64(b.Ints[i]))
		default:
			v.SetInt(b.Ints[i])
		}
	}
	// npyio takes the shape from nested Go arrays: view the flat slice as one.
	var value any
	if len(b.Shape) == 0 {
		value = flat.Index(0).Interface()
	} else if n == 0 {
		return fmt.Errorf("%s: cannot write an empty tensor", path)
	} else {
		t := elem
		for d := len(b.Shape) - 1; d >= 0; d-- {
			t = reflect.ArrayOf(b.Shape[d], t)
		}
		value = reflect.NewAt(t, unsafe.Pointer(flat.Pointer())).Elem().Interface()
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := npy.Write(f, value); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

// ReadNpy reads a .npy file into a buffer.
func ReadNpy(path string) (b *te.Buffer, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	defer func() {
		// npyio trusts the header (shapes, lengths); a damaged file must
		// still be an error, not a crash
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("%s: not a valid .npy file (%v)", path, r)
		}
	}()
	if err := checkNpyPrefix(f); err != nil {
		return nil, fmt.Errorf("%s: not a valid .npy file: %w", path, err)
	}
	for _, d := range peekShape(path) {
		if d < 0 || d > te.MaxElements {
			return nil, fmt.Errorf("%s: not a valid .npy file: shape dimension %d", path, d)
		}
	}
	r, err := npy.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: not a .npy file: %w", path, err)
	}
	if r.Header.Descr.Fortran {
		return nil, fmt.Errorf("%s: Fortran-ordered arrays are not supported; save with numpy.ascontiguousarray", path)
	}
	goType := npy.TypeFrom(r.Header.Descr.Type)
	var dt te.DType
	for d, t := range npyTypes {
		if t == goType {
			dt = d
		}
	}
	if dt == te.Invalid {
		return nil, fmt.Errorf("%s: unsupported element type %s", path, r.Header.Descr.Type)
	}
	shape := append([]int{}, r.Header.Descr.Shape...)
	ptr := reflect.New(reflect.SliceOf(goType))
	if err := r.Read(ptr.Interface()); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%s: the file holds fewer elements than its shape %v needs", path, shape)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if n, _ := f.Read(make([]byte, 1)); n > 0 {
		return nil, fmt.Errorf("%s: the file holds more data than its shape %v", path, shape)
	}
	flat := ptr.Elem()
	b = te.NewBuffer(dt, shape)
	if flat.Len() != b.Len() {
		return nil, fmt.Errorf("%s: %d elements for shape %v", path, flat.Len(), shape)
	}
	for i := 0; i < flat.Len(); i++ {
		v := flat.Index(i)
		switch {
		case dt.IsFloat():
			b.Floats[i] = v.Float()
		case dt.IsBool():
			if v.Bool() {
				b.Ints[i] = 1
			}
		case dt.IsUInt():
			b.Ints[i] = int64(v.Uint())
		default:
			b.Ints[i] = v.Int()
		}
	}
	return b, nil
}

// checkNpyPrefix checks a .npy file's prefix (magic, version, header
// length) against the file's size before npyio trusts it: a damaged length
// must be an error, not an allocation of up to 4 GB. It leaves f at its
// start.
func checkNpyPrefix(f *os.File) error {
	info, err := f.Stat()
	if err != nil {
		return err
	}
	size := info.Size()
	prefix := make([]byte, 12)
	n, _ := io.ReadFull(f, prefix)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if n < 10 || string(prefix[:6]) != "\x93NUMPY" {
		return fmt.Errorf("it does not start with numpy's magic \\x93NUMPY and a version (%d bytes in all)", size)
	}
	var header, start int64
	switch prefix[6] {
	case 1:
		header, start = int64(binary.LittleEndian.Uint16(prefix[8:10])), 10
	case 2, 3:
		if n < 12 {
			return fmt.Errorf("the file is %d bytes; a version %d header needs 12 before it", size, prefix[6])
		}
		header, start = int64(binary.LittleEndian.Uint32(prefix[8:12])), 12
	default:
		return fmt.Errorf("format version %d.%d; numpy writes versions 1 to 3", prefix[6], prefix[7])
	}
	if start+header > size {
		return fmt.Errorf("its header length says %d bytes, but the file has %d after the %d-byte prefix (a damaged or cut file)", header, size-start, start)
	}
	return nil
}

// peekShape reads the shape from a .npy header before npyio allocates for it
// (nil when the header cannot be read; npyio then reports the problem).
func peekShape(path string) []int {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	m := shapeInHeader.FindSubmatch(head[:n])
	if m == nil {
		return nil
	}
	var dims []int
	for _, d := range strings.Split(string(m[1]), ",") {
		if d = strings.TrimSpace(strings.TrimSuffix(d, "L")); d != "" {
			v, err := strconv.Atoi(d)
			if err != nil {
				return []int{-1}
			}
			dims = append(dims, v)
		}
	}
	return dims
}

var shapeInHeader = regexp.MustCompile(`'shape':\s*\(([^)]*)\)`)

// Inputs returns the kernel's input buffers in argument order: NAME.npy from
// dir where dir is set, random values from seed otherwise (each input from
// its own stream, so one input's values do not depend on another's shape).
// random reports which inputs were generated.
func Inputs(k *te.Kernel, sizes map[*te.Var]int64, dir string, seed uint64) (bufs []*te.Buffer, random []bool, err error) {
	for i, t := range k.Inputs {
		shape, err := te.ShapeOf(t, sizes)
		if err != nil {
			return nil, nil, err
		}
		if dir != "" {
			path := filepath.Join(dir, t.Name+".npy")
			b, err := ReadNpy(path)
			if errors.Is(err, fs.ErrNotExist) {
				return nil, nil, fmt.Errorf("input %s: %s does not exist", t.Name, path)
			}
			if err != nil {
				return nil, nil, fmt.Errorf("input %s: %w", t.Name, err)
			}
			if b.DType != t.DType || !slices.Equal(b.Shape, shape) {
				return nil, nil, fmt.Errorf("input %s: %s holds %v%v, but %s is %v%v", t.Name, path, b.DType, b.Shape, t.Name, t.DType, shape)
			}
			if err := checkRange(t, b); err != nil {
				return nil, nil, fmt.Errorf("input %s: %s: %w", t.Name, path, err)
			}
			bufs, random = append(bufs, b), append(random, false)
			continue
		}
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		bufs, random = append(bufs, te.RandomBuffer(t.DType, shape, t.Range, rng)), append(random, true)
	}
	for i, t := range k.Inputs {
		if random[i] {
			clearPaddingBits(k, t, bufs[i])
		}
	}
	return bufs, random, nil
}

// clearPaddingBits zeroes the bits of random packed words that lie past a
// binary operator's elements: the operators count every bit of a word and
// take the bits past the last channel to be zero, as bitpack leaves them
// (a file's words are the caller's to pack that way). A packed input is a
// placeholder that a tensor tagged with "elements" reads, directly or
// through a padding stage, with the reduction's word axis (the reduce
// axis of ceil(elements / word bits) iterations) as one of its indices.
func clearPaddingBits(k *te.Kernel, x *te.Tensor, b *te.Buffer) {
	if !x.DType.IsUInt() || x.DType.Lanes != 1 {
		return
	}
	wordBits := int64(x.DType.Bits)
	for _, op := range te.PostOrder(k.Outputs) {
		elements, ok := op.Attrs["elements"]
		if !ok || elements%wordBits == 0 {
			continue
		}
		r, isReduce := op.Body.(*te.Reduce)
		if !isReduce {
			continue
		}
		words := (elements + wordBits - 1) / wordBits
		for _, rv := range r.Axes {
			if n, ok := te.IntValue(rv.Extent); !ok || n != words {
				continue
			}
			te.Walk(op.Body, func(e te.Expr) bool {
				read, ok := e.(*te.Read)
				if !ok {
					return true
				}
				src := read.Tensor
				if src.Tag == "pad" && len(src.Inputs()) > 0 {
					src = src.Inputs()[0] // padding keeps the word axis where it is
				}
				if src != x {
					return true
				}
				for axis, idx := range read.Indices {
					if idx == te.Expr(rv.Var) {
						maskLastWord(b, axis, words, uint64(1)<<(elements%wordBits)-1)
					}
				}
				return true
			})
		}
	}
}

// maskLastWord ANDs every word at index words-1 of axis with mask.
func maskLastWord(b *te.Buffer, axis int, words int64, mask uint64) {
	if axis >= len(b.Shape) || int64(b.Shape[axis]) != words {
		return
	}
	inner := 1
	for _, d := range b.Shape[axis+1:] {
		inner *= d
	}
	for i := range b.Ints {
		if int64(i/inner%b.Shape[axis]) == words-1 {
			b.Ints[i] = int64(uint64(b.Ints[i]) & mask)
		}
	}
}

func checkRange(t *te.Tensor, b *te.Buffer) error {
	if t.Range == nil {
		return nil
	}
	for i := 0; i < b.Len(); i++ {
		if v := b.Float(i); v < t.Range.Lo || v > t.Range.Hi { // inclusive, as declared
			return fmt.Errorf("element %s is %s, outside the declared range %v..%v", te.IndexString(b.Shape, i), b.ElementString(i), t.Range.Lo, t.Range.Hi)
		}
	}
	return nil
}
