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
		"B": "if_then_else(k != i, A[i, k], 32767)",
		"C": "if_then_else(A[i, k] > 0, 1, 0)",
	} {
		// the tree is the if_then_else; the reduction prints as written
		if got := te.ExprString(p.Tensor(name).Body.(*te.Reduce).Body); got != want {
			t.Errorf("%s reduces %s, want %s", name, got, want)
		}
	}
	for name, want := range map[string]string{
		"B": "min(A[i, k], axis=k, where=k != i)",
		"C": "sum(1, axis=k, where=A[i, k] > 0)",
	} {
		if got := te.ExprString(p.Tensor(name).Body); got != want {
			t.Errorf("%s prints as %s, want %s", name, got, want)
		}
	}
	// the printed form parses back to the same tree, and so does the
	// if_then_else to the identity written out; to another value, or in
	// select (which evaluates both sides), it is no condition
	back := "A = placeholder((4, 4), int16)\nk = reduce_axis(0, 4)\n" +
		"B = compute((4,), (i) => min(A[i, k], axis=k, where=k != i))\n" +
		"D = compute((4,), (i) => min(if_then_else(k != i, A[i, k], 32767), axis=k))\n" +
		"E = compute((4,), (i) => min(if_then_else(k != i, A[i, k], 32766), axis=k))\n" +
		"F = compute((4,), (i) => min(select(k != i, A[i, k], 32767), axis=k))\n" +
		"kernel f(A) -> B, D, E, F\n"
	q, err := Parse("back.te", []byte(back))
	if err != nil {
		t.Fatal(err)
	}
	bq, dq := q.Tensor("B").Body.(*te.Reduce), q.Tensor("D").Body.(*te.Reduce)
	if got, want := te.ExprString(bq.Body), te.ExprString(p.Tensor("B").Body.(*te.Reduce).Body); got != want {
		t.Errorf("B parsed back reduces %s, want %s", got, want)
	}
	if got, want := te.ExprString(dq), "min(A[i, k], axis=k, where=k != i)"; got != want {
		t.Errorf("D prints as %s, want %s", got, want)
	}
	for name, want := range map[string]string{
		"E": "min(if_then_else(k != i, A[i, k], 32766), axis=k)",
		"F": "min(select(k != i, A[i, k], 32767), axis=k)",
	} {
		if got := te.ExprString(q.Tensor(name).Body); got != want {
			t.Errorf("%s prints as %s, want %s", name, got, want)
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
