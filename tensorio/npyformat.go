package tensorio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/tide-compiler/tide/te"
)

// A minimal reader and writer of the .npy format (numpy's
// lib/format.py) for the arrays inside .npz weight files. npyio trusts the
// header it reads: it allocates the header length it is told (up to 4 GiB)
// and a slice as long as the claimed shape before reading any data, and it
// slices the header by where it finds its keys, which panics on a damaged
// one. Here the header is parsed as the Python literal it is, and its shape
// is checked against the bytes the member really holds before anything is
// allocated for it.

// npyMagic starts every .npy file.
const npyMagic = "\x93NUMPY"

// maxNpyHeader bounds the header we read (numpy's own reader refuses
// headers over 10000 bytes unless told otherwise).
const maxNpyHeader = 1 << 16

// npyHeader is what a .npy header says about its array.
type npyHeader struct {
	Descr   string // as written, e.g. "<f4"
	DType   te.DType
	Order   binary.ByteOrder // of multi-byte elements
	Fortran bool
	Shape   []int
	// DataStart is the offset of the first element (the header's end).
	DataStart int64
}

// npyDescr is the dtype string numpy writes for a Tide dtype.
func npyDescr(t te.DType) string {
	switch {
	case t.IsBool():
		return "|b1"
	case t.Bytes() == 1 && t.IsInt():
		return "|i1"
	case t.Bytes() == 1 && t.IsUInt():
		return "|u1"
	case t.IsInt():
		return fmt.Sprintf("<i%d", t.Bytes())
	case t.IsUInt():
		return fmt.Sprintf("<u%d", t.Bytes())
	}
	return fmt.Sprintf("<f%d", t.Bytes())
}

// parseNpyDescr maps a numpy dtype string to a Tide dtype and byte order;
// ok is false for the dtypes Tide has no equivalent of.
func parseNpyDescr(descr string) (te.DType, binary.ByteOrder, bool) {
	if len(descr) < 2 {
		return te.Invalid, nil, false
	}
	var order binary.ByteOrder
	switch descr[0] {
	case '<', '|':
		order = binary.LittleEndian
	case '>':
		order = binary.BigEndian
	case '=':
		order = binary.NativeEndian
	default:
		return te.Invalid, nil, false
	}
	for _, t := range te.ScalarTypes {
		if npyDescr(t)[1:] == descr[1:] {
			return t, order, true
		}
	}
	return te.Invalid, nil, false
}

// numpyName is how numpy spells a dtype in Python ("np.uint8").
func numpyName(t te.DType) string {
	if t.IsBool() {
		return "np.bool_"
	}
	return "np." + t.String()
}

// pyShape formats a shape as numpy prints it: (3, 4), (5,), ().
func pyShape(shape []int) string {
	if len(shape) == 1 {
		return fmt.Sprintf("(%d,)", shape[0])
	}
	s := make([]string, len(shape))
	for i, d := range shape {
		s[i] = strconv.Itoa(d)
	}
	return "(" + strings.Join(s, ", ") + ")"
}

// npyPrefixLen is the length of the magic, version and header length of a
// .npy file of the given major version, or 0 for versions we do not know.
func npyPrefixLen(major byte) int {
	switch major {
	case 1:
		return 10
	case 2, 3:
		return 12
	}
	return 0
}

// npyHeaderLen reads the header length from a prefix of npyPrefixLen bytes.
func npyHeaderLen(prefix []byte) int64 {
	if prefix[6] == 1 {
		return int64(binary.LittleEndian.Uint16(prefix[8:]))
	}
	return int64(binary.LittleEndian.Uint32(prefix[8:]))
}

