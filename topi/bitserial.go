package topi

import (
	"fmt"
	"math"

	"github.com/tide-compiler/tide/te"
)

// Polarity says what the bits of activations and weights mean.
type Polarity int

const (
	// UnipolarBipolar: unipolar activations (bit 1 is 1, 0 is 0) times
	// bipolar weights (bit 1 is +1, 0 is -1); Riptide Eq. 3, TVM's
	// unipolar=True. Per bit-plane pair: popc(a & w) - popc(a & ~w),
	// computed as 2 popc(a & w) - popc(a).
	UnipolarBipolar Polarity = iota
	// Unsigned: unsigned activations and weights (TVM's unipolar=False).
	// Per bit-plane pair: popc(a & w).
	Unsigned
	// BipolarBipolar: XNOR-net. Per bit-plane pair: K - 2 popc(a ^ w), with
	// K the number of real (unpadded) elements.
	BipolarBipolar
)

func (p Polarity) String() string {
	switch p {
	case UnipolarBipolar:
		return "unipolar"
	case Unsigned:
		return "unsigned"
	case BipolarBipolar:
		return "bipolar"
	}
	return fmt.Sprintf("Polarity(%d)", int(p))
}

// ParsePolarity reads a polarity's name: unipolar (unipolar activations
// times bipolar weights), unsigned or bipolar.
func ParsePolarity(s string) (Polarity, error) {
	for _, p := range []Polarity{UnipolarBipolar, Unsigned, BipolarBipolar} {
		if p.String() == s {
			return p, nil
		}
	}
	return 0, fmt.Errorf("polarity %q; the polarities are unipolar (unipolar activations, bipolar weights), unsigned, bipolar", s)
}

// wordBits is the width of a packed word type, or an error.
func wordBits(op string, t te.DType) (int, error) {
	if !t.IsUInt() || t.Lanes != 1 {
		return 0, fmt.Errorf("%s: words of type %v; the word types are uint8, uint16, uint32, uint64", op, t)
	}
	return t.Bits, nil
}

// Bitpack splits each element of x (unsigned codes) into bits bit-planes
// and packs word-width runs of packAxis into words: the output has x's axes
// with packAxis shortened to ceil(n / width) and a new axis of length bits
// inserted at position bitAxis of the output. Bit t of a word is bit b of
// element p*width + t of its run (LSB-first); elements past the end of the
// axis are zero bits.
func Bitpack(name string, x *te.Tensor, bits, packAxis, bitAxis int, word te.DType) (*te.Tensor, error) {
	op := "bitpack " + name
	xs, err := dims(op, x, 0)
	if err != nil {
		return nil, err
	}
	w, err := wordBits(op, word)
	if err != nil {
		return nil, err
	}
	if !x.DType.IsInteger() {
		return nil, fmt.Errorf("%s: data is %v; bitpack takes integer codes", op, x.DType)
	}
	if bits < 1 || bits > x.DType.Bits {
		return nil, fmt.Errorf("%s: %d bit-planes of %v codes; want 1 to %d", op, bits, x.DType, x.DType.Bits)
	}
	if packAxis < 0 || packAxis >= len(xs) {
		return nil, fmt.Errorf("%s: pack axis %d of a %d-D tensor", op, packAxis, len(xs))
	}
	if bitAxis < 0 || bitAxis > len(xs) {
		return nil, fmt.Errorf("%s: bit axis %d; the output has %d axes, so it is 0 to %d", op, bitAxis, len(xs)+1, len(xs))
	}
	n := xs[packAxis]
	words := (n + w - 1) / w
	outShape := append([]int{}, xs...)
	outShape[packAxis] = words
	outShape = append(outShape[:bitAxis], append([]int{bits}, outShape[bitAxis:]...)...)
	t := te.ReduceAxis("t", idx(0), idx(w))
	packed, err := te.Compute(name, ints(outShape...), func(a []te.Expr) te.Expr {
		b := a[bitAxis]
		src := append(append([]te.Expr{}, a[:bitAxis]...), a[bitAxis+1:]...)
		p := src[packAxis]
		src[packAxis] = te.AddOf(te.MulOf(p, idx(w)), t.Var)
		bit := te.Bin(te.BitAnd, te.Bin(te.Shr, x.At(src...), b), te.Int(1))
		v := te.Bin(te.Shl, te.CastTo(word, bit), t.Var)
		if n%w != 0 {
			v = te.IfThenElse(te.Bin(te.LT, src[packAxis], idx(n)), v, te.Const(word, 0))
		}
		return te.ReduceOf(te.Sum, v, t)
	})
	return tagged(packed, err, TagBitpack, BitpackAttrs{Bits: bits, PackAxis: packAxis, BitAxis: bitAxis, WordBits: w, Elements: n})
}

