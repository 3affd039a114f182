package dsl

// Tests of the .te front end: valid programs elaborate to the expected
// tensors, kernel and schedules; expressions follow Python's precedence; and
// every user error is reported once, at its exact file:line:col, with the
// source line and a caret under the column, in source order and without
// cascading into the uses of a failed declaration.
//
// Cases with a bug field found a bug when they were written (fixed since).

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tide-compiler/tide/te"
)

// cmpDiff is cmp.Diff(want, got): "" when equal, else a -want +got report.
func cmpDiff(want, got any) string { return cmp.Diff(want, got) }

// ---------------------------------------------------------------------------
// Summaries of elaborated programs, compared as plain values.

type tensorSum struct {
	Name  string
	Kind  string // placeholder or compute
	DType string
	Shape string
	Range string   // placeholders: "lo..hi" or ""
	Axes  []string // computes: data-parallel axes
	RAxes []string // computes: reduce axes
	Body  string   // computes: te.ExprString of the body
}

type kernelSum struct {
	Name    string
	Inputs  []string
	Outputs []string
	Params  []string
}

type sizeSum struct {
	Name       string
	Default    int64
	HasDefault bool
}

type primSum struct {
	Name    string
	Targets []string
	Args    []string // "name", "42", "key=name" or "key=42"
}

type schedSum struct {
	Stage string
	Prims []primSum
}

type progSum struct {
	Tensors   []tensorSum
	Sizes     []sizeSum
	Kernel    kernelSum
	Schedules []schedSum
}

func ivNames(ivs []*te.IterVar) []string {
	var out []string
	for _, iv := range ivs {
		out = append(out, iv.Var.Name)
	}
	return out
}

func summarize(p *Program) progSum {
	var s progSum
	for _, t := range p.Tensors {
		ts := tensorSum{Name: t.Name, DType: t.DType.String(), Shape: te.ShapeString(t.Shape)}
		if t.IsPlaceholder() {
			ts.Kind = "placeholder"
			if t.Range != nil {
				ts.Range = fmt.Sprintf("%v..%v", t.Range.Lo, t.Range.Hi)
			}
		} else {
			ts.Kind = "compute"
			ts.Axes = ivNames(t.Axis)
			ts.RAxes = ivNames(t.ReduceAxis)
			ts.Body = te.ExprString(t.Body)
		}
		s.Tensors = append(s.Tensors, ts)
	}
	for _, sz := range p.Sizes {
		s.Sizes = append(s.Sizes, sizeSum{sz.Var.Name, sz.Default, sz.HasDefault})
	}
	if k := p.Kernel; k != nil {
		s.Kernel.Name = k.Name
		for _, t := range k.Inputs {
			s.Kernel.Inputs = append(s.Kernel.Inputs, t.Name)
		}
		for _, t := range k.Outputs {
			s.Kernel.Outputs = append(s.Kernel.Outputs, t.Name)
		}
		for _, v := range k.Params {
			s.Kernel.Params = append(s.Kernel.Params, v.Name)
		}
	}
	for _, sc := range p.Schedules {
		ss := schedSum{Stage: sc.StageName}
		for _, pr := range sc.Primitives {
			ps := primSum{Name: pr.Name}
			for _, tg := range pr.Targets {
				ps.Targets = append(ps.Targets, tg.Name)
			}
			for _, a := range pr.Args {
				v := fmt.Sprint(a.Value)
				if a.IsName {
					v = a.Name
				}
				if a.Key != "" {
					v = a.Key + "=" + v
				}
				ps.Args = append(ps.Args, v)
			}
			ss.Prims = append(ss.Prims, ps)
		}
		s.Schedules = append(s.Schedules, ss)
	}
	return s
}

func mustParse(t *testing.T, file, src string) *Program {
	t.Helper()
	p, err := Parse(file, []byte(src))
	if err != nil {
		t.Fatalf("Parse(%s) failed:\n%v", file, err)
	}
	if p == nil || p.Kernel == nil {
		t.Fatalf("Parse(%s) returned no kernel", file)
	}
	return p
}

// ---------------------------------------------------------------------------
// 1. Valid programs.

