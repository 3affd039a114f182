package topi

import (
	"fmt"

	"github.com/tide-compiler/tide/schedule"
	"github.com/tide-compiler/tide/te"
)

// Fusion patterns: what a network's graph level (package graph) needs to
// know of the operators' computes to fuse them, as TVM's operator patterns
// (injective, reduction, out-element-wise-fusable) tell Relay's FuseOps.

// IsConv reports whether t is a convolution's accumulating stage (float
// or bitserial): an anchor that can compute an element-wise epilogue in
// its register blocks.
func IsConv(t *te.Tensor) bool {
	switch t.Tag {
	case TagConv2DNHWC, TagConv2DNCHW, TagBitserialConv2DNHWC, TagBitserialConv2DNCHW:
		return true
	}
	return false
}

// IsInternal reports whether t is an operator's private producer (the
// padded input, the packed float kernel, a unipolar operator's popcounts
// of its activations): it belongs to its consumer.
func IsInternal(t *te.Tensor) bool {
	return t.Tag == TagPad || t.Tag == TagWeightPack || t.Tag == TagBitserialActivationPops
}

// IsPack reports whether t packs codes into words (bitpack, or the packing
// stage of bitpack_conv2d).
func IsPack(t *te.Tensor) bool {
	return t.Tag == TagBitpack || t.Tag == TagBitpackConv2DNHWC || t.Tag == TagBitpackConv2DNCHW
}

// IsConcat reports whether t joins its inputs along an axis.
func IsConcat(t *te.Tensor) bool { return t.Tag == TagConcatenate }

// IsInjective reports whether t is a compute without a reduction: each
// output element is a function of some input elements.
func IsInjective(t *te.Tensor) bool {
	if t.IsPlaceholder() {
		return false
	}
	_, isReduce := t.Body.(*te.Reduce)
	return !isReduce
}

// IsElementwiseOf reports whether t is injective and reads producer only
// at its own output index (other inputs may be read anyhow): t can be
// computed in producer's loop nest as producer's element is.
func IsElementwiseOf(t, producer *te.Tensor) bool {
	if !IsInjective(t) || te.ShapeString(t.Shape) != te.ShapeString(producer.Shape) {
		return false
	}
	ok := true
	te.Walk(t.Body, func(e te.Expr) bool {
		r, isRead := e.(*te.Read)
		if !isRead || r.Tensor != producer {
			return true
		}
		for i, x := range r.Indices {
			if v, isVar := x.(*te.Var); !isVar || v != t.Axis[i].Var {
				ok = false
			}
		}
		return true
	})
	return ok
}

// ScheduleDefault gives one operator's stage its default schedule.
func ScheduleDefault(s *schedule.Schedule, t Target, st *te.Tensor) error {
	if err := scheduleStage(s, s.Stage(st), t, nil); err != nil {
		return fmt.Errorf("topi: scheduling %s (%s) for %s: %w", st.Name, st.Tag, t.Name, err)
	}
	return nil
}

// ScheduleOuter schedules an element-wise or injective stage: vectors of
// its innermost axis, its outer axis in parallel.
func ScheduleOuter(s *schedule.Schedule, t Target, st *te.Tensor) error {
	return scheduleOuter(s, s.Stage(st), t)
}

// ScheduleConvFused schedules the convolution acc with its element-wise
// epilogue ending in out (every stage between them already inlined): the
// convolution's register blocks compute out's blocks.
func ScheduleConvFused(s *schedule.Schedule, t Target, acc, out *te.Tensor) error {
	if err := scheduleConvInto(s, s.Stage(acc), s.Stage(out), t, nil); err != nil {
		return fmt.Errorf("topi: scheduling %s fused into %s for %s: %w", acc.Name, out.Name, t.Name, err)
	}
	return nil
}

// ScheduleBitpackFused schedules Riptide's bitpack fusion: pack packs the
// codes of glue, which reads the bitserial convolution acc through the
// element-wise stages between; glue and between are inlined, and the
// convolution is computed inside the packing loop over pixels.
func ScheduleBitpackFused(s *schedule.Schedule, t Target, pack, glue, acc *te.Tensor, between []*te.Tensor) error {
	var bs []*schedule.Stage
	for _, b := range between {
		bs = append(bs, s.Stage(b))
	}
	if err := scheduleBitpackInto(s, s.Stage(pack), s.Stage(glue), s.Stage(acc), bs, t, nil); err != nil {
		return fmt.Errorf("topi: scheduling %s (bitpack-fused with %s) for %s: %w", pack.Name, acc.Name, t.Name, err)
	}
	return nil
}
