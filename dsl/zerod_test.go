package dsl

import (
	"testing"

	"github.com/tide-compiler/tide/te"
)

// 0-d tensors (issue 13): a shape () or [] declares one element, a compute
// over it takes () => body, and it is read as A[] or, TVM's spelling,
// A[()]; a tuple inside brackets is the indices, as in Python.
func TestZeroDimensional(t *testing.T) {
	src := `A = placeholder((3, 4), float32)
alpha = placeholder((), float32)
beta = placeholder([], int32)
i = reduce_axis(0, 3)
j = reduce_axis(0, 4)
S = compute((), () => sum(A[i, j], axis=[i, j]))
T = compute([], () => S[] * alpha[()] + cast(float32, beta[]))
B = compute([3, 4], (r, c) => A[(r, c)] - T[])
kernel f(A, alpha, beta) -> T, B
`
	p := mustParse(t, "zerod.te", src)
	for name, want := range map[string]string{
		"alpha": "float32()", "beta": "int32()", "S": "float32()", "T": "float32()", "B": "float32(3, 4)",
	} {
		tn := p.Tensor(name)
		if got := tn.DType.String() + te.ShapeString(tn.Shape); got != want {
			t.Errorf("%s is %s, want %s", name, got, want)
		}
	}
	for name, want := range map[string]string{
		"S": "sum(A[i, j], axis=[i, j])",
		"T": "S[] * alpha[] + cast(float32, beta[])", // printed as it is written
		"B": "A[r, c] - T[]",
	} {
		if got := te.ExprString(p.Tensor(name).Body); got != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}
	if n := len(p.Tensor("T").Axis); n != 0 {
		t.Errorf("T has %d axes, want none", n)
	}

	// the evaluator against the formula: T = sum(A) * alpha + beta
	a := te.NewBuffer(te.Float32, []int{3, 4})
	for k := range a.Floats {
		a.Floats[k] = float64(k) - 5 // -5..6, sum 6
	}
	alpha, beta := te.NewBuffer(te.Float32, nil), te.NewBuffer(te.Int32, nil)
	alpha.Floats[0], beta.Ints[0] = 0.5, -7
	out, err := te.EvalKernel(p.Kernel, []*te.Buffer{a, alpha, beta}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := out[0].Floats, []float64{6*0.5 - 7}; len(out[0].Shape) != 0 || len(got) != 1 || got[0] != want[0] {
		t.Errorf("T = %v%v, want shape [] and %v", out[0].Shape, got, want)
	}
	for k, v := range out[1].Floats {
		if want := a.Floats[k] - (6*0.5 - 7); v != want {
			t.Fatalf("B[%d] = %v, want %v", k, v, want)
		}
	}

	const base = "A = placeholder((4,), float32)\nalpha = placeholder((), float32)\nk = reduce_axis(0, 4)\n"
	tests := []struct {
		name string
		src  string
		want []wantErr
	}{
		{"a parameter for a 0-d compute",
			base + "S = compute((), (i) => alpha[])\nkernel f(alpha) -> S\n",
			[]wantErr{{4, 17, "(i) =>", "compute S is 0-d (one element), so its lambda takes no parameters: () => expression"}}},
		{"no parameter for a 1-d compute",
			base + "S = compute((4,), () => alpha[])\nkernel f(alpha) -> S\n",
			[]wantErr{{4, 19, "() =>", "compute S has 1 dimensions but the lambda takes 0"}}},
		{"Python's lambda with no parameters",
			base + "S = compute((), lambda: alpha[])\nkernel f(alpha) -> S\n",
			[]wantErr{{4, 17, "lambda:", "Tide writes a lambda as () => body, not Python's lambda: body"}}},
		{"a 0-d tensor read at index 0",
			base + "S = compute((), () => alpha[0])\nkernel f(alpha) -> S\n",
			[]wantErr{{4, 28, "[0]", "alpha is 0-d (one element) and is read with no indices: alpha[]"}}},
		{"a 0-d tensor not indexed",
			base + "S = compute((), () => alpha + 1.0)\nkernel f(alpha) -> S\n",
			[]wantErr{{4, 23, "alpha +", "tensor alpha must be indexed: alpha is 0-d, so read it as alpha[]"}}},
		{"a 0-d tensor called, TVM's A()",
			base + "S = compute((), () => alpha())\nkernel f(alpha) -> S\n",
			[]wantErr{{4, 23, "alpha()", "alpha is a tensor, not a function; read its elements with brackets: alpha[] (it is 0-d)"}}},
		{"a tensor called, TVM's A(i)",
			base + "S = compute((4,), (i) => A(i))\nkernel f(A) -> S\n",
			[]wantErr{{4, 26, "A(i)", "A is a tensor, not a function; read its elements with brackets: A[...]"}}},
		{"a 1-d tensor read with no indices",
			base + "S = compute((), () => A[] + A[()])\nkernel f(A) -> S\n",
			[]wantErr{{4, 24, "[]", "A has 1 dimensions but is indexed with 0 indices"},
				{4, 30, "[()]", "A has 1 dimensions but is indexed with 0 indices"}}},
		{"two empty tuples as indices",
			base + "S = compute((), () => alpha[(), ()])\nkernel f(alpha) -> S\n",
			[]wantErr{{4, 29, "(), ()", "a tuple can only be a shape, a range or a tensor's indices"}}},
		{"an empty tuple as a value",
			base + "S = compute((), () => alpha[] + ())\nkernel f(alpha) -> S\n",
			[]wantErr{{4, 33, "())", "a tuple can only be a shape, a range or a tensor's indices"}}},
		{"a comma alone as a shape",
			base + "S = compute((,), () => alpha[])\nkernel f(alpha) -> S\n",
			[]wantErr{{4, 14, ",)", `syntax error: unexpected token "," (expected ")")`}}},
		{"a list inside a list as a shape",
			base + "S = compute([[]], () => alpha[])\nkernel f(alpha) -> S\n",
			[]wantErr{{4, 14, "[]]", "a list [...] can only be a shape or the axis= of a reduction"}}},
		{"a reduction over no axes",
			base + "S = compute((), () => sum(A[k], axis=[]))\nkernel f(A) -> S\n",
			[]wantErr{{4, 23, "sum(", "sum needs at least one reduce axis"}}},
		{"an empty shape for an operator's stride",
			"X = placeholder((1, 4, 4, 8), float32)\nW = placeholder((3, 3, 8, 8), float32)\nY = conv2d(X, W, layout=NHWC, stride=(), padding=1)\nkernel f(X, W) -> Y\n",
			[]wantErr{{3, 38, "()", "stride is one integer or (H, W)"}}},
		{"softmax of a 0-d tensor",
			base + "Y = softmax(alpha)\nkernel f(alpha) -> Y\n",
			[]wantErr{{4, 5, "softmax(", "alpha is 0-d; softmax normalizes over the last axis, so it needs one"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("bad.te", []byte(tc.src))
			checkErrors(t, "bad.te", tc.src, err, tc.want)
		})
	}
}

// A 0-d stage without a reduction has no loops: a primitive that names
// one says so, and so does compute_at into it; a 0-d reduction has its
// reduce loops, and a 0-d stage can be computed at a consumer's loop.
func TestZeroDimensionalSchedules(t *testing.T) {
	const base = `A = placeholder((4, 9), float32)
alpha = placeholder((), float32)
k = reduce_axis(0, 9)
Al = compute((), () => alpha[] * 2.0)
Bt = compute((), () => alpha[] + 1.0)
S = compute((), () => sum(A[0, k] * Bt[], axis=k))
B = compute((4, 9), (i, j) => A[i, j] * Al[] + S[])
kernel f(A, alpha) -> B
`
	p := mustParse(t, "ok.te", base+`schedule Al {
    compute_at(B, j)
}
schedule S {
    ko, ki = split(k, factor=4)
    vectorize(ki)
    compute_at(B, i)
}
schedule Bt {
    compute_at(S, ko)
}
`)
	for name, at := range map[string]string{"Al": "j", "S": "i", "Bt": "ko"} {
		if st := p.Schedule.Stage(p.Tensor(name)); st.AttachAxis == nil || st.AttachAxis.Name() != at {
			t.Errorf("%s is not computed at %s", name, at)
		}
	}
	tests := []struct {
		name string
		src  string
		want []wantErr
	}{
		{"split of a 0-d stage",
			base + "schedule Al {\n    xo, xi = split(x, factor=2)\n}\n",
			[]wantErr{{10, 20, "x,", "split: Al is 0-d (one element, no reduction) and has no loops; only where it is computed can be scheduled (compute_at, compute_inline, compute_root)"}}},
		{"parallel of a 0-d stage, naming another stage's axis",
			base + "schedule Al {\n    parallel(i)\n}\n",
			[]wantErr{{10, 14, "i)", "parallel: Al is 0-d (one element, no reduction) and has no loops"}}},
		{"compute_at into a 0-d stage without loops",
			"alpha = placeholder((), float32)\nAl = compute((), () => alpha[] * 2.0)\nT = compute((), () => Al[] + 1.0)\nkernel f(alpha) -> T\nschedule Al {\n    compute_at(T, x)\n}\n",
			[]wantErr{{6, 19, "x)", "compute_at: T is 0-d (one element, no reduction) and has no loops to compute Al in; leave Al at the root (the default: computed once, before T) or inline it (compute_inline)"}}},
		{"a 0-d reduction's loops are its reduce axes",
			base + "schedule S {\n    parallel(i)\n}\n",
			[]wantErr{{10, 14, "i)", "parallel: i is an axis of B, not of S; the loops of S are k"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("bad.te", []byte(tc.src))
			checkErrors(t, "bad.te", tc.src, err, tc.want)
		})
	}
}
