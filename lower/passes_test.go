package lower_test

import (
	"strings"
	"testing"

	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/schedule"
	"github.com/tide-compiler/tide/te"
)

// Unit tests of single passes: each lowers a small kernel, looks at the
// IR right after the pass, and runs the final IR in the interpreter
// against the reference evaluator.

// lowerWatching lowers k and returns the IR after the named pass, the
// final function and the diagnostics.
func lowerWatching(t *testing.T, k *te.Kernel, s *schedule.Schedule, pass string) (after *lower.Func, f *lower.Func, diags []lower.Diagnostic) {
	t.Helper()
	f, diags, err := lower.Lower(k, s, func(p string, g *lower.Func) {
		if p == pass {
			c := *g
			after = &c
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return after, f, diags
}

// checkAgainstEvaluator runs f on counting inputs and compares every
// output with the evaluator.
func checkAgainstEvaluator(t *testing.T, k *te.Kernel, f *lower.Func, sizes map[*te.Var]int64) {
	t.Helper()
	var in []*te.Buffer
	for _, a := range k.Inputs {
		shape := make([]int, len(a.Shape))
		for d, e := range a.Shape {
			v, ok := te.IntValue(e)
			if !ok {
				v = sizes[e.(*te.Var)]
			}
			shape[d] = int(v)
		}
		b := te.NewBuffer(a.DType, shape)
		for i := range b.Floats {
			b.Floats[i] = float64(i%13) - 6
		}
		for i := range b.Ints {
			b.Ints[i] = int64(i%13) - 6
		}
		in = append(in, b)
	}
	want, err := te.EvalKernel(k, in, sizes)
	if err != nil {
		t.Fatal(err)
	}
	got, err := lower.Run(f, in, sizes)
	if err != nil {
		t.Fatalf("%v\n%s", err, f)
	}
	for i := range want {
		if m := te.Compare(got[i], want[i], 0); m.First >= 0 {
			t.Fatalf("output %d: %s\n%s", i, m.Detail, f)
		}
	}
}

func isGuard(s lower.Stmt) bool { _, ok := s.(*lower.IfThenElse); return ok }

// elementwise is B[i] = A[i] * 2 + 1 over n elements.
func elementwise(n te.Expr) (*te.Kernel, *te.Tensor) {
	a, _ := te.Placeholder("A", []te.Expr{n}, te.Int32)
	b, _ := te.Compute("B", []te.Expr{n}, func(i []te.Expr) te.Expr {
		return te.Bin(te.Add, te.Bin(te.Mul, a.At(i[0]), te.Int(2)), te.Int(1))
	}, "i")
	var params []*te.Var
	if v, ok := n.(*te.Var); ok {
		params = append(params, v)
	}
	k, _ := te.NewKernel("k", []*te.Tensor{a}, []*te.Tensor{b}, params)
	return k, b
}

// Partition: a split of 20 by 8 whose inner loop is vectorized runs 2
// guard-free iterations and a tail loop that keeps the guard. (A serial
// inner loop needs no partition: its extent is tightened to
// min(20 - i.outer * 8, 8) instead.)
func TestPartitionSplitsOffTheTail(t *testing.T) {
	k, b := elementwise(te.Int(20))
	s := schedule.New(b)
	st := s.Stage(b)
	_, inner, _ := st.Split(st.Axis("i"), 8)
	st.Vectorize(inner)
	before, _, _ := lowerWatching(t, k, s, "simplify")
	after, f, _ := lowerWatching(t, k, s, "partition")
	if n := lower.CountStmts(before.Body, isGuard); n != 1 {
		t.Fatalf("before partition: %d guards, want 1\n%s", n, before)
	}
	// the main loop: i.outer over 2 full vectors without the guard; the
	// tail (one iteration, its loop folded away) keeps it
	seq, ok := after.Body.(lower.Seq)
	if !ok || len(seq) != 2 {
		t.Fatalf("after partition: not a main loop and a tail\n%s", after)
	}
	main, ok := seq[0].(*lower.For)
	if !ok || main.Var.Name != "i.outer" || te.ExprString(main.Extent) != "2" || lower.CountStmts(main, isGuard) != 0 {
		t.Errorf("the main loop is not i.outer over 2 without a guard\n%s", after)
	}
	if lower.CountStmts(seq[1], isGuard) != 1 {
		t.Errorf("the tail lost its guard\n%s", after)
	}
	checkAgainstEvaluator(t, k, f, nil)
}

// Partition with a symbolic extent: the split point is named and shared by
// both loops.
func TestPartitionSymbolicExtent(t *testing.T) {
	n := te.SizeVar("n")
	k, b := elementwise(n)
	s := schedule.New(b)
	st := s.Stage(b)
	_, inner, _ := st.Split(st.Axis("i"), 8)
	st.Vectorize(inner)
	after, f, _ := lowerWatching(t, k, s, "partition")
	if !strings.Contains(after.String(), "i.outer.split") {
		t.Errorf("no named split point in\n%s", after)
	}
	for _, v := range []int64{1, 7, 8, 21} {
		checkAgainstEvaluator(t, k, f, map[*te.Var]int64{n: v})
	}
}

// Vectorize: the loop becomes one vector statement with ramp indices; a
// vectorized loop of symbolic extent stays scalar with a warning.
func TestVectorizeMakesRamps(t *testing.T) {
	k, b := elementwise(te.Int(16))
	s := schedule.New(b)
	st := s.Stage(b)
	_, inner, _ := st.Split(st.Axis("i"), 8)
	st.Vectorize(inner)
	after, f, diags := lowerWatching(t, k, s, "vectorize")
	if n := lower.CountStmts(after.Body, func(x lower.Stmt) bool { l, ok := x.(*lower.For); return ok && l.Kind == lower.Vectorized }); n != 0 {
		t.Errorf("%d vectorized loops left\n%s", n, after)
	}
	if !strings.Contains(after.String(), "B[ramp(i.outer * 8, 1, 8)] = A[ramp(i.outer * 8, 1, 8)] * broadcast(2, 8) + broadcast(1, 8)") {
		t.Errorf("no vector store in\n%s", after)
	}
	if len(diags) != 0 {
		t.Errorf("diagnostics %v", diags)
	}
	checkAgainstEvaluator(t, k, f, nil)

	// with tail=guard the split's guard stays inside the vectorized loop,
	// which then runs scalar, with a warning
	k, b = elementwise(te.Int(20))
	s = schedule.New(b)
	st = s.Stage(b)
	_, inner, _ = st.SplitBy(st.Axis("i"), &schedule.Split{Factor: 8, Tail: schedule.TailGuard})
	st.Vectorize(inner)
	_, f, diags = lowerWatching(t, k, s, "vectorize")
	if len(diags) != 1 || !diags[0].Warning || !strings.Contains(diags[0].Msg, "runs as a scalar loop") {
		t.Errorf("diagnostics %v, want the scalar-loop warning", diags)
	}
	checkAgainstEvaluator(t, k, f, nil)
}

// Vectorize under a lane-dependent condition: the load is predicated, so
// no lane reads where the evaluator would not (A has 10 elements, the
// vector covers 16 lanes).
func TestVectorizePredicatesGuardedLoads(t *testing.T) {
	a, _ := te.Placeholder("A", []te.Expr{te.Int(10)}, te.Int32)
	b, _ := te.Compute("B", []te.Expr{te.Int(16)}, func(i []te.Expr) te.Expr {
		return te.IfThenElse(te.Bin(te.LT, i[0], te.Int(10)), a.At(i[0]), te.Int(0))
	}, "i")
	k, _ := te.NewKernel("pad", []*te.Tensor{a}, []*te.Tensor{b}, nil)
	s := schedule.New(b)
	st := s.Stage(b)
	st.Vectorize(st.Axis("i"))
	after, f, _ := lowerWatching(t, k, s, "vectorize")
	predicated := false
	lower.WalkStmt(after.Body, func(x lower.Stmt) bool {
		if st, ok := x.(*lower.Store); ok {
			te.Walk(st.Value, func(e te.Expr) bool {
				if l, ok := e.(*lower.Load); ok && l.Buffer.Name == "A" && l.Predicate != nil {
					predicated = true
				}
				return true
			})
		}
		return true
	})
	if !predicated {
		t.Errorf("the load of A is not predicated\n%s", after)
	}
	checkAgainstEvaluator(t, k, f, nil)
}

// Unroll: a constant extent becomes copies with the variable replaced; a
// symbolic one stays a serial loop with a warning.
func TestUnrollCopiesTheBody(t *testing.T) {
	k, b := elementwise(te.Int(12))
	s := schedule.New(b)
	st := s.Stage(b)
	_, inner, _ := st.Split(st.Axis("i"), 4)
	st.Unroll(inner)
	after, f, _ := lowerWatching(t, k, s, "unroll")
	stores := lower.CountStmts(after.Body, func(x lower.Stmt) bool { _, ok := x.(*lower.Store); return ok })
	loops := lower.CountStmts(after.Body, func(x lower.Stmt) bool { _, ok := x.(*lower.For); return ok })
	if stores != 4 || loops != 1 || !strings.Contains(after.String(), "B[i.outer * 4 + 3]") {
		t.Errorf("%d stores in %d loops, want 4 in 1 (i.outer)\n%s", stores, loops, after)
	}
	checkAgainstEvaluator(t, k, f, nil)

	// over 1024 copies: the loop stays a serial loop, with a warning
	k, b = elementwise(te.Int(2048))
	s = schedule.New(b)
	st = s.Stage(b)
	st.Unroll(st.Axis("i"))
	after, f, diags := lowerWatching(t, k, s, "unroll")
	if len(diags) != 1 || !strings.Contains(diags[0].Msg, "unroll(i): the loop stays a loop because its extent 2048 is over the limit of 1024 copies") {
		t.Errorf("diagnostics %v", diags)
	}
	if lower.CountStmts(after.Body, func(x lower.Stmt) bool { l, ok := x.(*lower.For); return ok && l.Kind == lower.Serial }) != 1 {
		t.Errorf("the loop is not serial\n%s", after)
	}
	checkAgainstEvaluator(t, k, f, nil)
}
