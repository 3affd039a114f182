package topi

import (
	"fmt"

	"github.com/tide-compiler/tide/te"
)

// OCBlock is how many output channels a float NHWC convolution packs its
// kernel by (two AVX2 vectors of float32, four NEON ones).
const OCBlock = 16

// Conv2D is a float 2-D convolution: NHWC data [N, H, W, C] with an HWIO
// kernel [KH, KW, C, O] gives [N, OH, OW, O]; NCHW data [N, C, H, W] with an
// OIHW kernel [O, C, KH, KW] gives [N, O, OH, OW]. The window's size must
// match the kernel's; padding is zeros (a stage name_pad), which an NHWC
// convolution skips with win.SkipPaddedTaps.
func Conv2D(name string, x, w *te.Tensor, layout Layout, win Window) (*te.Tensor, error) {
	op := "conv2d " + name
	if err := layout.check(op); err != nil {
		return nil, err
	}
	xs, err := dims(op, x, 4)
	if err != nil {
		return nil, err
	}
	ws, err := dims(op, w, 4)
	if err != nil {
		return nil, err
	}
	if !x.DType.IsFloat() || w.DType != x.DType {
		return nil, fmt.Errorf("%s: data %v and kernel %v; both must be the same float type", op, x.DType, w.DType)
	}
	n, h, wd, c := xs[0], xs[1], xs[2], xs[3]
	kh, kw, wc, o := ws[0], ws[1], ws[2], ws[3]
	hAxis := 1
	if layout == NCHW {
		n, c, h, wd = xs[0], xs[1], xs[2], xs[3]
		o, wc, kh, kw = ws[0], ws[1], ws[2], ws[3]
		hAxis = 2
	}
	if wc != c {
		return nil, fmt.Errorf("%s: its data %s has %d channels but its kernel %s has %d input channels", op, x.Name, c, w.Name, wc)
	}
	if win.KH != kh || win.KW != kw {
		return nil, fmt.Errorf("%s: the window is %dx%d but the kernel is %dx%d", op, win.KH, win.KW, kh, kw)
	}
	oh, ow, err := win.out(op, h, wd)
	if err != nil {
		return nil, err
	}
	xp, err := padded(name, x, xs, hAxis, win.Pad, te.Const(x.DType, 0))
	if err != nil {
		return nil, err
	}
	sh, sw := win.strides()
	rc, ry, rx := te.ReduceAxis("rc", idx(0), idx(c)), te.ReduceAxis("ry", idx(0), idx(kh)), te.ReduceAxis("rx", idx(0), idx(kw))
	ih := func(a te.Expr) te.Expr { return te.AddOf(te.MulOf(a, idx(sh)), ry.Var) }
	iw := func(a te.Expr) te.Expr { return te.AddOf(te.MulOf(a, idx(sw)), rx.Var) }
	if layout == NHWC {
		// the kernel packed in blocks of OCBlock output channels
		// ([O/OCBlock, KH, KW, C, OCBlock], zeros past O): a block of the
		// output reads its weights as one contiguous stream, as the matmul
		// example's packed B
		wp, err := te.Compute(name+"_wpack", ints((o+OCBlock-1)/OCBlock, kh, kw, c, OCBlock), func(a []te.Expr) te.Expr {
			oc := te.AddOf(te.MulOf(a[0], idx(OCBlock)), a[4])
			v := w.At(a[1], a[2], a[3], oc)
			if o%OCBlock != 0 {
				v = te.IfThenElse(te.Bin(te.LT, oc, idx(o)), v, te.Const(w.DType, 0))
			}
			return v
		}, "ob", "ry", "rx", "c", "oi")
		if wp, err = tagged(wp, err, TagWeightPack, nil); err != nil {
			return nil, err
		}
		t, err := te.Compute(name, ints(n, oh, ow, o), func(a []te.Expr) te.Expr {
			wr := wp.At(te.Bin(te.FloorDiv, a[3], idx(OCBlock)), ry.Var, rx.Var, rc.Var, te.Bin(te.FloorMod, a[3], idx(OCBlock)))
			tap := te.MulOf(xp.At(a[0], ih(a[1]), iw(a[2]), rc.Var), wr)
			if win.SkipPaddedTaps {
				// the taps on padding add zeros: where= lets the loops
				// skip them (lower's hoistWhere and loop partitioning),
				// 18% of a 7x7 layer's work
				if in := win.Pad.inside(ih(a[1]), iw(a[2]), h, wd); in != nil {
					return te.ReduceWhere(te.Sum, tap, in, ry, rx, rc)
				}
			}
			return te.ReduceOf(te.Sum, tap, ry, rx, rc)
		}, "n", "oh", "ow", "oc")
		return tagged(t, err, TagConv2DNHWC, WindowAttrs{Layout: layout, Window: win.resolved()})
	}
	t, err := te.Compute(name, ints(n, o, oh, ow), func(a []te.Expr) te.Expr {
		return te.ReduceOf(te.Sum, te.MulOf(xp.At(a[0], rc.Var, ih(a[2]), iw(a[3])), w.At(a[1], rc.Var, ry.Var, rx.Var)), rc, ry, rx)
	}, "n", "oc", "oh", "ow")
	return tagged(t, err, TagConv2DNCHW, WindowAttrs{Layout: layout, Window: win.resolved()})
}