func TestValidPrograms(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want progSum
	}{
		{
			name: "conv2d with constant arithmetic, padding and a multi-axis sum",
			src: `# a small 2-D convolution with stride and padding
N = 1
C = 3
H = 8
W = 8
K = 4
R = 3
PAD = 1
STRIDE = 2
OH = (H + 2*PAD - R) / STRIDE + 1     # (8 + 2 - 3) / 2 + 1 = 4
OW = (W + 2 * PAD - R) / STRIDE + 1

X = placeholder((N, C, H, W), float32)
Wt = placeholder((K, C, R, R), float32)
Apad = compute((N, C, H + 2 * PAD, W + 2 * PAD), (n, c, y, x) =>
    if_then_else(y >= PAD && y < H + PAD && x >= PAD && x < W + PAD,
                 X[n, c, y - PAD, x - PAD], 0.0))
rc = reduce_axis(0, C)
ry = reduce_axis((0, R))              # TVM's tuple form
rx = reduce_axis(0, R)
Y = compute((N, K, OH, OW), (n, k, y, x) =>
    sum(Apad[n, rc, y * STRIDE + ry, x * STRIDE + rx] * Wt[k, rc, ry, rx],
        axis=[rc, ry, rx]))

kernel conv(X, Wt) -> Y
schedule Y {
    yo, yi = split(y, factor=STRIDE)
    reorder(n, k, yo, rc, ry, rx, yi, x)
    unroll(rx)
}
`,
			want: progSum{
				Tensors: []tensorSum{
					{Name: "X", Kind: "placeholder", DType: "float32", Shape: "(1, 3, 8, 8)"},
					{Name: "Wt", Kind: "placeholder", DType: "float32", Shape: "(4, 3, 3, 3)"},
					{Name: "Apad", Kind: "compute", DType: "float32", Shape: "(1, 3, 10, 10)",
						Axes: []string{"n", "c", "y", "x"},
						Body: "if_then_else(y >= 1 && y < 9 && x >= 1 && x < 9, X[n, c, y - 1, x - 1], 0.0)"},
					{Name: "Y", Kind: "compute", DType: "float32", Shape: "(1, 4, 4, 4)",
						Axes: []string{"n", "k", "y", "x"}, RAxes: []string{"rc", "ry", "rx"},
						Body: "sum(Apad[n, rc, y * 2 + ry, x * 2 + rx] * Wt[k, rc, ry, rx], axis=[rc, ry, rx])"},
				},
				Kernel: kernelSum{Name: "conv", Inputs: []string{"X", "Wt"}, Outputs: []string{"Y"}},
				Schedules: []schedSum{{Stage: "Y", Prims: []primSum{
					{Name: "split", Targets: []string{"yo", "yi"}, Args: []string{"y", "factor=2"}},
					{Name: "reorder", Args: []string{"n", "k", "yo", "rc", "ry", "rx", "yi", "x"}},
					{Name: "unroll", Args: []string{"rx"}},
				}}},
			},
		},
		{
			name: "hex and binary literals, var sizes, range, popcount, shifts, two outputs",
			src: `# packed bits
MASK = 0xF0
LOW = 0b0000_1111
WORDS = 0x4
n = var()
m = var(default=16)
A = placeholder((n, WORDS), uint8, range=(0, 3))   # small values
B = placeholder((m, WORDS), uint8)
w = reduce_axis(0, WORDS)
P = compute((n, m), (i, j) =>
    sum(cast(int32, popcount((A[i, w] ^ B[j, w]) & MASK | LOW)), axis=w))
S = compute((n, WORDS), (i, j) => A[i, j] << 2 >> 1)
kernel bits(A, B, m) -> (P, S)
`,
			want: progSum{
				Tensors: []tensorSum{
					{Name: "A", Kind: "placeholder", DType: "uint8", Shape: "(n, 4)", Range: "0..3"},
					{Name: "B", Kind: "placeholder", DType: "uint8", Shape: "(m, 4)"},
					{Name: "P", Kind: "compute", DType: "int32", Shape: "(n, m)",
						Axes: []string{"i", "j"}, RAxes: []string{"w"},
						Body: "sum(cast(int32, popcount((A[i, w] ^ B[j, w]) & 240 | 15)), axis=w)"},
					{Name: "S", Kind: "compute", DType: "uint8", Shape: "(n, 4)",
						Axes: []string{"i", "j"}, Body: "A[i, j] << 2 >> 1"},
				},
				Sizes: []sizeSum{{Name: "n"}, {Name: "m", Default: 16, HasDefault: true}},
				// explicit params first, then the other symbolic dims in first-use order
				Kernel: kernelSum{Name: "bits", Inputs: []string{"A", "B"}, Outputs: []string{"P", "S"}, Params: []string{"m", "n"}},
			},
		},
		{
			name: "min and max as functions and as reductions, select, cast, one reduce axis in two computes",
			src: `n = var(default=8)
A = placeholder((n, n), float32)
B = placeholder((n,), int16)
k = reduce_axis(0, n)
Mx = compute((n,), (i) => max(A[i, k], axis=k))
Mn = compute((n,), (i) => min(A[i, k], axis=k))
Clip = compute((n, n), (i, j) => min(max(A[i, j], 0.0), 6.0))
Sel = compute((n,), (i) =>
    select(B[i] > 0, B[i], -B[i]) + cast(int16, Mx[i] > Mn[i]))
kernel stats(A, B) -> (Mx, Mn, Clip, Sel)
K2 = 2
schedule Clip {
    io, ii = split(i, factor=4)
    reorder(io, j, ii)
    f = fuse(io, j)
    parallel(f)
    ii_o, ii_i = split(ii, nparts=2)
    vectorize(ii_i)
    a, b = split(ii_o, factor=K2)
    unroll(b)
}
`,
			want: progSum{
				Tensors: []tensorSum{
					{Name: "A", Kind: "placeholder", DType: "float32", Shape: "(n, n)"},
					{Name: "B", Kind: "placeholder", DType: "int16", Shape: "(n,)"},
					{Name: "Mx", Kind: "compute", DType: "float32", Shape: "(n,)",
						Axes: []string{"i"}, RAxes: []string{"k"}, Body: "max(A[i, k], axis=k)"},
					{Name: "Mn", Kind: "compute", DType: "float32", Shape: "(n,)",
						Axes: []string{"i"}, RAxes: []string{"k"}, Body: "min(A[i, k], axis=k)"},
					{Name: "Clip", Kind: "compute", DType: "float32", Shape: "(n, n)",
						Axes: []string{"i", "j"}, Body: "min(max(A[i, j], 0.0), 6.0)"},
					{Name: "Sel", Kind: "compute", DType: "int16", Shape: "(n,)",
						Axes: []string{"i"}, Body: "select(B[i] > 0, B[i], -B[i]) + cast(int16, Mx[i] > Mn[i])"},
				},
				Sizes:  []sizeSum{{Name: "n", Default: 8, HasDefault: true}},
				Kernel: kernelSum{Name: "stats", Inputs: []string{"A", "B"}, Outputs: []string{"Mx", "Mn", "Clip", "Sel"}, Params: []string{"n"}},
				Schedules: []schedSum{{Stage: "Clip", Prims: []primSum{
					{Name: "split", Targets: []string{"io", "ii"}, Args: []string{"i", "factor=4"}},
					{Name: "reorder", Args: []string{"io", "j", "ii"}},
					{Name: "fuse", Targets: []string{"f"}, Args: []string{"io", "j"}},
					{Name: "parallel", Args: []string{"f"}},
					{Name: "split", Targets: []string{"ii_o", "ii_i"}, Args: []string{"ii", "nparts=2"}},
					{Name: "vectorize", Args: []string{"ii_i"}},
					{Name: "split", Targets: []string{"a", "b"}, Args: []string{"ii_o", "factor=2"}},
					{Name: "unroll", Args: []string{"b"}},
				}}},
			},
		},
		{
			name: "comments, blank lines, multi-line compute with a closing line, semicolons and compute_at across blocks",
			src: `# leading comment

A = placeholder((4,), float32)   # trailing comment
B = compute((4,), (i) =>
    A[i] +
        1.0 *
    2.0
)
D = compute((4,), (i) => B[i] * 2.0)

kernel f(A) -> D
schedule D {
  io, ii = split(i, factor=2); vectorize(ii)
  # a comment inside a block
}
schedule B {
  compute_at(D, io)
}
`,
			want: progSum{
				Tensors: []tensorSum{
					{Name: "A", Kind: "placeholder", DType: "float32", Shape: "(4,)"},
					{Name: "B", Kind: "compute", DType: "float32", Shape: "(4,)", Axes: []string{"i"}, Body: "A[i] + 2.0"},
					{Name: "D", Kind: "compute", DType: "float32", Shape: "(4,)", Axes: []string{"i"}, Body: "B[i] * 2.0"},
				},
				Kernel: kernelSum{Name: "f", Inputs: []string{"A"}, Outputs: []string{"D"}},
				Schedules: []schedSum{
					{Stage: "D", Prims: []primSum{
						{Name: "split", Targets: []string{"io", "ii"}, Args: []string{"i", "factor=2"}},
						{Name: "vectorize", Args: []string{"ii"}},
					}},
					{Stage: "B", Prims: []primSum{{Name: "compute_at", Args: []string{"D", "io"}}}},
				},
			},
		},
		{
			name: "kernel with two inputs and two outputs, single-dimension shapes without a tuple",
			src: `L = 2 * 3
A = placeholder(L, int32)
B = placeholder((L), int32)
C = compute(L, i => A[i] + B[i])
D = compute((L,), (i) => A[i] * B[i] - 1)
kernel f(A, B) -> (C, D)
`,
			want: progSum{
				Tensors: []tensorSum{
					{Name: "A", Kind: "placeholder", DType: "int32", Shape: "(6,)"},
					{Name: "B", Kind: "placeholder", DType: "int32", Shape: "(6,)"},
					{Name: "C", Kind: "compute", DType: "int32", Shape: "(6,)", Axes: []string{"i"}, Body: "A[i] + B[i]"},
					{Name: "D", Kind: "compute", DType: "int32", Shape: "(6,)", Axes: []string{"i"}, Body: "A[i] * B[i] - 1"},
				},
				Kernel: kernelSum{Name: "f", Inputs: []string{"A", "B"}, Outputs: []string{"C", "D"}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParse(t, "ok.te", tc.src)
			if d := cmpDiff(tc.want, summarize(p)); d != "" {
				t.Errorf("program mismatch:\n%s", d)
			}
			for _, tn := range p.Tensors {
				if p.Tensor(tn.Name) != tn {
					t.Errorf("Tensor(%q) does not return the declared tensor", tn.Name)
				}
				if _, ok := p.Decls[tn]; !ok {
					t.Errorf("Decls has no position for %s", tn.Name)
				}
			}
		})
	}
}

// Positions recorded in the program point at the declarations.
func TestDeclarationPositions(t *testing.T) {
	src := "n = var(default=3)\n\nA = placeholder((n,), float32)\nB = compute((n,), (i) => A[i])\nkernel f(A) -> B\nschedule B {\n    io, ii = split(i, factor=2)\n}\n"
	p := mustParse(t, "pos.te", src)
	type pos struct{ Line, Col int }
	got := map[string]pos{}
	for tn, ps := range p.Decls {
		got[tn.Name] = pos{ps.Line, ps.Column}
	}
	got["var n"] = pos{p.Sizes[0].Pos.Line, p.Sizes[0].Pos.Column}
	got["schedule"] = pos{p.Schedules[0].Pos.Line, p.Schedules[0].Pos.Column}
	a := p.Schedules[0].Primitives[0].Args[1]
	got["factor"] = pos{a.Pos.Line, a.Pos.Column}
	want := map[string]pos{"A": {3, 1}, "B": {4, 1}, "var n": {1, 1}, "schedule": {6, 1}, "factor": {7, 23}}
	if d := cmpDiff(want, got); d != "" {
		t.Error(d)
	}
	if p.Decls[p.Tensor("A")].Filename != "pos.te" {
		t.Errorf("filename = %q, want pos.te", p.Decls[p.Tensor("A")].Filename)
	}
}

