package te

import (
	"math"
	"testing"
)

func TestEqualAndHash(t *testing.T) {
	i, j := &Var{Name: "i"}, &Var{Name: "j"}
	otherI := &Var{Name: "i"} // prints like i, is another variable
	A, _ := Placeholder("A", []Expr{Int(8), Int(8)}, Float32)
	build := func(v *Var, c float64) Expr {
		return &Binary{Op: Add, T: Float32,
			A: &Read{Tensor: A, Indices: []Expr{v, &Binary{Op: FloorMod, A: j, B: Int(4), T: Index}}},
			B: &FloatImm{Value: c, T: Float32}}
	}
	same := []struct{ a, b Expr }{
		{build(i, 1.5), build(i, 1.5)},
		{Int(3), Int(3)},
		{&FloatImm{Value: math.NaN(), T: Float32}, &FloatImm{Value: math.NaN(), T: Float32}},
	}
	for _, c := range same {
		if !Equal(c.a, c.b) {
			t.Errorf("%s and %s: not equal", ExprString(c.a), ExprString(c.b))
		}
		if Hash(c.a) != Hash(c.b) {
			t.Errorf("%s: equal trees hash differently", ExprString(c.a))
		}
	}
	differ := []struct{ a, b Expr }{
		{build(i, 1.5), build(otherI, 1.5)}, // what comparing printed strings got wrong
		{build(i, 1.5), build(i, 2.5)},
		{&FloatImm{Value: 0, T: Float32}, &FloatImm{Value: math.Copysign(0, -1), T: Float32}},
		{Int(3), &IntImm{Value: 3, T: Int8}},
		{&Binary{Op: Sub, A: i, B: j, T: Index}, &Binary{Op: Sub, A: j, B: i, T: Index}},
		{&Select{Cond: &IntImm{Value: 1, T: Bool}, True: i, False: j, Lazy: true}, &Select{Cond: &IntImm{Value: 1, T: Bool}, True: i, False: j}},
	}
	for _, c := range differ {
		if Equal(c.a, c.b) {
			t.Errorf("%s and %s: equal", ExprString(c.a), ExprString(c.b))
		}
	}
}