// Bitserial says how a binarized operator combines its packed operands.
type Bitserial struct {
	Polarity Polarity
	// Elements is the number of real (unpadded) elements along the packed
	// reduction axis: the channels of a convolution, K of a dense layer.
	Elements int
	// Out is the accumulator and output type, int16 or int32. The operators
	// refuse shapes whose largest result, K*(2^N - 1)*(2^M - 1) for K
	// elements (KH*KW*C for a convolution), N activation and M weight bits,
	// does not fit it (for int16: 32767). Intermediate sums may wrap (the
	// XNOR correction's 2*acc can leave int16); wrapping arithmetic keeps
	// the final result exact. Every pad value keeps the bound: a padded
	// value is at most 2^N - 1 in magnitude, as any activation.
	Out te.DType
	// PadValue is what a convolution's spatially padded pixels stand for
	// (see PadValue); the zero value is PadZero, exact zero padding. Dense
	// layers have no padding.
	PadValue PadValue
}

// check validates the accumulator type against the largest result of a dot
// product of k elements with abits-bit activations and wbits-bit weights.
func (b Bitserial) check(op string, k, abits, wbits int) error {
	if b.Out != te.Int16 && b.Out != te.Int32 {
		return fmt.Errorf("%s: output %v; the accumulator types are int16 and int32", op, b.Out)
	}
	if abits < 1 || abits > 4 || wbits < 1 || wbits > 2 {
		return fmt.Errorf("%s: %d activation bits and %d weight bits; activations have 1 to 4 bits and weights 1 or 2", op, abits, wbits)
	}
	if b.Polarity < UnipolarBipolar || b.Polarity > BipolarBipolar {
		return fmt.Errorf("%s: %v", op, b.Polarity)
	}
	bound := float64(k) * float64(int(1)<<abits-1) * float64(int(1)<<wbits-1)
	if bound > float64(b.Out.MaxInt()) {
		return fmt.Errorf("%s: a dot product of %d elements of %d-bit activations and %d-bit weights reaches %.0f, which overflows %v (at most %d); use int32", op, k, abits, wbits, bound, b.Out, b.Out.MaxInt())
	}
	if bound > math.MaxInt32 {
		return fmt.Errorf("%s: a dot product of %d elements reaches %.0f, which overflows int32", op, k, bound)
	}
	return nil
}

// term is one packed word pair's contribution for bit-planes n and m,
// before the XNOR correction (see finish).
func (b Bitserial) term(a, w, n, m te.Expr) te.Expr {
	pop := func(x te.Expr) te.Expr { return te.CastTo(b.Out, te.Un(te.Popcount, x)) }
	var v te.Expr
	switch b.Polarity {
	case UnipolarBipolar, Unsigned:
		// unipolar: popc(a & w) - popc(a & ~w) = 2 popc(a & w) - popc(a),
		// and popc(a) does not depend on the weights: its sum is a stage of
		// its own, one per output pixel whatever the channel
		// (activationPops), which finish subtracts once
		v = pop(te.Bin(te.BitAnd, a, w))
	default:
		v = pop(te.Bin(te.BitXor, a, w))
	}
	return te.Bin(te.Shl, v, te.AddOf(n, m))
}

