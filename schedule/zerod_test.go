package schedule

import (
	"strings"
	"testing"

	"github.com/tide-compiler/tide/te"
)

// A 0-d stage without a reduction has no loops: computing a producer at
// one of them is an error that says so, and a primitive naming another
// stage's loop lists none; a 0-d reduction's loops are its reduce axes.
func TestZeroDimensionalStages(t *testing.T) {
	alpha, _ := te.Placeholder("alpha", nil, te.Float32)
	a, _ := te.Placeholder("A", []te.Expr{te.Int(8)}, te.Float32)
	a2, _ := te.Compute("a2", nil, func([]te.Expr) te.Expr { return te.MulOf(alpha.At(), te.Float(2)) })
	k := te.ReduceAxis("k", te.Int(0), te.Int(8))
	s, _ := te.Compute("S", nil, func([]te.Expr) te.Expr { return te.ReduceOf(te.Sum, te.MulOf(a.At(k.Var), a2.At()), k) })
	t2, _ := te.Compute("T", nil, func([]te.Expr) te.Expr { return te.AddOf(a2.At(), s.At()) })
	sched := New(t2)
	st, at, ss := sched.Stage(a2), sched.Stage(t2), sched.Stage(s)
	if len(st.Leaf) != 0 || len(ss.Leaf) != 1 || ss.Leaf[0].Name() != "k" {
		t.Fatalf("loops: a2 %v, S %v", st.Leaf, ss.Leaf)
	}
	err := st.ComputeAt(at, nil)
	if e, ok := err.(*Error); !ok || e.Arg != 1 || !strings.Contains(e.Msg, "compute_at: T is 0-d (one element, no reduction) and has no loops to compute a2 in") {
		t.Errorf("compute_at into T: %v", err)
	}
	if err := ss.Parallel(ss.Leaf[0]); err == nil || !strings.Contains(err.Error(), "k is a reduction axis") {
		t.Errorf("parallel(k): %v", err)
	}
	if _, _, err := st.Split(ss.Leaf[0], 2); err == nil || !strings.Contains(err.Error(), "k is an axis of S, not of a2; the loops of a2 are none") {
		t.Errorf("split of S's k in a2: %v", err)
	}
}
