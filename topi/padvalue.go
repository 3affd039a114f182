package topi

import (
	"fmt"
	"strings"

	"github.com/tide-compiler/tide/te"
)

// PadValue is the value a binarized convolution's spatially padded pixels
// stand for (riptide.md and networks.md, "Padding in binary layers"). The
// zero value, PadZero, is the default.
type PadValue int

const (
	// PadZero: padded taps contribute 0, as in a network trained with zero
	// ("same") padding. Unipolar and unsigned activations pad with code 0,
	// which is the value 0. Bipolar activations have no 0: the convolution
	// pads with code 0 (-(2^N - 1)) and its output stage adds back, at the
	// border outputs, (2^N - 1) times the weight sums of the taps that fall
	// into the padding (stages name_wones, name_wsum and name_border, which
	// depend on the weights only).
	PadZero PadValue = iota
	// PadOne: padded pixels hold the all-ones code 2^N - 1 (every
	// bit-plane 1): +(2^N - 1) for bipolar activations (Larq's "one
	// padding"); for unipolar and unsigned activations the largest code,
	// the value 2^N - 1 (1.0 once dequantized).
	PadOne
	// PadMinusOne: padded pixels hold code 0 with bipolar activations, every
	// bit-plane -1: -(2^N - 1) (Riptide's TVM kernels). Unipolar and
	// unsigned activations have no -1 and refuse it.
	PadMinusOne
)

var padValueNames = [...]string{PadZero: "zero", PadOne: "one", PadMinusOne: "minus_one"}

func (v PadValue) String() string {
	if v >= PadZero && v <= PadMinusOne {
		return padValueNames[v]
	}
	return fmt.Sprintf("PadValue(%d)", int(v))
}

// PadValues are the pad values activations of polarity p can take: zero,
// one and minus_one for bipolar activations, zero and one for unipolar and
// unsigned ones.
func PadValues(p Polarity) []PadValue {
	if p == BipolarBipolar {
		return []PadValue{PadZero, PadOne, PadMinusOne}
	}
	return []PadValue{PadZero, PadOne}
}

// PadValueNames are the names of PadValues(p).
func PadValueNames(p Polarity) []string {
	var out []string
	for _, v := range PadValues(p) {
		out = append(out, v.String())
	}
	return out
}

// ParsePadValue reads a pad value's name: zero, one or minus_one.
func ParsePadValue(s string) (PadValue, error) {
	for _, v := range PadValues(BipolarBipolar) {
		if v.String() == s {
			return v, nil
		}
	}
	return 0, fmt.Errorf("pad value %q; the pad values are zero, one, minus_one", s)
}

// checkPad validates the pad value against the activations' polarity.
func (b Bitserial) checkPad(op string) error {
	for _, v := range PadValues(b.Polarity) {
		if v == b.PadValue {
			return nil
		}
	}
	if b.PadValue == PadMinusOne {
		return fmt.Errorf("%s: pad value minus_one with %v activations, which have no -1 (code 0 is the value 0); their pad values are %s", op, b.Polarity, strings.Join(PadValueNames(b.Polarity), ", "))
	}
	return fmt.Errorf("%s: %v; the pad values are %s", op, b.PadValue, strings.Join(PadValueNames(b.Polarity), ", "))
}

// onesWord is a word of type word with its low n bits set.
func onesWord(word te.DType, n int) te.Expr {
	return &te.IntImm{Value: word.Wrap(int64(uint64(1)<<n - 1)), T: word}
}

// padWord is the packed word of a padded pixel, at word index wordIndex
// along the channels (words of them, each width bits, elements real
// channels in all): zero bits (code 0), or for PadOne ones in every real
// channel's bit (the all-ones code in every bit-plane; the channel padding
// bits of the last word stay zero, as bitpack leaves them).
func padWord(word te.DType, width, elements, words int, v PadValue, wordIndex te.Expr) te.Expr {
	if v != PadOne {
		return te.Const(word, 0)
	}
	ones := onesWord(word, width)
	if r := elements % width; r != 0 {
		return te.SelectOf(te.Bin(te.EQ, wordIndex, idx(words-1)), onesWord(word, r), ones)
	}
	return ones
}