// finish is the output stage: the accumulator itself, or for XNOR
// k*(2^N - 1)*(2^M - 1) - 2*acc, where acc sums 2^(n+m) popc(a ^ w) over
// k real elements (padding bits agree, so they add nothing to acc), plus
// a convolution's zero-padding correction, when border is not nil.
//
// Unipolar activations: 2*acc - (2^M - 1)*pops, where acc sums
// 2^(n+m) popc(a & w) and pops (activationPops) the activations' own
// 2^n popc(a) over the output's window.
func (b Bitserial) finish(name string, acc *te.Tensor, k, abits, wbits int, border *PadBorder, pops *ActivationPops, axisNames ...string) (*te.Tensor, error) {
	switch b.Polarity {
	case UnipolarBipolar:
		wl := int64(1)<<wbits - 1
		t, err := te.Compute(name, acc.Shape, func(a []te.Expr) te.Expr {
			return te.SubOf(te.MulOf(te.Const(b.Out, 2), acc.At(a...)), te.MulOf(te.Const(b.Out, float64(wl)), pops.At(a)))
		}, axisNames...)
		return tagged(t, err, TagBitserialXnor, XnorAttrs{Bitserial: b, Acc: acc, Pops: pops})
	case BipolarBipolar:
	default:
		return acc, nil
	}
	full := int64(k) * int64(int(1)<<abits-1) * int64(int(1)<<wbits-1)
	t, err := te.Compute(name, acc.Shape, func(a []te.Expr) te.Expr {
		v := te.SubOf(te.Const(b.Out, float64(full)), te.MulOf(te.Const(b.Out, 2), acc.At(a...)))
		if border != nil {
			v = te.AddOf(v, border.At(a))
		}
		return v
	}, axisNames...)
	return tagged(t, err, TagBitserialXnor, XnorAttrs{Bitserial: b, Full: full, Acc: acc, Border: border})
}

// ActivationPops is a unipolar operator's stage name_apop: per output
// pixel (a dense layer's row), the sum over its window of the activations'
// 2^n popc(a_n), padded words included, and where an output index reads it.
type ActivationPops struct {
	Tensor *te.Tensor
	Index  func(out []te.Expr) []te.Expr
}

// At is the sum at an output index.
func (p *ActivationPops) At(out []te.Expr) te.Expr { return p.Tensor.At(p.Index(out)...) }

// accName is the name of the accumulating stage: the operator's own name
// unless a correction follows it (XNOR's, or unipolar's).
func (b Bitserial) accName(name string) string {
	if b.Polarity == BipolarBipolar || b.Polarity == UnipolarBipolar {
		return name + "_acc"
	}
	return name
}

// BitserialDense is data [B, abits, KW] times weight [O, wbits, KW]
// (packed along K, see Bitpack): [B, O] of p.Out.
func BitserialDense(name string, data, weight *te.Tensor, p Bitserial) (*te.Tensor, error) {
	op := "bitserial_dense " + name
	ds, err := dims(op, data, 3)
	if err != nil {
		return nil, err
	}
	ws, err := dims(op, weight, 3)
	if err != nil {
		return nil, err
	}
	wb, err := wordBits(op, data.DType)
	if err != nil {
		return nil, err
	}
	if weight.DType != data.DType {
		return nil, fmt.Errorf("%s: data words are %v and weight words %v; they must be one type", op, data.DType, weight.DType)
	}
	if ds[2] != ws[2] {
		return nil, fmt.Errorf("%s: data has %d words per row and weight %d", op, ds[2], ws[2])
	}
	if p.Elements < 1 || (p.Elements+wb-1)/wb != ds[2] {
		return nil, fmt.Errorf("%s: %d elements do not fill %d words of %d bits", op, p.Elements, ds[2], wb)
	}
	abits, wbits := ds[1], ws[1]
	if err := p.check(op, p.Elements, abits, wbits); err != nil {
		return nil, err
	}
	n, m, k := te.ReduceAxis("ab", idx(0), idx(abits)), te.ReduceAxis("wb", idx(0), idx(wbits)), te.ReduceAxis("k", idx(0), idx(ds[2]))
	acc, err := te.Compute(p.accName(name), ints(ds[0], ws[0]), func(a []te.Expr) te.Expr {
		return te.ReduceOf(te.Sum, p.term(data.At(a[0], n.Var, k.Var), weight.At(a[1], m.Var, k.Var), n.Var, m.Var), n, m, k)
	}, "b", "o")
	if acc, err = tagged(acc, err, TagBitserialDense, p); err != nil {
		return nil, err
	}
	var pops *ActivationPops
	if p.Polarity == UnipolarBipolar {
		n, k := te.ReduceAxis("ab", idx(0), idx(abits)), te.ReduceAxis("k", idx(0), idx(ds[2]))
		t, err := te.Compute(name+"_apop", ints(ds[0]), func(a []te.Expr) te.Expr {
			return te.ReduceOf(te.Sum, te.Bin(te.Shl, te.CastTo(p.Out, te.Un(te.Popcount, data.At(a[0], n.Var, k.Var))), n.Var), n, k)
		}, "b")
		if t, err = tagged(t, err, TagBitserialActivationPops, nil); err != nil {
			return nil, err
		}
		pops = &ActivationPops{Tensor: t, Index: func(a []te.Expr) []te.Expr { return a[:1] }}
	}
	return p.finish(name, acc, p.Elements, abits, wbits, nil, pops, "b", "o")
}

