package topi

import (
	"fmt"

	"github.com/tide-compiler/tide/te"
)

// Layout is the order of a 4-D activation tensor's axes.
type Layout string

const (
	NHWC Layout = "NHWC" // kernel HWIO
	NCHW Layout = "NCHW" // kernel OIHW
)

func (l Layout) check(op string) error {
	if l != NHWC && l != NCHW {
		return fmt.Errorf("%s: layout %q; the layouts are NHWC (kernel HWIO) and NCHW (kernel OIHW)", op, l)
	}
	return nil
}

// Padding is the zero padding of each side of a 2-D window.
type Padding struct{ Top, Left, Bottom, Right int }

// Pad is the same padding on every side.
func Pad(p int) Padding { return Padding{p, p, p, p} }

func (p Padding) any() bool { return p != Padding{} }

// Window is a 2-D sliding window: its size, stride and padding.
type Window struct {
	KH, KW           int
	StrideH, StrideW int // 0 means 1
	Pad              Padding
	// SkipPaddedTaps makes a float NHWC convolution's reduction skip the
	// taps that fall on padding (a where=, as oneDNN's kernels skip them)
	// instead of adding their zeros: the same result, less work where the
	// loops can tell the taps apart (Target.SkipsPaddedTaps). Only an
	// infinite or NaN weight on a padded tap tells them apart: 0 * inf is
	// NaN when the zeros are added.
	SkipPaddedTaps bool
}

func (w Window) strides() (int, int) { return max(1, w.StrideH), max(1, w.StrideW) }

// resolved is w with its strides resolved, as WindowAttrs carry it: a
// reader of the attributes never sees the 0 that means 1.
func (w Window) resolved() Window {
	w.StrideH, w.StrideW = w.strides()
	return w
}

// out is the output size of the window over an input of h x w.
func (w Window) out(op string, h, wd int) (int, int, error) {
	sh, sw := w.strides()
	if w.KH < 1 || w.KW < 1 || w.StrideH < 0 || w.StrideW < 0 {
		return 0, 0, fmt.Errorf("%s: window %dx%d with strides %d, %d; sizes must be at least 1 and strides at least 1 (0 means 1)", op, w.KH, w.KW, w.StrideH, w.StrideW)
	}
	p := w.Pad
	if p.Top < 0 || p.Left < 0 || p.Bottom < 0 || p.Right < 0 {
		return 0, 0, fmt.Errorf("%s: negative padding %+v", op, p)
	}
	if p.Top >= w.KH || p.Bottom >= w.KH || p.Left >= w.KW || p.Right >= w.KW {
		return 0, 0, fmt.Errorf("%s: padding %+v is as large as the %dx%d window: some outputs would see only padding", op, p, w.KH, w.KW)
	}
	hp, wp := h+p.Top+p.Bottom, wd+p.Left+p.Right
	if hp < w.KH || wp < w.KW {
		return 0, 0, fmt.Errorf("%s: the %dx%d window does not fit the padded %dx%d input", op, w.KH, w.KW, hp, wp)
	}
	return (hp-w.KH)/sh + 1, (wp-w.KW)/sw + 1, nil
}

// dims returns a tensor's constant shape, or an error naming the operator.
func dims(op string, t *te.Tensor, rank int) ([]int, error) {
	if t == nil {
		return nil, fmt.Errorf("%s: a tensor argument is nil", op)
	}
	if rank > 0 && len(t.Shape) != rank {
		return nil, fmt.Errorf("%s: %s has %d dimensions %s, want %d", op, t.Name, len(t.Shape), te.ShapeString(t.Shape), rank)
	}
	out := make([]int, len(t.Shape))
	for i, d := range t.Shape {
		v, ok := te.IntValue(d)
		if !ok {
			return nil, fmt.Errorf("%s: %s has a symbolic dimension %s; topi operators need constant shapes", op, t.Name, te.ExprString(d))
		}
		out[i] = int(v)
	}
	return out, nil
}

func ints(vs ...int) []te.Expr {
	out := make([]te.Expr, len(vs))
	for i, v := range vs {
		out[i] = te.Int(int64(v))
	}
	return out
}

func idx(v int) te.Expr { return te.Int(int64(v)) }

// padded is x with zeros around its two spatial axes (hAxis, hAxis+1), or x
// itself when there is no padding. The padded tensor is its own stage
// (name_pad), which schedules inline or compute at a consumer's loop.
func padded(name string, x *te.Tensor, shape []int, hAxis int, p Padding, zero te.Expr) (*te.Tensor, error) {
	return paddedFill(name, x, shape, hAxis, p, func([]te.Expr) te.Expr { return zero })
}

// paddedFill is padded with fill(a) at a padded position a (the padded
// tensor's indices) instead of one constant.
func paddedFill(name string, x *te.Tensor, shape []int, hAxis int, p Padding, fill func(a []te.Expr) te.Expr) (*te.Tensor, error) {
	if !p.any() {
		return x, nil
	}
	ps := append([]int{}, shape...)
	ps[hAxis] += p.Top + p.Bottom
	ps[hAxis+1] += p.Left + p.Right
	t, err := te.Compute(name+"_pad", ints(ps...), func(a []te.Expr) te.Expr {
		src := append([]te.Expr{}, a...)
		src[hAxis] = te.SubOf(a[hAxis], idx(p.Top))
		src[hAxis+1] = te.SubOf(a[hAxis+1], idx(p.Left))
		return te.IfThenElse(p.inside(a[hAxis], a[hAxis+1], shape[hAxis], shape[hAxis+1]), x.At(src...), fill(a))
	}, axisNames(len(ps))...)
	return tagged(t, err, TagPad, nil)
}

// inside is the condition that position (y, x) of an h x w input padded
// by p is not padding, comparing only on the sides p pads; nil when p pads
// nothing.
func (p Padding) inside(y, x te.Expr, h, w int) te.Expr {
	var conds []te.Expr
	if p.Top > 0 {
		conds = append(conds, te.Bin(te.GE, y, idx(p.Top)))
	}
	if p.Bottom > 0 {
		conds = append(conds, te.Bin(te.LT, y, idx(p.Top+h)))
	}
	if p.Left > 0 {
		conds = append(conds, te.Bin(te.GE, x, idx(p.Left)))
	}
	if p.Right > 0 {
		conds = append(conds, te.Bin(te.LT, x, idx(p.Left+w)))
	}
	if len(conds) == 0 {
		return nil
	}
	return all(conds)
}

func all(conds []te.Expr) te.Expr {
	c := conds[0]
	for _, x := range conds[1:] {
		c = te.Bin(te.And, c, x)
	}
	return c
}

// axisNames are the axis names of an n-D operator output: n, h, w, c for
// 4-D tensors (whatever the layout, so schedules read alike), i0.. else.
func axisNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("i%d", i)
	}
	return out
}