func TestExamples(t *testing.T) {
	files, err := filepath.Glob("../examples/*.te")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			p := mustParse(t, f, string(src))
			if want := strings.TrimSuffix(filepath.Base(f), ".te"); p.Kernel.Name != want {
				t.Errorf("kernel name %q, want %q", p.Kernel.Name, want)
			}
		})
	}
	t.Run("matmul schedule", func(t *testing.T) {
		src, err := os.ReadFile("../examples/matmul.te")
		if err != nil {
			t.Fatal(err)
		}
		p := mustParse(t, "matmul.te", string(src))
		want := []schedSum{
			{Stage: "Bp", Prims: []primSum{
				{Name: "compute_at", Args: []string{"C", "jo"}},
				{Name: "vectorize", Args: []string{"jv"}},
				{Name: "parallel", Args: []string{"kk"}},
			}},
			{Stage: "C", Prims: []primSum{
				{Name: "cache_write", Targets: []string{"CL"}, Args: []string{"C", "local"}},
				{Name: "tile", Targets: []string{"io", "jo", "ii", "ji"}, Args: []string{"i", "j", "4", "16"}},
				{Name: "split", Targets: []string{"ib", "io2"}, Args: []string{"io", "factor=8"}},
				{Name: "reorder", Args: []string{"jo", "ib", "io2", "ii", "ji"}},
				{Name: "vectorize", Args: []string{"ji"}},
				{Name: "parallel", Args: []string{"ib"}},
			}},
			{Stage: "CL", Prims: []primSum{
				{Name: "compute_at", Args: []string{"C", "io2"}},
				{Name: "split", Targets: []string{"jo2", "ji2"}, Args: []string{"j", "factor=8"}},
				{Name: "reorder", Args: []string{"k", "i", "jo2", "ji2"}},
				{Name: "vectorize", Args: []string{"ji2"}},
				{Name: "unroll", Args: []string{"jo2"}},
				{Name: "unroll", Args: []string{"i"}},
				{Name: "prefetch", Args: []string{"Bp", "k", "offset=32"}},
			}},
		}
		if d := cmpDiff(want, summarize(p).Schedules); d != "" {
			t.Error(d)
		}
	})
}

func TestSizeValues(t *testing.T) {
	p := mustParse(t, "s.te", "n = var()\nm = var(default=5)\nA = placeholder((n, m), float32)\nB = compute((n, m), (i, j) => A[i, j])\nkernel f(A) -> B\n")
	n, m := p.Sizes[0].Var, p.Sizes[1].Var
	got, err := p.SizeValues(map[string]int64{"n": 3})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmpDiff(map[*te.Var]int64{n: 3, m: 5}, got); d != "" {
		t.Error(d)
	}
	if _, err := p.SizeValues(nil); err == nil || !strings.Contains(err.Error(), "s.te:1:1: symbolic dimension n has no default") {
		t.Errorf("missing value: err = %v", err)
	}
	if _, err := p.SizeValues(map[string]int64{"n": 1, "q": 2}); err == nil || !strings.Contains(err.Error(), "q") {
		t.Errorf("unknown name: err = %v", err)
	}
}

// ---------------------------------------------------------------------------
// 2. Precedence.

// Constant expressions are folded; the shape shows their value.
func TestConstantPrecedence(t *testing.T) {
	tests := []struct {
		expr string
		want string // the folded value (a wrong grouping gives another)
	}{
		{"1 + 2 * 3", "7"},             // not 9
		{"(1 + 2) * 3", "9"},           //
		{"6 & 3 + 1", "4"},             // 6 & (3 + 1), not (6 & 3) + 1 = 3
		{"1 | 2 ^ 3 & 5", "3"},         // 1 | (2 ^ (3 & 5)), not ((1 | 2) ^ 3) & 5 = 0
		{"1 ^ 1 | 1", "1"},             // (1 ^ 1) | 1, not 1 ^ (1 | 1) = 0
		{"6 & 3 ^ 1", "3"},             // (6 & 3) ^ 1, not 6 & (3 ^ 1) = 2
		{"2 << 1 + 1", "8"},            // 2 << (1 + 1), not (2 << 1) + 1 = 5
		{"3 + 4 >> 1", "3"},            // (3 + 4) >> 1, not 3 + (4 >> 1) = 5
		{"1 << 4 >> 2", "4"},           // left to right, not 1 << (4 >> 2) = 2
		{"10 - 4 - 3", "3"},            // left to right, not 10 - (4 - 3) = 9
		{"100 / 10 / 5", "2"},          // not 100 / (10 / 5) = 50
		{"17 % 5 * 2", "4"},            // (17 % 5) * 2, not 17 % 10 = 7
		{"-2 * -3", "6"},               //
		{"- 3 + 5", "2"},               // (-3) + 5, not -(3 + 5)
		{"-7 / 2 + 10", "7"},           // '/' truncates toward zero: -3 + 10
		{"-7 % 3 + 5", "4"},            // '%' has the dividend's sign: -1 + 5
		{"floordiv(-7, 2) + 10", "6"},  // -4 + 10
		{"floormod(-7, 3) + 5", "7"},   // 2 + 5
		{"max(2, 3) * 2", "6"},         //
		{"min(2, 3) + max(4, 1)", "6"}, //
		{"0x10 + 0b11", "19"},          //
		{"0xff & 0B1_0000", "16"},      //
		{"0x_1F + 1", "32"},            //
		{"9223372036854775807 - 9223372036854775806", "1"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			src := fmt.Sprintf("X = %s\nA = placeholder((X,), float32)\nB = compute((X,), (i) => A[i])\nkernel f(A) -> B\n", tc.expr)
			p := mustParse(t, "const.te", src)
			if got := te.ExprString(p.Tensor("A").Shape[0]); got != tc.want {
				t.Errorf("%s = %s, want %s", tc.expr, got, tc.want)
			}
		})
	}
}

// scalarKernel elaborates R = compute((1,), (i) => expr) over int32 inputs
// A, B, C, D of shape (1,).
func scalarKernel(t *testing.T, expr string) *Program {
	t.Helper()
	src := fmt.Sprintf(`A = placeholder((1,), int32)
B = placeholder((1,), int32)
C = placeholder((1,), int32)
D = placeholder((1,), int32)
R = compute((1,), (i) => %s)
kernel f(A, B, C, D) -> R
`, expr)
	return mustParse(t, "prec.te", src)
}

func evalScalar(t *testing.T, p *Program, in [4]int64) int64 {
	t.Helper()
	var bufs []*te.Buffer
	for _, v := range in {
		b := te.NewBuffer(te.Int32, []int{1})
		b.Ints[0] = v
		bufs = append(bufs, b)
	}
	out, err := te.EvalKernel(p.Kernel, bufs, nil)
	if err != nil {
		t.Fatalf("EvalKernel: %v", err)
	}
	return out[0].Ints[0]
}