// Dense is x [B, K] times the transpose of w [O, K]: [B, O] (TVM's dense).
func Dense(name string, x, w *te.Tensor) (*te.Tensor, error) {
	op := "dense " + name
	xs, err := dims(op, x, 2)
	if err != nil {
		return nil, err
	}
	ws, err := dims(op, w, 2)
	if err != nil {
		return nil, err
	}
	if !x.DType.IsFloat() || w.DType != x.DType {
		return nil, fmt.Errorf("%s: data %v and weight %v; both must be the same float type", op, x.DType, w.DType)
	}
	if xs[1] != ws[1] {
		return nil, fmt.Errorf("%s: data [%d, %d] and weight [%d, %d] differ in K", op, xs[0], xs[1], ws[0], ws[1])
	}
	k := te.ReduceAxis("k", idx(0), idx(xs[1]))
	t, err := te.Compute(name, ints(xs[0], ws[0]), func(a []te.Expr) te.Expr {
		return te.ReduceOf(te.Sum, te.MulOf(x.At(a[0], k.Var), w.At(a[1], k.Var)), k)
	}, "b", "o")
	return tagged(t, err, TagDense, nil)
}

// spatial returns the positions of the H axis and the channel axis of a 4-D
// activation in a layout.
func spatial(l Layout) (hAxis, cAxis int) {
	if l == NCHW {
		return 2, 1
	}
	return 1, 3
}

// MaxPool2D is the maximum over each window; padding never wins (it is
// skipped, not zero).
func MaxPool2D(name string, x *te.Tensor, layout Layout, win Window) (*te.Tensor, error) {
	return pool(name, x, layout, win, true)
}

// AvgPool2D is the mean over each window, counting only the elements inside
// the input (TVM's count_include_pad=False).
func AvgPool2D(name string, x *te.Tensor, layout Layout, win Window) (*te.Tensor, error) {
	return pool(name, x, layout, win, false)
}

