package dsl

import (
	"testing"

	"github.com/tide-compiler/tide/te"
)

// The float functions TVM users reach for (issue 13 item 11) parse to te's
// operations; on integers they are positioned errors, and an unknown
// function in a body lists the functions.
func TestMathFunctions(t *testing.T) {
	src := prelude + "B = compute((4,), (i) => log(A[i]) + tanh(A[i]) + sigmoid(A[i]) + erf(A[i]) + pow(A[i], 2) + exp2(A[i]) + log2(A[i]))\nkernel f(A) -> B\n"
	p, err := Parse("ok.te", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := "log(A[i]) + tanh(A[i]) + sigmoid(A[i]) + erf(A[i]) + pow(A[i], 2.0) + exp2(A[i]) + log2(A[i])"
	if got := te.ExprString(p.Tensor("B").Body); got != want {
		t.Errorf("body %s, want %s", got, want)
	}
	const ints = "I = placeholder((4,), int32)\n"
	tests := []struct {
		name string
		src  string
		want []wantErr
	}{
		{"tanh of an integer",
			ints + "B = compute((4,), (i) => tanh(I[i]))\nkernel f(I) -> B\n",
			[]wantErr{{2, 26, "tanh(", "tanh is not defined on int32; it takes a float (use cast(float32, x) for integers)"}}},
		{"pow of integers",
			ints + "B = compute((4,), (i) => pow(I[i], 2))\nkernel f(I) -> B\n",
			[]wantErr{{2, 26, "pow(", "operator 'pow' is not defined on int32; it takes floats (use cast(float32, x) for integers)"}}},
		{"pow with one argument",
			prelude + "B = compute((4,), (i) => pow(A[i]))\nkernel f(A) -> B\n",
			[]wantErr{{2, 26, "pow(", "pow takes 2 positional arguments, got 1; it is called as pow(a, b)"}}},
		{"unknown function lists the functions",
			prelude + "B = compute((4,), (i) => tahn(A[i]))\nkernel f(A) -> B\n",
			[]wantErr{{2, 26, "tahn(", `unknown function "tahn"; did you mean "tanh"? (the functions are abs, cast, erf, exp, exp2, floor, floordiv, floormod, if_then_else, log, log2, max, min, popcount, pow, round, select, sigmoid, sqrt, sum, tanh)`}}},
		{"a float function is a built-in name",
			"sigmoid = 3\n" + prelude + "B = compute((4,), (i) => A[i])\nkernel f(A) -> B\n",
			[]wantErr{{1, 1, "sigmoid", "sigmoid is a built-in name and cannot be redefined"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("bad.te", []byte(tc.src))
			checkErrors(t, "bad.te", tc.src, err, tc.want)
		})
	}
}