// weightSums is the stage name_wsum of a bipolar kernel: per tap (ky, kx)
// and output channel o, the sum over the real input channels of the
// decoded weights (an M-bit code W is 2W - (2^M - 1)), computed from the
// packed words as sum_m 2^m (2 popc(w_m) - C): [KH, KW, O] for an HWIO-like
// NHWC kernel [KH, KW, wbits, CW, O], [O, KH, KW] for an NCHW kernel [O,
// wbits, CW, KH, KW]. The popcounts are summed by a stage of their own,
// name_wones (sum_m 2^m popc(w_m), tag bitserial_weight_ones), so that
// the sum over the words is one popcount and one add per word (which the
// accumulate pass keeps in bytes for uint8 words); name_wsum is then
// element-wise, 2 * ones - C (2^M - 1). Both depend on the weights only,
// so a network with constant weights can fold them.
func weightSums(name string, kernel *te.Tensor, layout Layout, kh, kw, wbits, cw, o, elements int, out te.DType) (*te.Tensor, error) {
	mw, rc := te.ReduceAxis("wb", idx(0), idx(wbits)), te.ReduceAxis("rc", idx(0), idx(cw))
	term := func(w te.Expr) te.Expr {
		return te.Bin(te.Shl, te.CastTo(out, te.Un(te.Popcount, w)), mw.Var)
	}
	shape, axes := ints(kh, kw, o), []string{"ky", "kx", "oc"}
	read := func(a []te.Expr) te.Expr { return kernel.At(a[0], a[1], mw.Var, rc.Var, a[2]) }
	if layout == NCHW {
		shape, axes = ints(o, kh, kw), []string{"oc", "ky", "kx"}
		read = func(a []te.Expr) te.Expr { return kernel.At(a[0], mw.Var, rc.Var, a[1], a[2]) }
	}
	attrs := WeightSumAttrs{WBits: wbits, Elements: elements}
	ones, err := te.Compute(name+"_wones", shape, func(a []te.Expr) te.Expr {
		return te.ReduceOf(te.Sum, term(read(a)), mw, rc)
	}, axes...)
	if ones, err = tagged(ones, err, TagBitserialWeightOnes, attrs); err != nil {
		return nil, err
	}
	// channel padding bits are zero: they are not among the ones
	full := int64(elements) * (int64(1)<<wbits - 1)
	t, err := te.Compute(name+"_wsum", shape, func(a []te.Expr) te.Expr {
		return te.SubOf(te.MulOf(te.Const(out, 2), ones.At(a...)), te.Const(out, float64(full)))
	}, axes...)
	return tagged(t, err, TagBitserialWeightSum, attrs)
}

// borderAxis groups the outputs along one spatial axis by the kernel taps
// that fall into the padding: outputs [0, lead) read the padding before
// the input, outputs [trail, n) the padding after it, and the ones between
// (when lead < trail) read none, so they share one class. Without such
// interior outputs every output is its own class.
type borderAxis struct {
	n, in, k, stride, before, after int
	lead, trail                     int
}

func newBorderAxis(n, in, k, stride, before, after int) borderAxis {
	b := borderAxis{n: n, in: in, k: k, stride: stride, before: before, after: after}
	// o reads the padding before when o*stride < before
	b.lead = min(n, (before+stride-1)/stride)
	// o reads the padding after when o*stride + k - 1 - before >= in
	b.trail = n
	if after > 0 {
		b.trail = 0
		if x := in + before - k + 1; x > 0 {
			b.trail = min(n, (x+stride-1)/stride)
		}
	}
	return b
}

// reads reports whether some output reads the padding.
func (b borderAxis) reads() bool { return b.lead > 0 || b.trail < b.n }

// interior reports whether some outputs read no padding (one class).
func (b borderAxis) interior() bool { return b.lead < b.trail }

func (b borderAxis) classes() int {
	if !b.interior() {
		return b.n
	}
	return b.lead + 1 + b.n - b.trail
}

// class is output o's class: o before the interior, lead inside it, o -
// (trail - lead - 1) after it; as min(o, lead) + max(o - (trail - 1), 0),
// branch-free integer arithmetic that a vectorized loop over another axis
// keeps scalar.
func (b borderAxis) class(o te.Expr) te.Expr {
	if !b.interior() {
		return o
	}
	c := idx(b.lead)
	if b.lead > 0 {
		c = te.MinOf(o, idx(b.lead))
	}
	if b.trail < b.n {
		c = te.AddOf(c, te.MaxOf(te.SubOf(o, idx(b.trail-1)), idx(0)))
	}
	return c
}

// rep is an output of class c.
func (b borderAxis) rep(c te.Expr) te.Expr {
	if !b.interior() {
		return c
	}
	o := idx(b.lead)
	if b.trail < b.n {
		o = te.IfThenElse(te.Bin(te.GT, c, idx(b.lead)), te.AddOf(c, idx(b.trail-b.lead-1)), o)
	}
	if b.lead > 0 {
		o = te.IfThenElse(te.Bin(te.LT, c, idx(b.lead)), c, o)
	}
	return o
}

