package topi

import (
	"fmt"
	"math"

	"github.com/tide-compiler/tide/te"
)

// FusedGlue is Riptide's fused glue (Eq. 4-7): per output channel c along
// axis, q = clip((acc + cb[c]) >> shift[c], 0, 2^bits - 1) with an
// arithmetic shift, as uint8 activation codes for the next binary layer.
// acc is int16 or int32; cb and shift are int32 vectors (GlueConstants
// computes them from the float parameters).
//
// Codes of 1 or 2 bits are computed by comparisons with thresholds, as
// Larq's output transform does: q >= k exactly when acc >= (k << shift) -
// cb (an arithmetic shift rounds down), so q is the number of the
// 2^bits - 1 thresholds that acc reaches. The thresholds are a stage of
// the constants alone (name_threshold, computed once per call, or at build
// time in a network), and a pixel costs one compare per level instead of a
// widening add, a variable shift and a clip. The thresholds are clamped to
// acc's values plus one (te.IntRange: a convolution's accumulators are far
// inside their type), so that the compares are exact in acc's own type;
// when acc may reach its type's maximum they are one type wider. Wider codes take the add, shift and clip
// (2^bits - 1 compares would cost more), summed in int64: acc + cb can
// pass int32's limits (issue 12), and the clip makes the result small
// again. A shift of 40 or more gives code 0 either way; a negative one is
// undefined, as a shift by it is.
func FusedGlue(name string, acc, cb, shift *te.Tensor, axis, bits int) (*te.Tensor, error) {
	if err := checkGlue("fused_glue "+name, acc, cb, shift, axis, bits); err != nil {
		return nil, err
	}
	if bits > 2 {
		t, err := te.Compute(name, acc.Shape, func(a []te.Expr) te.Expr {
			c := a[axis]
			sum := te.AddOf(te.CastTo(te.Int64, acc.At(a...)), te.CastTo(te.Int64, cb.At(c)))
			v := te.Bin(te.Shr, sum, te.CastTo(te.Int64, shift.At(c)))
			clipped := te.Bin(te.Min, te.Bin(te.Max, v, te.Const(te.Int64, 0)), te.Const(te.Int64, float64(int64(1)<<bits-1)))
			return te.CastTo(te.UInt8, clipped)
		})
		return tagged(t, err, TagFusedGlue, GlueAttrs{Axis: axis, Bits: bits})
	}
	levels := int64(1)<<bits - 1
	// acc's values, e.g. a convolution's [-KH*KW*C, KH*KW*C]: thresholds
	// clamped to [lo, hi + 1] give every compare its exact answer, in
	// acc's own type when hi + 1 fits it (a bound from the computes that
	// make acc), else one step wider
	lo, hi := te.IntRange(acc)
	wide := acc.DType
	if hi >= acc.DType.MaxInt() {
		wide = map[te.DType]te.DType{te.Int16: te.Int32, te.Int32: te.Int64}[acc.DType]
	}
	th, err := te.Compute(name+"_threshold", []te.Expr{te.Int(levels), acc.Shape[axis]}, func(a []te.Expr) te.Expr {
		k, c := a[0], a[1]
		// (k + 1) << shift - cb in int64: below 2^48 with the shift at
		// most 40, past which no int32 sum reaches the first level
		sh := te.Bin(te.Min, te.CastTo(te.Int64, shift.At(c)), te.Const(te.Int64, 40))
		t := te.SubOf(te.Bin(te.Shl, te.AddOf(te.CastTo(te.Int64, k), te.Const(te.Int64, 1)), sh), te.CastTo(te.Int64, cb.At(c)))
		clamped := te.Bin(te.Min, te.Bin(te.Max, t, te.Const(te.Int64, float64(lo))), te.Const(te.Int64, float64(hi+1)))
		return te.CastTo(wide, clamped)
	}, "k", "c")
	if th, err = tagged(th, err, TagGlueThreshold, nil); err != nil {
		return nil, err
	}
	if x, isXnor := acc.Attrs.(XnorAttrs); isXnor && acc.Tag == TagBitserialXnor && x.Polarity == BipolarBipolar {
		return foldXnor(name, x, th, axis, bits)
	}
	t, err := te.Compute(name, acc.Shape, func(a []te.Expr) te.Expr {
		x := acc.At(a...)
		if wide != acc.DType {
			x = te.CastTo(wide, x)
		}
		return levelsReached(levels, func(k te.Expr) te.Expr { return te.Bin(te.GE, x, th.At(k, a[axis])) })
	})
	return tagged(t, err, TagFusedGlue, GlueAttrs{Axis: axis, Bits: bits})
}

