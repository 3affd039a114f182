package tests

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tide-compiler/tide/dsl"
	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/schedule"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/tensorio"
)

// lowerAndCompare parses a program (its schedule blocks applied), lowers
// it, runs the loop IR in the interpreter and compares every output with the
// reference evaluator: exactly for integers, within floatTol relative error
// for floats (a vectorized reduction adds in another order).
func lowerAndCompare(t *testing.T, src string, set map[string]int64) (*lower.Func, []lower.Diagnostic) {
	t.Helper()
	return checkLowering(t, src, set, false)
}

// checkLowering is lowerAndCompare, or with defaultSchedule the program
// lowered with schedule.New (every stage at the root, serial loops), whose
// float results must then be exact: the operations run in the evaluator's
// order.
func checkLowering(t *testing.T, src string, set map[string]int64, defaultSchedule bool) (*lower.Func, []lower.Diagnostic) {
	t.Helper()
	p, err := dsl.Parse("test.te", []byte(src))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, src)
	}
	sizes, err := p.SizeValues(set)
	if err != nil {
		t.Fatal(err)
	}
	in, _, err := tensorio.Inputs(p.Kernel, sizes, "", 3)
	if err != nil {
		t.Fatal(err)
	}
	want, err := te.EvalKernel(p.Kernel, in, sizes)
	if err != nil {
		t.Fatal(err)
	}
	sched, tol := p.Schedule, floatTol
	if defaultSchedule {
		sched, tol = schedule.New(p.Kernel.Outputs...), 0
	}
	f, diags, err := lower.Lower(p.Kernel, sched, nil)
	if err != nil {
		t.Fatalf("lower: %v\n%s", err, src)
	}
	got, err := lower.Run(f, in, sizes)
	if err != nil {
		t.Fatalf("run: %v\n%s\n%s", err, src, f)
	}
	for o := range want {
		if m := te.Compare(got[o], want[o], tol); m.First >= 0 {
			t.Fatalf("output %s: %s\n%s\n%s", p.Kernel.Outputs[o].Name, m.Detail, src, f)
		}
	}
	return f, diags
}

const floatTol = 1e-4

func compareBuffers(got, want *te.Buffer) string {
	return te.Compare(got, want, floatTol).Detail
}

func TestScheduledMatmulShapes(t *testing.T) {
	for _, n := range []string{"16", "19", "7"} {
		src := strings.ReplaceAll(`M = 10
N = NN
K = 13
A = placeholder((M, K), float32)
B = placeholder((K, N), float32)
k = reduce_axis(0, K)
C = compute((M, N), (i, j) => sum(A[i, k] * B[k, j], axis=k))
kernel matmul(A, B) -> C
schedule C {
    io, jo, ii, ji = tile(i, j, 4, 8)
    ko, ki = split(k, factor=4)
    reorder(io, jo, ko, ki, ii, ji)
    vectorize(ji)
    unroll(ki)
    parallel(io)
}
`, "NN", n)
		_, diags := lowerAndCompare(t, src, nil)
		for _, d := range diags {
			if d.Warning {
				t.Errorf("N=%s: %s", n, d)
			}
		}
	}
}

func TestScheduledConvComputeAt(t *testing.T) {
	src := `N = 1
C = 3
H = 11
W = 9
K = 4
R = 3
X = placeholder((N, C, H, W), float32)
Wt = placeholder((K, C, R, R), float32)
Apad = compute((N, C, H + 2, W + 2), (n, c, y, x) =>
    if_then_else(y >= 1 && y < H + 1 && x >= 1 && x < W + 1, X[n, c, y - 1, x - 1], 0.0))
rc = reduce_axis(0, C)
ry = reduce_axis(0, R)
rx = reduce_axis(0, R)
Y = compute((N, K, H, W), (n, k, y, x) =>
    sum(Apad[n, rc, y + ry, x + rx] * Wt[k, rc, ry, rx], axis=[rc, ry, rx]))
kernel conv(X, Wt) -> Y
schedule Y {
    yo, xo, yi, xi = tile(y, x, 4, 4)
    reorder(n, k, yo, xo, rc, ry, rx, yi, xi)
    vectorize(xi)
}
schedule Apad {
    compute_at(Y, xo)
    vectorize(x)
}
`
	f, _ := lowerAndCompare(t, src, nil)
	for _, a := range lower.Allocations(f) {
		if a.Buffer.Name == "Apad" {
			if got := te.ExprString(a.Bytes); got != "432" { // 3 channels x 6 x 6 floats
				t.Errorf("Apad allocation %s bytes, want 3*6*6*4 = 432", got)
			}
		}
	}
}