// BitserialConv2D is a binarized 2-D convolution of packed operands:
//
//	NHWC: data [N, H, W, abits, CW], kernel [KH, KW, wbits, CW, O] -> [N, OH, OW, O]
//	NCHW: data [N, abits, CW, H, W], kernel [O, wbits, CW, KH, KW] -> [N, O, OH, OW]
//
// p.Elements is the real number of input channels. Spatial padding is a
// stage name_pad of packed words, which p.PadValue chooses (see PadValue):
// code 0 for PadZero and PadMinusOne, the all-ones code for PadOne. The
// XNOR correction counts padded positions as real elements. With bipolar
// activations, PadZero adds the stages name_wones, name_wsum and
// name_border (see zeroPadCorrection), and the output stage adds the
// border correction.
func BitserialConv2D(name string, data, kernel *te.Tensor, layout Layout, win Window, p Bitserial) (*te.Tensor, error) {
	op := "bitserial_conv2d " + name
	if err := layout.check(op); err != nil {
		return nil, err
	}
	ds, err := dims(op, data, 5)
	if err != nil {
		return nil, err
	}
	ks, err := dims(op, kernel, 5)
	if err != nil {
		return nil, err
	}
	wb, err := wordBits(op, data.DType)
	if err != nil {
		return nil, err
	}
	if kernel.DType != data.DType {
		return nil, fmt.Errorf("%s: data words are %v and kernel words %v; they must be one type", op, data.DType, kernel.DType)
	}
	// data: N, H, W, abits, CW; kernel: KH, KW, wbits, CW, O
	var n, h, wd, abits, cw, kh, kw, wbits, kcw, o, hAxis int
	if layout == NHWC {
		n, h, wd, abits, cw = ds[0], ds[1], ds[2], ds[3], ds[4]
		kh, kw, wbits, kcw, o = ks[0], ks[1], ks[2], ks[3], ks[4]
		hAxis = 1
	} else {
		n, abits, cw, h, wd = ds[0], ds[1], ds[2], ds[3], ds[4]
		o, wbits, kcw, kh, kw = ks[0], ks[1], ks[2], ks[3], ks[4]
		hAxis = 3
	}
	if kcw != cw {
		return nil, fmt.Errorf("%s: its data %s has %d channel words but its kernel %s has %d", op, data.Name, cw, kernel.Name, kcw)
	}
	if p.Elements < 1 || (p.Elements+wb-1)/wb != cw {
		return nil, fmt.Errorf("%s: %d channels do not fill %d words of %d bits", op, p.Elements, cw, wb)
	}
	if win.KH != kh || win.KW != kw {
		return nil, fmt.Errorf("%s: the window is %dx%d but the kernel is %dx%d", op, win.KH, win.KW, kh, kw)
	}
	oh, ow, err := win.out(op, h, wd)
	if err != nil {
		return nil, err
	}
	k := kh * kw * p.Elements
	if err := p.check(op, k, abits, wbits); err != nil {
		return nil, err
	}
	if err := p.checkPad(op); err != nil {
		return nil, err
	}
	cwAxis := 4
	if layout == NCHW {
		cwAxis = 2
	}
	xp, err := paddedFill(name, data, ds, hAxis, win.Pad, func(a []te.Expr) te.Expr {
		return padWord(data.DType, wb, p.Elements, cw, p.PadValue, a[cwAxis])
	})
	if err != nil {
		return nil, err
	}
	var border *PadBorder
	if p.PadValue == PadZero && p.Polarity == BipolarBipolar && win.Pad.any() {
		border, err = zeroPadCorrection(name, kernel, layout, win, h, wd, oh, ow, kh, kw, abits, wbits, cw, o, p)
		if err != nil {
			return nil, err
		}
	}
	sh, sw := win.strides()
	ry, rx := te.ReduceAxis("ry", idx(0), idx(kh)), te.ReduceAxis("rx", idx(0), idx(kw))
	na, mw, rc := te.ReduceAxis("ab", idx(0), idx(abits)), te.ReduceAxis("wb", idx(0), idx(wbits)), te.ReduceAxis("rc", idx(0), idx(cw))
	ih := func(a te.Expr) te.Expr { return te.AddOf(te.MulOf(a, idx(sh)), ry.Var) }
	iw := func(a te.Expr) te.Expr { return te.AddOf(te.MulOf(a, idx(sw)), rx.Var) }
	var acc *te.Tensor
	names := []string{"n", "oh", "ow", "oc"}
	if layout == NHWC {
		acc, err = te.Compute(p.accName(name), ints(n, oh, ow, o), func(a []te.Expr) te.Expr {
			x := xp.At(a[0], ih(a[1]), iw(a[2]), na.Var, rc.Var)
			w := kernel.At(ry.Var, rx.Var, mw.Var, rc.Var, a[3])
			return te.ReduceOf(te.Sum, p.term(x, w, na.Var, mw.Var), ry, rx, na, mw, rc)
		}, names...)
	} else {
		names = []string{"n", "oc", "oh", "ow"}
		acc, err = te.Compute(p.accName(name), ints(n, o, oh, ow), func(a []te.Expr) te.Expr {
			x := xp.At(a[0], na.Var, rc.Var, ih(a[2]), iw(a[3]))
			w := kernel.At(a[1], mw.Var, rc.Var, ry.Var, rx.Var)
			return te.ReduceOf(te.Sum, p.term(x, w, na.Var, mw.Var), na, mw, rc, ry, rx)
		}, names...)
	}
	attrs := BitserialConv2DAttrs{WindowAttrs{Layout: layout, Window: win.resolved()}, p}
	if acc, err = tagged(acc, err, byLayout(layout, TagBitserialConv2DNHWC, TagBitserialConv2DNCHW), attrs); err != nil {
		return nil, err
	}
	var pops *ActivationPops
	if p.Polarity == UnipolarBipolar {
		if pops, err = activationPops(name, data, layout, win, n, h, wd, oh, ow, abits, cw, wb, p); err != nil {
			return nil, err
		}
	}
	return p.finish(name, acc, k, abits, wbits, border, pops, names...)
}