// levelsReached is a code as the number of levels 0 .. levels-1 whose
// compare holds: the thresholds' glue.
func levelsReached(levels int64, reached func(k te.Expr) te.Expr) te.Expr {
	var q te.Expr
	for k := range levels {
		r := te.CastTo(te.UInt8, reached(te.Int(k)))
		if q == nil {
			q = r
		} else {
			q = te.AddOf(q, r)
		}
	}
	return q
}

// foldXnor is the thresholds' glue of a bipolar binary layer's XNOR
// correction y = Full - 2 acc + border, computed on the accumulators acc
// themselves, as Larq's output transform does: y >= th exactly when
// acc <= floor((Full + border - th) / 2), so a pixel costs one compare per
// level, where y cost a doubling, a subtraction and, with zero padding, the
// border's add. The folded thresholds, name_threshold_acc, are a stage of
// the constants alone (computed once per call, or at build time in a
// network): [levels, C], or with a border [levels, the border's shape],
// since the correction differs by border class. They are clamped to
// [-1, Full], the accumulators' values (popcount sums, 0 to Full) and one
// below, so that they fit acc's own type and every compare stays exact.
func foldXnor(name string, x XnorAttrs, th *te.Tensor, axis, bits int) (*te.Tensor, error) {
	acc, levels := x.Acc, int64(1)<<bits-1
	i64 := func(e te.Expr) te.Expr { return te.CastTo(te.Int64, e) }
	folded := func(border, t te.Expr) te.Expr {
		// an arithmetic shift by one rounds down, negative values too
		v := te.Bin(te.Shr, te.SubOf(te.AddOf(te.Const(te.Int64, float64(x.Full)), border), t), te.Const(te.Int64, 1))
		v = te.Bin(te.Min, te.Bin(te.Max, v, te.Const(te.Int64, -1)), te.Const(te.Int64, float64(x.Full)))
		return te.CastTo(acc.DType, v)
	}
	var ft *te.Tensor
	var err error
	var at func(k te.Expr, a []te.Expr) te.Expr
	if b := x.Border; b == nil {
		ft, err = te.Compute(name+"_threshold_acc", []te.Expr{te.Int(levels), acc.Shape[axis]}, func(a []te.Expr) te.Expr {
			return folded(te.Const(te.Int64, 0), i64(th.At(a[0], a[1])))
		}, "k", "c")
		at = func(k te.Expr, a []te.Expr) te.Expr { return ft.At(k, a[axis]) }
	} else {
		names := []string{"k"}
		for _, ax := range b.Tensor.Axis {
			names = append(names, ax.Var.Name)
		}
		ft, err = te.Compute(name+"_threshold_acc", append([]te.Expr{te.Int(levels)}, b.Tensor.Shape...), func(a []te.Expr) te.Expr {
			return folded(i64(b.Tensor.At(a[1:]...)), i64(th.At(a[0], a[1+b.Channel])))
		}, names...)
		at = func(k te.Expr, a []te.Expr) te.Expr { return ft.At(append([]te.Expr{k}, b.Index(a)...)...) }
	}
	if ft, err = tagged(ft, err, TagGlueThreshold, nil); err != nil {
		return nil, err
	}
	t, err := te.Compute(name, acc.Shape, func(a []te.Expr) te.Expr {
		return levelsReached(levels, func(k te.Expr) te.Expr { return te.Bin(te.LE, acc.At(a...), at(k, a)) })
	})
	return tagged(t, err, TagFusedGlue, GlueAttrs{Axis: axis, Bits: bits})
}

