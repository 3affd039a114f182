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
	co, ci := p.split(pool, c, min(lanes(t, pool.Tensor.DType), extentAt(pool, 3)))
	p.reorder(pool, append(append([]*schedule.Axis{n, oh, ow, co}, window...), ci)...)
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

// SchedulePoolFused schedules a pool with its element-wise epilogue ending
// in out (nil for none; every stage between them already inlined).
func SchedulePoolFused(s *schedule.Schedule, t Target, pool, out *te.Tensor) error {
	var ep *schedule.Stage
	if out != nil {
		ep = s.Stage(out)
	}
	return schedulePoolInto(s, s.Stage(pool), ep, t)
}
