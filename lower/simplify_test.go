package lower

import (
	"math/rand/v2"
	"testing"

	"github.com/tide-compiler/tide/te"
)

// TestSimplifyKeepsValues checks the index algebra by its definition: for
// random index expressions over variables with known ranges, the simplified
// expression has the same value as the original at random points of those
// ranges (evaluated by the interpreter, with the evaluator's semantics).
func TestSimplifyKeepsValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	size := te.SizeVar("n") // no range given: the simplifier knows n >= 1
	vars := []*te.Var{{Name: "x"}, {Name: "y"}, {Name: "z"}, size}
	for n := 0; n < 3000; n++ {
		sp := newSimplifier()
		for _, v := range vars[:3] {
			lo := rng.Int64N(20) - 10
			sp.ranges[v] = interval{lo, lo + rng.Int64N(20)}
		}
		e := randomIndexExpr(rng, vars, 4)
		s := sp.expr(e)
		for k := 0; k < 20; k++ {
			in := &interp{env: map[*te.Var]int64{}}
			for _, v := range vars[:3] {
				r := sp.ranges[v]
				in.env[v] = r.lo + rng.Int64N(r.hi-r.lo+1)
			}
			in.env[size] = 1 + rng.Int64N(30)
			want, got := in.expr(e), in.expr(s)
			if want.ints[0] != got.ints[0] {
				t.Fatalf("%s simplified to %s: %d != %d at x=%d y=%d z=%d n=%d (ranges %v %v %v)",
					te.ExprString(e), te.ExprString(s), got.ints[0], want.ints[0],
					in.env[vars[0]], in.env[vars[1]], in.env[vars[2]], in.env[size], sp.ranges[vars[0]], sp.ranges[vars[1]], sp.ranges[vars[2]])
			}
		}
	}
}

func randomIndexExpr(rng *rand.Rand, vars []*te.Var, depth int) te.Expr {
	if depth == 0 || rng.IntN(4) == 0 {
		if rng.IntN(3) == 0 {
			return idx(rng.Int64N(21) - 10)
		}
		return vars[rng.IntN(len(vars))]
	}
	a := randomIndexExpr(rng, vars, depth-1)
	switch rng.IntN(9) {
	case 0:
		return bin(te.Add, a, randomIndexExpr(rng, vars, depth-1))
	case 1:
		return bin(te.Sub, a, randomIndexExpr(rng, vars, depth-1))
	case 2:
		return bin(te.Mul, a, idx(rng.Int64N(9)-4))
	case 3:
		return bin(te.FloorDiv, a, idx(1+rng.Int64N(8)))
	case 4:
		return bin(te.FloorMod, a, idx(1+rng.Int64N(8)))
	case 5:
		return bin(te.Div, a, idx(1+rng.Int64N(8)))
	case 6:
		return bin(te.Mod, a, idx(1+rng.Int64N(8)))
	case 7:
		return bin([]te.BinOp{te.Min, te.Max}[rng.IntN(2)], a, randomIndexExpr(rng, vars, depth-1))
	default:
		c := &te.Binary{Op: []te.BinOp{te.LT, te.LE, te.EQ, te.NE, te.GT, te.GE}[rng.IntN(6)], A: a, B: randomIndexExpr(rng, vars, depth-1), T: te.Bool}
		return &te.Select{Cond: c, True: randomIndexExpr(rng, vars, depth-1), False: randomIndexExpr(rng, vars, depth-1)}
	}
}

// TestSimplifyForms checks that the algebra does its job on the forms that
// lowering produces (value preservation alone would accept no rewriting).
func TestSimplifyForms(t *testing.T) {
	io, ii, f, n := &te.Var{Name: "io"}, &te.Var{Name: "ii"}, &te.Var{Name: "f"}, te.SizeVar("n")
	sp := newSimplifier()
	sp.ranges[io] = interval{0, 9}
	sp.ranges[ii] = interval{0, 7}
	sp.ranges[f] = interval{0, 41}
	cases := []struct {
		in   te.Expr
		want string
	}{
		{bin(te.FloorDiv, bin(te.Add, bin(te.Mul, io, idx(8)), ii), idx(8)), "io"},
		{bin(te.FloorMod, bin(te.Add, bin(te.Mul, io, idx(8)), ii), idx(8)), "ii"},
		{bin(te.Add, bin(te.Mul, bin(te.FloorDiv, f, idx(7)), idx(7)), bin(te.FloorMod, f, idx(7))), "f"},
		{bin(te.Sub, bin(te.Add, bin(te.Mul, bin(te.Add, io, idx(1)), idx(8)), ii), bin(te.Mul, io, idx(8))), "ii + 8"},
		{bin(te.Sub, idx(15), ii), "15 - ii"},
		{&te.Binary{Op: te.LT, A: bin(te.Add, bin(te.Mul, io, idx(8)), ii), B: idx(80), T: te.Bool}, "true"},
		{&te.Binary{Op: te.LT, A: bin(te.Add, bin(te.Mul, io, idx(8)), ii), B: idx(79), T: te.Bool}, "io * 8 + ii < 79"},
		{bin(te.Max, bin(te.FloorDiv, n, idx(8)), idx(0)), "floordiv(n, 8)"},
		{bin(te.Min, ii, idx(7)), "ii"},
	}
	for _, c := range cases {
		if got := te.ExprString(sp.expr(c.in)); got != c.want {
			t.Errorf("%s: got %s, want %s", te.ExprString(c.in), got, c.want)
		}
	}
}