func TestExpressionPrecedence(t *testing.T) {
	type evalCase struct {
		in   [4]int64 // a, b, c, d
		want int64    // bools are 0 or 1
	}
	tests := []struct {
		expr  string
		print string // te.ExprString of the body: minimal parentheses
		dtype string
		top   string // the operator at the root of the body
		evals []evalCase
	}{
		{"A[i] + B[i] * C[i]", "A[i] + B[i] * C[i]", "int32", "+",
			[]evalCase{{[4]int64{2, 3, 4, 0}, 14}}}, // not 20
		{"(A[i] + B[i]) * C[i]", "(A[i] + B[i]) * C[i]", "int32", "*",
			[]evalCase{{[4]int64{2, 3, 4, 0}, 20}}},
		{"A[i] & B[i] + C[i]", "A[i] & B[i] + C[i]", "int32", "&", // Python: a & (b + c)
			[]evalCase{{[4]int64{6, 3, 1, 0}, 4}}}, // not (6 & 3) + 1 = 3
		{"(A[i] & B[i]) + C[i]", "(A[i] & B[i]) + C[i]", "int32", "+",
			[]evalCase{{[4]int64{6, 3, 1, 0}, 3}}},
		{"A[i] << 1 + 1", "A[i] << 2", "int32", "<<", // the untyped 1 + 1 folds first
			[]evalCase{{[4]int64{1, 0, 0, 0}, 4}, {[4]int64{3, 0, 0, 0}, 12}}},
		{"A[i] + B[i] << 1", "A[i] + B[i] << 1", "int32", "<<",
			[]evalCase{{[4]int64{1, 2, 0, 0}, 6}}}, // not 1 + 4 = 5
		{"A[i] >> 1 << 2", "A[i] >> 1 << 2", "int32", "<<",
			[]evalCase{{[4]int64{7, 0, 0, 0}, 12}}}, // not 7 >> 4 = 0
		{"-A[i] * 2", "-A[i] * 2", "int32", "*",
			[]evalCase{{[4]int64{3, 0, 0, 0}, -6}}},
		{"-(A[i] * 2)", "-(A[i] * 2)", "int32", "-",
			[]evalCase{{[4]int64{3, 0, 0, 0}, -6}}},
		{"-A[i] % 3", "-A[i] % 3", "int32", "%",
			[]evalCase{{[4]int64{7, 0, 0, 0}, -1}}},
		{"~A[i] & B[i]", "~A[i] & B[i]", "int32", "&",
			[]evalCase{{[4]int64{5, 7, 0, 0}, 2}}},
		{"A[i] - B[i] - C[i]", "A[i] - B[i] - C[i]", "int32", "-",
			[]evalCase{{[4]int64{10, 4, 3, 0}, 3}}},
		{"A[i] - (B[i] - C[i])", "A[i] - (B[i] - C[i])", "int32", "-",
			[]evalCase{{[4]int64{10, 4, 3, 0}, 9}}},
		{"A[i] / B[i] * C[i]", "A[i] / B[i] * C[i]", "int32", "*",
			[]evalCase{{[4]int64{7, 2, 3, 0}, 9}}}, // not 7 / 6 = 1
		{"A[i] ^ B[i] | C[i]", "A[i] ^ B[i] | C[i]", "int32", "|",
			[]evalCase{{[4]int64{1, 1, 1, 0}, 1}}}, // not 1 ^ 1 = 0
		{"A[i] & B[i] ^ C[i]", "A[i] & B[i] ^ C[i]", "int32", "^",
			[]evalCase{{[4]int64{6, 3, 1, 0}, 3}}}, // not 6 & 2 = 2
		{"A[i] | B[i] ^ C[i] & D[i]", "A[i] | B[i] ^ C[i] & D[i]", "int32", "|",
			[]evalCase{{[4]int64{1, 2, 3, 5}, 3}}},
		{"!(A[i] < B[i]) || C[i] > D[i]", "!(A[i] < B[i]) || C[i] > D[i]", "bool", "||",
			[]evalCase{{[4]int64{1, 2, 3, 4}, 0}, {[4]int64{3, 2, 0, 0}, 1}, {[4]int64{1, 2, 5, 4}, 1}}},
		{"A[i] < B[i] || C[i] < D[i] && A[i] > C[i]", "A[i] < B[i] || C[i] < D[i] && A[i] > C[i]", "bool", "||",
			[]evalCase{{[4]int64{1, 2, 3, 4}, 1}, {[4]int64{2, 1, 3, 4}, 0}}}, // && binds tighter than ||
		{"A[i] & 1 == 0", "A[i] & 1 == 0", "bool", "==", // Python: (a & 1) == 0, unlike C
			[]evalCase{{[4]int64{4, 0, 0, 0}, 1}, {[4]int64{5, 0, 0, 0}, 0}}},
		{"A[i] | B[i] == C[i]", "A[i] | B[i] == C[i]", "bool", "==",
			[]evalCase{{[4]int64{1, 2, 3, 0}, 1}}},
		{"A[i] + B[i] < C[i] * D[i]", "A[i] + B[i] < C[i] * D[i]", "bool", "<",
			[]evalCase{{[4]int64{1, 2, 2, 2}, 1}, {[4]int64{3, 2, 2, 2}, 0}}},
		{"A[i] * 2 == B[i] && !(C[i] != D[i])", "A[i] * 2 == B[i] && !(C[i] != D[i])", "bool", "&&",
			[]evalCase{{[4]int64{2, 4, 7, 7}, 1}, {[4]int64{2, 4, 7, 8}, 0}}},
		{"select(A[i] > B[i], A[i] - B[i], B[i] - A[i]) * 2", "select(A[i] > B[i], A[i] - B[i], B[i] - A[i]) * 2", "int32", "*",
			[]evalCase{{[4]int64{2, 5, 0, 0}, 6}, {[4]int64{5, 2, 0, 0}, 6}}},
		{"max(A[i], B[i]) - min(C[i], D[i]) * 2", "max(A[i], B[i]) - min(C[i], D[i]) * 2", "int32", "-",
			[]evalCase{{[4]int64{1, 9, 4, 3}, 3}}},
		{"cast(int32, A[i] > B[i]) + popcount(C[i]) * 10", "cast(int32, A[i] > B[i]) + popcount(C[i]) * 10", "int32", "+",
			[]evalCase{{[4]int64{2, 1, 7, 0}, 31}}},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			p := scalarKernel(t, tc.expr)
			body := p.Tensor("R").Body
			if got := te.ExprString(body); got != tc.print {
				t.Errorf("printed body = %q, want %q", got, tc.print)
			}
			if got := body.Type().String(); got != tc.dtype {
				t.Errorf("type = %s, want %s", got, tc.dtype)
			}
			var top string
			switch b := body.(type) {
			case *te.Binary:
				top = b.Op.String()
			case *te.Unary:
				top = b.Op.String()
			}
			if top != tc.top {
				t.Errorf("root operator = %q, want %q", top, tc.top)
			}
			for _, ev := range tc.evals {
				if got := evalScalar(t, p, ev.in); got != ev.want {
					t.Errorf("a, b, c, d = %v: got %d, want %d", ev.in, got, ev.want)
				}
			}
		})
	}
}

// Reductions evaluate over the declared ranges; one reduce_axis declaration
// serves two computes; min/max work both as binary functions and reductions.
func TestReductionsEvaluate(t *testing.T) {
	src := `n = var(default=3)
P = placeholder((n, 4), int32)
k = reduce_axis((0, n))
l = reduce_axis(1, 4)
S = compute((1,), (i) => sum(P[k, l], axis=[k, l]))
RowMax = compute((n,), (i) => max(P[i, l], axis=l))
ColMin = compute((4,), (j) => min(P[k, j], axis=k))
Cnt = compute((1,), (i) => sum(1, axis=[k, l]))
Clamp = compute((n, 4), (i, j) => max(min(P[i, j], 10), 3))
kernel red(P) -> (S, RowMax, ColMin, Cnt, Clamp)
`
	p := mustParse(t, "red.te", src)
	sizes, err := p.SizeValues(nil)
	if err != nil {
		t.Fatal(err)
	}
	in := te.NewBuffer(te.Int32, []int{3, 4})
	for i := range in.Ints {
		in.Ints[i] = int64(i + 1) // [[1 2 3 4] [5 6 7 8] [9 10 11 12]]
	}
	out, err := te.EvalKernel(p.Kernel, []*te.Buffer{in}, sizes)
	if err != nil {
		t.Fatal(err)
	}
	got := [][]int64{}
	for _, b := range out {
		got = append(got, b.Ints)
	}
	want := [][]int64{
		{63},         // columns 1..3 of every row
		{4, 8, 12},   // row maxima over l in 1..3
		{1, 2, 3, 4}, // column minima over k in 0..2
		{9},          // 3 * 3 points
		{3, 3, 3, 4, 5, 6, 7, 8, 9, 10, 10, 10},
	}
	if d := cmpDiff(want, got); d != "" {
		t.Error(d)
	}
	if a, b := p.Tensor("S").ReduceAxis[0], p.Tensor("ColMin").ReduceAxis[0]; a == b {
		t.Error("two computes share one IterVar for reduce axis k; each needs its own")
	}
}