// FloatGlue computes what FusedGlue computes as the float sequence an
// unfused network runs (Riptide's ablation without fused glue), each step
// a stage of its own: name_dequantize (the accumulators as floats),
// name_bn (plus the batch norm's centering cb), name_scale (times
// 2^-shift), name_floor, and name (clipped to the codes' range and
// quantized). Every step is exact on these integers (all below 2^24, and
// the scale a power of two), so the codes equal FusedGlue's.
func FloatGlue(name string, acc, cb, shift *te.Tensor, axis, bits int) (*te.Tensor, error) {
	if err := checkGlue("fused_glue "+name, acc, cb, shift, axis, bits); err != nil {
		return nil, err
	}
	step := func(suffix string, in *te.Tensor, dt te.DType, f func(x te.Expr, c te.Expr) te.Expr) (*te.Tensor, error) {
		n := name
		if suffix != "" {
			n += "_" + suffix
		}
		t, err := te.Compute(n, in.Shape, func(a []te.Expr) te.Expr { return te.CastTo(dt, f(in.At(a...), a[axis])) })
		return tagged(t, err, TagGlueFloat, GlueAttrs{Axis: axis, Bits: bits})
	}
	d, err := step("dequantize", acc, te.Float32, func(x, _ te.Expr) te.Expr { return te.CastTo(te.Float32, x) })
	if err != nil {
		return nil, err
	}
	b, err := step("bn", d, te.Float32, func(x, c te.Expr) te.Expr { return te.AddOf(x, te.CastTo(te.Float32, cb.At(c))) })
	if err != nil {
		return nil, err
	}
	s, err := step("scale", b, te.Float32, func(x, c te.Expr) te.Expr {
		return te.DivOf(x, te.CastTo(te.Float32, te.Bin(te.Shl, te.Const(te.Int32, 1), shift.At(c))))
	})
	if err != nil {
		return nil, err
	}
	f, err := step("floor", s, te.Float32, func(x, _ te.Expr) te.Expr { return te.Un(te.Floor, x) })
	if err != nil {
		return nil, err
	}
	return step("", f, te.UInt8, func(x, _ te.Expr) te.Expr {
		return te.Bin(te.Min, te.Bin(te.Max, x, te.Float(0)), te.Float(float64(int(1)<<bits-1)))
	})
}

// checkGlue checks a glue's operands: int16 or int32 accumulators, codes
// of 1 to 8 bits, and int32 constants, one per channel along axis.
func checkGlue(op string, acc, cb, shift *te.Tensor, axis, bits int) error {
	as, err := dims(op, acc, 0)
	if err != nil {
		return err
	}
	if acc.DType != te.Int16 && acc.DType != te.Int32 {
		return fmt.Errorf("%s: accumulators are %v; want int16 or int32", op, acc.DType)
	}
	if bits < 1 || bits > 8 {
		return fmt.Errorf("%s: %d bits; codes have 1 to 8 bits", op, bits)
	}
	if axis < 0 || axis >= len(as) {
		return fmt.Errorf("%s: channel axis %d of a %d-D tensor", op, axis, len(as))
	}
	for _, p := range []*te.Tensor{cb, shift} {
		ps, err := dims(op, p, 1)
		if err != nil {
			return err
		}
		if ps[0] != as[axis] || p.DType != te.Int32 {
			return fmt.Errorf("%s: %s is %v[%d]; want int32[%d], one per channel", op, p.Name, p.DType, ps[0], as[axis])
		}
	}
	return nil
}

// Glue are the per-channel integer constants of FusedGlue.
type Glue struct {
	CB, Shift []int32
}

