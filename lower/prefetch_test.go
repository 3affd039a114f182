package lower_test

import (
	"strings"
	"testing"

	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/schedule"
	"github.com/tide-compiler/tide/te"
)

// tileKernel is C[i, j] = sum over k of A[i, k] * B[k, j] over 4 x 32
// outputs: the matmul's register tile in miniature (a row of B at one k is
// 32 floats, 128 bytes, two cache lines).
func tileKernel() (*te.Kernel, *te.Tensor, *te.Tensor, *te.Tensor) {
	a, _ := te.Placeholder("A", []te.Expr{te.Int(4), te.Int(64)}, te.Float32)
	b, _ := te.Placeholder("B", []te.Expr{te.Int(64), te.Int(32)}, te.Float32)
	k := te.ReduceAxis("k", te.Int(0), te.Int(64))
	c, _ := te.Compute("C", []te.Expr{te.Int(4), te.Int(32)}, func(i []te.Expr) te.Expr {
		return te.ReduceOf(te.Sum, te.MulOf(a.At(i[0], k.Var), b.At(k.Var, i[1])), k)
	}, "i", "j")
	kern, _ := te.NewKernel("k", []*te.Tensor{a, b}, []*te.Tensor{c}, nil)
	return kern, a, b, c
}

// prefetch(B, k, offset=8) with k outside the tile: one prefetch per cache
// line of the row of B that the iteration 8 steps ahead reads, at the top
// of k's body, and the results the evaluator's.
func TestPrefetchFetchesEachLineAhead(t *testing.T) {
	kern, _, b, c := tileKernel()
	s := schedule.New(c)
	st := s.Stage(c)
	if err := st.Reorder(st.Axis("k"), st.Axis("i"), st.Axis("j")); err != nil {
		t.Fatal(err)
	}
	if err := st.Prefetch(b, st.Axis("k"), 8); err != nil {
		t.Fatal(err)
	}
	_, f, _ := lowerWatching(t, kern, s, "final-simplify")
	text := f.String()
	for _, want := range []string{"for (k, 0, 64) {\n    prefetch(B[k * 32 + 256])\n    prefetch(B[k * 32 + 272])\n    for (i,"} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in\n%s", want, text)
		}
	}
	if n := lower.CountStmts(f.Body, func(x lower.Stmt) bool { _, ok := x.(*lower.Prefetch); return ok }); n != 2 {
		t.Errorf("%d prefetches, want 2 (128 bytes)\n%s", n, text)
	}
	checkAgainstEvaluator(t, kern, f, nil)
}

// A strided region (the 64 rows of A at one k, 4 KiB apart) would take a
// prefetch per line it spans: past 4 KiB the prefetch is dropped, with a
// warning that says what to do instead, and the kernel still builds.
func TestPrefetchRefusesALargeRegion(t *testing.T) {
	a, _ := te.Placeholder("A", []te.Expr{te.Int(64), te.Int(1024)}, te.Float32)
	k := te.ReduceAxis("k", te.Int(0), te.Int(1024))
	c, _ := te.Compute("C", []te.Expr{te.Int(64)}, func(i []te.Expr) te.Expr {
		return te.ReduceOf(te.Sum, a.At(i[0], k.Var), k)
	}, "i")
	kern, _ := te.NewKernel("k", []*te.Tensor{a}, []*te.Tensor{c}, nil)
	s := schedule.New(c)
	st := s.Stage(c)
	if err := st.Reorder(st.Axis("k"), st.Axis("i")); err != nil {
		t.Fatal(err)
	}
	if err := st.Prefetch(a, st.Axis("k"), 4); err != nil {
		t.Fatal(err)
	}
	_, f, diags := lowerWatching(t, kern, s, "final-simplify")
	if len(diags) != 1 || !diags[0].Warning || !strings.Contains(diags[0].Msg, "prefetch(A, k): dropped") || !strings.Contains(diags[0].Msg, "loop further in") {
		t.Errorf("diagnostics %v, want prefetch(A, k) dropped with a warning", diags)
	}
	if n := lower.CountStmts(f.Body, func(x lower.Stmt) bool { _, ok := x.(*lower.Prefetch); return ok }); n != 0 {
		t.Errorf("%d prefetches of a dropped prefetch\n%s", n, f)
	}
	checkAgainstEvaluator(t, kern, f, nil)
}

// A data-dependent region (a gather, C[i] = A[B[i]]) has no bounds: the
// prefetch is dropped with a warning, never a crash (the random schedule
// tester found the crash).
func TestPrefetchOfAGatherIsDropped(t *testing.T) {
	a, _ := te.Placeholder("A", []te.Expr{te.Int(16)}, te.Float32)
	b, _ := te.Placeholder("B", []te.Expr{te.Int(8)}, te.Int32)
	c, _ := te.Compute("C", []te.Expr{te.Int(8)}, func(i []te.Expr) te.Expr {
		return a.At(te.Bin(te.FloorMod, b.At(i[0]), te.Int(16)))
	}, "i")
	kern, _ := te.NewKernel("k", []*te.Tensor{a, b}, []*te.Tensor{c}, nil)
	s := schedule.New(c)
	st := s.Stage(c)
	if err := st.Prefetch(a, st.Axis("i"), 2); err != nil {
		t.Fatal(err)
	}
	_, f, diags := lowerWatching(t, kern, s, "final-simplify")
	if len(diags) != 1 || !strings.Contains(diags[0].Msg, "prefetch(A, i): dropped: the part of A that one iteration of i reads has no constant size") {
		t.Errorf("diagnostics %v, want prefetch(A, i) dropped", diags)
	}
	checkAgainstEvaluator(t, kern, f, nil)
}