// parseNpyHeader parses the header dictionary, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }, checking the
// shape's element count stays within te.MaxElements.
func parseNpyHeader(text string) (npyHeader, error) {
	p := &pyParser{s: text}
	v, err := p.value(0)
	if err != nil {
		return npyHeader{}, err
	}
	p.space()
	if p.i != len(p.s) {
		return npyHeader{}, fmt.Errorf("unexpected %q after the header dictionary", clip(p.s[p.i:]))
	}
	dict, ok := v.(map[string]any)
	if !ok {
		return npyHeader{}, errors.New("the header is not a dictionary")
	}
	var h npyHeader
	for k := range dict {
		if k != "descr" && k != "fortran_order" && k != "shape" {
			return h, fmt.Errorf("the header has an unknown key %q", k)
		}
	}
	switch d := dict["descr"].(type) {
	case string:
		h.Descr = d
		h.DType, h.Order, _ = parseNpyDescr(d)
	case nil:
		return h, errors.New("the header has no 'descr'")
	default:
		h.Descr = "structured" // a list of fields: no Tide dtype
	}
	fo, ok := dict["fortran_order"].(bool)
	if !ok {
		return h, errors.New("the header has no 'fortran_order' True or False")
	}
	h.Fortran = fo
	shape, ok := dict["shape"].(pyTuple)
	if !ok {
		return h, errors.New("the header has no 'shape' tuple")
	}
	n := int64(1)
	for _, d := range shape {
		v, ok := d.(int64)
		if !ok || v < 0 {
			return h, fmt.Errorf("the header's shape has a dimension %v", d)
		}
		if v > te.MaxElements || (v > 0 && n > te.MaxElements/v) {
			return h, fmt.Errorf("the header's shape is larger than %d elements", int64(te.MaxElements))
		}
		n *= v
		h.Shape = append(h.Shape, int(v))
	}
	return h, nil
}

func clip(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}

// pyTuple and the other Go types of pyParser's values: map[string]any for
// dicts, []any for lists, string, int64, bool, and nil for None.
type pyTuple []any

// pyParser reads the subset of Python literals .npy headers use.
type pyParser struct {
	s string
	i int
}

func (p *pyParser) space() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *pyParser) value(depth int) (any, error) {
	if depth > 16 {
		return nil, errors.New("the header nests too deeply")
	}
	p.space()
	if p.i >= len(p.s) {
		return nil, errors.New("the header ends early")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		p.i++
		dict := map[string]any{}
		for {
			p.space()
			if p.i < len(p.s) && p.s[p.i] == '}' {
				p.i++
				return dict, nil
			}
			k, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			key, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("the header has a key %v that is not a string", k)
			}
			if _, dup := dict[key]; dup {
				return nil, fmt.Errorf("the header has the key %q twice", key)
			}
			if err := p.expect(':'); err != nil {
				return nil, err
			}
			if dict[key], err = p.value(depth + 1); err != nil {
				return nil, err
			}
			if err := p.sep('}'); err != nil {
				return nil, err
			}
		}
	case c == '(' || c == '[':
		p.i++
		end := byte(')')
		if c == '[' {
			end = ']'
		}
		var items []any
		for {
			p.space()
			if p.i < len(p.s) && p.s[p.i] == end {
				p.i++
				if c == '[' {
					return items, nil
				}
				return pyTuple(items), nil
			}
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			items = append(items, v)
			if err := p.sep(end); err != nil {
				return nil, err
			}
		}
	case c == '\'' || c == '"':
		p.i++
		var b strings.Builder
		for p.i < len(p.s) && p.s[p.i] != c {
			if p.s[p.i] == '\\' && p.i+1 < len(p.s) {
				p.i++
			}
			b.WriteByte(p.s[p.i])
			p.i++
		}
		if p.i >= len(p.s) {
			return nil, errors.New("the header has an unterminated string")
		}
		p.i++
		return b.String(), nil
	case c == '-' || c >= '0' && c <= '9':
		j := p.i + 1
		for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
			j++
		}
		v, err := strconv.ParseInt(p.s[p.i:j], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("the header has a bad number %q", clip(p.s[p.i:j]))
		}
		if j < len(p.s) && p.s[j] == 'L' { // Python 2's long integers
			j++
		}
		p.i = j
		return v, nil
	}
	for word, v := range map[string]any{"True": true, "False": false, "None": nil} {
		if strings.HasPrefix(p.s[p.i:], word) {
			p.i += len(word)
			return v, nil
		}
	}
	return nil, fmt.Errorf("the header has %q where a value should be", clip(p.s[p.i:]))
}

func (p *pyParser) expect(c byte) error {
	p.space()
	if p.i >= len(p.s) || p.s[p.i] != c {
		return fmt.Errorf("the header lacks a %q", c)
	}
	p.i++
	return nil
}