// activationPops is a unipolar convolution's name_apop, [N, OH, OW]: per
// output pixel, the sum over its window of 2^n popc(a_n) of the (padded)
// activation words, the term of popc(a & w) - popc(a & ~w) that does not
// depend on the weights. It reads the unpadded input and takes a padded
// position's word as the padding stage does (a stage of its own reads no
// other stage's private producer).
func activationPops(name string, data *te.Tensor, layout Layout, win Window, n, h, wd, oh, ow, abits, cw, wb int, p Bitserial) (*ActivationPops, error) {
	sh, sw := win.strides()
	ry, rx := te.ReduceAxis("ry", idx(0), idx(win.KH)), te.ReduceAxis("rx", idx(0), idx(win.KW))
	na, rc := te.ReduceAxis("ab", idx(0), idx(abits)), te.ReduceAxis("rc", idx(0), idx(cw))
	t, err := te.Compute(name+"_apop", ints(n, oh, ow), func(a []te.Expr) te.Expr {
		// the window's position in the padded input, and in the input
		py, px := te.AddOf(te.MulOf(a[1], idx(sh)), ry.Var), te.AddOf(te.MulOf(a[2], idx(sw)), rx.Var)
		ih, iw := te.SubOf(py, idx(win.Pad.Top)), te.SubOf(px, idx(win.Pad.Left))
		word := data.At(a[0], ih, iw, na.Var, rc.Var)
		if layout == NCHW {
			word = data.At(a[0], na.Var, rc.Var, ih, iw)
		}
		if inside := win.Pad.inside(py, px, h, wd); inside != nil {
			word = te.IfThenElse(inside, word, padWord(data.DType, wb, p.Elements, cw, p.PadValue, rc.Var))
		}
		v := te.Bin(te.Shl, te.CastTo(p.Out, te.Un(te.Popcount, word)), na.Var)
		return te.ReduceOf(te.Sum, v, ry, rx, na, rc)
	}, "n", "oh", "ow")
	if t, err = tagged(t, err, TagBitserialActivationPops, nil); err != nil {
		return nil, err
	}
	index := func(out []te.Expr) []te.Expr { return []te.Expr{out[0], out[1], out[2]} } // NHWC n, oh, ow, oc
	if layout == NCHW {
		index = func(out []te.Expr) []te.Expr { return []te.Expr{out[0], out[2], out[3]} } // n, oc, oh, ow
	}
	return &ActivationPops{Tensor: t, Index: index}, nil
}
