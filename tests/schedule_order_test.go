package tests

import (
	"strings"
	"testing"
)

// Schedule blocks may come in any order, as TVM's schedule calls on
// different stages may: a producer's compute_at may name a loop that a
// later block makes, or a stage whose own attachment (compute_at,
// compute_inline) a later block decides. Every order of the blocks must
// give the same loop IR, and that IR must compute what the evaluator does.
func TestScheduleBlockOrder(t *testing.T) {
	cases := []struct {
		name, program string
		blocks        []string
	}{
		{"producer at a loop that the consumer's block splits", `A = placeholder((20,), float32)
P = compute((20,), (i) => A[i] * 2.0)
C = compute((20,), (i) => P[i] + 1.0)
kernel f(A) -> C
`, []string{`schedule P {
    compute_at(C, io)
}`, `schedule C {
    io, ii = split(i, factor=6)
    vectorize(ii)
}`}},
		{"two producers at one loop, the second read through the first", `A = placeholder((20,), float32)
P = compute((20,), (i) => A[i] * 2.0)
Q = compute((18,), (i) => P[i] + P[i + 2])
R = compute((16,), (i) => Q[i] - Q[i + 2])
kernel f(A) -> R
`, []string{`schedule P {
    compute_at(R, io)
}`, `schedule Q {
    compute_at(R, io)
}`, `schedule R {
    io, ii = split(i, factor=5)
}`}},
		{"a chain of attachments", `A = placeholder((20,), float32)
P = compute((20,), (i) => A[i] * 2.0)
Q = compute((18,), (i) => P[i] + P[i + 2])
R = compute((16,), (i) => Q[i] - Q[i + 2])
kernel f(A) -> R
`, []string{`schedule P {
    compute_at(Q, i)
}`, `schedule Q {
    compute_at(R, io)
}`, `schedule R {
    io, ii = split(i, factor=5)
}`}},
		{"a producer at a loop of the stage its inlined reader feeds", `A = placeholder((4, 9), int32)
P = compute((4, 9), (i, j) => A[i, j] * 3)
Q = compute((4, 9), (i, j) => P[i, j] + 1)
R = compute((4, 9), (i, j) => Q[i, j] - A[i, 8 - j])
kernel f(A) -> R
`, []string{`schedule P {
    compute_at(R, i)
}`, `schedule Q {
    compute_inline()
}`, `schedule R {
    jo, ji = split(j, factor=4)
}`}},
		{"a cache stage at a tile of the stage that makes it", `A = placeholder((8, 6), float32)
B = placeholder((6, 8), float32)
k = reduce_axis(0, 6)
C = compute((8, 8), (i, j) => sum(A[i, k] * B[k, j], axis=k))
kernel mm(A, B) -> C
`, []string{`schedule CL {
    compute_at(C, jo)
    reorder(i, k, j)
    vectorize(j)
}`, `schedule C {
    CL = cache_write(C, local)
    io, jo, ii, ji = tile(i, j, 4, 4)
}`}},
		{"rfactor's partial stage at the reduction's loop", `A = placeholder((3, 29), int8)
k = reduce_axis(0, 29)
M = compute((3,), (i) => max(A[i, k], axis=k))
kernel f(A) -> M
`, []string{`schedule MF {
    reorder(i, ko, ki)
    vectorize(ki)
    compute_at(M, i)
}`, `schedule M {
    ko, ki = split(k, factor=4)
    MF = rfactor(M, ki)
}`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var first string
			var firstOrder []int
			for _, order := range permutations(len(c.blocks)) {
				var blocks []string
				for _, i := range order {
					blocks = append(blocks, c.blocks[i])
				}
				src := c.program + strings.Join(blocks, "\n") + "\n"
				f, _ := lowerAndCompare(t, src, nil)
				switch ir := f.String(); {
				case first == "":
					first, firstOrder = ir, order
				case ir != first:
					t.Fatalf("blocks in the order %v lower to\n%s\nnot to the IR of the order %v:\n%s", order, ir, firstOrder, first)
				}
			}
		})
	}
}

// permutations are the orders of n things.
func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{nil}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int{}, p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}