// TestSimplifyLeavesAllocationsShared checks that simplifying an
// allocation's shape makes a new buffer (used by the loads and stores
// inside) and leaves the original, which other statements may share,
// as it was.
func TestSimplifyLeavesAllocationsShared(t *testing.T) {
	n := te.SizeVar("n")
	shape := bin(te.Add, n, idx(0))
	b := &Buffer{Name: "T", DType: te.Float32, Shape: []te.Expr{shape}}
	one := &te.FloatImm{Value: 1, T: te.Float32}
	s := &Allocate{Buffer: b, Body: &Store{Buffer: b, Index: idx(0), Value: &te.Binary{Op: te.Add, A: &Load{Buffer: b, Index: idx(0)}, B: one}}}
	out, ok := Simplify(s).(*Allocate)
	if !ok {
		t.Fatalf("Simplify gave %T, want an allocation", out)
	}
	if b.Shape[0] != shape {
		t.Errorf("the original buffer's shape became %s", te.ExprString(b.Shape[0]))
	}
	if out.Buffer == b || out.Buffer.Shape[0] != te.Expr(n) {
		t.Fatalf("the simplified allocation has buffer %p shape %s, want a new buffer of shape n", out.Buffer, te.ExprString(out.Buffer.Shape[0]))
	}
	st := out.Body.(*Store)
	if st.Buffer != out.Buffer || st.Value.(*te.Binary).A.(*Load).Buffer != out.Buffer {
		t.Errorf("the store and load inside still use the old buffer")
	}
}

// A vector accumulator that adds one vector to zero before its lanes are
// summed is the sum of that vector; one that starts elsewhere, holds
// floats or is read again keeps its buffer.
func TestSimplifyForwardsVectorSum(t *testing.T) {
	build := func(dt te.DType, init int64) (Stmt, *Buffer, te.Expr) {
		acc := &Buffer{Name: "acc", DType: dt, Shape: []te.Expr{idx(8)}}
		x := &Buffer{Name: "X", DType: dt, Shape: []te.Expr{idx(8)}}
		y := &Buffer{Name: "Y", DType: dt, Shape: []te.Expr{idx(1)}}
		r := &Ramp{Base: idx(0), Stride: idx(1), Lanes: 8}
		e := &Load{Buffer: x, Index: r}
		var zero te.Expr = &te.IntImm{Value: init, T: dt}
		if dt.IsFloat() {
			zero = &te.FloatImm{Value: float64(init), T: dt}
		}
		body := Seq{
			&Store{Buffer: acc, Index: r, Value: &Broadcast{Value: zero, Lanes: 8}},
			&Store{Buffer: acc, Index: r, Value: &te.Binary{Op: te.Add, A: &Load{Buffer: acc, Index: r}, B: e}},
			&Store{Buffer: y, Index: idx(0), Value: &VectorReduce{Op: te.Add, Value: &Load{Buffer: acc, Index: r}}},
		}
		return &Allocate{Buffer: acc, Body: body}, y, e
	}
	s, y, e := build(te.Int32, 0)
	st, ok := Simplify(s).(*Store)
	if !ok || st.Buffer != y || !te.Equal(st.Value, &VectorReduce{Op: te.Add, Value: e}) {
		t.Errorf("got %#v, want Y[0] = vector_reduce_sum(X[ramp(0, 1, 8)])", Simplify(s))
	}
	for _, c := range []struct {
		dt   te.DType
		init int64
	}{{te.Float32, 0}, {te.Int32, 1}} {
		s, _, _ := build(c.dt, c.init)
		if _, ok := Simplify(s).(*Allocate); !ok {
			t.Errorf("%v from %d: the accumulator was removed", c.dt, c.init)
		}
	}
}

// A vector accumulator stored at an index whose lanes repeat (a broadcast,
// a ramp of stride 0) holds the last lane only: forwarding the sum of all
// of e's lanes changes the result (8 * x[7] becomes x[0] + ... + x[7]).
func TestSimplifyForwardVectorSumRepeatedLanes(t *testing.T) {
	for _, r := range []te.Expr{
		&Broadcast{Value: idx(0), Lanes: 8},
		&Ramp{Base: idx(0), Stride: idx(0), Lanes: 8},
	} {
		dt := te.Int32
		acc := &Buffer{Name: "acc", DType: dt, Shape: []te.Expr{idx(1)}}
		x := &Buffer{Name: "X", DType: dt, Shape: []te.Expr{idx(8)}}
		y := &Buffer{Name: "Y", DType: dt, Shape: []te.Expr{idx(1)}}
		e := &Load{Buffer: x, Index: &Ramp{Base: idx(0), Stride: idx(1), Lanes: 8}}
		body := Seq{
			&Store{Buffer: acc, Index: r, Value: &Broadcast{Value: &te.IntImm{Value: 0, T: dt}, Lanes: 8}},
			&Store{Buffer: acc, Index: r, Value: &te.Binary{Op: te.Add, A: &Load{Buffer: acc, Index: r}, B: e, T: dt.WithLanes(8)}},
			&Store{Buffer: y, Index: idx(0), Value: &VectorReduce{Op: te.Add, Value: &Load{Buffer: acc, Index: r}}},
		}
		s := &Allocate{Buffer: acc, Body: body}
		in := te.NewBuffer(dt, []int{8})
		for i := range 8 {
			in.Ints[i] = int64(i + 1)
		}
		run := func(body Stmt) int64 {
			out, err := Run(&Func{Name: "f", Args: []*Buffer{x, y}, Body: body, Outputs: 1}, []*te.Buffer{in}, nil)
			if err != nil {
				t.Fatal(err)
			}
			return out[0].Ints[0]
		}
		if before, after := run(s), run(Simplify(s)); before != after {
			t.Errorf("index %s: Y[0] = %d before simplifying, %d after", te.ExprString(r), before, after)
		}
	}
}
