package te

import (
	"fmt"
	"math/rand"
	"os"
	"testing"
)

// reviewInputs are an int8 and a uint8 placeholder holding every value of
// their types, indexed by the compute's axis.
func reviewInputs(t *testing.T) (a, u *Tensor, in map[*Tensor]*Buffer) {
	n := []Expr{Int(256)}
	a, _ = Placeholder("a", n, Int8)
	u, _ = Placeholder("u", n, UInt8)
	in = map[*Tensor]*Buffer{a: NewBuffer(Int8, []int{256}), u: NewBuffer(UInt8, []int{256})}
	for i := range 256 {
		in[a].Ints[i] = int64(i - 128)
		in[u].Ints[i] = int64(i)
	}
	return a, u, in
}

// checkRange evaluates c and reports a value outside IntRange(c).
func checkRange(t *testing.T, c *Tensor, in map[*Tensor]*Buffer) (bad bool, undefined bool) {
	t.Helper()
	got, err := Evaluate([]*Tensor{c}, in, nil)
	if err != nil {
		return false, true
	}
	lo, hi := IntRange(c)
	for i, v := range got[c].Ints {
		if v < lo || v > hi {
			t.Errorf("%s = %s: [%d] = %d, outside IntRange [%d, %d]", c.Name, ExprString(c.Body), i, v, lo, hi)
			if r, ok := c.Body.(*Reduce); ok {
				rd := r.Body.(*Read).Tensor
				t.Logf("  %s = %s; IntRange %v", rd.Name, ExprString(rd.Body), fmt.Sprint(IntRange(rd)))
			}
			return true, false
		}
	}
	return false, false
}

