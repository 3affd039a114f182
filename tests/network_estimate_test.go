package tests

import (
	"os"
	"strings"
	"testing"

	"github.com/tide-compiler/tide/driver"
	"github.com/tide-compiler/tide/dsl"
	"github.com/tide-compiler/tide/graph"
	"github.com/tide-compiler/tide/llvmgen"
	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/schedule"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/tensorio"
	"github.com/tide-compiler/tide/topi"
)

// The cortex-a53 estimate of a network counts loop iterations and block
// executions with an instrumented listing run under qemu: the counters
// must not change what the network computes (its outputs equal the
// evaluator's), every counted loop runs, and the entry block of the
// network's function and of each group's (each called once per inference)
// runs once.
func TestNetworkEstimateKeepsSemantics(t *testing.T) {
	tgt, err := llvmgen.ParseTarget("cortex-a53")
	if err != nil {
		t.Fatal(err)
	}
	requireTools(t, tgt)
	p, in, fn := buildNetwork(t, "../examples/networks/binary_tiny.te", tgt, 3)
	want, err := te.EvalKernel(p.Kernel, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	loops, got, err := driver.EstimateNetwork(tgt, llvmgen.Options{}, fn.Func, in[:len(in)-len(p.Weights)], t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if m := te.Compare(got[0], want[0], 0); m.First >= 0 {
		t.Fatalf("the counting run computes something else %s", m.Detail)
	}
	if len(loops) < 4 {
		t.Fatalf("%d innermost loops counted", len(loops))
	}
	entries := 0
	for _, l := range loops {
		switch {
		case l.Cycles <= 0:
			t.Errorf("%s in %s: %.1f cycles", l.Label, l.Function, l.Cycles)
		case !l.Straight && l.Iterations <= 0:
			t.Errorf("loop %s in %s: %d iterations", l.Label, l.Function, l.Iterations)
		case l.Straight && l.Label == "%bb.0" && (l.Function == "tiny" || strings.Count(l.Function, ".") == 1 && strings.HasPrefix(l.Function, "tiny.")):
			entries++
			if l.Iterations != 1 {
				t.Errorf("the entry block of %s ran %d times, not once", l.Function, l.Iterations)
			}
		}
	}
	// the network and its 4 groups
	if entries != 5 {
		t.Errorf("%d entry blocks of the network's and its groups' functions counted, want 5", entries)
	}
}

// buildNetwork parses a network file for a target, fuses and schedules it
// (graph.Partition, Plan.Schedule), lowers it and groups it with seeded
// random inputs and weights (the weights are the last of in).
func buildNetwork(tb testing.TB, file string, tgt llvmgen.Target, seed uint64) (*dsl.Program, []*te.Buffer, *graph.Function) {
	tb.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	var plan *graph.Plan
	p, err := dsl.ParseWith(file, src, dsl.Options{
		Target: &topi.Target{Name: tgt.Name, VectorBits: tgt.VectorBits},
		NetworkSchedule: func(p *dsl.Program, s *schedule.Schedule, keep func(*te.Tensor) bool) error {
			if plan, err = graph.Partition(graph.NetworkOf(p.Kernel, p.Weights), graph.Options{}); err != nil {
				return err
			}
			return plan.Schedule(s, topi.Target{Name: tgt.Name, VectorBits: tgt.VectorBits}, keep)
		}})
	if err != nil {
		tb.Fatal(err)
	}
	f, _, err := lower.Lower(p.Kernel, p.Schedule, nil)
	if err != nil {
		tb.Fatal(err)
	}
	in, _, err := tensorio.Inputs(p.Kernel, nil, "", seed)
	if err != nil {
		tb.Fatal(err)
	}
	fn, err := plan.Finish(f, p.Schedule, in[len(in)-len(p.Weights):])
	if err != nil {
		tb.Fatal(err)
	}
	return p, in, fn
}
