package schedule_test

import (
	"testing"

	"github.com/tide-compiler/tide/schedule"
	"github.com/tide-compiler/tide/te"
)

// rfactor of the outer part of a split (TVM's rfactor(ko), for a parallel
// reduction): one partial result per block of the split, each summing its
// block over the inner part.
func TestRFactorOfTheOuterPart(t *testing.T) {
	a, _ := te.Placeholder("A", []te.Expr{te.Int(4), te.Int(29)}, te.Float32)
	k := te.ReduceAxis("k", te.Int(0), te.Int(29))
	s, _ := te.Compute("S", []te.Expr{te.Int(4)}, func(i []te.Expr) te.Expr {
		return te.ReduceOf(te.Sum, a.At(i[0], k.Var), k)
	}, "i")
	sched := schedule.New(s)
	st := sched.Stage(s)
	ko, ki, err := st.Split(st.Axis("k"), 8)
	if err != nil {
		t.Fatal(err)
	}
	ko.SetName("ko")
	ki.SetName("ki")
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
