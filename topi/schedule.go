package topi

import (
	"fmt"

	"github.com/tide-compiler/tide/schedule"
	"github.com/tide-compiler/tide/te"
)

// Target is what the schedules need to know of a machine.
type Target struct {
	Name       string // x86-64, cortex-a53, host, ...
	VectorBits int    // the width of a SIMD register
	// Features are the instruction set extensions the target has, by
	// LLVM's names (avx2, avx512vpopcntdq, neon, ...).
	Features []string
	// Ablations (Riptide's, chosen by a network's graph level): NoTiling
	// computes convolutions without register blocks; ScalarPopcount keeps
	// the binary operators' popcounts scalar, one word at a time.
	NoTiling, ScalarPopcount bool
	// Knobs, when not nil, give the schedules' tunable choices other
	// values and collect the choices asked for (see knob). Scope names the
	// choices of the operators being scheduled: a network's group.
	Knobs *Knobs
	Scope string
}

// SkipsPaddedTaps reports whether float convolutions declared for t should
// skip their windows' taps on padding (Window.SkipPaddedTaps). On x86 they
// gain (ResNet-18's 3x3 layers, alternating calls: 7x7x512 1.16-1.25x,
// 14x14x256 1.07-1.09x, 28x28x128 1.03-1.08x, 56x56x64 1.02x, with AVX2 or
// AVX-512). NEON's 4-pixel blocks leave most padded columns to loop
// partitioning, whose copies of the channel loop clang compiles worse
// (cortex-a53 estimates: SqueezeNet's float twin 3% slower), so there
// the zeros are added.
func (t Target) SkipsPaddedTaps() bool { return t.VectorBits > 128 }

// Schedule makes the default schedule of the operators computing outs for
// a target.
func Schedule(t Target, outs ...*te.Tensor) (*schedule.Schedule, error) {
	s := schedule.New(outs...)
	return s, Apply(s, t, nil)
}

// Apply gives every operator in s its default schedule for the target,
// except those with a stage for which keep returns true (a user's own
// schedule). Stages no operator made are left alone.
func Apply(s *schedule.Schedule, t Target, keep func(*te.Tensor) bool) error {
	if t.VectorBits < 64 {
		return fmt.Errorf("topi: target %s has %d-bit vectors; the schedules need at least 64", t.Name, t.VectorBits)
	}
	// fused operators first: their inner operators are theirs to schedule
	fused := map[*schedule.Stage]bool{}
	for _, st := range s.Order() {
		switch st.Tensor.Tag {
		case TagBitpackConv2DNHWC, TagBitpackConv2DNCHW:
			for _, inner := range bitpackConvStages(s, st) {
				fused[inner] = true
			}
			if err := scheduleBitpackConv(s, st, t, keep); err != nil {
				return fmt.Errorf("topi: scheduling %s (%s) for %s: %w", st.Name(), st.Tensor.Tag, t.Name, err)
			}
		}
	}
	for _, st := range s.Order() {
		if fused[st] {
			continue
		}
		if err := scheduleStage(s, st, t, keep); err != nil {
			return fmt.Errorf("topi: scheduling %s (%s) for %s: %w", st.Name(), st.Tensor.Tag, t.Name, err)
		}
	}
	return nil
}

// scheduleStage gives one operator's stage its default schedule.
func scheduleStage(s *schedule.Schedule, st *schedule.Stage, t Target, keep func(*te.Tensor) bool) error {
	switch st.Tensor.Tag {
	case TagBitserialConv2DNHWC, TagBitserialConv2DNCHW, TagConv2DNHWC, TagConv2DNCHW:
		return scheduleConv(s, st, t, keep)
	case TagBitserialDense, TagDense:
		return scheduleDense(s, st, t, keep)
	case TagMaxPool2D, TagAvgPool2DSum:
		if keep == nil || !keep(st.Tensor) {
			return schedulePoolInto(s, st, nil, t)
		}
	case TagBitpack:
		if keep == nil || !keep(st.Tensor) {
			return scheduleBitpack(s, st, t)
		}
	case TagReLU, TagBiasAdd, TagBatchNorm, TagAdd, TagQuantize, TagFusedGlue, TagAvgPool2D:
		if keep == nil || !keep(st.Tensor) {
			return scheduleOuter(s, st, t)
		}
	}
	return nil
}

// lanes is how many elements of type d fill a vector register.
func lanes(t Target, d te.DType) int64 {
	return int64(max(1, t.VectorBits/max(8, d.Bits)))
}

// extent is a root axis's constant extent.
func extent(st *schedule.Stage, name string) int64 {
	_, ext := st.RootRange(st.Axis(name))
	v, _ := te.IntValue(ext)
	return v
}

// extentAt is the constant extent of a stage's i-th root axis.
func extentAt(st *schedule.Stage, i int) int64 {
	_, ext := st.RootRange(st.Root[i])
	v, _ := te.IntValue(ext)
	return v
}

// steps runs schedule steps until one fails: after a failure every later
// step is skipped (its axes may be nil) and err is the first error, so a
// schedule reads as a straight list of primitives.
type steps struct{ err error }

