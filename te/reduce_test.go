package te

import (
	"math"
	"strings"
	"testing"
)

// A reduction over one element is that element: DropUnitReduction makes
// the compute injective and keeps its values; reductions of more elements,
// and float ones, are left alone.
func TestDropUnitReduction(t *testing.T) {
	a, err := Placeholder("A", []Expr{Int(3), Int(4), Int(2)}, Int32)
	if err != nil {
		t.Fatal(err)
	}
	reduce := func(extent int64, min int64) *Tensor {
		k := ReduceAxis("k", Int(min), Int(extent))
		c, err := Compute("C", []Expr{Int(3), Int(4)}, func(x []Expr) Expr {
			return ReduceOf(Sum, MulOf(a.At(x[0], x[1], k.Var), Int(3)), k)
		}, "i", "j")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	in := NewBuffer(Int32, []int{3, 4, 2})
	for i := range in.Ints {
		in.Ints[i] = int64(i*7%11 - 5)
	}
	for _, min := range []int64{0, 1} {
		c := reduce(1, min)
		before, err := Evaluate([]*Tensor{c}, map[*Tensor]*Buffer{a: in}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !c.DropUnitReduction() {
			t.Fatalf("a sum over one element (min %d) was not dropped", min)
		}
		if _, still := c.Body.(*Reduce); still || len(c.ReduceAxis) != 0 {
			t.Fatalf("the body is still a reduction: %v", c.Body)
		}
		after, err := Evaluate([]*Tensor{c}, map[*Tensor]*Buffer{a: in}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range before[c].Ints {
			// the element at k = min: A[i, j, min] * 3
			if want := in.Ints[i*2+int(min)] * 3; v != want || after[c].Ints[i] != want {
				t.Fatalf("element %d: before %d, after %d, want %d", i, v, after[c].Ints[i], want)
			}
		}
	}
	if c := reduce(2, 0); c.DropUnitReduction() {
		t.Fatalf("a sum over two elements was dropped")
	}
	f, err := Placeholder("F", []Expr{Int(3)}, Float32)
	if err != nil {
		t.Fatal(err)
	}
	k := ReduceAxis("k", Int(0), Int(1))
	fc, err := Compute("FC", []Expr{Int(3)}, func(x []Expr) Expr { return ReduceOf(Sum, f.At(AddOf(x[0], k.Var)), k) }, "i")
	if err != nil {
		t.Fatal(err)
	}
	if fc.DropUnitReduction() {
		t.Fatalf("a float reduction was dropped")
	}
}

// ReduceWhere: a condition never true gives the identity; a condition
// that is not a bool and a body that is not a number are errors.
func TestReduceWhere(t *testing.T) {
	a := mustT(t)(Placeholder("A", []Expr{Int(3)}, Float32))
	k := ReduceAxis("k", Int(0), Int(3))
	none := mustT(t)(Compute("none", []Expr{Int(1)}, func([]Expr) Expr {
		return ReduceWhere(ReduceMin, a.At(k.Var), Bin(GT, a.At(k.Var), Float(10)), k)
	}))
	out, err := Evaluate([]*Tensor{none}, map[*Tensor]*Buffer{a: floatBuf(Float32, []int{3}, 1, 2, 4)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := out[none].Floats[0]; !math.IsInf(got, 1) {
		t.Errorf("min over no element = %v, want +Inf (min's identity)", got)
	}
	// printed as written (the tree holds if_then_else to +inf); an
	// if_then_else to another value is no condition
	if got, want := ExprString(none.Body), "min(A[k], axis=k, where=A[k] > 10.0)"; got != want {
		t.Errorf("printed %s, want %s", got, want)
	}
	k2 := ReduceAxis("k", Int(0), Int(3))
	if got, want := ExprString(ReduceOf(ReduceMin, IfThenElse(Bin(GT, a.At(k2.Var), Float(10)), a.At(k2.Var), Float(100)), k2)),
		"min(if_then_else(A[k] > 10.0, A[k], 100.0), axis=k)"; got != want {
		t.Errorf("printed %s, want %s", got, want)
	}
	if err := Error(ReduceWhere(Sum, a.At(k.Var), k.Var, k)); err == nil || !strings.Contains(err.Error(), "where= takes a bool condition, not int64") {
		t.Errorf("where=k: %v", err)
	}
	if err := Error(ReduceWhere(Sum, BoolConst(true), BoolConst(true), k)); err == nil || !strings.Contains(err.Error(), "it reduces numbers") {
		t.Errorf("sum of a bool: %v", err)
	}
}