// GlueConstants folds a binary layer's float parameters into FusedGlue's
// constants, as riptide.md (the Riptide paper, Eq. 4-7) defines them, per
// channel k:
//
//	AP2(x) = 2^round(log2 |x|)
//	wb = -log2 AP2(alpha_k)           (the weight scale)
//	sb = log2 AP2(sqrt(var_k + eps))  (the batch-norm scale)
//	mu_hat = FPQ(mean_k, N + wb, 1 + (1 - 2^-wb) / (2^N - 1))
//	cb = (1 << (wb - 1)) - mu_hat, shift = wb + sb
//
// The paper's rounding constant 1 << (wb - 1) rounds acc - mu_hat to
// nearest only when sb = 0; exact uses 1 << (wb + sb - 1) (0 when the shift
// is 0), which always does. Against the float pipeline (dequantize, scale,
// batch norm, clip, requantize, with the same power-of-two approximations)
// mu_hat's own rounding still leaves about 2^-(shift+1) of the codes off by
// one with exact; the paper's constant is off more often and by more (see
// the measurements in README.md). FPQ clips the mean to +-S (about 1), so
// the glue assumes |mean| <= S; larger means lose agreement quickly.
// Riptide's own TVM code differs in small ways (the mean of W without abs,
// a shift of wb - sb); this follows the paper. Shifts are 0 to 30, and
// acc + cb is computed in int32.
func GlueConstants(alpha, mean, variance []float64, eps float64, bits int, exact bool) (Glue, error) {
	if len(mean) != len(alpha) || len(variance) != len(alpha) {
		return Glue{}, fmt.Errorf("glue constants: %d alphas, %d means, %d variances; want one of each per channel", len(alpha), len(mean), len(variance))
	}
	var g Glue
	levels := float64(int(1)<<bits - 1)
	for k := range alpha {
		if alpha[k] == 0 || variance[k]+eps <= 0 {
			return Glue{}, fmt.Errorf("glue constants: channel %d has alpha %g and var+eps %g; both must be positive", k, alpha[k], variance[k]+eps)
		}
		wb := -int(math.Round(math.Log2(math.Abs(alpha[k]))))
		sb := int(math.Round(math.Log2(math.Sqrt(variance[k] + eps))))
		shift := wb + sb
		if wb < 1 || shift < 0 || shift > 30 {
			return Glue{}, fmt.Errorf("glue constants: channel %d has wb = %d and shift wb + sb = %d; fused glue needs wb >= 1 (alpha <= 0.7) and 0 <= shift <= 30", k, wb, shift)
		}
		s := 1 + (1-math.Pow(2, -float64(wb)))/levels
		muHat := FPQ(mean[k], bits+wb, s)
		round := int64(1) << (wb - 1)
		if exact {
			// half of the last step of the shift: none when nothing is shifted
			round = 0
			if shift > 0 {
				round = int64(1) << (shift - 1)
			}
		}
		g.CB = append(g.CB, int32(round-muHat))
		g.Shift = append(g.Shift, int32(shift))
	}
	return g, nil
}

// FPQ is Riptide's fixed-point quantization: round(clip(x, -s, s) / (s /
// (2^b - 1))), ties to even.
func FPQ(x float64, b int, s float64) int64 {
	c := math.Max(-s, math.Min(s, x))
	return int64(math.RoundToEven(c / (s / (math.Pow(2, float64(b)) - 1))))
}

