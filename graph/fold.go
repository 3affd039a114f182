package graph

import (
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/topi"
)

// foldBitpack computes a bitpack of a known tensor directly: what the
// reference evaluator computes for topi.Bitpack's compute (tested against
// it), about 50 times faster. Packing a network's binary weights is most of
// its build time otherwise. ok is false for a compute it does not know
// (then the evaluator computes it: a bitpack without its attributes is
// not packed with zero parameters).
func foldBitpack(t *te.Tensor, in map[*te.Tensor]*te.Buffer) (out *te.Buffer, ok bool) {
	a, isBitpack := t.Attrs.(topi.BitpackAttrs)
	if t.Tag != topi.TagBitpack || !isBitpack || len(t.Inputs()) != 1 {
		return nil, false
	}
	x := in[t.Inputs()[0]]
	if x == nil || x.Ints == nil {
		return nil, false
	}
	packAxis, bitAxis, word, n := a.PackAxis, a.BitAxis, a.WordBits, a.Elements
	shape := make([]int, len(t.Shape))
	for i, d := range t.Shape {
		v, isConst := te.IntValue(d)
		if !isConst {
			return nil, false
		}
		shape[i] = int(v)
	}
	out = te.NewBuffer(t.DType, shape)
	// x's strides, row-major
	xs := x.Shape
	stride := make([]int, len(xs))
	for d, s := len(xs)-1, 1; d >= 0; d-- {
		stride[d] = s
		s *= xs[d]
	}
	idx := make([]int, len(shape))
	for o := range out.Ints {
		// the output index of o, then the input position of its word
		for d, r := len(shape)-1, o; d >= 0; d-- {
			idx[d] = r % shape[d]
			r /= shape[d]
		}
		b := idx[bitAxis]
		base := 0
		for d, s := 0, 0; d < len(shape); d++ {
			if d == bitAxis {
				continue
			}
			v := idx[d]
			if s == packAxis {
				v *= word
			}
			base += v * stride[s]
			s++
		}
		first := idx[bitAxisSkip(packAxis, bitAxis)] * word
		var w uint64
		for k := 0; k < word && first+k < n; k++ {
			w |= uint64((x.Ints[base+k*stride[packAxis]]>>b)&1) << k
		}
		out.Ints[o] = t.DType.Wrap(int64(w))
	}
	return out, true
}

// bitAxisSkip is the output axis of the input's packAxis: the bit axis is
// inserted before it when bitAxis <= packAxis.
func bitAxisSkip(packAxis, bitAxis int) int {
	if bitAxis <= packAxis {
		return packAxis + 1
	}
	return packAxis
}
