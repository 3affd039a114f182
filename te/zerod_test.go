package te

import (
	"strings"
	"testing"
)

// 0-d tensors from Go: an empty shape is one element, a compute over it
// gets no axes, it is read with no indices, and the evaluator gives a
// buffer of shape [] (a product of no extents is 1).
func TestZeroDimensional(t *testing.T) {
	a, _ := Placeholder("A", []Expr{Int(2), Int(3)}, Int64)
	alpha, err := Placeholder("alpha", nil, Int64)
	if err != nil {
		t.Fatal(err)
	}
	i, j := ReduceAxis("i", Int(0), Int(2)), ReduceAxis("j", Int(0), Int(3))
	s, err := Compute("S", []Expr{}, func(ax []Expr) Expr {
		if len(ax) != 0 {
			t.Errorf("a 0-d compute got %d axes", len(ax))
		}
		return ReduceOf(Sum, MulOf(a.At(i.Var, j.Var), alpha.At()), i, j)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.String(); got != "compute S int64()" {
		t.Errorf("S prints as %q", got)
	}
	if got := ExprString(s.Body); got != "sum(A[i, j] * alpha[], axis=[i, j])" {
		t.Errorf("S's body prints as %q", got)
	}
	if err := Error(alpha.At(Int(0))); err == nil || !strings.Contains(err.Error(), "alpha is 0-d (one element) and is read with no indices: alpha[]") {
		t.Errorf("alpha[0]: %v", err)
	}
	if err := Error(a.At()); err == nil || !strings.Contains(err.Error(), "A has 2 dimensions but is indexed with 0 indices") {
		t.Errorf("A[]: %v", err)
	}
	k, err := NewKernel("f", []*Tensor{a, alpha}, []*Tensor{s}, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := NewBuffer(Int64, []int{2, 3})
	copy(in.Ints, []int64{1, 2, 3, 4, 5, 6})
	al := NewBuffer(Int64, nil)
	al.Ints[0] = -3
	out, err := EvalKernel(k, []*Buffer{in, al}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(out[0].Shape) != 0 || len(out[0].Ints) != 1 || out[0].Ints[0] != -63 {
		t.Errorf("S = %v%v, want [] [-63]", out[0].Shape, out[0].Ints)
	}
	// a 1-element buffer of shape [1] is not a 0-d input
	if _, err := EvalKernel(k, []*Buffer{in, NewBuffer(Int64, []int{1})}, nil); err == nil || !strings.Contains(err.Error(), "input alpha: got int64[1], want int64[]") {
		t.Errorf("alpha of shape [1]: %v", err)
	}
}