func pool(name string, x *te.Tensor, layout Layout, win Window, isMax bool) (*te.Tensor, error) {
	op := "pool " + name
	if err := layout.check(op); err != nil {
		return nil, err
	}
	xs, err := dims(op, x, 4)
	if err != nil {
		return nil, err
	}
	if !x.DType.IsFloat() && !(isMax && x.DType.IsInteger()) {
		return nil, fmt.Errorf("%s: data is %v; max pooling takes floats or integers, average pooling floats", op, x.DType)
	}
	hAxis, _ := spatial(layout)
	h, wd := xs[hAxis], xs[hAxis+1]
	oh, ow, err := win.out(op, h, wd)
	if err != nil {
		return nil, err
	}
	sh, sw := win.strides()
	ry, rx := te.ReduceAxis("ry", idx(0), idx(win.KH)), te.ReduceAxis("rx", idx(0), idx(win.KW))
	os := append([]int{}, xs...)
	os[hAxis], os[hAxis+1] = oh, ow
	names := []string{"n", "oh", "ow", "c"}
	if layout == NCHW {
		names = []string{"n", "c", "oh", "ow"}
	}
	// input row and column of a window element, before padding
	row := func(a []te.Expr) te.Expr {
		return te.SubOf(te.AddOf(te.MulOf(a[hAxis], idx(sh)), ry.Var), idx(win.Pad.Top))
	}
	col := func(a []te.Expr) te.Expr {
		return te.SubOf(te.AddOf(te.MulOf(a[hAxis+1], idx(sw)), rx.Var), idx(win.Pad.Left))
	}
	read := func(a []te.Expr) te.Expr {
		src := append([]te.Expr{}, a...)
		src[hAxis], src[hAxis+1] = row(a), col(a)
		return x.At(src...)
	}
	inside := func(a []te.Expr) te.Expr {
		r, c := row(a), col(a)
		return all([]te.Expr{te.Bin(te.GE, r, idx(0)), te.Bin(te.LT, r, idx(h)), te.Bin(te.GE, c, idx(0)), te.Bin(te.LT, c, idx(wd))})
	}
	attrs := WindowAttrs{Layout: layout, Window: win.resolved()}
	if isMax {
		t, err := te.Compute(name, ints(os...), func(a []te.Expr) te.Expr {
			if !win.Pad.any() {
				return te.ReduceOf(te.ReduceMax, read(a), ry, rx)
			}
			lowest := te.Float(-3.4028234663852886e38)
			if !x.DType.IsFloat() {
				lowest = te.Const(x.DType, float64(x.DType.MinInt()))
			}
			return te.ReduceOf(te.ReduceMax, te.IfThenElse(inside(a), read(a), lowest), ry, rx)
		}, names...)
		return tagged(t, err, TagMaxPool2D, attrs)
	}
	sum, err := te.Compute(name+"_sum", ints(os...), func(a []te.Expr) te.Expr {
		if !win.Pad.any() {
			return te.ReduceOf(te.Sum, read(a), ry, rx)
		}
		return te.ReduceOf(te.Sum, te.IfThenElse(inside(a), read(a), te.Const(x.DType, 0)), ry, rx)
	}, names...)
	if sum, err = tagged(sum, err, TagAvgPool2DSum, attrs); err != nil {
		return nil, err
	}
	t, err := te.Compute(name, ints(os...), func(a []te.Expr) te.Expr {
		// the number of window elements inside the input
		extent := func(o te.Expr, s, k, pad, n int) te.Expr {
			lo := te.SubOf(te.MulOf(o, idx(s)), idx(pad))
			return te.SubOf(te.Bin(te.Min, te.AddOf(lo, idx(k)), idx(n)), te.Bin(te.Max, lo, idx(0)))
		}
		count := te.MulOf(extent(a[hAxis], sh, win.KH, win.Pad.Top, h), extent(a[hAxis+1], sw, win.KW, win.Pad.Left, wd))
		return te.DivOf(sum.At(a...), te.CastTo(x.DType, count))
	}, names...)
	return tagged(t, err, TagAvgPool2D, attrs)
}

// GlobalAvgPool2D is the mean over H and W: [N, 1, 1, C] (NHWC) or
// [N, C, 1, 1] (NCHW).
func GlobalAvgPool2D(name string, x *te.Tensor, layout Layout) (*te.Tensor, error) {
	xs, err := dims("global_avg_pool2d "+name, x, 4)
	if err != nil {
		return nil, err
	}
	hAxis, _ := spatial(layout)
	return AvgPool2D(name, x, layout, Window{KH: xs[hAxis], KW: xs[hAxis+1]})
}

// ReLU is max(x, 0).
func ReLU(name string, x *te.Tensor) (*te.Tensor, error) {
	return elementwise(TagReLU, name, x, func(v te.Expr) te.Expr { return te.Bin(te.Max, v, te.Const(x.DType, 0)) })
}

func elementwise(tag te.Tag, name string, x *te.Tensor, f func(te.Expr) te.Expr) (*te.Tensor, error) {
	if _, err := dims(string(tag)+" "+name, x, 0); err != nil {
		return nil, err
	}
	t, err := te.Compute(name, x.Shape, func(a []te.Expr) te.Expr { return f(x.At(a...)) })
	return tagged(t, err, tag, nil)
}