func TestScheduledReductionVectorAccumulator(t *testing.T) {
	src := `n = var(default=37)
A = placeholder((5, n), int32)
k = reduce_axis(0, n)
S = compute((5,), (i) => sum(A[i, k], axis=k))
M = compute((5,), (i) => max(A[i, k] * 2, axis=k))
kernel rowsum(A, n) -> (S, M)
schedule S {
    ko, ki = split(k, factor=8)
    vectorize(ki)
}
schedule M {
    ko, ki = split(k, factor=4)
    vectorize(ki)
}
`
	for _, n := range []int64{37, 8, 3} {
		lowerAndCompare(t, src, map[string]int64{"n": n})
	}
}

func TestScheduledInlineCacheWriteFuse(t *testing.T) {
	src := `A = placeholder((6, 10), float32)
B = placeholder((10, 12), float32)
T = compute((6, 10), (i, j) => A[i, j] * 2.0 + 1.0)
k = reduce_axis(0, 10)
C = compute((6, 12), (i, j) => sum(T[i, k] * B[k, j], axis=k))
R = compute((6, 12), (i, j) => max(C[i, j], 0.0))
kernel mm(A, B) -> R
schedule T {
    compute_inline()
}
schedule C {
    CL = cache_write(C, local)
    io, jo, ii, ji = tile(i, j, 2, 4)
    f = fuse(io, jo)
    parallel(f)
}
schedule CL {
    compute_at(C, f)
    reorder(i, k, j)
    vectorize(j)
}
`
	lowerAndCompare(t, src, nil)
}