// ---------------------------------------------------------------------------
// 3. Errors.

type wantErr struct {
	line, col int
	at        string // the source text at line:col (checked as a prefix); "" to skip
	phrase    string // a key phrase of the message; "a … b" means a, then later b
}

func hasPhrase(msg, phrase string) bool {
	for _, part := range strings.Split(phrase, " … ") {
		i := strings.Index(msg, part)
		if i < 0 {
			return false
		}
		msg = msg[i+len(part):]
	}
	return true
}

// checkErrors checks that err lists exactly want, in order, each with its
// position, message, source line and caret.
func checkErrors(t *testing.T, file, src string, err error, want []wantErr) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want %d", len(want))
	}
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error is %T, not an ErrorList: %v", err, err)
	}
	type posMsg struct {
		Line, Col int
		Msg       string
	}
	var got, exp []posMsg
	for _, e := range list {
		got = append(got, posMsg{e.Pos.Line, e.Pos.Column, e.Msg})
	}
	for i, w := range want {
		m := w.phrase
		if i < len(list) && hasPhrase(list[i].Msg, w.phrase) {
			m = list[i].Msg
		}
		exp = append(exp, posMsg{w.line, w.col, m})
	}
	if d := cmpDiff(exp, got); d != "" {
		t.Fatalf("errors mismatch (want messages containing the phrase):\n%s\nfull error:\n%v", d, err)
	}
	lines := strings.Split(src, "\n")
	for i, e := range list {
		w := want[i]
		if e.Pos.Filename != file {
			t.Errorf("error %d: filename %q, want %q", i, e.Pos.Filename, file)
		}
		srcLine := ""
		if w.line-1 < len(lines) {
			srcLine = lines[w.line-1]
		}
		if w.at != "" {
			rest := ""
			if w.col-1 <= len(srcLine) {
				rest = srcLine[w.col-1:]
			}
			if !strings.HasPrefix(rest, w.at) {
				t.Errorf("error %d at %d:%d points at %q, want %q", i, w.line, w.col, rest, w.at)
			}
		}
		if e.Line != srcLine {
			t.Errorf("error %d: Line = %q, want the source line %q", i, e.Line, srcLine)
		}
		// file:line:col: message, then the source line, then a caret under the column
		parts := strings.Split(e.Error(), "\n")
		head := fmt.Sprintf("%s:%d:%d: %s", file, w.line, w.col, e.Msg)
		if parts[0] != head {
			t.Errorf("error %d: first line %q, want %q", i, parts[0], head)
		}
		if srcLine == "" {
			if len(parts) != 1 {
				t.Errorf("error %d: no source line, yet Error() is %q", i, e.Error())
			}
			continue
		}
		var pad strings.Builder
		for _, r := range srcLine[:min(w.col-1, len(srcLine))] {
			if r == '\t' {
				pad.WriteByte('\t')
			} else {
				pad.WriteByte(' ')
			}
		}
		wantParts := []string{head, "    " + srcLine, "    " + pad.String() + "^"}
		if d := cmpDiff(wantParts, parts); d != "" {
			t.Errorf("error %d: Error() layout:\n%s", i, d)
		}
	}
	if len(list) <= MaxErrors {
		var each []string
		for _, e := range list {
			each = append(each, e.Error())
		}
		if got, want := list.Error(), strings.Join(each, "\n"); got != want {
			t.Errorf("ErrorList.Error() = %q, want the errors joined by newlines %q", got, want)
		}
	}
}

