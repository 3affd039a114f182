package te

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
)

// Buffer holds the values of a tensor in row-major order. Integer and bool
// elements live in Ints in canonical form (see DType.Wrap; uint64 keeps its
// bits), float elements in Floats (a float32 element holds a value exactly
// representable in float32).
type Buffer struct {
	DType  DType
	Shape  []int
	Ints   []int64
	Floats []float64
}

// NewBuffer makes a zeroed buffer.
func NewBuffer(t DType, shape []int) *Buffer {
	b := &Buffer{DType: t, Shape: append([]int{}, shape...)}
	n := NumElements(shape)
	if t.IsFloat() {
		b.Floats = make([]float64, n)
	} else {
		b.Ints = make([]int64, n)
	}
	return b
}

// Memory is the buffer as its C array in memory on both targets (little
// endian; bools one byte each).
func (b *Buffer) Memory() []byte {
	size := max(1, b.DType.Bytes())
	out := make([]byte, b.Len()*size)
	for i := 0; i < b.Len(); i++ {
		var bits uint64
		switch {
		case b.DType.IsFloat() && b.DType.Bits == 32:
			bits = uint64(math.Float32bits(float32(b.Floats[i])))
		case b.DType.IsFloat():
			bits = math.Float64bits(b.Floats[i])
		default:
			bits = uint64(b.Ints[i])
		}
		for k := 0; k < size; k++ {
			out[i*size+k] = byte(bits >> (8 * k))
		}
	}
	return out
}

// NumElements is the product of a shape's extents.
func NumElements(shape []int) int {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return n
}

// Len is the number of elements.
func (b *Buffer) Len() int { return NumElements(b.Shape) }

// Float returns element i as a float64 (integers converted).
func (b *Buffer) Float(i int) float64 {
	if b.Floats != nil {
		return b.Floats[i]
	}
	if b.DType.Kind == KindUInt {
		return float64(uint64(b.Ints[i]))
	}
	return float64(b.Ints[i])
}

// ElementString formats element i.
func (b *Buffer) ElementString(i int) string {
	switch {
	case b.DType.IsFloat():
		return strconv.FormatFloat(b.Floats[i], 'g', -1, b.DType.Bits)
	case b.DType.IsBool():
		return fmt.Sprint(b.Ints[i] != 0)
	case b.DType.Kind == KindUInt:
		return fmt.Sprint(uint64(b.Ints[i]))
	}
	return fmt.Sprint(b.Ints[i])
}

// IndexString formats the multi-index of flat element i, e.g. "[2, 7]".
func IndexString(shape []int, i int) string {
	idx := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		idx[d] = i % shape[d]
		i /= shape[d]
	}
	return fmt.Sprint(idx)
}

// RandomBuffer fills a buffer with values drawn uniformly from vr (inclusive;
// for floats [Lo, Hi)), or when vr is nil from the whole range of an integer
// type and from [-1, 1) for floats.
func RandomBuffer(t DType, shape []int, vr *ValueRange, rng *rand.Rand) *Buffer {
	b := NewBuffer(t, shape)
	if t.IsFloat() {
		lo, hi := -1.0, 1.0
		if vr != nil {
			lo, hi = vr.Lo, vr.Hi
		}
		for i := range b.Floats {
			v := roundTo(t, lo+(hi-lo)*rng.Float64())
			for v >= hi && hi > lo { // rounding may reach hi: draw again
				v = roundTo(t, lo+(hi-lo)*rng.Float64())
			}
			b.Floats[i] = v
		}
		return b
	}
	if vr == nil {
		for i := range b.Ints {
			b.Ints[i] = t.Wrap(int64(rng.Uint64()))
		}
		return b
	}
	// Work in uint64 offsets from lo, so the whole int64 and uint64 ranges fit.
	lo, hi := rangeBits(vr.Lo), rangeBits(vr.Hi)
	span := hi - lo + 1 // 0 when the range covers all 2^64 values
	for i := range b.Ints {
		if span == 0 {
			b.Ints[i] = int64(rng.Uint64())
		} else {
			b.Ints[i] = int64(lo + rng.Uint64N(span))
		}
	}
	return b
}

// rangeBits is the two's complement bit pattern of an integral bound in
// [-2^63, 2^64]; 2^63 and 2^64, which float64 bounds of MaxInt64 and
// MaxUint64 round to, become 2^63-1 and 2^64-1.
func rangeBits(v float64) uint64 {
	switch {
	case v < 0:
		return uint64(int64(v))
	case v >= 1<<64:
		return math.MaxUint64
	case v == 1<<63:
		return math.MaxInt64
	}
	return uint64(v)
}

// Mismatch describes how a result differs from a reference: MaxErr is the
// largest absolute difference of float elements; First is the first
// element outside the tolerance, or -1.
type Mismatch struct {
	MaxErr float64
	First  int
	Detail string // "at (i, j): got X, want Y" for First
}

// Compare checks got against the reference want: integers (and bools)
// exactly, floats within relTol relative error (|got-want| <= relTol*(1+|want|));
// NaN equals NaN.
func Compare(got, want *Buffer, relTol float64) Mismatch {
	return CompareWithin(got, want, relTol, relTol)
}

// CompareWithin is Compare with separate tolerances, as numpy's allclose:
// a float element passes when |got-want| <= atol + rtol*|want|.
func CompareWithin(got, want *Buffer, rtol, atol float64) Mismatch {
	m := Mismatch{First: -1}
	if got.DType != want.DType || got.Len() != want.Len() {
		m.First = 0
		m.Detail = fmt.Sprintf("got %v%v, want %v%v", got.DType, got.Shape, want.DType, want.Shape)
		return m
	}
	for i := 0; i < want.Len(); i++ {
		bad := false
		if want.Floats != nil {
			g, w := got.Floats[i], want.Floats[i]
			if math.IsNaN(g) && math.IsNaN(w) {
				continue
			}
			d := 0.0
			if g != w {
				d = math.Abs(g - w)
				if math.IsNaN(d) { // one NaN, or infinities of opposite signs
					d = math.Inf(1)
				}
			}
			m.MaxErr = max(m.MaxErr, d)
			bad = math.IsInf(d, 1) || d > atol+rtol*math.Abs(w)
		} else {
			bad = got.Ints[i] != want.Ints[i]
		}
		if bad && m.First < 0 {
			m.First = i
			m.Detail = fmt.Sprintf("at %s: got %s, want %s", IndexString(want.Shape, i), got.ElementString(i), want.ElementString(i))
		}
	}
	return m
}