// outside says whether tap of output o reads the padding.
func (b borderAxis) outside(o, tap te.Expr) te.Expr {
	i := te.SubOf(te.AddOf(te.MulOf(o, idx(b.stride)), tap), idx(b.before))
	var conds []te.Expr
	if b.before > 0 {
		conds = append(conds, te.Bin(te.LT, i, idx(0)))
	}
	if b.after > 0 {
		conds = append(conds, te.Bin(te.GE, i, idx(b.in)))
	}
	if len(conds) == 0 {
		return te.BoolConst(false)
	}
	c := conds[0]
	for _, x := range conds[1:] {
		c = te.Bin(te.Or, c, x)
	}
	return c
}

// zeroPadCorrection makes the stages that turn a bipolar convolution padded
// with code 0 into one padded with zeros: name_wones and name_wsum
// (weightSums) and
// name_border, (2^N - 1) times the sum of the weight sums of the taps that
// fall into the padding, per class of output rows and columns (see
// borderAxis): [row classes, column classes, O] for NHWC, [O, row classes,
// OW] for NCHW (every column, so that a row of outputs reads it as a
// vector). It returns the border tensor and its index at an output index
// (n, oh, ow, oc or n, oc, oh, ow), or nil when no output reads the padding.
func zeroPadCorrection(name string, kernel *te.Tensor, layout Layout, win Window, h, wd, oh, ow, kh, kw, abits, wbits, cw, o int, p Bitserial) (*PadBorder, error) {
	sh, sw := win.strides()
	rows := newBorderAxis(oh, h, kh, sh, win.Pad.Top, win.Pad.Bottom)
	cols := newBorderAxis(ow, wd, kw, sw, win.Pad.Left, win.Pad.Right)
	if !rows.reads() && !cols.reads() {
		return nil, nil
	}
	ws, err := weightSums(name, kernel, layout, kh, kw, wbits, cw, o, p.Elements, p.Out)
	if err != nil {
		return nil, err
	}
	levels := int64(1)<<abits - 1
	ry, rx := te.ReduceAxis("ry", idx(0), idx(kh)), te.ReduceAxis("rx", idx(0), idx(kw))
	tap := func(oy, ox, oc te.Expr) te.Expr {
		w := ws.At(ry.Var, rx.Var, oc)
		if layout == NCHW {
			w = ws.At(oc, ry.Var, rx.Var)
		}
		if levels != 1 {
			w = te.MulOf(w, te.Const(p.Out, float64(levels)))
		}
		out := te.Bin(te.Or, rows.outside(oy, ry.Var), cols.outside(ox, rx.Var))
		return te.ReduceOf(te.Sum, te.SelectOf(out, w, te.Const(p.Out, 0)), ry, rx)
	}
	var t *te.Tensor
	attrs := PadBorderAttrs{Levels: levels, RowClasses: rows.classes(), ColClasses: cols.classes()}
	if layout == NHWC {
		t, err = te.Compute(name+"_border", ints(rows.classes(), cols.classes(), o), func(a []te.Expr) te.Expr {
			return tap(rows.rep(a[0]), cols.rep(a[1]), a[2])
		}, "row", "col", "oc")
	} else {
		attrs.ColClasses = ow
		t, err = te.Compute(name+"_border", ints(o, rows.classes(), ow), func(a []te.Expr) te.Expr {
			return tap(rows.rep(a[1]), a[2], a[0])
		}, "oc", "row", "ow")
	}
	if t, err = tagged(t, err, TagBitserialPadBorder, attrs); err != nil {
		return nil, err
	}
	channel := 2 // NHWC [row classes, column classes, O]; NCHW [O, row classes, OW]
	if layout == NCHW {
		channel = 0
	}
	return &PadBorder{Tensor: t, Channel: channel, Index: func(a []te.Expr) []te.Expr {
		if layout == NHWC {
			return []te.Expr{rows.class(a[1]), cols.class(a[2]), a[3]}
		}
		return []te.Expr{a[1], rows.class(a[2]), a[3]}
	}}, nil
}

// PadBorder is a zero-padded bipolar convolution's border correction: the
// tensor name_border, and where an output index reads it.
type PadBorder struct {
	Tensor  *te.Tensor
	Channel int // Tensor's output channel axis
	Index   func(out []te.Expr) []te.Expr
}

// At is the correction at an output index.
func (b *PadBorder) At(out []te.Expr) te.Expr { return b.Tensor.At(b.Index(out)...) }