// perChannel checks a vector of per-channel parameters against axis of x.
func perChannel(op string, x, p *te.Tensor, axis int) error {
	xs, err := dims(op, x, 0)
	if err != nil {
		return err
	}
	ps, err := dims(op, p, 1)
	if err != nil {
		return err
	}
	if axis < 0 || axis >= len(xs) {
		return fmt.Errorf("%s: channel axis %d of a %d-D tensor", op, axis, len(xs))
	}
	if ps[0] != xs[axis] || p.DType != x.DType {
		return fmt.Errorf("%s: %s is %v[%d]; want %v[%d], one per element of axis %d", op, p.Name, p.DType, ps[0], x.DType, xs[axis], axis)
	}
	return nil
}

// BiasAdd adds b[c] along x's axis.
func BiasAdd(name string, x, b *te.Tensor, axis int) (*te.Tensor, error) {
	if err := perChannel("bias_add "+name, x, b, axis); err != nil {
		return nil, err
	}
	t, err := te.Compute(name, x.Shape, func(a []te.Expr) te.Expr { return te.AddOf(x.At(a...), b.At(a[axis])) })
	return tagged(t, err, TagBiasAdd, nil)
}

// BatchNorm is inference batch normalization along axis:
// (x - mean) / sqrt(var + eps) * gamma + beta, computed as x * scale[c] +
// shift[c] with scale = gamma / sqrt(var + eps) and shift = beta - mean *
// scale, stages name_scale and name_shift of the parameters alone: a
// network with constant parameters folds them at build time, leaving one
// multiply-add per element.
func BatchNorm(name string, x, gamma, beta, mean, variance *te.Tensor, eps float64, axis int) (*te.Tensor, error) {
	for _, p := range []*te.Tensor{gamma, beta, mean, variance} {
		if err := perChannel("batch_norm "+name, x, p, axis); err != nil {
			return nil, err
		}
	}
	scale, err := te.Compute(name+"_scale", gamma.Shape, func(a []te.Expr) te.Expr {
		return te.DivOf(gamma.At(a[0]), te.Un(te.Sqrt, te.AddOf(variance.At(a[0]), te.Float(eps))))
	}, "c")
	if scale, err = tagged(scale, err, TagBatchNormScale, nil); err != nil {
		return nil, err
	}
	shift, err := te.Compute(name+"_shift", gamma.Shape, func(a []te.Expr) te.Expr {
		return te.SubOf(beta.At(a[0]), te.MulOf(mean.At(a[0]), scale.At(a[0])))
	}, "c")
	if shift, err = tagged(shift, err, TagBatchNormShift, nil); err != nil {
		return nil, err
	}
	t, err := te.Compute(name, x.Shape, func(a []te.Expr) te.Expr {
		c := a[axis]
		return te.AddOf(te.MulOf(x.At(a...), scale.At(c)), shift.At(c))
	})
	return tagged(t, err, TagBatchNorm, nil)
}

// Add is the elementwise sum of two tensors of one shape and type (a
// residual connection).
func Add(name string, a, b *te.Tensor) (*te.Tensor, error) {
	as, err := dims("add "+name, a, 0)
	if err != nil {
		return nil, err
	}
	bs, err := dims("add "+name, b, 0)
	if err != nil {
		return nil, err
	}
	if fmt.Sprint(as) != fmt.Sprint(bs) || a.DType != b.DType {
		return nil, fmt.Errorf("add %s: %s is %v%v and %s is %v%v; want one shape and type", name, a.Name, a.DType, as, b.Name, b.DType, bs)
	}
	t, err := te.Compute(name, a.Shape, func(i []te.Expr) te.Expr { return te.AddOf(a.At(i...), b.At(i...)) })
	return tagged(t, err, TagAdd, nil)
}

