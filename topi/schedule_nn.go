package topi

import (
	"tide/schedule"
	"tide/te"
)

// scheduleConv schedules a convolution (float or bitserial, NHWC or NCHW),
// its padding stage and, for XNOR, its correcting output stage:
//
//   - the output is tiled into register blocks (a few pixels by a vector of
//     channels in NHWC, a few channels by a vector of pixels in NCHW), its
//     rows run in parallel;
//   - the reduction is computed at the block, with the block's pixels
//     unrolled and its vector innermost, so the partial sums stay in
//     registers across the whole reduction (cache_write makes the block's
//     accumulator when nothing follows the convolution);
//   - the padding is its own stage at the root.
func scheduleConv(s *schedule.Schedule, acc *schedule.Stage, t Target, keep func(*te.Tensor) bool) error {
	pad := inputTagged(s, acc, "pad")
	out := consumerTagged(acc, "bitserial_xnor")
	if skipped(keep, acc, pad, out) {
		return nil
	}
	nhwc := acc.Tensor.Tag == "conv2d_nhwc" || acc.Tensor.Tag == "bitserial_conv2d_nhwc"
	if out == nil {
		local, err := s.CacheWrite(acc.Tensor, "local")
		if err != nil {
			return err
		}
		out, acc = acc, local
	}
	var p steps
	// vectors are as wide as the operands: floats, or packed words
	elem := acc.Tensor.DType
	if !elem.IsFloat() {
		elem = acc.Tensor.Inputs()[0].DType
	}
	v := lanes(t, elem)
	// the block: 4 pixels (or channels) by two vectors, as the matmul
	// example's register tile
	rows, cols := int64(4), 2*v
	var rowAx, colAx string
	if nhwc {
		rowAx, colAx = "ow", "oc"
	} else {
		rowAx, colAx = "oc", "ow"
	}
	rows = min(rows, extent(out, rowAx))
	cols = min(cols, extent(out, colAx))
	xo, yo, xi, yi, err := out.Tile(out.Axis(rowAx), out.Axis(colAx), rows, cols)
	p.do(err)
	if p.err != nil {
		return p.err
	}
	yio, yii := p.split(out, yi, min(v, cols))
	_ = yio
	if p.err == nil {
		p.do(out.Vectorize(yii))
	}
	// the rows of the output in parallel: n and the outer row loop fused
	outer := out.Axis("oh")
	if !nhwc {
		outer = xo
	}
	if p.err == nil {
		n := out.Axis("n")
		if extent(out, "n") > 1 {
			p.do(out.Reorder(n, outer))
			if p.err == nil {
				f, err := out.Fuse(n, outer)
				p.do(err)
				outer = f
			}
		}
		if p.err == nil {
			p.do(out.Parallel(outer))
		}
	}
	_ = xi
	if p.err != nil {
		return p.err
	}
	// the block's reduction: every reduce loop outside the block's loops
	p.do(acc.ComputeAt(out, yo))
	var order []*schedule.Axis
	for _, a := range acc.Leaf {
		if a.Reduce {
			order = append(order, a)
		}
	}
	rowA, colA := acc.Axis(rowAx), acc.Axis(colAx)
	order = append(order, rowA, colA)
	if p.err == nil {
		p.do(acc.Reorder(order...))
	}
	co, ci := p.split(acc, colA, min(v, cols))
	if p.err == nil {
		p.do(acc.Vectorize(ci))
	}
	if p.err == nil {
		p.do(acc.Unroll(co))
	}
	if p.err == nil {
		p.do(acc.Unroll(rowA))
	}
	if pad != nil && p.err == nil {
		p.do(scheduleOuter(s, pad, t))
	}
	return p.err
}

// scheduleDense schedules a dense layer: the dot products over K in vector
// accumulators (one horizontal sum each at the end), output rows in
// parallel, and an XNOR correction stage element-wise.
func scheduleDense(s *schedule.Schedule, acc *schedule.Stage, t Target, keep func(*te.Tensor) bool) error {
	out := consumerTagged(acc, "bitserial_xnor")
	if skipped(keep, acc, out) {
		return nil
	}
	var p steps
	k := acc.Axis("k")
	// the vector is over K's elements: words for bitserial, floats else
	elem := acc.Tensor.DType
	for _, in := range acc.Tensor.Inputs() {
		elem = in.DType
	}
	v := lanes(t, elem)
	if n := extent(acc, "k"); n >= v {
		ko, ki := p.split(acc, k, v)
		_ = ko
		if p.err == nil {
			p.do(acc.Vectorize(ki))
		}
	}
	if p.err == nil && extent(acc, "o") > 1 {
		p.do(acc.Parallel(acc.Axis("o")))
	}
	if out != nil && p.err == nil {
		p.do(scheduleOuter(s, out, t))
	}
	return p.err
}
