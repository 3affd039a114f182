package topi

import (
	"github.com/tide-compiler/tide/schedule"
	"github.com/tide-compiler/tide/te"
)

// IsPool reports whether t is a pooling window's reduction (max, or the
// sum of an average).
func IsPool(t *te.Tensor) bool { return t.Tag == TagMaxPool2D || t.Tag == TagAvgPool2DSum }

// schedulePoolInto schedules an NHWC pool: the channels innermost as
// vectors, the window's loops outside them, so one pixel's channels are
// reduced in vector registers; rows in parallel. With an epilogue (the
// end of an element-wise chain after the pool, already inlined into it:
// batch norm and quantization in a network), the pool is computed per
// pixel inside the epilogue's loops and never stored whole. NCHW pools keep
// the element-wise schedule.
func schedulePoolInto(s *schedule.Schedule, pool, epilogue *schedule.Stage, t Target) error {
	a, err := AttrsOf[WindowAttrs](pool.Tensor)
	if err != nil {
		return err
	}
	if a.Layout != NHWC {
		if epilogue != nil {
			if err := scheduleOuter(s, epilogue, t); err != nil {
				return err
			}
		}
		return scheduleOuter(s, pool, t)
	}
	var p steps
	n, oh, ow, c := pool.Root[0], pool.Root[1], pool.Root[2], pool.Root[3]
	var window []*schedule.Axis
	for _, a := range pool.Leaf {
		if a.Reduce {
			window = append(window, a)
		}
	}
	v := min(lanes(t, pool.Tensor.DType), extentAt(pool, 3))
	co, ci := p.split(pool, c, v)
	if (extentAt(pool, 3)+v-1)/v <= poolVectors {
		// a pixel's channels fit in registers: the window's loops
		// outside them, unrolled over the channels, so that a padded
		// window's guard is tested once per tap, not once per tap and
		// vector (ResNet-18's 3x3/2 pool on cortex-a53: 16 vectors)
		p.reorder(pool, append(append([]*schedule.Axis{n, oh, ow}, window...), co, ci)...)
		p.unroll(pool, co)
	} else {
		p.reorder(pool, append(append([]*schedule.Axis{n, oh, ow, co}, window...), ci)...)
	}
	p.vectorize(pool, ci)
	if epilogue == nil {
		if extentAt(pool, 1) > 1 {
			p.parallel(pool, oh)
		}
		return p.err
	}
	p.then(func() error { return scheduleOuter(s, epilogue, t) })
	p.computeAt(pool, epilogue, epilogue.Root[2])
	return p.err
}

// poolVectors is how many vectors of a pixel's channels a pool keeps in
// registers across its window: half of NEON's and AVX-512's 32, all of
// AVX2's 16 with the loads beside them spilling a few.
const poolVectors = 16

// SchedulePoolFused schedules a pool with its element-wise epilogue ending
// in out (nil for none; every stage between them already inlined).
func SchedulePoolFused(s *schedule.Schedule, t Target, pool, out *te.Tensor) error {
	var ep *schedule.Stage
	if out != nil {
		ep = s.Stage(out)
	}
	return schedulePoolInto(s, s.Stage(pool), ep, t)
}