// sep reads the comma after an item, or sees the closing bracket.
func (p *pyParser) sep(end byte) error {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == ',' {
		p.i++
		return nil
	}
	if p.i < len(p.s) && p.s[p.i] == end {
		return nil
	}
	return fmt.Errorf("the header lacks a ',' or %q", end)
}

// encodeNpy returns a .npy file holding b (version 1.0, C order, little
// endian, the header padded so the data starts at a multiple of 64 bytes, as
// numpy writes it).
func encodeNpy(b *te.Buffer) []byte {
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", npyDescr(b.DType), pyShape(b.Shape))
	prefix := 10
	if len(dict)+1 > math.MaxUint16-64 {
		prefix = 12
	}
	total := (prefix + len(dict) + 1 + 63) / 64 * 64
	n, size := b.Len(), b.DType.Bytes()
	out := make([]byte, total, total+n*size)
	copy(out, npyMagic)
	hlen := total - prefix
	if prefix == 10 {
		out[6] = 1
		binary.LittleEndian.PutUint16(out[8:], uint16(hlen))
	} else {
		out[6] = 2
		binary.LittleEndian.PutUint32(out[8:], uint32(hlen))
	}
	copy(out[prefix:], dict)
	for i := prefix + len(dict); i < total-1; i++ {
		out[i] = ' '
	}
	out[total-1] = '\n'
	for i := 0; i < n; i++ {
		switch {
		case b.DType.IsFloat() && size == 4:
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(float32(b.Floats[i])))
		case b.DType.IsFloat():
			out = binary.LittleEndian.AppendUint64(out, math.Float64bits(b.Floats[i]))
		case size == 1:
			out = append(out, byte(b.Ints[i]))
		case size == 2:
			out = binary.LittleEndian.AppendUint16(out, uint16(b.Ints[i]))
		case size == 4:
			out = binary.LittleEndian.AppendUint32(out, uint32(b.Ints[i]))
		default:
			out = binary.LittleEndian.AppendUint64(out, uint64(b.Ints[i]))
		}
	}
	return out
}

// decodeNpyData fills a buffer of h's dtype and shape from data, which
// holds exactly its elements, converting big-endian and Fortran-ordered
// arrays. It fails on bool bytes other than 0 and 1.
func decodeNpyData(h npyHeader, data []byte) (*te.Buffer, error) {
	b := te.NewBuffer(h.DType, h.Shape)
	n, size := b.Len(), h.DType.Bytes()
	if len(data) != n*size {
		return nil, fmt.Errorf("%d bytes of data for %d elements", len(data), n)
	}
	// dest maps the k-th element of the file to its row-major index.
	dest := func(k int) int { return k }
	if h.Fortran && len(h.Shape) > 1 {
		strides := rowMajorStrides(h.Shape)
		dest = func(k int) int {
			// k counts in column-major order: the first index varies fastest
			i := 0
			for d := 0; d < len(h.Shape); d++ {
				i += (k % h.Shape[d]) * strides[d]
				k /= h.Shape[d]
			}
			return i
		}
	}
	o := h.Order
	for k := 0; k < n; k++ {
		e := data[k*size : (k+1)*size]
		i := dest(k)
		switch {
		case h.DType.IsFloat() && size == 4:
			b.Floats[i] = float64(math.Float32frombits(o.Uint32(e)))
		case h.DType.IsFloat():
			b.Floats[i] = math.Float64frombits(o.Uint64(e))
		case h.DType.IsBool():
			if e[0] > 1 {
				return nil, fmt.Errorf("element %s is the byte %d, not a bool (0 or 1)", te.IndexString(h.Shape, i), e[0])
			}
			b.Ints[i] = int64(e[0])
		case size == 1:
			b.Ints[i] = h.DType.Wrap(int64(e[0]))
		case size == 2:
			b.Ints[i] = h.DType.Wrap(int64(o.Uint16(e)))
		case size == 4:
			b.Ints[i] = h.DType.Wrap(int64(o.Uint32(e)))
		default:
			b.Ints[i] = int64(o.Uint64(e))
		}
	}
	return b, nil
}

func rowMajorStrides(shape []int) []int {
	s := make([]int, len(shape))
	stride := 1
	for d := len(shape) - 1; d >= 0; d-- {
		s[d] = stride
		stride *= shape[d]
	}
	return s
}