const prelude = "A = placeholder((4,), float32)\n"

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []wantErr
		bug  string
	}{
		{"mistyped name in a body",
			prelude + "B = compute((4,), (i) => Aa[i] + 1.0)\nkernel f(A) -> B\n",
			[]wantErr{{2, 26, "Aa[i]", `unknown name "Aa"; did you mean "A"?`}}, ""},
		{"mistyped kernel output",
			prelude + "Out = compute((4,), (i) => A[i])\nkernel f(A) -> Ouy\n",
			[]wantErr{{3, 16, "Ouy", `unknown name "Ouy"; did you mean "Out"?`}}, ""},
		{"mistyped function",
			prelude + "B = compute((4,), (i) => sqr(A[i]))\nkernel f(A) -> B\n",
			[]wantErr{{2, 26, "sqr(", `unknown function "sqr"; did you mean "sqrt"?`}}, ""},
		{"mistyped keyword",
			"A = placeholder((4,), float32, rnge=(0, 3))\nB = compute((4,), (i) => A[i])\nkernel f(A) -> B\n",
			[]wantErr{{1, 32, "rnge=", `placeholder has no argument "rnge"; did you mean "range"?`}}, ""},
		{"too few indices",
			"A = placeholder((4, 4), float32)\nB = compute((4,), (i) => A[i] + 1.0)\nkernel f(A) -> B\n",
			[]wantErr{{2, 27, "[i]", "A has 2 dimensions but is indexed with 1 indices"}}, ""},
		{"too many indices",
			prelude + "B = compute((4,), (i) => A[i, i])\nkernel f(A) -> B\n",
			[]wantErr{{2, 27, "[i, i]", "A has 1 dimensions but is indexed with 2 indices"}}, ""},
		{"lambda with too few parameters",
			"A = placeholder((4, 4), float32)\nB = compute((4, 4), (i) => A[i, i])\nkernel f(A) -> B\n",
			[]wantErr{{2, 21, "(i) =>", "compute B has 2 dimensions but the lambda takes 1"}}, ""},
		{"lambda with too many parameters",
			prelude + "B = compute((4,), (i, j) => A[i])\nkernel f(A) -> B\n",
			[]wantErr{{2, 19, "(i, j) =>", "compute B has 1 dimensions but the lambda takes 2"}}, ""},
		{"float added to uint8",
			"A = placeholder((4,), uint8)\nB = compute((4,), (i) => A[i] + 1.5)\nkernel f(A) -> B\n",
			[]wantErr{{2, 31, "+ 1.5", "float constant 1.5 cannot be … uint8"}}, ""},
		{"typed operands of two types",
			"A = placeholder((4,), int32)\nB = placeholder((4,), float32)\nC = compute((4,), (i) => A[i] * B[i])\nkernel f(A, B) -> C\n",
			[]wantErr{{3, 31, "* B[i]", "mismatched types int32 and float32"}}, ""},
		{"unknown dtype",
			"A = placeholder((4,), flaot32)\nB = compute((4,), (i) => A[i])\nkernel f(A) -> B\n",
			[]wantErr{{1, 23, "flaot32", `unknown dtype "flaot32"; did you mean "float32"?`}}, ""},
		{"unknown dtype in cast",
			prelude + "B = compute((4,), (i) => cast(int33, A[i]))\nkernel f(A) -> B\n",
			[]wantErr{{2, 31, "int33", `unknown dtype "int33"`}}, ""},
		{"unknown schedule primitive",
			prelude + "B = compute((4,), (i) => A[i])\nkernel f(A) -> B\nschedule B {\n    io, ii = splt(i, factor=2)\n}\n",
			[]wantErr{{5, 14, "splt(", `unknown schedule primitive "splt"; did you mean "split"?`}}, ""},
		{"unknown axis in a schedule",
			prelude + "B = compute((4,), (i) => A[i])\nkernel f(A) -> B\nschedule B {\n    io, ii = split(j, factor=2)\n}\n",
			[]wantErr{{5, 20, "j,", `split: B has no axis "j" (its axes are i); did you mean "i"?`}}, ""},
		{"schedule target that is already an axis",
			prelude + "B = compute((4,), (i) => A[i])\nkernel f(A) -> B\nschedule B {\n    i, ii = split(i, factor=2)\n}\n",
			[]wantErr{{5, 5, "i, ii", "i is already an axis of B"}}, ""},
		{"reduction inside an expression",
			"A = placeholder((4, 4), float32)\nk = reduce_axis(0, 4)\nB = compute((4,), (i) => 1.0 + sum(A[i, k], axis=k))\nkernel f(A) -> B\n",
			[]wantErr{{3, 32, "sum(", "must be the whole body of a compute"}}, ""},
		{"reduction without axis",
			"A = placeholder((4, 4), float32)\nB = compute((4,), (i) => sum(A[i, 0]))\nkernel f(A) -> B\n",
			[]wantErr{{2, 26, "sum(", "sum needs the axes it reduces over"}}, ""},
		{"reduce axis used but not reduced",
			"A = placeholder((4, 4), float32)\nk = reduce_axis(0, 4)\nB = compute((4,), (i) => A[i, k])\nkernel f(A) -> B\n",
			[]wantErr{{3, 31, "k]", "reduce axis k is used but not reduced over"}}, ""},
		{"reduce axis used but a different one reduced",
			"A = placeholder((4, 4), float32)\nk = reduce_axis(0, 4)\nl = reduce_axis(0, 4)\nB = compute((4,), (i) => sum(A[l, k], axis=k))\nkernel f(A) -> B\n",
			[]wantErr{{4, 32, "l, k]", "reduce axis l is used but not reduced over"}}, ""},
		{"redefinition",
			prelude + "A = placeholder((4,), float32)\nB = compute((4,), (i) => A[i])\nkernel f(A) -> B\n",
			[]wantErr{{2, 1, "A =", "A is already declared at 1:1"}}, ""},
		{"redefinition of a built-in",
			"sum = 3\n" + prelude + "B = compute((4,), (i) => A[i])\nkernel f(A) -> B\n",
			[]wantErr{{1, 1, "sum", "sum is a built-in name and cannot be redefined"}}, ""},
		{"use before declaration",
			"B = compute((4,), (i) => A[i])\n" + prelude + "kernel f(A) -> B\n",
			[]wantErr{{1, 26, "A[i]", "A is used before its declaration at 2:1"}}, ""},
		{"constant used before declaration",
			"A = placeholder((N,), float32)\nN = 4\nB = compute((4,), (i) => A[i])\nkernel f(A) -> B\n",
			[]wantErr{{1, 18, "N,", "N is used before its declaration at 2:1"}}, ""},
		{"lambda parameter hiding a constant",
			"N = 4\n" + prelude + "B = compute((N,), (N) => A[N])\nkernel f(A) -> B\n",
			[]wantErr{{3, 20, "N) =>", "lambda parameter N would hide the constant declared at 1:1"}}, ""},
		{"lambda parameter hiding a tensor",
			prelude + "B = compute((4,), (A) => 1.0)\nkernel f(A) -> B\n",
			[]wantErr{{2, 20, "A) =>", "lambda parameter A would hide the tensor declared at 1:1"}}, ""},
		{"lambda parameter listed twice",
			"A = placeholder((4, 4), float32)\nB = compute((4, 4), (i, i) => A[i, i])\nkernel f(A) -> B\n",
			[]wantErr{{2, 25, "i) =>", "lambda parameter i is listed twice"}}, ""},
		{"syntax error: missing operand",
			prelude + "B = compute((4,), (i) => A[i])\nD = compute((4,), (i) => A[i] * )\nkernel f(A) -> B\n",
			[]wantErr{{3, 33, ")", "syntax error: unexpected token \")\" (expected an operand)"}}, ""},
		{"syntax error: missing operand at the start",
			prelude + "B = compute((4,), (i) => A[i])\nD = compute((4,), (i) => * A[i])\nkernel f(A) -> B\n",
			[]wantErr{{3, 26, "* A[i]", "expected an operand"}}, ""},
		{"syntax error: missing value",
			"X =\n" + prelude + "B = compute((4,), (i) => A[i])\nkernel f(A) -> B\n",
			[]wantErr{{1, 4, "", "syntax error"}}, ""},
		{"unclosed parenthesis",
			prelude + "B = compute((4,), (i) => A[i])\nD = compute((4,), (i) => (A[i] + 1.0)\nkernel f(A) -> B\n",
			[]wantErr{{3, 12, "((4,)", `"(" is never closed`}}, ""},
		{"unclosed brace of a schedule block",
			prelude + "B = compute((4,), (i) => A[i])\nkernel f(A) -> B\nschedule B {\n    vectorize(i)\nX = 1\n",
			[]wantErr{{4, 12, "{", `"{" is never closed`}}, ""},
		{"unmatched closing parenthesis",
			prelude + "B = compute((4,), (i) => A[i])\nD = compute((4,), (i) => A[i] + 1.0))\nkernel f(A) -> B\n",
			[]wantErr{{3, 37, ")", `unmatched ")"`}}, ""},
		{"unmatched closing bracket",
			prelude + "B = compute((4,), (i) => A[i])\nD = compute((4,), (i) => A[i]])\nkernel f(A) -> B\n",
			[]wantErr{{3, 30, "])", `unmatched "]"`}}, ""},
		{"integer literal too large",
			"X = 99999999999999999999\n" + prelude + "B = compute((4,), (i) => A[i])\nkernel f(A) -> B\n",
			[]wantErr{{1, 5, "99999999999999999999", "integer literal 99999999999999999999 does not fit in 64 bits"}}, ""},
		{"uint8 plus 300 in a body",
			"A = placeholder((4,), uint8)\nB = compute((4,), (i) => A[i] + 300)\nkernel f(A) -> B\n",
			[]wantErr{{2, 31, "+ 300", "constant 300 overflows uint8 (range 0..255)"}}, ""},
		{"uint8 plus 300 in a constant",
			"C8 = cast(uint8, 1) + 300\n" + prelude + "B = compute((4,), (i) => A[i])\nkernel f(A) -> B\n",
			[]wantErr{{1, 21, "+ 300", "constant 300 overflows uint8"}}, ""},
		{"untyped constant overflowing 64 bits",
			"X = 9223372036854775807 + 1\n" + prelude + "B = compute((4,), (i) => A[i])\nkernel f(A) -> B\n",
			[]wantErr{{1, 25, "+ 1", "overflows 64 bits"}}, ""},
		{"comparison chain",
			"A = placeholder((4,), int32)\nB = compute((4,), (i) => A[i] < A[i] < A[i])\nkernel f(A) -> B\n",
			[]wantErr{{2, 38, "< A[i])", "comparisons cannot be chained"}}, ""},
		{"comparison chain of equalities",
			"A = placeholder((4,), int32)\nB = compute((4,), (i) => A[i] == 1 != true)\nkernel f(A) -> B\n",
			[]wantErr{{2, 36, "!= true", "comparisons cannot be chained"}}, ""},
		{"comparison chain behind arithmetic and &&",
			"A = placeholder((4,), int32)\nB = compute((4,), (i) => A[i] > 0 && A[i] + 1 <= A[i] * 2 < 9)\nkernel f(A) -> B\n",
			[]wantErr{{2, 59, "< 9", "comparisons cannot be chained"}}, ""},
		{"logical operator on integers",
			"A = placeholder((4,), int32)\nB = compute((4,), (i) => A[i] && 1)\nkernel f(A) -> B\n",
			[]wantErr{{2, 31, "&& 1", "operator '&&' is not defined on int32"}}, ""},
		{"unindexed tensor",
			prelude + "B = compute((4,), (i) => A + 1.0)\nkernel f(A) -> B\n",
			[]wantErr{{2, 26, "A +", "tensor A must be indexed"}}, ""},
		{"schedule of a placeholder",
			prelude + "B = compute((4,), (i) => A[i])\nkernel f(A) -> B\nschedule A {\n    vectorize(i)\n}\n",
			[]wantErr{{4, 10, "A {", "only computed tensors have a schedule; A is a placeholder"}}, ""},
		{"two schedule blocks for one stage",
			prelude + "B = compute((4,), (i) => A[i])\nkernel f(A) -> B\nschedule B {\n    vectorize(i)\n}\nschedule B {\n    unroll(i)\n}\n",
			[]wantErr{{7, 10, "B {", "B already has a schedule block"}}, ""},
		{"missing kernel",
			prelude + "B = compute((4,), (i) => A[i])\n",
			[]wantErr{{2, 1, "", "no kernel declared"}}, ""},
		{"two kernels",
			prelude + "B = compute((4,), (i) => A[i])\nkernel f(A) -> B\nkernel g(A) -> B\n",
			[]wantErr{{4, 1, "kernel g", "a file declares one kernel; the first is at 3:1"}}, ""},
		{"kernel argument that is computed",
			prelude + "B = compute((4,), (i) => A[i])\nC = compute((4,), (i) => B[i])\nkernel f(A, B) -> C\n",
			[]wantErr{{4, 13, "B)", "B is computed, so it is an output: list it after ->"}}, ""},
		{"kernel output that is a placeholder",
			prelude + "B = compute((4,), (i) => A[i])\nkernel f(A) -> (B, A)\n",
			[]wantErr{{3, 20, "A)", "A is a placeholder; kernel outputs are computed tensors"}}, ""},
		{"kernel argument that is a reduce axis",
			prelude + "k = reduce_axis(0, 4)\nB = compute((1,), (i) => sum(A[k], axis=k))\nkernel f(A, k) -> B\n",
			[]wantErr{{4, 13, "k)", "k is a reduce axis; kernel arguments are placeholders and symbolic dims"}}, ""},
		{"kernel missing an input",
			prelude + "B = compute((4,), (i) => A[i])\nkernel f() -> B\n",
			[]wantErr{{3, 1, "kernel", "the outputs read placeholders that are not arguments: [A]"}}, ""},
		{"non-positive dimension",
			"A = placeholder((4, 2 - 2), float32)\nB = compute((4,), (i) => A[i, 0])\nkernel f(A) -> B\n",
			[]wantErr{{1, 21, "2 - 2", "dimension 1 is 0; dimensions must be positive"}}, ""},
		{"var with a non-positive default",
			"n = var(default=0)\nA = placeholder((n,), float32)\nB = compute((n,), (i) => A[i])\nkernel f(A) -> B\n",
			[]wantErr{{1, 17, "0)", "the default of n must be positive"}}, ""},
		{"tab-indented continuation line",
			prelude + "B = compute((4,), (i) =>\n\tA[i] + Q)\nkernel f(A) -> B\n",
			[]wantErr{{3, 9, "Q)", `unknown name "Q"`}}, ""},
		{"reduce axis with an empty range",
			prelude + "k = reduce_axis(5, 2)\nB = compute((1,), (i) => sum(A[k], axis=k))\nkernel f(A) -> B\n",
			[]wantErr{{2, 5, "reduce_axis(5, 2)", "reduce_axis k is empty"}},
			"reduce_axis(5, 2) and reduce_axis(3, 3) are accepted: the emptiness check in reduceAxis tests ext.(*te.IntImm), but te.Bin does not fold typed (int64) constants, so the extent is the unfolded expression 2 - 5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("bad.te", []byte(tc.src))
			checkErrors(t, "bad.te", tc.src, err, tc.want)
		})
	}
}

