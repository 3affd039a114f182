package tests

import (
	"math"
	"testing"

	"github.com/tide-compiler/tide/dsl"
	"github.com/tide-compiler/tide/llvmgen"
	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/tensorio"
)

// Reductions with a condition (TVM's te.sum(..., where=cond)): a
// triangular sum, a max over the elements above a threshold (-inf in a row
// with none), an int32 min whose condition guards reads outside A (a
// window that slides off both ends), and a vectorized sum whose lanes
// differ in their condition.
const reduceWhere = `N = 9
A = placeholder((N, N), float32, range=(-4, 4))
B = placeholder((N, N), int32, range=(-100, 100))
k = reduce_axis(0, N)
r = reduce_axis(0, 5)
Tri = compute((N,), (i) => sum(A[i, k], axis=k, where=k <= i))
Big = compute((N,), (i) => max(A[i, k], axis=k, where=A[i, k] > 2.5))
Win = compute((N, N), (i, j) => min(B[i, j + r - 2], axis=r, where=j + r >= 2 && j + r - 2 < N))
Vec = compute((N,), (i) => sum(A[i, k] * 2.0, axis=k, where=(k + i) % 3 != 0))
kernel where(A, B) -> Tri, Big, Win, Vec
`

const reduceWhereSchedule = `schedule Vec {
    ko, ki = split(k, factor=4)
    vectorize(ki)
}
schedule Win {
    reorder(i, r, j)
    vectorize(j)
}
`

// reduceWhereOracle computes the four outputs in plain Go.
func reduceWhereOracle(a, b []float64, bi []int64) (tri, big []float64, win []int64, vec []float64) {
	const n = 9
	tri, big, vec = make([]float64, n), make([]float64, n), make([]float64, n)
	win = make([]int64, n*n)
	for i := range n {
		var t, v float32
		m := math.Inf(-1)
		for k := range n {
			x := float32(a[i*n+k])
			if k <= i {
				t += x
			}
			if float64(x) > 2.5 {
				m = math.Max(m, float64(x))
			}
			if (k+i)%3 != 0 {
				v += x * 2
			}
		}
		tri[i], big[i], vec[i] = float64(t), m, float64(v)
		for j := range n {
			lo := int64(math.MaxInt32)
			for r := range 5 {
				if c := j + r - 2; c >= 0 && c < n {
					lo = min(lo, bi[i*n+c])
				}
			}
			win[i*n+j] = lo
		}
	}
	return
}

func TestReduceWhere(t *testing.T) {
	for _, name := range []string{"default", "scheduled"} {
		src := reduceWhere
		if name == "scheduled" {
			src += reduceWhereSchedule
		}
		p, err := dsl.Parse("where.te", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		in, _, err := tensorio.Inputs(p.Kernel, nil, "", 11)
		if err != nil {
			t.Fatal(err)
		}
		// a row of A with no element above 2.5 gives max's identity
		for k := range 9 {
			in[0].Floats[2*9+k] = float64(k) / 4
		}
		want, err := te.EvalKernel(p.Kernel, in, nil)
		if err != nil {
			t.Fatal(err)
		}
		tri, big, win, vec := reduceWhereOracle(in[0].Floats, nil, in[1].Ints)
		if !math.IsInf(big[2], -1) {
			t.Fatalf("test case: row 2 of Big should be -inf, the oracle says %v", big[2])
		}
		for o, w := range [][]float64{tri, big, nil, vec} {
			if w == nil {
				continue
			}
			for i, x := range w {
				// the evaluator sums in order, as the oracle does
				if got := want[o].Floats[i]; got != x {
					t.Errorf("%s: %s[%d] = %v in the evaluator, %v in plain Go", name, p.Kernel.Outputs[o].Name, i, got, x)
				}
			}
		}
		for i, x := range win {
			if got := want[2].Ints[i]; got != x {
				t.Errorf("%s: Win[%d] = %d in the evaluator, %d in plain Go", name, i, got, x)
			}
		}
		f, _, err := lower.Lower(p.Kernel, p.Schedule, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := lower.Run(f, in, nil)
		if err != nil {
			t.Fatal(err)
		}
		for o := range want {
			if m := te.Compare(got[o], want[o], floatTol); m.First >= 0 {
				t.Errorf("%s: %s in the interpreter: %s", name, p.Kernel.Outputs[o].Name, m.Detail)
			}
		}
		for _, target := range []string{"x86-64", "cortex-a53"} {
			tgt, err := llvmgen.ParseTarget(target)
			if err != nil {
				t.Fatal(err)
			}
			t.Run(target+"/"+name, func(t *testing.T) {
				t.Parallel()
				checkGenerated(t, "where_"+name, src, tgt, llvmgen.Options{}, 11)
			})
		}
	}
}

// TestReduceWhereHoisting: lowering turns where= into guards at the loops
// the condition's parts depend on (lower.hoistWhere), which must keep what
// && evaluates and where (both found by an independent review):
//   - order: k % j runs only where the part before it holds (j > 0 in the
//     first case, Z[j] > 0, false at j = 2, in the second), even when it
//     depends on a loop further out or the part before stays in the body
//     (it reads Z); the interpreter reports a division by zero as
//     undefined behaviour, and x86 traps on it;
//   - scope: a part that uses a compute_at window's origin (a let inside
//     the consumer's loop) is no loop partition's split point, which
//     would use the origin outside its let.
//
// The interpreter and both targets' code run against the evaluator.
func TestReduceWhereHoisting(t *testing.T) {
	cases := map[string]string{
		"order_outer_loop": `A = placeholder((4, 3, 2), int32)
k1 = reduce_axis(0, 3)
k2 = reduce_axis(0, 2)
C = compute((4,), (j) => sum(A[j, k1, k2], axis=[k1, k2], where=k2 < j && k1 % j == 0))
kernel f(A) -> C
`,
		"order_after_a_read": `A = placeholder((6, 6), int32)
Z = compute((6,), (j) => abs(j - 2))
k = reduce_axis(0, 6)
C = compute((6,), (j) => sum(A[j, k], axis=k, where=Z[j] > 0 && k % (j - 2) == 1))
kernel f(A) -> C
`,
		"window_origin": `A = placeholder((20, 20), float32)
r = reduce_axis(0, 3)
P = compute((16, 16), (a, b) => sum(A[a + r, b], axis=r, where=a + b + r >= 9))
C = compute((14,), (i) => P[i, i] + P[i + 2, i])
kernel f(A) -> C
schedule C {
    io, ii = split(i, factor=4)
}
schedule P {
    reorder(a, r, b)
    unroll(b)
    compute_at(C, io)
}
`,
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			lowerAndCompare(t, src, nil)
			for _, target := range []string{"x86-64", "cortex-a53"} {
				tgt, err := llvmgen.ParseTarget(target)
				if err != nil {
					t.Fatal(err)
				}
				checkGenerated(t, "where_"+name, src, tgt, llvmgen.Options{}, 5)
			}
		})
	}
}
