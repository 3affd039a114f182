package te

import (
	"math"
	"testing"
)

// IntRange's bounds hold for every value the evaluator computes from
// inputs that take every value of their types, and are the exact ranges
// where interval arithmetic is exact; computes that may wrap have their
// type's limits.
func TestIntRange(t *testing.T) {
	n := []Expr{Int(256)}
	a, _ := Placeholder("a", n, Int8)
	u, _ := Placeholder("u", n, UInt8)
	in := map[*Tensor]*Buffer{a: NewBuffer(Int8, []int{256}), u: NewBuffer(UInt8, []int{256})}
	for i := range 256 {
		in[a].Ints[i] = int64(i - 128)
		in[u].Ints[i] = int64(i)
	}
	compute := func(name string, f func(i Expr) Expr) *Tensor {
		c, err := Compute(name, n, func(x []Expr) Expr { return f(x[0]) })
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	i32 := func(e Expr) Expr { return CastTo(Int32, e) }
	// a popcount scaled and shifted: [-12, 12]
	c1 := compute("c1", func(i Expr) Expr { return SubOf(MulOf(i32(Un(Popcount, u.At(i))), Int(3)), Int(12)) })
	// a sum of four of them: [-48, 48]
	k := ReduceAxis("k", Int(0), Int(4))
	c2 := compute("c2", func(i Expr) Expr {
		return ReduceOf(Sum, c1.At(Bin(FloorMod, AddOf(i, k.Var), Int(256))), k)
	})
	// int8 + int8 wraps: the type's limits
	c3 := compute("c3", func(i Expr) Expr { return AddOf(a.At(i), a.At(i)) })
	// bits of a byte: [0, 7]
	c4 := compute("c4", func(i Expr) Expr { return Bin(BitAnd, Bin(Shr, u.At(i), Const(UInt8, 2)), Const(UInt8, 7)) })
	// bit planes shifted by a reduce axis: [0, 7], bounded by [0, 12]
	// (three terms of at most 1 << 2: intervals do not see that the
	// shifts differ)
	b := ReduceAxis("b", Int(0), Int(3))
	c5 := compute("c5", func(i Expr) Expr {
		return ReduceOf(Sum, Bin(Shl, i32(Bin(BitAnd, u.At(i), Const(UInt8, 1))), b.Var), b)
	})
	// either branch of a select: [-128, 127]
	c6 := compute("c6", func(i Expr) Expr { return SelectOf(Bin(GT, a.At(i), Const(Int8, 0)), c2.At(i), i32(a.At(i))) })
	// division and remainders by constants: [-3, 3], [0, 4], [-4, 4]
	c7 := compute("c7", func(i Expr) Expr { return Bin(Div, c1.At(i), Const(Int32, 4)) })
	c8 := compute("c8", func(i Expr) Expr { return Bin(FloorMod, c1.At(i), Const(Int32, 5)) })
	c9 := compute("c9", func(i Expr) Expr { return Bin(Mod, c1.At(i), Const(Int32, 5)) })
	// min, max, negation and an axis as a value: [-12, 0], [-255, 0]
	c10 := compute("c10", func(i Expr) Expr { return Un(Neg, Bin(Max, c1.At(i), Const(Int32, 0))) })
	c11 := compute("c11", func(i Expr) Expr { return SubOf(Int(0), i) })
	// int16 accumulators of a wide sum that may pass int16: its limits
	w := ReduceAxis("w", Int(0), Int(256))
	c12, _ := Compute("c12", []Expr{Int(1)}, func([]Expr) Expr {
		return ReduceOf(Sum, CastTo(Int16, MulOf(i32(u.At(w.Var)), Int(1))), w)
	})
	want := map[*Tensor][2]int64{
		c1: {-12, 12}, c2: {-48, 48}, c3: {-128, 127}, c4: {0, 7}, c5: {0, 12}, c6: {-128, 127},
		c7: {-3, 3}, c8: {0, 4}, c9: {-4, 4}, c10: {-12, 0}, c11: {-255, 0}, c12: {math.MinInt16, math.MaxInt16},
		u: {0, 255}, a: {-128, 127},
	}
	var outs []*Tensor
	for o := range want {
		if !o.IsPlaceholder() {
			outs = append(outs, o)
		}
	}
	got, err := Evaluate(outs, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	for o, w := range want {
		lo, hi := IntRange(o)
		if lo != w[0] || hi != w[1] {
			t.Errorf("%s: range [%d, %d], want [%d, %d]", o.Name, lo, hi, w[0], w[1])
		}
		if o.IsPlaceholder() {
			continue
		}
		for i, v := range got[o].Ints {
			if v < lo || v > hi {
				t.Errorf("%s[%d] = %d, outside its range [%d, %d]", o.Name, i, v, lo, hi)
				break
			}
		}
	}
	if lo, hi := IntRange(mustPlaceholder(t, UInt64)); lo != math.MinInt64 || hi != math.MaxInt64 {
		t.Errorf("uint64 placeholder: [%d, %d], want unknown", lo, hi)
	}
}

func mustPlaceholder(t *testing.T, d DType) *Tensor {
	p, err := Placeholder("p", []Expr{Int(1)}, d)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
