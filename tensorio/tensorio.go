// Package tensorio moves tensors between te.Buffers and the outside world:
// NumPy .npy files (written through codeberg.org/sbinet/npyio, read by the
// checked parser the .npz weights use, so that numpy users can feed and
// check kernels and a damaged file is a clear error) and seeded random
// inputs that respect declared ranges.
package tensorio

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"unsafe"

	"codeberg.org/sbinet/npyio/npy"

	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/topi"
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

// ReadNpy reads a .npy file into a buffer. It reads with the same checked
// parser as the .npz weights (npyformat.go), not npyio's reader, which
// trusts the header: the prefix, the header's length, the header itself
// and the data's size are checked against the file before anything is
// allocated for them, and a damaged file is an error saying what is wrong.
// Big-endian and Fortran-ordered arrays are converted.
func ReadNpy(path string) (*te.Buffer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := info.Size()
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("%s: not a valid .npy file: %s", path, fmt.Sprintf(format, args...))
	}
	var prefix [12]byte
	if n, _ := io.ReadFull(f, prefix[:min(12, int(min(size, 12)))]); n < 10 || string(prefix[:6]) != npyMagic {
		return nil, invalid("it does not start with numpy's magic \\x93NUMPY, a version and a header length (%d bytes in all)", size)
	}
	pl := int64(npyPrefixLen(prefix[6]))
	if pl == 0 {
		return nil, invalid("format version %d.%d; numpy writes versions 1 to 3", prefix[6], prefix[7])
	}
	if pl > size {
		return nil, invalid("the file is %d bytes; a version %d prefix needs %d", size, prefix[6], pl)
	}
	hlen := npyHeaderLen(prefix[:pl])
	if pl+hlen > size {
		return nil, invalid("its header length says %d bytes, but the file has %d after the %d-byte prefix (a damaged or cut file)", hlen, size-pl, pl)
	}
	if hlen > maxNpyHeader {
		return nil, invalid("its header length says %d bytes (numpy writes less than %d)", hlen, maxNpyHeader)
	}
	text := make([]byte, hlen)
	if _, err := f.ReadAt(text, pl); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	h, err := parseNpyHeader(string(text))
	if err != nil {
		return nil, invalid("%v", err)
	}
	if h.DType == te.Invalid {
		return nil, fmt.Errorf("%s: unsupported element type %q", path, h.Descr)
	}
	dataLen := int64(te.NumElements(h.Shape)) * int64(h.DType.Bytes()) // at most 2^34
	switch have := size - pl - hlen; {
	case have < dataLen:
		return nil, fmt.Errorf("%s: the file holds fewer elements than its shape %v needs (%d bytes of data, want %d)", path, h.Shape, have, dataLen)
	case have > dataLen:
		return nil, fmt.Errorf("%s: the file holds more data than its shape %v (%d bytes, want %d)", path, h.Shape, have, dataLen)
	}
	data := make([]byte, dataLen)
	if _, err := f.ReadAt(data, pl+hlen); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b, err := decodeNpyData(h, data)
	if err != nil {
		return nil, invalid("%v", err)
	}
	return b, nil
}

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
// placeholder that a binary operator's reduction (one with
// topi.Elements) reads, directly or through a padding stage, with the
// reduction's word axis (the reduce axis of ceil(elements / word bits)
// iterations) as one of its indices.
func clearPaddingBits(k *te.Kernel, x *te.Tensor, b *te.Buffer) {
	if !x.DType.IsUInt() || x.DType.Lanes != 1 {
		return
	}
	wordBits := int64(x.DType.Bits)
	for _, op := range te.PostOrder(k.Outputs) {
		n, ok := topi.Elements(op)
		elements := int64(n)
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
				if src.Tag == topi.TagPad && len(src.Inputs()) > 0 {
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
