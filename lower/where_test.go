package lower_test

import (
	"strings"
	"testing"

	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/schedule"
	"github.com/tide-compiler/tide/te"
)

// A reduction's where= becomes guards around its update, each part at the
// innermost loop it depends on, which loop partitioning and tightening then
// take out of the loops (a convolution's padded taps skipped): the where is
// no select in the body, and every result equals the evaluator's.

// paddedWindow is Y[i] = sum(A[i + r - 1], r < 3, where 0 <= i + r - 1 < 16)
// over 16 outputs: a 3-tap window on an input padded by one on each side.
func paddedWindow() (*te.Kernel, *te.Tensor) {
	a, _ := te.Placeholder("A", []te.Expr{te.Int(16)}, te.Float32)
	r := te.ReduceAxis("r", te.Int(0), te.Int(3))
	y, _ := te.Compute("Y", []te.Expr{te.Int(16)}, func(i []te.Expr) te.Expr {
		at := te.Bin(te.Sub, te.Bin(te.Add, i[0], r.Var), te.Int(1))
		in := te.Bin(te.And, te.Bin(te.GE, at, te.Int(0)), te.Bin(te.LT, at, te.Int(16)))
		return te.ReduceWhere(te.Sum, a.At(at), in, r)
	}, "i")
	k, _ := te.NewKernel("k", []*te.Tensor{a}, []*te.Tensor{y}, nil)
	return k, y
}

// Blocks of 4 outputs, unrolled, inside the taps: the first block alone
// fails the lower bound and the last alone the upper one, so the block loop
// becomes a head, a guard-free main part and a tail (a guard against a
// lower bound splits off a head: partition's new case).
func TestWherePartitionsTheBlockLoop(t *testing.T) {
	k, y := paddedWindow()
	s := schedule.New(y)
	st := s.Stage(y)
	io, ii, _ := st.Split(st.Axis("i"), 4)
	if err := st.Reorder(io, st.Axis("r"), ii); err != nil {
		t.Fatal(err)
	}
	st.Unroll(ii)
	nest, _, _ := lowerWatching(t, k, s, "nest")
	if strings.Contains(nest.String(), "if_then_else") || strings.Contains(nest.String(), "select") {
		t.Errorf("the where stayed in the body:\n%s", nest)
	}
	after, f, _ := lowerWatching(t, k, s, "partition")
	// the head and the tail (one block each) are unrolled out of their
	// loops and split again on r: two guards are left, on the first
	// block's first output at r = 0 and on the last block's last at r = 2
	var main *lower.For
	for _, part := range after.Body.(lower.Seq) {
		if l, ok := part.(*lower.For); ok && l.Var.Name == "i.outer" {
			main = l
		}
	}
	if main == nil || te.ExprString(main.Min) != "1" || te.ExprString(main.Extent) != "2" || lower.CountStmts(main, isGuard) != 0 {
		t.Errorf("no main part: i.outer over [1, 3) without a guard\n%s", after)
	}
	if n := lower.CountStmts(after.Body, isGuard); n != 2 {
		t.Errorf("%d guards, want 2 (the first and the last output)\n%s", n, after)
	}
	checkAgainstEvaluator(t, k, f, nil)
}

// A guard that is the whole body of its loop (here both sides of a
// sliding window over the reduce axis) tightens the loop's bounds instead:
// for k in [max(i - 1, 0), min(i + 2, 16)), no guard left.
func TestWhereTightensTheReduceLoop(t *testing.T) {
	k, y := paddedWindow()
	s := schedule.New(y)
	_, f, _ := lowerWatching(t, k, s, "final-simplify")
	if n := lower.CountStmts(f.Body, isGuard); n != 0 {
		t.Errorf("%d guards left\n%s", n, f)
	}
	checkAgainstEvaluator(t, k, f, nil)
}

// A where on an output axis alone guards the update inside the reduction,
// never the accumulator's initialization: rows where it fails hold 0.
func TestWhereOnADataAxisKeepsTheInit(t *testing.T) {
	a, _ := te.Placeholder("A", []te.Expr{te.Int(6), te.Int(5)}, te.Int32)
	r := te.ReduceAxis("r", te.Int(0), te.Int(5))
	y, _ := te.Compute("Y", []te.Expr{te.Int(6)}, func(i []te.Expr) te.Expr {
		return te.ReduceWhere(te.Sum, a.At(i[0], r.Var), te.Bin(te.GE, i[0], te.Int(2)), r)
	}, "i")
	k, _ := te.NewKernel("k", []*te.Tensor{a}, []*te.Tensor{y}, nil)
	_, f, _ := lowerWatching(t, k, schedule.New(y), "final-simplify")
	checkAgainstEvaluator(t, k, f, nil)
}
