package dsl_test

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"runtime/debug"
	"testing"

	"github.com/tide-compiler/tide/dsl"
	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/schedule"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/tensorio"
)

// fuzzProgram is the fixed program the fuzzed schedule blocks are appended
// to: a padding stage P, a matmul C over a symbolic row count n, and an
// element-wise output R. It is tiny so each iteration lowers and runs fast.
const fuzzProgram = `n = var(default=3)
A = placeholder((n, 6), float32)
B = placeholder((6, 5), float32)
P = compute((n + 2, 6), (y, x) => if_then_else(y >= 1 && y <= n, A[y - 1, x], 0.0))
k = reduce_axis(0, 6)
C = compute((n, 5), (i, j) => sum(P[i + 1, k] * B[k, j], axis=k))
R = compute((n, 5), (i, j) => max(C[i, j], 0.0))
kernel mm(A, B, n) -> R
`

// fuzzSeeds are schedule texts, valid and invalid.
var fuzzSeeds = []string{
	"",
	"schedule C {\n    io, ii = split(i, factor=2)\n}\n",
	"schedule C {\n    jo, ji = split(j, factor=4)\n    reorder(i, jo, k, ji)\n    vectorize(ji)\n}\n",
	"schedule C {\n    jo, ji = split(j, factor=2, tail=guard)\n    reorder(i, jo, k, ji)\n    vectorize(ji)\n}\n",
	"schedule C {\n    jo, ji = split(j, nparts=2)\n    unroll(ji)\n}\n",
	"schedule C {\n    ko, ki = split(k, factor=4)\n    vectorize(ki)\n}\n",
	"schedule C {\n    ko, ki = split(k, factor=4)\n    reorder(i, j, ko, ki)\n    unroll(ki)\n    parallel(i)\n}\n",
	"schedule C {\n    io, jo, ii, ji = tile(i, j, 2, 2)\n    reorder(io, jo, k, ii, ji)\n    vectorize(ji)\n}\n",
	"schedule C {\n    f = fuse(i, j)\n    parallel(f)\n}\n",
	"schedule C {\n    reorder(k, j, i)\n}\n",
	"schedule P {\n    compute_inline()\n}\n",
	"schedule P {\n    compute_at(C, i)\n}\n",
	"schedule P {\n    compute_at(C, k)\n    vectorize(x)\n}\n",
	"schedule P {\n    compute_at(C, ii)\n}\nschedule C {\n    io, ii = split(i, factor=2)\n    parallel(io)\n}\n",
	"schedule C {\n    compute_at(R, jo)\n}\nschedule R {\n    jo, ji = split(j, factor=3)\n    vectorize(ji)\n}\n",
	"schedule C {\n    compute_at(R, j)\n}\nschedule R {\n    jo, ji = split(j, factor=3)\n    vectorize(ji)\n}\n",
	"schedule C {\n    compute_at(R, i)\n}\nschedule P {\n    compute_at(C, k)\n}\n",
	"schedule C {\n    CL = cache_write(C, local)\n    io, jo, ii, ji = tile(i, j, 2, 4)\n    f = fuse(io, jo)\n    parallel(f)\n}\nschedule CL {\n    compute_at(C, f)\n    reorder(i, k, j)\n    vectorize(j)\n}\n",
	"schedule C {\n    BL = cache_read(B, local, C)\n}\nschedule BL {\n    compute_at(C, i)\n}\n",
	"schedule R {\n    parallel(i)\n    vectorize(j)\n}\n",
	"schedule R {\n    f = fuse(i, j)\n    fo, fi = split(f, factor=4)\n    vectorize(fi)\n}\n",
	"schedule P {\n    xo, xi = split(x, factor=4)\n    unroll(xi)\n    unroll(xo)\n}\n",
	"schedule C {\n    io, ii = split(i, factor=1)\n    jo, ji = split(j, factor=100)\n}\n",
	"schedule C {\n    ko, ki = split(k, nparts=4, tail=partition)\n    f = fuse(ko, ki)\n    unroll(f)\n}\n",
	"schedule R { io, ii = split(i, factor=2); parallel(io) }  # one line\n",
	"schedule C {\n    BL = cache_read(P, local, C)\n    ko, ki = split(k, factor=3)\n    reorder(i, ko, j, ki)\n}\nschedule BL {\n    compute_at(C, ko)\n}\n",
	"schedule C {\n    io, ii = split(i, factor=2)\n    ko, ki = split(k, factor=2)\n    reorder(io, ii, j, ko, ki)\n    vectorize(ki)\n}\nschedule P {\n    compute_at(C, ii)\n}\n",
	"schedule R {\n    jo, ji = split(j, factor=2)\n    f = fuse(i, jo, ji)\n    fo, fi = split(f, factor=4)\n    vectorize(fi)\n}\n",
	"schedule P {\n    compute_at(R, io)\n}\nschedule C {\n    compute_at(R, io)\n}\nschedule R {\n    io, ii = split(i, factor=2)\n}\n",
	// Invalid.
	"schedule C {\n    io = split(i, factor=8)\n}\n",
	"schedule C {\n    io, ii = split(i, factor=0)\n    vectorize(ii)\n}\n",
	"schedule C {\n    vectorize(i)\n}\n",
	"schedule C {\n    parallel(k)\n}\n",
	"schedule C {\n    f = fuse(j, k)\n    parallel(f)\n}\n",
	"schedule C {\n    reorder(i, i)\n}\n",
	"schedule C {\n    compute_inline()\n}\n",
	"schedule R {\n    compute_at(C, i)\n}\n",
	"schedule P {\n    compute_at(R, i)\n}\n",
	"schedule P {\n    compute_at(C, zz)\n}\n",
	"schedule C {\n    io, ii = split(i, factor=2)\n    CL = cache_write(C)\n}\n",
	"schedule C {\n    io, ii = split(i, factor=2, tail=pad)\n}\n",
	"schedule C {\n    rfactor(k)\n    pragma(i)\n}\n",
	"schedule C {\n    f = fuse(i, j, k)\n}\n",
	"schedule R {\n    parallel(i)\n    parallel(j)\n}\n",
	"schedule R {\n    parallel(i)\n}\nschedule C {\n    compute_at(R, i)\n    parallel(j)\n}\n",
	"schedule Q {\n    vectorize(i)\n}\n",
	"schedule C {\n    io, ii = split(i, factor=n)\n}\n",
	"schedule C {\n    vectorize(j)\n",
	"schedule C {\n    io, ii = split(i, factor=9223372036854775807)\n    vectorize(ii)\n}\n",
	"schedule C {\n    io, ii = split(i, factor=2147483648)\n    unroll(ii)\n}\n",
	"schedule C {\n    io, ii = split(i, nparts=2147483648)\n}\n",
	"schedule C {\n    io, ii = split(i, factor=2147483649)\n}\n",
	"schedule C {\n    io, ii = split(i, factor=2)\n    io2, ii2 = split(i, factor=2)\n}\n",
	"schedule C {\n    io, ii = split(i, factor=64)\n    jo, ji = split(j, factor=64)\n    ko, ki = split(k, factor=64)\n    reorder(io, jo, ko, ii, ji, ki)\n    unroll(ii)\n    unroll(ji)\n    unroll(ki)\n}\n",
	"X = 1 +\nschedule C {\n    vectorize(x)\n}\n",
	"schedule C {\n    io, ii = split(i, factor=2)\n    ko, ki = split(k, factor=2)\n    reorder(io, j, ko, ii, ki)\n    vectorize(ki)\n}\n",
	"schedule C {\n    BL = cache_read(P, local, C)\n}\nschedule BL {\n    compute_at(C, k)\n    vectorize(ax1)\n}\n",
}