// FusedGlueBatchNorm is FusedGlue whose constants come from a binary
// layer's trained parameters, as GlueConstants computes them: alpha (the
// weight scale), mean and variance of its batch norm, per channel along
// axis. The constants are stages of the parameters alone (name_shift,
// name_cb): a network with constant parameters computes them at build
// time. A channel GlueConstants refuses (wb < 1, or a shift outside 0..30)
// gets shift -1, which a network's build reports (graph) and which the
// glue's shift leaves undefined otherwise.
func FusedGlueBatchNorm(name string, acc, alpha, mean, variance *te.Tensor, eps float64, axis, bits int, exact, fused bool) (*te.Tensor, error) {
	op := "fused_glue_bn " + name
	as, err := dims(op, acc, 0)
	if err != nil {
		return nil, err
	}
	if axis < 0 || axis >= len(as) {
		return nil, fmt.Errorf("%s: channel axis %d of a %d-D tensor", op, axis, len(as))
	}
	if bits < 1 || bits > 8 {
		return nil, fmt.Errorf("%s: %d bits; codes have 1 to 8 bits", op, bits)
	}
	for _, p := range []*te.Tensor{alpha, mean, variance} {
		ps, err := dims(op, p, 1)
		if err != nil {
			return nil, err
		}
		if ps[0] != as[axis] || !p.DType.IsFloat() {
			return nil, fmt.Errorf("%s: %s is %v[%d]; want a float vector of %d, one per channel", op, p.Name, p.DType, ps[0], as[axis])
		}
	}
	// in float64, as GlueConstants computes
	f64 := func(t *te.Tensor, c te.Expr) te.Expr { return te.CastTo(te.Float64, t.At(c)) }
	i64 := func(x te.Expr) te.Expr { return te.CastTo(te.Int64, x) }
	wb := func(c te.Expr) te.Expr {
		return te.SubOf(te.Int(0), i64(te.Un(te.Round, te.Un(te.Log2, te.Un(te.Abs, f64(alpha, c))))))
	}
	sb := func(c te.Expr) te.Expr {
		return i64(te.Un(te.Round, te.Un(te.Log2, te.Un(te.Sqrt, te.AddOf(f64(variance, c), te.Float(eps))))))
	}
	valid := func(c te.Expr) te.Expr {
		s := te.AddOf(wb(c), sb(c))
		return te.Bin(te.And, te.Bin(te.GE, wb(c), te.Int(1)), te.Bin(te.And, te.Bin(te.GE, s, te.Int(0)), te.Bin(te.LE, s, te.Int(30))))
	}
	shift, err := te.Compute(name+"_shift", ints(as[axis]), func(a []te.Expr) te.Expr {
		return te.CastTo(te.Int32, te.SelectOf(valid(a[0]), te.AddOf(wb(a[0]), sb(a[0])), te.Int(-1)))
	}, "c")
	if shift, err = tagged(shift, err, TagGlueShift, nil); err != nil {
		return nil, err
	}
	levels := float64(int(1)<<bits - 1)
	cb, err := te.Compute(name+"_cb", ints(as[axis]), func(a []te.Expr) te.Expr {
		c := a[0]
		// clamped where the channel is invalid, so that every shift here
		// is defined; the shift stage marks such a channel
		w := te.Bin(te.Min, te.Bin(te.Max, wb(c), te.Int(1)), te.Int(40))
		pow := func(e te.Expr) te.Expr { return te.CastTo(te.Float64, te.Bin(te.Shl, te.Const(te.Int64, 1), e)) }
		// FPQ(mean, N + wb, S): round(clip(mean, -S, S) / (S / (2^(N+wb) - 1)))
		s := te.AddOf(te.Float(1), te.DivOf(te.SubOf(te.Float(1), te.DivOf(te.Float(1), pow(w))), te.Float(levels)))
		clipped := te.Bin(te.Max, te.Bin(te.Min, f64(mean, c), s), te.SubOf(te.Float(0), s))
		step := te.DivOf(s, te.SubOf(pow(te.AddOf(w, te.Int(int64(bits)))), te.Float(1)))
		muHat := i64(te.Un(te.Round, te.DivOf(clipped, step)))
		round := te.Bin(te.Shl, te.Const(te.Int64, 1), te.SubOf(w, te.Int(1)))
		if exact {
			sh := te.Bin(te.Min, te.Bin(te.Max, te.AddOf(w, sb(c)), te.Int(0)), te.Int(30))
			round = te.SelectOf(te.Bin(te.GT, sh, te.Int(0)), te.Bin(te.Shl, te.Const(te.Int64, 1), te.Bin(te.Max, te.SubOf(sh, te.Int(1)), te.Int(0))), te.Const(te.Int64, 0))
		}
		return te.CastTo(te.Int32, te.SubOf(round, muHat))
	}, "c")
	if cb, err = tagged(cb, err, TagGlueCB, nil); err != nil {
		return nil, err
	}
	if !fused {
		return FloatGlue(name, acc, cb, shift, axis, bits)
	}
	return FusedGlue(name, acc, cb, shift, axis, bits)
}
