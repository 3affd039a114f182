package dsl

import (
	"testing"

	"github.com/tide-compiler/tide/te"
)

// sum/min/max(..., where=cond) is the reduction of if_then_else(cond,
// body, identity); a condition that is not a bool is an error at it.
func TestReductionWhere(t *testing.T) {
	src := "A = placeholder((4, 4), int16)\nk = reduce_axis(0, 4)\n" +
		"B = compute((4,), (i) => min(A[i, k], axis=k, where=k != i))\n" +
		"C = compute((4,), (i) => sum(1, axis=k, where=A[i, k] > 0))\n" +
		"kernel f(A) -> B, C\n"
	p, err := Parse("ok.te", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"B": "min(if_then_else(k != i, A[i, k], 32767), axis=k)",
		"C": "sum(if_then_else(A[i, k] > 0, 1, 0), axis=k)",
	} {
		if got := te.ExprString(p.Tensor(name).Body); got != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}
	const base = "A = placeholder((4, 4), float32)\nk = reduce_axis(0, 4)\nj = reduce_axis(0, 4)\n"
	tests := []struct {
		name string
		src  string
		want []wantErr
	}{
		{"where that is not a bool",
			base + "B = compute((4,), (i) => sum(A[i, k], axis=k, where=k - i))\nkernel f(A) -> B\n",
			[]wantErr{{4, 53, "k - i", "where= takes a bool condition, not k - i (an expression of type int64); compare, e.g. where=k <= i"}}},
		{"where over an axis that is not reduced",
			base + "B = compute((4,), (i) => sum(A[i, k], axis=k, where=j < k))\nkernel f(A) -> B\n",
			[]wantErr{{4, 53, "j < k", "reduce axis j is used but not reduced over"}}},
		{"where misspelled",
			base + "B = compute((4,), (i) => sum(A[i, k], axis=k, wher=k < i))\nkernel f(A) -> B\n",
			[]wantErr{{4, 47, "wher=", `sum has no argument "wher"; did you mean "where"?`}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("bad.te", []byte(tc.src))
			checkErrors(t, "bad.te", tc.src, err, tc.want)
		})
	}
}