var errHead = regexp.MustCompile(`^fuzz\.te:[0-9]+:[0-9]+: `)

// FuzzSchedule appends schedule blocks to fuzzProgram. Parse must not panic
// and must return a program or an error whose text starts with
// "file:line:col: "; a program must lower without a panic, to an error or a
// function that the interpreter runs to the reference evaluator's outputs.
// The symbolic dimension n is 1 + len(sched) % 5, so tails of every size
// come up.
func FuzzSchedule(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(checkSchedule)
}

// checkSchedule is the property FuzzSchedule checks, for one schedule text.
func checkSchedule(t *testing.T, sched string) {
	src := fuzzProgram + sched
	step := "parse"
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("%s panicked: %v\n%s\nschedule:\n%s", step, r, debug.Stack(), sched)
		}
	}()
	p, err := dsl.Parse("fuzz.te", []byte(src))
	if err != nil {
		var list dsl.ErrorList
		if !errors.As(err, &list) || len(list) == 0 {
			t.Fatalf("error %T is not a non-empty ErrorList: %v", err, err)
		}
		for _, e := range list {
			if !errHead.MatchString(e.Error()) {
				t.Fatalf("error without file:line:col: %q", e.Error())
			}
		}
		if !errHead.MatchString(err.Error()) {
			t.Fatalf("error text does not start with file:line:col: %q", err.Error())
		}
		return
	}
	if p.Kernel == nil || p.Kernel.Name != "mm" || p.Schedule == nil {
		t.Fatalf("no kernel mm or no schedule, and no error")
	}
	sizes := map[*te.Var]int64{}
	for _, s := range p.Sizes {
		sizes[s.Var] = 1 + int64(len(sched)%5)
	}
	if manyUnrolled(p.Schedule) {
		return
	}
	step = "lower"
	fn, _, err := lower.Lower(p.Kernel, p.Schedule, nil)
	if err != nil {
		return // a schedule lowering rejects is fine
	}
	if hugeSplit(p.Schedule) {
		return
	}
	in, _, err := tensorio.Inputs(p.Kernel, sizes, "", 1)
	if err != nil {
		t.Fatalf("inputs: %v", err)
	}
	step = "EvalKernel"
	want, evalErr := te.EvalKernel(p.Kernel, in, sizes)
	step = "run"
	got, err := lower.Run(fn, in, sizes)
	if evalErr != nil {
		return
	}
	if err != nil {
		t.Fatalf("run: %v\nschedule:\n%s\nloop IR:\n%s", err, sched, fn)
	}
	if len(got) != len(want) {
		t.Fatalf("%d outputs, want %d", len(got), len(want))
	}
	for o := range want {
		if msg := sameBuffer(got[o], want[o]); msg != "" {
			t.Fatalf("output %s: %s\nschedule:\n%s\nloop IR:\n%s", p.Kernel.Outputs[o].Name, msg, sched, fn)
		}
	}
}

