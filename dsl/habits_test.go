package dsl

import (
	"testing"

	"github.com/tide-compiler/tide/te"
)

// TVM habits (issue 13 item 9): Python spellings that Tide does not parse
// are reported at their place with Tide's spelling instead of a lexer or
// parser complaint; the ones with a meaning in Tide are accepted.
func TestTVMHabitErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []wantErr
	}{
		{"quoted dtype",
			"A = placeholder((4,), \"float32\")\nB = compute((4,), (i) => A[i])\nkernel f(A) -> B\n",
			[]wantErr{{1, 23, `"float32"`, "dtypes are names, not strings: write float32 without quotes"}}},
		{"single-quoted dtype in a cast",
			prelude + "B = compute((4,), (i) => cast('int32', A[i]))\nkernel f(A) -> B\n",
			[]wantErr{{2, 31, "'int32'", "write int32 without quotes"}}},
		{"quoted word",
			"X = placeholder((1, 4, 4, 8), float32)\nW = placeholder((3, 3, 8, 8), float32)\nY = conv2d(X, W, layout=\"NHWC\")\nkernel f(X, W) -> Y\n",
			[]wantErr{{3, 25, `"NHWC"`, `Tide has no strings: write "NHWC" as a name, without quotes`}}},
		{"python lambda",
			prelude + "B = compute((4,), lambda i: A[i] * 2.0)\nkernel f(A) -> B\n",
			[]wantErr{{2, 19, "lambda i:", "Tide writes a lambda as (i) => body, not Python's lambda i: body"}}},
		{"python lambda with two parameters, on a continuation line",
			"A = placeholder((4, 4), float32)\nB = compute((4, 4),\n    lambda i,j : A[i, j])\nkernel f(A) -> B\n",
			[]wantErr{{3, 5, "lambda i,j", "as (i, j) => body"}}},
		{"module prefix",
			prelude + "k = te.reduce_axis((0, 4))\nB = compute((4,), (i) => tvm.tir.exp(A[i]))\nkernel f(A) -> B\n",
			[]wantErr{
				{2, 5, "te.reduce_axis", "Tide's names have no module prefix: write reduce_axis, not te.reduce_axis"},
				{3, 26, "tvm.tir.exp", "write exp, not tvm.tir.exp"}}},
		{"python power",
			prelude + "B = compute((4,), (i) => A[i] ** 2.0)\nkernel f(A) -> B\n",
			[]wantErr{{2, 31, "** 2.0", "Tide writes Python's a ** b as pow(a, b) (on floats)"}}},
		{"floor division of floats",
			prelude + "B = compute((4,), (i) => A[i] // 2.0)\nkernel f(A) -> B\n",
			[]wantErr{{2, 31, "// 2.0", "operator 'floordiv' is not defined on float32; it takes integers; for floats write floor(a / b)"}}},
		{"an output that is not a name",
			prelude + "B = compute((4,), (i) => A[i])\nkernel f(A) -> 3\n",
			[]wantErr{{3, 16, "3", "expected the output names: -> C, or -> C, D, or -> (C, D)"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("bad.te", []byte(tc.src))
			checkErrors(t, "bad.te", tc.src, err, tc.want)
		})
	}
}

// lambda is an ordinary name where Python's lambda cannot be, and quotes
// in comments are comments.
func TestTVMHabitWordsStayNames(t *testing.T) {
	src := "lambda = 3 # don't \"quote\"\nA = placeholder((lambda,), float32)\nB = compute((lambda,), (i) => A[i])\nkernel f(A) -> B\n"
	if _, err := Parse("ok.te", []byte(src)); err != nil {
		t.Fatal(err)
	}
}

// N // 2 is floordiv(N, 2), at the precedence of Python's //, and kernel
// outputs may be listed without parentheses.
func TestTVMHabitsAccepted(t *testing.T) {
	src := `N = 7
M = -N // 2 + 1
A = placeholder((N,), int32)
B = compute((M + 4,), (i) => A[i] // 2 + A[i] // -3 * 2)
C = compute((N,), (i) => A[(i + 1) // 2])
kernel f(A) -> B, C
`
	p, err := Parse("ok.te", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	// Python: -7 // 2 + 1 == -3, so B has 1 element
	if got := te.ShapeString(p.Tensor("B").Shape); got != "(1,)" {
		t.Errorf("B's shape is %s, want (1,) (-7 // 2 + 1 == -3, plus 4)", got)
	}
	if got, want := te.ExprString(p.Tensor("B").Body), "floordiv(A[i], 2) + floordiv(A[i], -3) * 2"; got != want {
		t.Errorf("B's body is %s, want %s", got, want)
	}
	if got := len(p.Kernel.Outputs); got != 2 {
		t.Errorf("the kernel has %d outputs, want 2 (B, C)", got)
	}
	a := te.NewBuffer(te.Int32, []int{7})
	for i := range a.Ints {
		a.Ints[i] = int64(i*5 - 17)
	}
	out, err := te.EvalKernel(p.Kernel, []*te.Buffer{a}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Python's // rounds toward minus infinity
	pyFloorDiv := func(x, y int64) int64 {
		q := x / y
		if x%y != 0 && (x < 0) != (y < 0) {
			q--
		}
		return q
	}
	x := a.Ints[0]
	if got, want := out[0].Ints[0], pyFloorDiv(x, 2)+pyFloorDiv(x, -3)*2; got != want {
		t.Errorf("B[0] = %d, want %d", got, want)
	}
	for i := range 7 {
		if got, want := out[1].Ints[i], a.Ints[pyFloorDiv(int64(i)+1, 2)]; got != want {
			t.Errorf("C[%d] = %d, want %d", i, got, want)
		}
	}
}