func TestScheduledEdgeCases(t *testing.T) {
	cases := map[string]string{
		"reduction producer computed at a consumer loop": `A = placeholder((9, 7), int32)
k = reduce_axis(0, 7)
S = compute((9,), (i) => sum(A[i, k], axis=k))
B = compute((9, 7), (i, j) => A[i, j] * 4 - S[i])
kernel norm(A) -> B
schedule B {
    io, ii = split(i, factor=4)
}
schedule S {
    compute_at(B, io)
}
`,
		"symbolic extent, window at a vectorized consumer tile": `n = var(default=29)
A = placeholder((n,), float32)
P = compute((n + 2,), (i) => if_then_else(i >= 1 && i <= n, A[i - 1], 0.0))
B = compute((n,), (i) => P[i] * 0.25 + P[i + 1] * 0.5 + P[i + 2] * 0.25)
kernel blur(A, n) -> B
schedule B {
    io, ii = split(i, factor=8)
    vectorize(ii)
}
schedule P {
    compute_at(B, io)
}
`,
		"fused loops vectorized": `A = placeholder((6, 4), int16)
B = compute((6, 4), (i, j) => A[i, j] * 3)
kernel f(A) -> B
schedule B {
    f = fuse(i, j)
    fo, fi = split(f, factor=4)
    vectorize(fi)
}
`,
		"three data loops fused, split with a tail and vectorized": `A = placeholder((3, 4, 5), int32)
B = compute((3, 4, 5), (i, j, k) => A[i, j, k] * 3 - A[i, 3 - j, 4 - k])
kernel f(A) -> B
schedule B {
    f = fuse(i, j, k)
    fo, fi = split(f, factor=8)
    vectorize(fi)
}
`,
		"three reduction loops fused and split, a producer at the fused loop's part": `A = placeholder((2, 3, 4, 5), float32)
P = compute((2, 3, 4, 5), (b, r, c, d) => A[b, r, c, d] * 0.5)
r = reduce_axis(0, 3)
c = reduce_axis(0, 4)
d = reduce_axis(0, 5)
S = compute((2,), (b) => sum(P[b, r, c, d], axis=[r, c, d]))
kernel f(A) -> S
schedule S {
    rcd = fuse(r, c, d)
    ro, ri = split(rcd, factor=7)
    unroll(ri)
}
schedule P {
    compute_at(S, ro)
}
`,
		"unrolled tail and nparts": `A = placeholder((3, 11), uint8)
B = compute((3, 11), (i, j) => A[i, j] ^ 255)
kernel f(A) -> B
schedule B {
    jo, ji = split(j, nparts=3)
    unroll(ji)
    parallel(i)
}
`,
		"vectorized lazy condition over a division": `A = placeholder((16,), int32)
D = placeholder((16,), int32)
B = compute((16,), (i) => if_then_else(D[i] != 0, A[i] / D[i], 0))
kernel f(A, D) -> B
schedule B {
    io, ii = split(i, factor=4)
    vectorize(ii)
}
`,
		"lane condition over a load of one address (found by the random tester)": `A = placeholder((4,), float32)
B = compute((4, 4), (j, i) => if_then_else(j >= 1 && i < 3, A[j - 1], 0.0))
kernel k(A) -> B
schedule B {
    vectorize(i)
}
`,
		"scalar && guarding a vector load": `A = placeholder((4, 4), int32)
B = compute((4, 4), (j, i) => select(j >= 1 && A[j - 1, i] > 0, 1, 0))
kernel k(A) -> B
schedule B {
    vectorize(i)
}
`,
		"rfactor of an unsplit reduction axis": `A = placeholder((4, 6), int32)
k = reduce_axis(0, 6)
S = compute((4,), (i) => sum(A[i, k] * 3, axis=k))
kernel f(A) -> S
schedule S {
    SF = rfactor(S, k)
}
`,
		"rfactor of a max with a tail, vectorized at the consumer": `A = placeholder((3, 29), int8)
k = reduce_axis(0, 29)
M = compute((3,), (i) => max(A[i, k], axis=k))
kernel f(A) -> M
schedule M {
    ko, ki = split(k, factor=4)
    MF = rfactor(M, ki)
}
schedule MF {
    reorder(i, ko, ki)
    vectorize(ki)
    compute_at(M, i)
}
`,
		"rfactor with the partial results last, a block of outputs with their vectors of partial sums (the float dense schedule)": `A = placeholder((2, 6, 29), float32)
k = reduce_axis(0, 29)
S = compute((2, 6), (b, i) => sum(A[b, i, k] * 0.5, axis=k))
kernel f(A) -> S
schedule S {
    ko, ki = split(k, factor=4)
    SF = rfactor(S, ki, factor_axis=2)
    io, ii = split(i, factor=3)
}
schedule SF {
    compute_at(S, io)
    reorder(ko, i, ki)
    vectorize(ki)
    unroll(i)
}
`,
		"rfactor with the partial results between the data axes": `A = placeholder((3, 4, 10), int32)
k = reduce_axis(0, 10)
S = compute((3, 4), (b, i) => sum(A[b, i, k] - cast(int32, b), axis=k))
kernel f(A) -> S
schedule S {
    ko, ki = split(k, nparts=2)
    SF = rfactor(S, ko, factor_axis=1)
}
`,
		"rfactor for a parallel reduction over two reduce axes": `A = placeholder((2, 7, 5), float32)
r = reduce_axis(0, 7)
c = reduce_axis(0, 5)
S = compute((2,), (b) => sum(A[b, r, c], axis=[r, c]))
kernel f(A) -> S
schedule S {
    ro, ri = split(r, nparts=2)
    SF = rfactor(S, ri)
}
schedule SF {
    parallel(ri)
}
`,
		"rfactor of the outer part of a split with a tail, partial sums in parallel": `A = placeholder((4, 29), float32)
k = reduce_axis(0, 29)
S = compute((4,), (i) => sum(A[i, k] * 0.5, axis=k))
kernel f(A) -> S
schedule S {
    ko, ki = split(k, factor=8)
    SF = rfactor(S, ko)
}
schedule SF {
    reorder(ko, ki, i)
    parallel(ko)
    vectorize(i)
}
`,
		"rfactor of the outer part of an nparts split, a max over two reduce axes, computed at the consumer": `A = placeholder((2, 7, 5), int16)
r = reduce_axis(0, 7)
c = reduce_axis(0, 5)
M = compute((2,), (b) => max(A[b, r, c] - A[b, 6 - r, c], axis=[r, c]))
kernel f(A) -> M
schedule M {
    ro, ri = split(r, nparts=3)
    MF = rfactor(M, ro)
}
schedule MF {
    reorder(b, ro, ri, c)
    compute_at(M, b)
}
`,
		"rfactor of the outer part of an nparts split over a symbolic extent": `n = var(default=13)
A = placeholder((3, n), int32)
k = reduce_axis(0, n)
S = compute((3,), (i) => sum(A[i, k] * cast(int32, k + 1), axis=k))
kernel f(A, n) -> S
schedule S {
    ko, ki = split(k, nparts=4)
    SF = rfactor(S, ko)
}
schedule SF {
    unroll(ko)
}
`,
		"two-level compute_at chain": `A = placeholder((20,), float32)
P = compute((20,), (i) => A[i] * 2.0)
Q = compute((18,), (i) => P[i] + P[i + 2])
R = compute((16,), (i) => Q[i] - Q[i + 2])
kernel f(A) -> R
schedule R {
    io, ii = split(i, factor=5)
}
schedule Q {
    compute_at(R, io)
}
schedule P {
    compute_at(Q, i)
}
`,
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			_, diags := lowerAndCompare(t, src, nil)
			for _, d := range diags {
				t.Log(d)
			}
		})
	}
}

