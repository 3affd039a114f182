package schedule_test

import (
	"testing"

	"github.com/tide-compiler/tide/schedule"
	"github.com/tide-compiler/tide/te"
)

// rowSumsSplit is S[i] = sum(A[i, k], k) over 4 rows of n, scheduled with
// k split by factor into ko and ki.
func rowSumsSplit(t *testing.T, n, factor int64) (s *te.Tensor, sched *schedule.Schedule, st *schedule.Stage, ko, ki *schedule.Axis) {
	t.Helper()
	a, _ := te.Placeholder("A", []te.Expr{te.Int(4), te.Int(n)}, te.Float32)
	k := te.ReduceAxis("k", te.Int(0), te.Int(n))
	s, _ = te.Compute("S", []te.Expr{te.Int(4)}, func(i []te.Expr) te.Expr {
		return te.ReduceOf(te.Sum, a.At(i[0], k.Var), k)
	}, "i")
	sched = schedule.New(s)
	st = sched.Stage(s)
	ko, ki, err := st.Split(st.Axis("k"), factor)
	if err != nil {
		t.Fatal(err)
	}
	ko.SetName("ko")
	ki.SetName("ki")
	return s, sched, st, ko, ki
}

// rfactor of the outer part of a split (TVM's rfactor(ko), for a parallel
// reduction): one partial result per block of the split, each summing its
// block over the inner part.
func TestRFactorOfTheOuterPart(t *testing.T) {
	s, sched, st, ko, _ := rowSumsSplit(t, 29, 8)
	partial, err := sched.RFactor(s, ko)
	if err != nil {
		t.Fatal(err)
	}
	// ceil(29/8) = 4 blocks of 8, the last one 5 long
	if got, want := te.ShapeString(partial.Tensor.Shape), "(4, 4)"; got != want {
		t.Errorf("partial stage shape %s, want %s", got, want)
	}
	// k = min + ko*8 + ki; the last block's guard is a reduction's
	// condition, if_then_else(guard, body, 0.0), printed as where=
	want := "sum(A[i, 0 + (ko * 8 + ki)], axis=ki, where=ko * 8 + ki < 29)"
	if got := te.ExprString(partial.Body); got != want {
		t.Errorf("partial stage body\n%s\nwant\n%s", got, want)
	}
	if got, want := te.ExprString(st.Body), "sum(S.rf[ko_r, i], axis=ko_r)"; got != want {
		t.Errorf("reduction body %s, want %s", got, want)
	}
}

// The outer part of a split by a factor of a symbolic extent has a
// symbolic extent: there is no fixed number of partial results.
func TestRFactorOfASymbolicOuterPart(t *testing.T) {
	n := te.SizeVar("n")
	a, err := te.Placeholder("A", []te.Expr{n}, te.Int32)
	if err != nil {
		t.Fatal(err)
	}
	k := te.ReduceAxis("k", te.Int(0), n)
	s, _ := te.Compute("S", []te.Expr{te.Int(1)}, func(i []te.Expr) te.Expr {
		return te.ReduceOf(te.Sum, a.At(k.Var), k)
	}, "i")
	sched := schedule.New(s)
	st := sched.Stage(s)
	ko, _, err := st.Split(st.Axis("k"), 8)
	if err != nil {
		t.Fatal(err)
	}
	ko.SetName("ko")
	_, err = sched.RFactor(s, ko)
	want := "rfactor: ko has extent floordiv(n + 7, 8), not a constant; split the reduction into a constant number of parts (nparts=) first"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

// factor_axis puts the partial results' axis elsewhere than first: last,
// each output's partial sums are contiguous; out of range, an error.
func TestRFactorAtFactorAxis(t *testing.T) {
	s, sched, st, _, ki := rowSumsSplit(t, 32, 8)
	if _, err := sched.RFactorAt(s, ki, 2); err == nil || err.Error() != "rfactor: factor_axis 2 is outside 0..1, the positions of S's 1 axes and the new one" {
		t.Errorf("factor_axis 2 of a 1-d output: %v", err)
	}
	partial, err := sched.RFactorAt(s, ki, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := te.ShapeString(partial.Tensor.Shape), "(4, 8)"; got != want {
		t.Errorf("partial stage shape %s, want %s", got, want)
	}
	if got, want := te.ExprString(st.Body), "sum(S.rf[i, ki_r], axis=ki_r)"; got != want {
		t.Errorf("reduction body %s, want %s", got, want)
	}
	if got, want := partial.Root[0].Name()+","+partial.Root[1].Name(), "i,ki"; got != want {
		t.Errorf("partial stage axes %s, want %s", got, want)
	}
}