// Bugs in literal handling: strconv.ParseInt with base 0 reads a leading 0
// as octal, and every ParseInt failure is reported as "does not fit".
func TestIntegerLiteralForms(t *testing.T) {
	t.Run("010 is not octal", func(t *testing.T) {
		src := "X = 010\nA = placeholder((X,), float32)\nB = compute((X,), (i) => A[i])\nkernel f(A) -> B\n"
		p, err := Parse("lit.te", []byte(src))
		if err != nil {
			checkErrors(t, "lit.te", src, err, []wantErr{{1, 5, "010", "010"}})
			return
		}
		if got := te.ExprString(p.Tensor("A").Shape[0]); got != "10" {
			t.Errorf("X = 010 gives a dimension of %s, want 10 (or an error)", got)
		}
	})
	for _, lit := range []string{"08", "0xFF_", "0b1__0"} {
		t.Run(lit+" is malformed, not too large", func(t *testing.T) {
			src := "X = " + lit + "\nA = placeholder((4,), float32)\nB = compute((4,), (i) => A[i])\nkernel f(A) -> B\n"
			_, err := Parse("lit.te", []byte(src))
			checkErrors(t, "lit.te", src, err, []wantErr{{1, 5, lit, lit}})
			if strings.Contains(err.Error(), "does not fit") {
				t.Errorf("misleading message for the malformed literal %s:\n%v", lit, err)
			}
		})
	}
}

// A compute that reads itself is not an "unknown name" with a suggestion of
// some other tensor.
func TestSelfReference(t *testing.T) {
	src := prelude + "B = compute((4,), (i) => B[i])\nkernel f(A) -> B\n"
	_, err := Parse("self.te", []byte(src))
	checkErrors(t, "self.te", src, err, []wantErr{{2, 26, "B[i]", "B"}})
	if strings.Contains(err.Error(), "unknown name") || strings.Contains(err.Error(), "did you mean") {
		t.Errorf("misleading message:\n%v", err)
	}
}

// Within a schedule block, a name is defined by the primitive that returns it
// and can only be used after it.
func TestScheduleNameUsedBeforeItsDefinition(t *testing.T) {
	src := prelude + "B = compute((4,), (i) => A[i])\nkernel f(A) -> B\nschedule B {\n    vectorize(ii)\n    io, ii = split(i, factor=2)\n}\n"
	_, err := Parse("sched.te", []byte(src))
	checkErrors(t, "sched.te", src, err, []wantErr{{5, 15, "ii)", "ii"}})
}

// ---------------------------------------------------------------------------
// 4. Several errors, in source order, without cascades.

func TestSeveralErrorsInSourceOrder(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []wantErr
	}{
		{"three independent bad statements",
			`A = placeholder((4,), float32)
B = compute((4,), (i) => A[i] + Q)
C = placeholder((4,), flt)
D = compute((4, 4), (i) => A[i])
E = compute((4,), (i) => A[i] * 2.0)
kernel f(A) -> E
`,
			[]wantErr{
				{2, 33, "Q)", `unknown name "Q"`},
				{3, 23, "flt", `unknown dtype "flt"`},
				{4, 21, "(i) =>", "the lambda takes 1"},
			}},
		{"schedule errors are checked last but listed in source order",
			`A = placeholder((4,), float32)
schedule E {
    vectorize(j)
}
B = compute((4,), (i) => A[i] + Q)
C = placeholder((4,), flt)
E = compute((4,), (i) => A[i] * 2.0)
kernel f(A) -> E
`,
			[]wantErr{
				{3, 15, "j)", `vectorize: E has no axis "j" (its axes are i)`},
				{5, 33, "Q)", `unknown name "Q"`},
				{6, 23, "flt", `unknown dtype "flt"`},
			}},
		{"two errors on one line, ordered by column",
			"X = Qx + Rx\n" + prelude + "B = compute((4,), (i) => A[i])\nkernel f(A) -> B\n",
			[]wantErr{{1, 5, "Qx", `unknown name "Qx"`}, {1, 10, "Rx", `unknown name "Rx"`}}},
		{"a syntax error does not hide the errors of other statements",
			`A = placeholder((4,), float32)
X = 1 +
D = compute((4,), (i) => A[i] + )
B = compute((4,), (i) => A[i] + Q)
C = compute((4,), (i) => (A[i]
kernel f(A) -> B
E = compute((4,), (i) => A[i] > 1.0 > 0.0)
`,
			[]wantErr{
				{2, 8, "", "syntax error"},
				{3, 33, ")", "expected an operand"},
				{4, 33, "Q)", `unknown name "Q"`},
				{5, 26, "(A[i]", `"(" is never closed`},
				{7, 37, "> 0.0", "comparisons cannot be chained"},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("many.te", []byte(tc.src))
			checkErrors(t, "many.te", tc.src, err, tc.want)
		})
	}
}