// A uint64 intermediate holding a negative-looking int8 value: the
// interval keeps [-128, 127] (uint64's "limits" are all of int64), but
// max, >>, / on uint64 are unsigned.
func TestIntRangeUint64Intermediate(t *testing.T) {
	a, _, in := reviewInputs(t)
	mk := func(name string, f func(x Expr) Expr) *Tensor {
		c, err := Compute(name, []Expr{Int(256)}, func(i []Expr) Expr { return CastTo(Int64, f(CastTo(UInt64, a.At(i[0])))) })
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	checkRange(t, mk("max_u64", func(x Expr) Expr { return Bin(Max, x, Const(UInt64, 5)) }), in)
	checkRange(t, mk("shr_u64", func(x Expr) Expr { return Bin(Shr, x, Const(UInt64, 1)) }), in)
	checkRange(t, mk("div_u64", func(x Expr) Expr { return Bin(Div, x, Const(UInt64, 2)) }), in)
	// a uint64 constant of 2^64 - 1 is the IntImm -1: max(x & 5, it) is
	// [0, 5] by the intervals, 2^64 - 1 (-1 as an int64) by the evaluator
	checkRange(t, mk("max_u64_const", func(x Expr) Expr {
		return Bin(Max, Bin(BitAnd, x, Const(UInt64, 5)), &IntImm{Value: -1, T: UInt64})
	}), in)
}

// Random expressions over every int8 and uint8 value: IntRange must hold.
func TestIntRangeRandom(t *testing.T) {
	intRangeRandom(t, []DType{Bool, Int8, UInt8, Int16, UInt16, Int32, UInt32, Int64, UInt64})
}

// The same without uint64 anywhere.
func TestIntRangeRandomNoUint64(t *testing.T) {
	intRangeRandom(t, []DType{Bool, Int8, UInt8, Int16, UInt16, Int32, UInt32, Int64})
}

func intRangeRandom(t *testing.T, types []DType) {
	a, u, in := reviewInputs(t)
	seed := int64(1)
	if s := os.Getenv("IRSEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	rng := rand.New(rand.NewSource(seed))
	var gen func(d int, ty DType, i Expr) Expr
	leaf := func(ty DType, i Expr) Expr {
		switch rng.Intn(5) {
		case 0:
			return CastTo(ty, a.At(i))
		case 1:
			return CastTo(ty, u.At(i))
		case 2:
			return CastTo(ty, i)
		case 3:
			if ty.IsBool() {
				return BoolConst(rng.Intn(2) == 1)
			}
			v := int64(rng.Intn(9) - 2)
			if ty.Kind == KindUInt && v < 0 {
				v = -v
			}
			return Const(ty, float64(v))
		}
		if ty.IsBool() {
			return BoolConst(true)
		}
		if rng.Intn(2) == 0 {
			return &IntImm{Value: ty.MaxInt(), T: ty}
		}
		return &IntImm{Value: ty.MinInt(), T: ty}
	}
	gen = func(d int, ty DType, i Expr) Expr {
		if d == 0 || rng.Intn(5) == 0 {
			return leaf(ty, i)
		}
		if ty.IsBool() {
			ops := []BinOp{EQ, LT, GE, BitAnd, BitOr, BitXor, And, Or}
			op := ops[rng.Intn(len(ops))]
			if op <= BitXor || op == And || op == Or {
				return Bin(op, gen(d-1, Bool, i), gen(d-1, Bool, i))
			}
			ot := types[1+rng.Intn(len(types)-1)]
			return Bin(op, gen(d-1, ot, i), gen(d-1, ot, i))
		}
		switch rng.Intn(5) {
		case 0:
			return CastTo(ty, gen(d-1, types[rng.Intn(len(types))], i))
		case 1:
			return SelectOf(gen(d-1, Bool, i), gen(d-1, ty, i), gen(d-1, ty, i))
		case 2:
			ops := []UnOp{Neg, BitNot, Abs, Popcount}
			return Un(ops[rng.Intn(len(ops))], gen(d-1, ty, i))
		}
		ops := []BinOp{Add, Sub, Mul, Div, Mod, FloorDiv, FloorMod, Min, Max, BitAnd, BitOr, BitXor, Shl, Shr}
		op := ops[rng.Intn(len(ops))]
		if op == Shl || op == Shr {
			st := types[1+rng.Intn(len(types)-1)]
			var s Expr
			if rng.Intn(2) == 0 {
				s = Const(st, float64(rng.Intn(min(ty.Bits, st.Bits-1))))
			} else {
				s = Bin(BitAnd, gen(d-1, st, i), Const(st, float64(min(ty.Bits, 64)-1)))
			}
			return Bin(op, gen(d-1, ty, i), s)
		}
		return Bin(op, gen(d-1, ty, i), gen(d-1, ty, i))
	}
	fails, tried := 0, 0
	for n := 0; n < 20000 && fails < 15; n++ {
		ty := types[1+rng.Intn(len(types)-1)]
		c, err := Compute(fmt.Sprintf("r%d", n), []Expr{Int(256)}, func(i []Expr) Expr {
			e := gen(3+int(seed%2), ty, i[0])
			if ty.Kind == KindUInt && ty.Bits == 64 {
				e = CastTo(Int64, e) // a uint64 tensor's range is unknown
			}
			return e
		})
		if err != nil {
			continue
		}
		// and a second stage: a sum of it, or a select of it
		if rng.Intn(3) == 0 && c.DType.IsInteger() {
			k := ReduceAxis("k", Int(0), Int(int64(1+rng.Intn(4))))
			ops := []ReduceOp{Sum, ReduceMin, ReduceMax}
			c2, err := Compute(c.Name+"_r", []Expr{Int(256)}, func(i []Expr) Expr {
				return ReduceOf(ops[rng.Intn(3)], c.At(Bin(FloorMod, AddOf(i[0], k.Var), Int(256))), k)
			})
			if err == nil {
				c = c2
			}
		}
		bad, undef := checkRange(t, c, in)
		if !undef {
			tried++
		}
		if bad {
			fails++
		}
	}
	t.Logf("%d defined expressions checked", tried)
}
