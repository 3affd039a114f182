package schedule

import (
	"strings"
	"testing"

	"github.com/tide-compiler/tide/te"
)

func TestPlaceInChecksTheFit(t *testing.T) {
	shape := func(d ...int64) []te.Expr {
		var out []te.Expr
		for _, v := range d {
			out = append(out, te.Const(te.Index, float64(v)))
		}
		return out
	}
	x, _ := te.Placeholder("x", shape(2, 3), te.Float32)
	a, _ := te.Compute("a", shape(2, 3), func(i []te.Expr) te.Expr { return x.At(i...) })
	b, _ := te.Compute("b", shape(2, 5), func(i []te.Expr) te.Expr { return te.Float(1) })
	whole, _ := te.Compute("w", shape(2, 8), func(i []te.Expr) te.Expr {
		return te.IfThenElse(te.Bin(te.LT, i[1], te.Int(3)), a.At(i[0], i[1]), b.At(i[0], te.SubOf(i[1], te.Int(3))))
	})
	s := New(whole)
	if err := s.PlaceIn(a, whole, 1, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.PlaceIn(b, whole, 1, 3); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		part  *te.Tensor
		axis  int
		off   int64
		error string
	}{
		{b, 1, 4, "does not fit"}, // past the end
		{a, 0, 0, "does not fit"}, // the other axis differs
		{a, 2, 0, "axis 2"},       // no such axis
		{x, 1, 0, "not computed"}, // a placeholder
	} {
		err := s.PlaceIn(c.part, whole, c.axis, c.off)
		if err == nil || !strings.Contains(err.Error(), c.error) {
			t.Errorf("PlaceIn(%s, axis %d, offset %d) = %v, want %q", c.part.Name, c.axis, c.off, err, c.error)
		}
	}
	if err := s.Stage(a).ComputeInline(); err != nil {
		t.Fatal(err)
	}
	if err := s.PlaceIn(a, whole, 1, 0); err == nil || !strings.Contains(err.Error(), "only a stage at the root") {
		t.Errorf("an inlined stage was placed: %v", err)
	}
}