// Concatenate joins tensors along axis: the other extents and the dtype
// must agree. A network places each input in its slice of the result, so
// the concatenation copies nothing (graph).
func Concatenate(name string, axis int, parts ...*te.Tensor) (*te.Tensor, error) {
	op := "concatenate " + name
	if len(parts) < 2 {
		return nil, fmt.Errorf("%s: %d tensors; it joins two or more", op, len(parts))
	}
	first, err := dims(op, parts[0], 0)
	if err != nil {
		return nil, err
	}
	if axis < 0 || axis >= len(first) {
		return nil, fmt.Errorf("%s: axis %d of a %d-D tensor", op, axis, len(first))
	}
	out := append([]int{}, first...)
	out[axis] = 0
	var starts []int
	for _, p := range parts {
		ps, err := dims(op, p, len(first))
		if err != nil {
			return nil, err
		}
		for d := range ps {
			if d != axis && ps[d] != first[d] || p.DType != parts[0].DType {
				return nil, fmt.Errorf("%s: %s is %v%v and %s is %v%v; they must agree except along axis %d", op, parts[0].Name, parts[0].DType, first, p.Name, p.DType, ps, axis)
			}
		}
		starts = append(starts, out[axis])
		out[axis] += ps[axis]
	}
	t, err := te.Compute(name, ints(out...), func(a []te.Expr) te.Expr {
		// the last part, else the one before, ...: a chain of selects
		read := func(i int) te.Expr {
			src := append([]te.Expr{}, a...)
			src[axis] = te.SubOf(a[axis], idx(starts[i]))
			return parts[i].At(src...)
		}
		v := read(len(parts) - 1)
		for i := len(parts) - 2; i >= 0; i-- {
			v = te.IfThenElse(te.Bin(te.LT, a[axis], idx(starts[i+1])), read(i), v)
		}
		return v
	})
	return tagged(t, err, TagConcatenate, ConcatAttrs{Axis: axis})
}

// Softmax is exp(x - max) / sum(exp(x - max)) along the last axis, in
// four stages: name_max, name_exp, name_sum and name.
func Softmax(name string, x *te.Tensor) (*te.Tensor, error) {
	op := "softmax " + name
	xs, err := dims(op, x, 0)
	if err != nil {
		return nil, err
	}
	if !x.DType.IsFloat() {
		return nil, fmt.Errorf("%s: data is %v%v; softmax takes floats", op, x.DType, xs)
	}
	if len(xs) < 1 {
		return nil, fmt.Errorf("%s: %s is 0-d; softmax normalizes over the last axis, so it needs one", op, x.Name)
	}
	last := len(xs) - 1
	outer := ints(xs[:last]...)
	at := func(a []te.Expr, k te.Expr) []te.Expr { return append(append([]te.Expr{}, a...), k) }
	k := te.ReduceAxis("k", idx(0), idx(xs[last]))
	m, err := te.Compute(name+"_max", outer, func(a []te.Expr) te.Expr { return te.ReduceOf(te.ReduceMax, x.At(at(a, k.Var)...), k) })
	if m, err = tagged(m, err, TagSoftmaxMax, nil); err != nil {
		return nil, err
	}
	e, err := te.Compute(name+"_exp", x.Shape, func(a []te.Expr) te.Expr {
		return te.Un(te.Exp, te.SubOf(x.At(a...), m.At(a[:last]...)))
	})
	if e, err = tagged(e, err, TagSoftmaxExp, nil); err != nil {
		return nil, err
	}
	k2 := te.ReduceAxis("k", idx(0), idx(xs[last]))
	sum, err := te.Compute(name+"_sum", outer, func(a []te.Expr) te.Expr { return te.ReduceOf(te.Sum, e.At(at(a, k2.Var)...), k2) })
	if sum, err = tagged(sum, err, TagSoftmaxSum, nil); err != nil {
		return nil, err
	}
	t, err := te.Compute(name, x.Shape, func(a []te.Expr) te.Expr { return te.DivOf(e.At(a...), sum.At(a[:last]...)) })
	return tagged(t, err, TagSoftmax, nil)
}

// Quantize turns floats into N-bit activation codes (DoReFa):
// round((2^N - 1) * clip(x, 0, 1)), ties to even, as uint8.
func Quantize(name string, x *te.Tensor, bits int) (*te.Tensor, error) {
	if bits < 1 || bits > 8 {
		return nil, fmt.Errorf("quantize %s: %d bits; codes have 1 to 8 bits", name, bits)
	}
	if !x.DType.IsFloat() {
		return nil, fmt.Errorf("quantize %s: data is %v; it quantizes floats", name, x.DType)
	}
	levels := te.Const(x.DType, float64(int(1)<<bits-1))
	return elementwise(TagQuantize, name, x, func(v te.Expr) te.Expr {
		clipped := te.Bin(te.Min, te.Bin(te.Max, v, te.Const(x.DType, 0)), te.Const(x.DType, 1))
		return te.CastTo(te.UInt8, te.Un(te.Round, te.MulOf(levels, clipped)))
	})
}
