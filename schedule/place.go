package schedule

import (
	"fmt"

	"github.com/tide-compiler/tide/te"
)

// Placement stores a stage's tensor inside another tensor's buffer: its
// element [.., i, ..] is the whole's element [.., i + Offset, ..] along
// Axis. A concatenation whose inputs are placed in it that way is computed
// by its inputs' own loop nests, with no copy (what a network's graph
// level asks for; TVM reaches it with buffer binding).
type Placement struct {
	Whole  *te.Tensor
	Axis   int
	Offset int64
}

// PlaceIn stores part's elements in whole's buffer at offset along axis.
// part and whole have the same rank and the same extents except along
// axis, where part fits at offset. part must be computed at the root.
func (s *Schedule) PlaceIn(part, whole *te.Tensor, axis int, offset int64) error {
	st := s.Stage(part)
	if st == nil {
		return fmt.Errorf("place_in: %s is not computed by this schedule", part.Name)
	}
	if len(part.Shape) != len(whole.Shape) || axis < 0 || axis >= len(part.Shape) {
		return fmt.Errorf("place_in: %s has %d dimensions and %s %d; axis %d", part.Name, len(part.Shape), whole.Name, len(whole.Shape), axis)
	}
	for d := range part.Shape {
		p, ok1 := te.IntValue(part.Shape[d])
		w, ok2 := te.IntValue(whole.Shape[d])
		if !ok1 || !ok2 {
			return fmt.Errorf("place_in: %s and %s need constant shapes", part.Name, whole.Name)
		}
		if d == axis && (offset < 0 || offset+p > w) || d != axis && p != w {
			return fmt.Errorf("place_in: %s%v does not fit in %s%v at offset %d of axis %d", part.Name, te.ShapeString(part.Shape), whole.Name, te.ShapeString(whole.Shape), offset, axis)
		}
	}
	if st.Attach != AtRoot {
		return fmt.Errorf("place_in: %s is computed inside another stage; only a stage at the root has a buffer to place", part.Name)
	}
	if st.Place != nil {
		return fmt.Errorf("place_in: %s is already stored in %s; a tensor lives in one buffer", part.Name, st.Place.Whole.Name)
	}
	st.Place = &Placement{Whole: whole, Axis: axis, Offset: offset}
	return nil
}

// Assemble marks whole as computed by the parts placed in it: its own loop
// nest is not generated (the caller makes sure the parts cover it).
func (s *Schedule) Assemble(whole *te.Tensor) error {
	st := s.Stage(whole)
	if st == nil {
		return fmt.Errorf("assemble: %s is not computed by this schedule", whole.Name)
	}
	st.Assembled = true
	return nil
}