func TestMaxErrors(t *testing.T) {
	var b strings.Builder
	n := MaxErrors + 2
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "X%d = undefined_%d\n", i, i)
	}
	_, err := Parse("max.te", []byte(b.String()))
	var list ErrorList
	if !errors.As(err, &list) || len(list) != n {
		t.Fatalf("want %d errors, got %v", n, err)
	}
	for i, e := range list {
		if e.Pos.Line != i+1 || e.Pos.Column != 5+len(fmt.Sprint(i+1)) {
			t.Errorf("error %d at %d:%d", i, e.Pos.Line, e.Pos.Column)
		}
	}
	msg := err.Error()
	if got := strings.Count(msg, "max.te:"); got != MaxErrors {
		t.Errorf("Error() shows %d errors, want %d", got, MaxErrors)
	}
	if !strings.HasSuffix(msg, "(2 more errors not shown)") {
		t.Errorf("Error() does not end with the count of hidden errors:\n%s", msg)
	}
}

// An error in a declaration is reported once; the uses of the failed name
// stay silent.
func TestNoCascade(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want wantErr
		bug  string
	}{
		{"placeholder with an unknown dtype",
			`A = placeholder((4,), flt)
B = compute((4,), (i) => A[i] + 1.0)
C = compute((4,), (i) => cast(uint8, A[i]) + 1.5)
kernel f(A) -> (B, C)
schedule B {
    vectorize(i)
}
`,
			wantErr{1, 23, "flt", `unknown dtype "flt"`}, ""},
		{"constant with an unknown name",
			`K = Q + 1
A = placeholder((K, 2), float32)
k = reduce_axis(0, K)
B = compute((K,), (i) => sum(A[i, k], axis=k))
kernel f(A, K) -> B
`,
			wantErr{1, 5, "Q", `unknown name "Q"`}, ""},
		{"constant that overflows",
			`C8 = cast(uint8, 1) + 300
A = placeholder((C8,), uint8)
B = compute((4,), (i) => A[i] + C8)
kernel f(A) -> B
`,
			wantErr{1, 21, "+ 300", "overflows uint8"}, ""},
		{"compute with a bad body",
			`A = placeholder((4,), float32)
B = compute((4,), (i) => A[i] + Q)
C = compute((4,), (i) => B[i] * 2.0)
kernel f(A) -> (B, C)
schedule B {
    io, ii = split(i, factor=2)
}
schedule C {
    compute_at(B, i)
}
`,
			wantErr{2, 33, "Q", `unknown name "Q"`}, ""},
		{"compute with a lambda parameter hiding a global",
			`N = 4
A = placeholder((N,), float32)
B = compute((N,), (N) => A[N])
C = compute((N,), (i) => B[i])
kernel f(A) -> C
`,
			wantErr{3, 20, "N)", "would hide the constant"}, ""},
		{"reduce axis with an unknown bound",
			`A = placeholder((4, 4), float32)
k = reduce_axis(0, Kk)
B = compute((4,), (i) => sum(A[i, k], axis=k))
C = compute((4,), (i) => A[i, k])
kernel f(A) -> (B, C)
`,
			wantErr{2, 20, "Kk", `unknown name "Kk"`}, ""},
		{"var with an unknown default",
			`n = var(default=Q)
A = placeholder((n,), float32)
B = compute((n,), (i) => A[i])
kernel f(A, n) -> B
`,
			wantErr{1, 17, "Q", `unknown name "Q"`}, ""},
		{"redefinition keeps the first declaration",
			`A = placeholder((4,), float32)
A = placeholder((4,), int32)
B = compute((4,), (i) => A[i] + 1.5)
kernel f(A) -> B
`,
			wantErr{2, 1, "A =", "already declared"}, ""},
		{"compute with a syntax error",
			`A = placeholder((4,), float32)
B = compute((4,), (i) => A[i] * )
C = compute((4,), (i) => B[i])
kernel f(A) -> B
`,
			wantErr{2, 33, ")", "expected an operand"},
			`a syntax error drops the statement and its name: the uses of B report 'unknown name "B"; did you mean "A"?' (3:26 and 4:16)`},
		{"compute with an unclosed parenthesis",
			`A = placeholder((4,), float32)
B = compute((4,), (i) => (A[i] + 1.0)
kernel f(A) -> B
`,
			wantErr{2, 12, "((4,)", `"(" is never closed`},
			`an unclosed bracket drops the statement and its name: the kernel line reports 'unknown name "B"; did you mean "A"?' at 3:16`},
		{"compute with an unmatched parenthesis",
			`A = placeholder((4,), float32)
B = compute((4,), (i) => A[i] + 1.0))
kernel f(A) -> B
`,
			wantErr{2, 37, ")", `unmatched ")"`},
			`an unmatched bracket drops the statement and its name: the kernel line reports 'unknown name "B"; did you mean "A"?' at 3:16`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("cascade.te", []byte(tc.src))
			checkErrors(t, "cascade.te", tc.src, err, []wantErr{tc.want})
		})
	}
}

// Parse never panics on truncated input: every prefix of a valid program
// either elaborates or returns an ErrorList.
func TestPrefixesDoNotPanic(t *testing.T) {
	src, err := os.ReadFile("../examples/conv2d_nchw.te")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i <= len(src); i++ {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("Parse panicked on the first %d bytes: %v\n%s", i, r, src[:i])
				}
			}()
			_, err := Parse("prefix.te", src[:i])
			if err != nil {
				var list ErrorList
				if !errors.As(err, &list) || len(list) == 0 {
					t.Fatalf("prefix %d: error %T is not a non-empty ErrorList", i, err)
				}
			}
		}()
	}
}

func TestParseDefines(t *testing.T) {
	src := "M = 4\nN = M * 2\nn = var(default=3)\nA = placeholder((M, n), float32)\nB = compute((N, n), (i, j) => A[i / 2, j])\nkernel f(A) -> B\n"
	p, err := ParseWith("d.te", []byte(src), Options{Defines: map[string]int64{"M": 10}})
	if err != nil {
		t.Fatal(err)
	}
	// N = M * 2 follows the new M
	sizes, _ := p.SizeValues(nil)
	for _, c := range []struct {
		t    *te.Tensor
		want []int
	}{{p.Kernel.Inputs[0], []int{10, 3}}, {p.Kernel.Outputs[0], []int{20, 3}}} {
		got, err := te.ShapeOf(c.t, sizes)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: shape %v (%v), want %v", c.t.Name, got, err, c.want)
		}
	}
	for _, c := range []struct {
		defines map[string]int64
		want    string
	}{
		{map[string]int64{"X": 1, "Y": 2}, "-D X, Y: d.te has no integer constant of that name (its integer constants are: M, N)"},
		{map[string]int64{"n": 5}, "-D n: n is a symbolic dimension of d.te, a kernel argument: give its value with --set n=VALUE"},
		{map[string]int64{"A": 5}, "-D A: d.te has no integer constant of that name"},
	} {
		_, err := ParseWith("d.te", []byte(src), Options{Defines: c.defines})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want %q", c.defines, err, c.want)
		}
	}
}

// AxisPos records the statement that made each loop (tide lower --html
// links loops to it): a tile's four, a fuse's one, and the loops of the
// stage a cache_write made.
func TestAxisPos(t *testing.T) {
	src := `A = placeholder((8, 16), float32)
C = compute((8, 16), (i, j) => A[i, j] * 2.0)
kernel k(A) -> C
schedule C {
    CL = cache_write(C, local)
    io, jo, ii, ji = tile(i, j, 4, 8)
    f = fuse(io, jo)
}
schedule CL {
    compute_at(C, f)
}
`
	p, err := Parse("pos.te", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for ax, pos := range p.AxisPos {
		got[ax.Stage().Name()+"."+ax.Name()] = pos.Line
	}
	want := map[string]int{"C.io": 6, "C.jo": 6, "C.ii": 6, "C.ji": 6, "C.f": 7, "CL.i": 5, "CL.j": 5}
	if !maps.Equal(got, want) {
		t.Errorf("AxisPos %v, want %v", got, want)
	}
}