// then runs f unless a step failed.
func (p *steps) then(f func() error) {
	if p.err == nil {
		p.err = f()
	}
}

func (p *steps) split(st *schedule.Stage, ax *schedule.Axis, factor int64) (outer, inner *schedule.Axis) {
	p.then(func() (err error) { outer, inner, err = st.Split(ax, factor); return })
	return
}

func (p *steps) fuse(st *schedule.Stage, outer, inner *schedule.Axis) (fused *schedule.Axis) {
	p.then(func() (err error) { fused, err = st.Fuse(outer, inner); return })
	return
}

func (p *steps) reorder(st *schedule.Stage, order ...*schedule.Axis) {
	p.then(func() error { return st.Reorder(order...) })
}

func (p *steps) vectorize(st *schedule.Stage, ax *schedule.Axis) {
	p.then(func() error { return st.Vectorize(ax) })
}

func (p *steps) unroll(st *schedule.Stage, ax *schedule.Axis) {
	p.then(func() error { return st.Unroll(ax) })
}

func (p *steps) parallel(st *schedule.Stage, ax *schedule.Axis) {
	p.then(func() error { return st.Parallel(ax) })
}

func (p *steps) computeAt(st, consumer *schedule.Stage, ax *schedule.Axis) {
	p.then(func() error { return st.ComputeAt(consumer, ax) })
}

func (p *steps) computeInline(st *schedule.Stage) {
	p.then(st.ComputeInline)
}

// scheduleOuter schedules an element-wise or window operator: the innermost
// axis in vector-wide pieces, the outermost in parallel.
func scheduleOuter(s *schedule.Schedule, st *schedule.Stage, t Target) error {
	var p steps
	data := dataAxes(st)
	if len(data) == 0 {
		return nil // a 0-d stage: one element, no loop to vectorize or share
	}
	p.then(func() error { return vectorizeInnermost(st, t) })
	// the first loop with more than one iteration runs in parallel
	for _, a := range data[:len(data)-1] {
		if n, _ := te.IntValue(a.StaticExtent()); n > 1 {
			p.parallel(st, a)
			break
		}
	}
	return p.err
}

// vectorizeInnermost splits an element-wise or window stage's innermost
// data axis in vector-wide pieces and vectorizes them.
func vectorizeInnermost(st *schedule.Stage, t Target) error {
	var p steps
	data := dataAxes(st)
	if len(data) == 0 {
		return nil
	}
	inner := data[len(data)-1]
	if n, _ := te.IntValue(inner.StaticExtent()); n >= 2 && st.Tensor.Body != nil {
		if _, isReduce := st.Tensor.Body.(*te.Reduce); !isReduce || len(st.Tensor.ReduceAxis) == 0 {
			_, vi := p.split(st, inner, min(n, lanes(t, st.Tensor.DType)))
			p.vectorize(st, vi)
		}
	}
	return p.err
}

// scheduleBitpack schedules a bitpack of its own (not fused into a
// convolution): the outer loops as scheduleOuter's, and, when the packed
// axis is the input's innermost, the word's bits as vector lanes: a
// contiguous load of a word's codes, and their sum of bit << lane, which
// code generation emits as a mask move (vpcmp and kmov on AVX-512). Kept
// scalar, it is a load, a shift and an add per code. A packed axis that
// does not fill its last word stays scalar: its guard on each lane would
// (lowering says so in a warning).
func scheduleBitpack(s *schedule.Schedule, st *schedule.Stage, t Target) error {
	if err := scheduleOuter(s, st, t); err != nil {
		return err
	}
	a, err := AttrsOf[BitpackAttrs](st.Tensor)
	if err != nil {
		return err
	}
	bit := st.Leaf[len(st.Leaf)-1]
	if in := st.Tensor.Inputs(); len(in) != 1 || a.PackAxis != len(in[0].Shape)-1 || a.Elements%a.WordBits != 0 || !bit.Reduce {
		return nil
	}
	return st.Vectorize(bit)
}

func dataAxes(st *schedule.Stage) []*schedule.Axis {
	var out []*schedule.Axis
	for _, a := range st.Leaf {
		if !a.Reduce {
			out = append(out, a)
		}
	}
	return out
}

// skipped reports whether keep claims any stage of an operator.
func skipped(keep func(*te.Tensor) bool, sts ...*schedule.Stage) bool {
	if keep == nil {
		return false
	}
	for _, st := range sts {
		if st != nil && keep(st.Tensor) {
			return true
		}
	}
	return false
}

// consumerTagged is st's only consumer when it has the tag, else nil.
func consumerTagged(st *schedule.Stage, tag te.Tag) *schedule.Stage {
	cs := st.Consumers()
	if len(cs) == 1 && cs[0].Tensor.Tag == tag {
		return cs[0]
	}
	return nil
}

// inputTagged is the input stage of st with the tag, or nil.
func inputTagged(s *schedule.Schedule, st *schedule.Stage, tag te.Tag) *schedule.Stage {
	for _, in := range st.Inputs() {
		if in.Tag == tag {
			return s.Stage(in)
		}
	}
	return nil
}