// TestExamplesLowered runs the scheduled examples small enough for the
// interpreter (matmul and conv2d are covered by the same schedules at
// smaller sizes above and in testdata/lower).
func TestExamplesLowered(t *testing.T) {
	for _, name := range []string{"elementwise.te", "rowmax.te", "popcount.te", "normalize.te"} {
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile("../examples/" + name)
			if err != nil {
				t.Fatal(err)
			}
			_, diags := lowerAndCompare(t, string(src), nil)
			for _, d := range diags {
				if d.Warning {
					t.Errorf("%s", d)
				}
			}
		})
	}
}

// A vectorized loop that reads across rows gathers: the lowering warns, on
// the vectorize axis (so the .te line), and says how far apart the lanes are.
// Contiguous and uniform accesses do not warn.
func TestStridedAccessWarns(t *testing.T) {
	src := `A = placeholder((16, 16), float32)
B = compute((16, 16), (i, j) => A[j, i] * 2.0 + A[i, j] + A[i, 0])
kernel tr(A) -> B
schedule B {
    jo, ji = split(j, factor=8)
    vectorize(ji)
}
`
	_, diags := lowerAndCompare(t, src, nil)
	var warnings []string
	for _, d := range diags {
		if d.Warning {
			warnings = append(warnings, d.Msg)
			if d.Axis == nil || d.Axis.Var.Name != "ji" {
				t.Errorf("warning not on axis ji: %v", d)
			}
		}
	}
	want := []string{"vectorize(ji): the load of A[ramp(jo * 128 + i, 16, 8)] (lanes 16 elements apart) is not contiguous: it becomes a gather or scatter, one lane at a time"}
	if d := cmp.Diff(want, warnings); d != "" {
		t.Error(d)
	}
}

// Issue 12, bound inference: split(nparts=32) over 8 iterations runs 8 (as
// TVM), not 32 of which 24 compute a producer for nothing; a stage computed
// at a loop split off a fused loop computes the part of a row the iteration
// reads (the factor divides the row) or the rows it straddles, not the
// whole producer. Results are checked against the evaluator; sizes against
// the arithmetic written out here.
func TestBoundInferenceSplitOfFuseAndNParts(t *testing.T) {
	cases := []struct {
		name, schedule string
		wantLoop       string // the consumer's outer loop as printed
		wantBytes      string // the producer's allocation
	}{
		{"nparts over a smaller extent", `xo, xi = split(x, nparts=32)`, "for (xo, 0, 16)", "64"}, // one row of 16 floats per iteration
		{"fuse then split, factor divides the row", `f = fuse(x, y)
    fo, fi = split(f, factor=4)`, "for (fo, 0, 64)", "16"}, // 4 floats of one row
		{"fuse then split, factor straddles rows", `f = fuse(x, y)
    fo, fi = split(f, factor=24)`, "for (fo, 0, 11)", "192"}, // a run of 24 floats meets at most 3 rows of 16 (2 at these starts: the bound ignores where a run starts)
	}
	for _, c := range cases {
		src := `A = placeholder((16, 16), float32)
P = compute((16, 16), (x, y) => A[x, y] * 2.0)
C = compute((16, 16), (x, y) => P[x, y] + 1.0)
kernel k(A) -> C
schedule P {
    compute_at(C, ` + strings.Fields(c.wantLoop)[1][1:len(strings.Fields(c.wantLoop)[1])-1] + `)
}
schedule C {
    ` + c.schedule + `
}
`
		f, _ := lowerAndCompare(t, src, nil)
		if !strings.Contains(f.String(), c.wantLoop+" {") {
			t.Errorf("%s: no %q in\n%s", c.name, c.wantLoop, f)
		}
		for _, a := range lower.Allocations(f) {
			if a.Buffer.Name == "P" {
				if got := te.ExprString(a.Bytes); got != c.wantBytes {
					t.Errorf("%s: P allocates %s bytes, want %s\n%s", c.name, got, c.wantBytes, f)
				}
			}
		}
	}
}