// The fuzzer skips schedules that are slow to lower or run for reasons
// already known (see the BUG notes), to keep every iteration fast:
//
//   - a split's partitioned tail loop iterates up to the factor even when
//     its guard always fails, so split(i, factor=2147483648) lowers fine
//     but runs for minutes: schedules with a factor or nparts above
//     maxRunFactor are lowered but not run;
//   - nested unrolled loops are unrolled in full, dead tail copies included,
//     before simplification drops them: three nested unroll of loops split
//     by 64 take 11 s and 1.5 GB to lower. Schedules whose unrolled loops
//     multiply to more than maxUnrolled copies are not lowered.
const (
	maxRunFactor = 64
	maxUnrolled  = 4096
)

func hugeSplit(s *schedule.Schedule) bool {
	for _, st := range s.Stages {
		for _, r := range st.Rels {
			if sp, ok := r.(*schedule.Split); ok && max(sp.Factor, sp.NParts) > maxRunFactor {
				return true
			}
		}
	}
	return false
}

func manyUnrolled(s *schedule.Schedule) bool {
	copies := int64(1)
	for _, st := range s.Stages {
		for _, a := range st.Leaf {
			if a.Ann != schedule.Unrolled {
				continue
			}
			if n, ok := te.IntValue(a.StaticExtent()); ok && n > 1 {
				copies *= min(n, maxUnrolled+1)
			}
			if copies > maxUnrolled {
				return true
			}
		}
	}
	return false
}

// sameBuffer compares exactly for integers and within a relative error of
// 1e-4 for floats (a vectorized reduction adds in another order).
func sameBuffer(got, want *te.Buffer) string {
	if got.DType != want.DType || got.Len() != want.Len() {
		return fmt.Sprintf("got %v%v, want %v%v", got.DType, got.Shape, want.DType, want.Shape)
	}
	for i := range want.Len() {
		if want.Floats != nil {
			g, w := got.Floats[i], want.Floats[i]
			if math.IsNaN(g) && math.IsNaN(w) {
				continue
			}
			if math.Abs(g-w) > 1e-4*math.Max(1, math.Abs(w)) || math.IsNaN(g) != math.IsNaN(w) {
				return fmt.Sprintf("at %s: got %s, want %s", te.IndexString(want.Shape, i), got.ElementString(i), want.ElementString(i))
			}
		} else if got.Ints[i] != want.Ints[i] {
			return fmt.Sprintf("at %s: got %s, want %s", te.IndexString(want.Shape, i), got.ElementString(i), want.ElementString(i))
		}
	}
	return ""
}
