package tests

// Adversarial tests of the accumulate pass (lower/accumulate.go): programs
// whose schedules produce loops that accumulate casts, B[i] = B[i] + T, in
// the shapes the pass rewrites (widenings, truncations, shifts, signs,
// vectors, unrolled copies, chunks) and in the shapes it must leave alone.
// Every program is lowered and interpreted and compared with the reference
// evaluator; the most interesting ones also run as generated code on both
// targets. The last tests build loop IR by hand, for shapes the language
// does not reach, and compare the interpreter before and after the pass.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tide-compiler/tide/llvmgen"
	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/te"
)

// whether the pass must rewrite a program
const (
	accAny  = 0  // either is correct (a missed optimization is reported in the log)
	accFire = 1  // the pass must rewrite some loop (a .part buffer appears)
	accKeep = -1 // the pass must leave every loop alone
)

type accCase struct {
	name string
	fire int
	gen  bool // also run as generated code on x86-64 and cortex-a53
	src  string
}

// accFired reports whether the accumulate pass rewrote a loop of f: its
// partial sums live in buffers named NAME.partN.
func accFired(f *lower.Func) bool { return strings.Contains(f.String(), ".part") }

func accCheck(t *testing.T, c accCase) {
	t.Helper()
	f, _ := lowerAndCompare(t, c.src, nil)
	fired := accFired(f)
	t.Logf("%s: accumulate fired: %v", c.name, fired)
	switch {
	case c.fire == accFire && !fired:
		t.Errorf("the accumulate pass left the loops alone, want a .part buffer:\n%s", f)
	case c.fire == accKeep && fired:
		t.Errorf("the accumulate pass rewrote a loop it must leave alone:\n%s", f)
	}
	if c.gen {
		accRunGenerated(t, c.src)
	}
}

// accRunGenerated builds a program for x86-64 and cortex-a53 and compares
// the generated code's outputs with the evaluator's, exactly (the programs
// here are integer programs).
func accRunGenerated(t *testing.T, src string) {
	t.Helper()
	for _, target := range []string{"x86-64", "cortex-a53"} {
		t.Run(target, func(t *testing.T) {
			tgt, err := llvmgen.ParseTarget(target)
			if err != nil {
				t.Fatal(err)
			}
			checkGenerated(t, "acc", src, tgt, llvmgen.Options{}, 11)
		})
	}
}

var accCases = []accCase{
	// --- widenings that must stay wide ---
	{name: "signed_load_widening", fire: accKeep, src: `
A = placeholder((4, 40), int8, range=(-128, 127))
k = reduce_axis(0, 40)
C = compute((4,), (i) => sum(cast(int32, A[i, k]), axis=k))
kernel f(A) -> C
`},
	// all -128: an int8 partial sum would wrap at the second step
	{name: "signed_load_widening_min", fire: accKeep, src: `
A = placeholder((3, 5), int8, range=(-128, -128))
k = reduce_axis(0, 5)
C = compute((3,), (i) => sum(cast(int16, A[i, k]), axis=k))
kernel f(A) -> C
`},
	// popcount of an int8 is an int8 (at most 8): a signed widening, kept
	// wide though it could be narrowed (missed optimization)
	{name: "signed_popcount_widening", fire: accAny, src: `
A = placeholder((4, 16), int8, range=(-128, 127))
k = reduce_axis(0, 16)
C = compute((4,), (i) => sum(cast(int16, popcount(A[i, k])), axis=k))
kernel f(A) -> C
`},
	{name: "signed_inner_cast", fire: accKeep, src: `
A = placeholder((4, 16), uint8)
k = reduce_axis(0, 16)
C = compute((4,), (i) => sum(cast(int32, cast(int8, popcount(A[i, k]) + 120)), axis=k))
kernel f(A) -> C
`},
	// an unbounded unsigned operand: 255 per step fits no loop of 2
	{name: "unsigned_load_widening", fire: accKeep, src: `
A = placeholder((4, 8), uint8, range=(200, 255))
k = reduce_axis(0, 8)
C = compute((4,), (i) => sum(cast(uint16, A[i, k]), axis=k))
kernel f(A) -> C
`},
	// signed operands in vector accumulators: a broadcast of a signed
	// widening next to an unsigned one, and a vectorized reduction
	{name: "signed_vector_broadcast", fire: accKeep, gen: true, src: `
A = placeholder((2, 24), int8, range=(-128, 127))
B = placeholder((24, 16), uint8)
k = reduce_axis(0, 24)
C = compute((2, 16), (i, o) => sum(cast(int16, A[i, k]) + cast(int16, popcount(B[k, o])), axis=k))
kernel f(A, B) -> C
schedule C {
    CL = cache_write(C, local)
    vectorize(o)
}
schedule CL {
    compute_at(C, i)
    reorder(k, o)
    vectorize(o)
}
`},
	{name: "signed_vector_reduction", fire: accKeep, src: `
A = placeholder((3, 64), int8, range=(-128, -100))
k = reduce_axis(0, 64)
C = compute((3,), (i) => sum(cast(int16, A[i, k]), axis=k))
kernel f(A) -> C
schedule C {
    ko, ki = split(k, factor=16)
    vectorize(ki)
}
`},
	{name: "float_to_int", fire: accKeep, src: `
A = placeholder((4, 16), float32, range=(-100, 100))
k = reduce_axis(0, 16)
C = compute((4,), (i) => sum(cast(int32, A[i, k]), axis=k))
kernel f(A) -> C
`},
	{name: "int_to_float", fire: accKeep, src: `
A = placeholder((4, 16), uint8)
k = reduce_axis(0, 16)
C = compute((4,), (i) => sum(cast(float32, popcount(A[i, k])), axis=k))
kernel f(A) -> C
`},
	{name: "int_to_float64_vector", fire: accKeep, src: `
A = placeholder((4, 16, 8), uint8)
k = reduce_axis(0, 16)
C = compute((4, 8), (i, o) => sum(cast(float64, popcount(A[i, k, o])), axis=k))
kernel f(A) -> C
schedule C {
    CL = cache_write(C, local)
    vectorize(o)
}
schedule CL {
    compute_at(C, i)
    reorder(k, o)
    vectorize(o)
}
`},
	// --- truncations: always exact, with wraparound ---
	{name: "truncate_popcount_u64_to_int8", fire: accFire, src: `
A = placeholder((3, 40), uint64)
k = reduce_axis(0, 40)
C = compute((3,), (i) => sum(cast(int8, popcount(A[i, k])), axis=k))
kernel f(A) -> C
`},
	{name: "truncate_int32_to_uint8", fire: accFire, gen: true, src: `
A = placeholder((4, 37), int32, range=(-2147483648, 2147483647))
k = reduce_axis(0, 37)
C = compute((4,), (i) => sum(cast(uint8, A[i, k]), axis=k))
kernel f(A) -> C
`},
	// int32 partial sums that overflow int32 many times over
	{name: "truncate_int32_extremes", fire: accFire, src: `
A = placeholder((3, 64), int32, range=(2147483000, 2147483647))
B = placeholder((3, 64), int32, range=(-2147483648, -2147483000))
k = reduce_axis(0, 64)
C = compute((3,), (i) => sum(cast(int8, A[i, k]) - cast(int8, B[i, k]), axis=k))
kernel f(A, B) -> C
`},
	{name: "truncate_int64_to_int16_shifted", fire: accFire, src: `
A = placeholder((3, 29), int64)
k = reduce_axis(0, 29)
C = compute((3,), (i) => sum(cast(int16, A[i, k]) << 3, axis=k))
kernel f(A) -> C
`},
	// same width, other signedness: a reinterpretation, free at every
	// step, so a partial sum would save nothing and the pass leaves it
	{name: "reinterpret_uint8_as_int8", fire: accKeep, src: `
A = placeholder((3, 50), uint8)
k = reduce_axis(0, 50)
C = compute((3,), (i) => sum(cast(int8, A[i, k]), axis=k))
kernel f(A) -> C
`},
	{name: "reinterpret_int16_as_uint16", fire: accKeep, src: `
A = placeholder((3, 50), int16)
k = reduce_axis(0, 50)
C = compute((3,), (i) => sum(cast(uint16, A[i, k]), axis=k))
kernel f(A) -> C
`},
	{name: "truncate_vector_u64_to_int8", fire: accFire, gen: true, src: `
A = placeholder((3, 24, 8), uint64)
k = reduce_axis(0, 24)
C = compute((3, 8), (i, o) => sum(cast(int8, popcount(A[i, k, o])) - cast(int8, A[i, k, o]), axis=k))
kernel f(A) -> C
schedule C {
    CL = cache_write(C, local)
    vectorize(o)
}
schedule CL {
    compute_at(C, i)
    reorder(k, o)
    vectorize(o)
}
`},
	// --- popcounts of wider words (into sums of their own width: left alone) ---
	{name: "popcount_u16_to_int16", fire: accKeep, src: `
A = placeholder((3, 30), uint16)
k = reduce_axis(0, 30)
C = compute((3,), (i) => sum(cast(int16, popcount(A[i, k])), axis=k))
kernel f(A) -> C
`},
	{name: "popcount_u16_to_int32", fire: accFire, src: `
A = placeholder((3, 30), uint16, range=(65535, 65535))
k = reduce_axis(0, 30)
C = compute((3,), (i) => sum(cast(int32, popcount(A[i, k])), axis=k))
kernel f(A) -> C
`},
	{name: "popcount_u32_to_int16", fire: accFire, src: `
A = placeholder((3, 30), uint32)
k = reduce_axis(0, 30)
C = compute((3,), (i) => sum(cast(int16, popcount(A[i, k])), axis=k))
kernel f(A) -> C
`},
	{name: "popcount_u32_to_int32", fire: accKeep, src: `
A = placeholder((3, 30), uint32)
k = reduce_axis(0, 30)
C = compute((3,), (i) => sum(cast(int32, popcount(A[i, k])), axis=k))
kernel f(A) -> C
`},
	{name: "popcount_u32_to_int64", fire: accFire, src: `
A = placeholder((3, 30), uint32, range=(4294967295, 4294967295))
k = reduce_axis(0, 30)
C = compute((3,), (i) => sum(cast(int64, popcount(A[i, k])), axis=k))
kernel f(A) -> C
`},
	{name: "popcount_u64_to_int32", fire: accFire, src: `
A = placeholder((3, 30), uint64)
k = reduce_axis(0, 30)
C = compute((3,), (i) => sum(cast(int32, popcount(A[i, k])), axis=k))
kernel f(A) -> C
`},
	{name: "popcount_u16_vector_to_int32", fire: accFire, gen: true, src: `
A = placeholder((2, 40, 8), uint16, range=(65535, 65535))
B = placeholder((40, 8), uint16)
k = reduce_axis(0, 40)
C = compute((2, 8), (i, o) => sum(cast(int32, popcount(A[i, k, o] ^ B[k, o])) + cast(int32, popcount(A[i, k, o])), axis=k))
kernel f(A, B) -> C
schedule C {
    CL = cache_write(C, local)
    vectorize(o)
}
schedule CL {
    compute_at(C, i)
    reorder(k, o)
    vectorize(o)
}
`},
	// --- several casts: signs, shifts, stores ---
	// 16 steps of 16 reach 256: two chunks of 8
	{name: "same_cast_twice", fire: accFire, src: `
A = placeholder((3, 16), uint8, range=(255, 255))
k = reduce_axis(0, 16)
C = compute((3,), (i) => sum(cast(int16, popcount(A[i, k])) + cast(int16, popcount(A[i, k])), axis=k))
kernel f(A) -> C
`},
	// the two added casts share a partial sum (16 per step: 30 steps in
	// chunks of 15), the subtracted one has its own
	{name: "subtract_casts", fire: accFire, src: `
A = placeholder((3, 30), uint8)
B = placeholder((3, 30), uint8, range=(255, 255))
k = reduce_axis(0, 30)
C = compute((3,), (i) => sum(cast(int16, popcount(A[i, k])) - (cast(int16, popcount(B[i, k])) - cast(int16, popcount(A[i, k] & B[i, k]))), axis=k))
kernel f(A, B) -> C
`},
	// a shift by a loop-invariant expression, a size variable, and a load
	{name: "shift_invariant_exprs", fire: accFire, gen: true, src: `
s = var(default=2)
A = placeholder((4, 48), uint8)
S = placeholder((4,), uint8, range=(0, 3))
k = reduce_axis(0, 48)
C = compute((4,), (i) => sum(((cast(int16, popcount(A[i, k])) << s) << (i % 3)) - (cast(int16, popcount(A[i, k] & 15)) << S[i]), axis=k))
kernel f(A, S) -> C
`},
	{name: "shift_by_invariant_popcount", fire: accFire, src: `
A = placeholder((4, 20), uint8)
B = placeholder((4,), uint8, range=(0, 127))
k = reduce_axis(0, 20)
C = compute((4,), (i) => sum(cast(int16, popcount(A[i, k])) << cast(int16, popcount(B[i])), axis=k))
kernel f(A, B) -> C
`},
	// shifts by the loop variable: each step has its own weight
	{name: "shift_by_loop_var", fire: accKeep, src: `
A = placeholder((4, 16), uint8)
k = reduce_axis(0, 16)
C = compute((4,), (i) => sum(cast(int32, popcount(A[i, k])) << (k % 5), axis=k))
kernel f(A) -> C
`},
	{name: "shift_by_loop_var_nested", fire: accKeep, src: `
A = placeholder((4, 16), uint8)
k = reduce_axis(0, 16)
C = compute((4,), (i) => sum((cast(int32, popcount(A[i, k])) << 1) << (k / 4), axis=k))
kernel f(A) -> C
`},
	// bit-serial: nested shifts by a constant and by the outer reduction
	// loop (invariant in the inner one), a subtraction
	{name: "bitserial_nested_shifts", fire: accFire, gen: true, src: `
X = placeholder((4, 2, 40), uint8)
W = placeholder((32, 40), uint8)
ab = reduce_axis(0, 2)
k = reduce_axis(0, 40)
Y = compute((4, 32), (b, o) => sum(((cast(int16, popcount(X[b, ab, k] & W[o, k])) << 1) - cast(int16, popcount(X[b, ab, k]))) << ab, axis=[ab, k]))
kernel f(X, W) -> Y
schedule Y {
    YL = cache_write(Y, local)
    vectorize(o)
}
schedule YL {
    compute_at(Y, b)
    reorder(ab, k, o)
    vectorize(o)
}
`},
	// the bit-plane loop unrolled inside the word loop: six stores to the
	// same vector, each with its own shifts (0 folded away) and sign, and
	// a shift by a loaded amount
	{name: "bitserial_unrolled_planes", fire: accFire, gen: true, src: `
X = placeholder((4, 3, 34), uint8, range=(255, 255))
W = placeholder((16, 34), uint8)
S = placeholder((4,), uint8, range=(0, 3))
ab = reduce_axis(0, 3)
k = reduce_axis(0, 34)
Y = compute((4, 16), (b, o) => sum(((cast(int16, popcount(X[b, ab, k] & W[o, k])) << 1) - cast(int16, popcount(X[b, ab, k]))) << ab << S[b], axis=[ab, k]))
kernel f(X, W, S) -> Y
schedule Y {
    YL = cache_write(Y, local)
    vectorize(o)
}
schedule YL {
    compute_at(Y, b)
    reorder(k, ab, o)
    unroll(ab)
    vectorize(o)
}
`},
	// a data axis unrolled inside the reduction: stores to four indices,
	// shifted by the unrolled variable
	{name: "unrolled_data_axis", fire: accFire, src: `
A = placeholder((4, 12), uint8)
k = reduce_axis(0, 12)
C = compute((4, 4), (i, j) => sum(cast(int32, popcount(A[i, k] ^ cast(uint8, j))) << j, axis=k))
kernel f(A) -> C
schedule C {
    CL = cache_write(C, local)
}
schedule CL {
    compute_at(C, i)
    reorder(k, j)
    unroll(j)
}
`},
	// a data axis unrolled outside the reduction: three copies of the loop,
	// each chunked with its own partial buffer and shift
	{name: "unrolled_outer_data_axis", fire: accFire, src: `
A = placeholder((4, 40), uint8, range=(255, 255))
B = placeholder((3, 40), uint8)
k = reduce_axis(0, 40)
C = compute((4, 3), (i, j) => sum(cast(int16, popcount(A[i, k] & B[j, k])) << j, axis=k))
kernel f(A, B) -> C
schedule C {
    unroll(j)
}
`},
	// the reduction unrolled by 4: 4 copies per step, 16 steps of 32 reach
	// 512 with all-ones inputs, so chunks of 4 steps (128)
	{name: "unrolled_reduction_chunks", fire: accFire, src: `
A = placeholder((4, 64), uint8, range=(255, 255))
k = reduce_axis(0, 64)
C = compute((4,), (i) => sum(cast(uint16, popcount(A[i, k])), axis=k))
kernel f(A) -> C
schedule C {
    ko, ki = split(k, factor=4)
    unroll(ki)
}
`},
	// unrolled by 8 with a tail: the main loop has 8 copies, the tail 2
	{name: "unrolled_reduction_tail", fire: accFire, src: `
A = placeholder((3, 50), uint8, range=(255, 255))
k = reduce_axis(0, 50)
C = compute((3,), (i) => sum(cast(int16, popcount(A[i, k])), axis=k))
kernel f(A) -> C
schedule C {
    ko, ki = split(k, factor=8)
    unroll(ki)
}
`},
	// vectors and unrolling: vector accumulators, the reduction split and
	// its inner part unrolled (3 copies of 16 lanes per step)
	{name: "vector_unrolled_reduction", fire: accFire, gen: true, src: `
A = placeholder((2, 48), uint8, range=(255, 255))
B = placeholder((48, 32), uint8)
k = reduce_axis(0, 48)
C = compute((2, 32), (i, o) => sum(cast(int16, popcount(A[i, k] ^ B[k, o])), axis=k))
kernel f(A, B) -> C
schedule C {
    CL = cache_write(C, local)
    oo, oi = split(o, factor=16)
    vectorize(oi)
}
schedule CL {
    compute_at(C, oo)
    ko, ki = split(k, factor=3)
    reorder(ko, ki, o)
    unroll(ki)
    vectorize(o)
}
`},
	// --- vectorized reductions (.acc and vector_reduce_sum) ---
	{name: "vector_reduction_widen", fire: accFire, gen: true, src: `
A = placeholder((3, 512), uint8, range=(255, 255))
k = reduce_axis(0, 512)
C = compute((3,), (i) => sum(cast(int16, popcount(A[i, k])), axis=k))
kernel f(A) -> C
schedule C {
    ko, ki = split(k, factor=16)
    vectorize(ki)
}
`},
	{name: "vector_reduction_tail", fire: accFire, src: `
A = placeholder((3, 70), uint8)
k = reduce_axis(0, 70)
C = compute((3,), (i) => sum(cast(int16, popcount(A[i, k])), axis=k))
kernel f(A) -> C
schedule C {
    ko, ki = split(k, factor=16)
    vectorize(ki)
}
`},
	{name: "vector_reduction_truncate", fire: accFire, gen: true, src: `
A = placeholder((3, 96), uint64)
B = placeholder((3, 96), uint64)
k = reduce_axis(0, 96)
C = compute((3,), (i) => sum(cast(int8, popcount(A[i, k])) - cast(int8, B[i, k]), axis=k))
kernel f(A, B) -> C
schedule C {
    ko, ki = split(k, factor=8)
    vectorize(ki)
}
`},
	// truncations from two types: exact in two partial buffers, but one
	// buffer holds one type (missed optimization)
	{name: "vector_reduction_mixed_truncate", fire: accAny, src: `
A = placeholder((3, 96), uint64)
B = placeholder((3, 96), int32, range=(-2147483648, 2147483647))
k = reduce_axis(0, 96)
C = compute((3,), (i) => sum(cast(int8, popcount(A[i, k])) + cast(int8, B[i, k]), axis=k))
kernel f(A, B) -> C
schedule C {
    ko, ki = split(k, factor=8)
    vectorize(ki)
}
`},
	{name: "vector_reduction_two_axes", fire: accFire, src: `
A = placeholder((2, 5, 64), uint8, range=(255, 255))
j = reduce_axis(0, 5)
k = reduce_axis(0, 64)
C = compute((2,), (i) => sum(cast(uint16, popcount(A[i, j, k])) << 2, axis=[j, k]))
kernel f(A) -> C
schedule C {
    ko, ki = split(k, factor=16)
    vectorize(ki)
}
`},
	// the accumulation inside a parallel loop: a partial buffer per thread
	{name: "parallel_outer", fire: accFire, gen: true, src: `
A = placeholder((8, 36), uint8, range=(255, 255))
B = placeholder((8, 36), uint8)
k = reduce_axis(0, 36)
C = compute((8,), (i) => sum(cast(int16, popcount(A[i, k])) - cast(int16, popcount(B[i, k])), axis=k))
kernel f(A, B) -> C
schedule C {
    parallel(i)
}
`},
	// rfactor: the partial reductions stored as a scatter (lanes 4 apart)
	{name: "rfactor_scatter", fire: accFire, gen: true, src: `
A = placeholder((4, 64), uint8, range=(255, 255))
k = reduce_axis(0, 64)
C = compute((4,), (i) => sum(cast(int16, popcount(A[i, k])), axis=k))
kernel f(A) -> C
schedule C {
    ko, ki = split(k, factor=16)
    CF = rfactor(C, ki)
}
schedule CF {
    reorder(i, ko, ki)
    vectorize(ki)
}
`},
	// a padded window inlined: the operand is a lazy if_then_else, which
	// vectorizing makes a select of predicated loads
	{name: "padded_window", fire: accFire, gen: true, src: `
N = 40
A = placeholder((3, N), uint8)
P = compute((3, N + 2), (i, x) => if_then_else(x >= 1 && x <= N, A[i, x - 1], cast(uint8, 0)))
k = reduce_axis(0, 3)
C = compute((3, N), (i, x) => sum(cast(int16, popcount(P[i, x + k])), axis=k))
kernel f(A) -> C
schedule P {
    compute_inline()
}
schedule C {
    CL = cache_write(C, local)
    xo, xi = split(x, factor=8)
    vectorize(xi)
}
schedule CL {
    compute_at(C, xo)
    reorder(k, x)
    vectorize(x)
}
`},
	// a max is not a sum
	{name: "max_reduction", fire: accKeep, src: `
A = placeholder((4, 16), uint8)
k = reduce_axis(0, 16)
C = compute((4,), (i) => max(cast(int16, popcount(A[i, k])), axis=k))
kernel f(A) -> C
`},
	// counting with casts of comparisons: a bool is not an integer to the
	// pass (missed optimization: each step adds at most 1)
	{name: "bool_cast", fire: accAny, src: `
A = placeholder((4, 16), uint8)
k = reduce_axis(0, 16)
C = compute((4,), (i) => sum(cast(int32, A[i, k] > 100), axis=k))
kernel f(A) -> C
`},
	// --- loops that are not only accumulations of casts ---
	// a producer computed in the reduction loop
	{name: "producer_in_loop", fire: accKeep, src: `
A = placeholder((4, 16), uint8)
k = reduce_axis(0, 16)
P = compute((4, 16), (i, j) => A[i, j] ^ 85)
C = compute((4,), (i) => sum(cast(int16, popcount(P[i, k])), axis=k))
kernel f(A) -> C
schedule P {
    compute_at(C, k)
}
`},
	// a term that is not a cast
	{name: "non_cast_term", fire: accAny, src: `
A = placeholder((4, 16), uint8)
B = placeholder((4, 16), int16)
k = reduce_axis(0, 16)
C = compute((4,), (i) => sum(cast(int16, popcount(A[i, k])) + B[i, k], axis=k))
kernel f(A, B) -> C
`},
	// a cast under a multiplication, a negation, a select
	{name: "cast_times_two", fire: accAny, src: `
A = placeholder((4, 16), uint8)
k = reduce_axis(0, 16)
C = compute((4,), (i) => sum(cast(int16, popcount(A[i, k])) * 2, axis=k))
kernel f(A) -> C
`},
	{name: "negated_cast", fire: accAny, src: `
A = placeholder((4, 16), uint8)
k = reduce_axis(0, 16)
C = compute((4,), (i) => sum(-cast(int16, popcount(A[i, k])), axis=k))
kernel f(A) -> C
`},
	{name: "select_of_casts", fire: accAny, src: `
A = placeholder((4, 16), uint8)
k = reduce_axis(0, 16)
C = compute((4,), (i) => sum(select(A[i, k] > 100, cast(int16, popcount(A[i, k])), cast(int16, 0)), axis=k))
kernel f(A) -> C
`},
	// a guard in the loop (tail=guard): left alone (missed optimization:
	// a guarded accumulation could be narrowed too)
	{name: "guarded_body", fire: accAny, src: `
A = placeholder((3, 70), uint8)
k = reduce_axis(0, 70)
C = compute((3,), (i) => sum(cast(int16, popcount(A[i, k])), axis=k))
kernel f(A) -> C
schedule C {
    ko, ki = split(k, factor=8, tail=guard)
}
`},
	// two narrow types in one loop: one partial buffer holds one type, so
	// the pass gives up (missed optimization: two buffers would do)
	{name: "mixed_narrow_types", fire: accAny, src: `
A = placeholder((4, 16), uint8)
B = placeholder((4, 16), uint16)
k = reduce_axis(0, 16)
C = compute((4,), (i) => sum(cast(int32, popcount(A[i, k])) + cast(int32, popcount(B[i, k])), axis=k))
kernel f(A, B) -> C
`},
	// the same with 64 steps: the uint8 sum needs chunks, which the pass
	// makes before it finds the two types, and then leaves unaccumulated
	{name: "mixed_narrow_types_chunked", fire: accAny, src: `
A = placeholder((4, 64), uint8, range=(255, 255))
B = placeholder((4, 64), uint16)
k = reduce_axis(0, 64)
C = compute((4,), (i) => sum(cast(int32, popcount(A[i, k])) + cast(int32, popcount(B[i, k])), axis=k))
kernel f(A, B) -> C
`},
	// a symbolic trip count: no bound on the sum
	{name: "symbolic_trips", fire: accKeep, src: `
n = var(default=40)
A = placeholder((4, n), uint8)
k = reduce_axis(0, n)
C = compute((4,), (i) => sum(cast(int16, popcount(A[i, k])), axis=k))
kernel f(A) -> C
`},
	// a symbolic trip count and a truncation: exact whatever the count,
	// though the pass needs a constant one (missed optimization)
	{name: "symbolic_trips_truncate", fire: accAny, src: `
n = var(default=40)
A = placeholder((4, n), int32)
k = reduce_axis(0, n)
C = compute((4,), (i) => sum(cast(int8, A[i, k]), axis=k))
kernel f(A) -> C
`},
}

func TestAccumulateAdversarial(t *testing.T) {
	for _, c := range accCases {
		t.Run(c.name, func(t *testing.T) { accCheck(t, c) })
	}
}

// accExpectFire is the pass's contract for a widening of an operand of at
// most hi per step into a partial sum of at most max over trips steps: kept
// narrow when it fits, else in chunks of the largest divisor of trips that
// fits (at least 2), else left alone.
func accExpectFire(trips, hi, max int64) bool {
	limit := max / hi
	if trips <= limit {
		return true
	}
	for c := limit; c >= 2; c-- {
		if trips%c == 0 {
			return true
		}
	}
	return false
}

// TestAccumulateAdversarialBounds sweeps trip counts around the bound of
// the narrow type (trips * max exactly 255 or 65535, one more, primes,
// 2) with all-ones inputs, where every step adds its maximum, and checks
// both the result and the decision (narrow, chunked or left alone).
func TestAccumulateAdversarialBounds(t *testing.T) {
	type term struct {
		expr string // the summed expression of A[i, k] and B[i, k]
		hi   int64
	}
	u8 := []term{
		{"popcount(A[i, k])", 8},
		{"popcount(A[i, k]) + 7", 15},                              // 17 * 15 = 255
		{"popcount(A[i, k]) + popcount(B[i, k])", 16},              // 16 * 16 = 256
		{"popcount(A[i, k]) + 77", 85},                             // 3 * 85 = 255
		{"popcount(A[i, k]) + 119", 127},                           // 2 * 127 = 254
		{"popcount(A[i, k]) + 120", 128},                           // 2 * 128 = 256
		{"(popcount(A[i, k]) + 20) + (popcount(B[i, k]) + 3)", 39}, // nested sums
	}
	trips := []int64{2, 3, 5, 15, 16, 17, 18, 31, 32, 33, 34, 37, 51, 64, 85, 97, 128, 255, 256}
	for _, tm := range u8 {
		for _, n := range trips {
			if n*tm.hi > 255*64 {
				continue
			}
			name := fmt.Sprintf("u8_hi%d_trips%d", tm.hi, n)
			src := fmt.Sprintf(`A = placeholder((2, %d), uint8, range=(255, 255))
B = placeholder((2, %d), uint8, range=(255, 255))
k = reduce_axis(0, %d)
C = compute((2,), (i) => sum(cast(int16, %s), axis=k))
kernel f(A, B) -> C
`, n, n, n, tm.expr)
			t.Run(name, func(t *testing.T) {
				f, _ := lowerAndCompare(t, src, nil)
				want := accExpectFire(n, tm.hi, 255)
				if got := accFired(f); got != want {
					t.Errorf("accumulate fired %v, want %v (%d steps of at most %d in uint8):\n%s", got, want, n, tm.hi, f)
				}
			})
		}
	}
	// uint16 partial sums: 17 per step, 3855 * 17 = 65535 exactly, 3856
	// steps chunked by 1928, 3857 = 7 * 19 * 29 by 551
	for _, n := range []int64{3855, 3856, 3857} {
		src := fmt.Sprintf(`A = placeholder((2, %d), uint16, range=(65535, 65535))
k = reduce_axis(0, %d)
C = compute((2,), (i) => sum(cast(int32, popcount(A[i, k]) + 1), axis=k))
kernel f(A) -> C
`, n, n)
		t.Run(fmt.Sprintf("u16_hi17_trips%d", n), func(t *testing.T) {
			f, _ := lowerAndCompare(t, src, nil)
			if !accFired(f) {
				t.Errorf("accumulate left %d steps of at most 17 alone:\n%s", n, f)
			}
		})
	}
	// the same with random inputs and a vector accumulator, chunks of the
	// vector loop
	for _, n := range []int64{31, 32, 33, 64, 67} {
		src := fmt.Sprintf(`A = placeholder((2, %d), uint8)
B = placeholder((%d, 16), uint8)
k = reduce_axis(0, %d)
C = compute((2, 16), (i, o) => sum(cast(int16, popcount(A[i, k] ^ B[k, o])) + cast(int16, popcount(A[i, k])), axis=k))
kernel f(A, B) -> C
schedule C {
    CL = cache_write(C, local)
    vectorize(o)
}
schedule CL {
    compute_at(C, i)
    reorder(k, o)
    vectorize(o)
}
`, n, n, n)
		t.Run(fmt.Sprintf("vector_u8_hi16_trips%d", n), func(t *testing.T) {
			f, _ := lowerAndCompare(t, src, nil)
			if got, want := accFired(f), accExpectFire(n, 16, 255); got != want {
				t.Errorf("accumulate fired %v, want %v:\n%s", got, want, f)
			}
		})
	}
}

// --- loop IR built by hand: shapes the language does not produce ---

// accPass returns the accumulate pass of the pipeline.
func accPass(t *testing.T) lower.Pass {
	t.Helper()
	for _, p := range lower.Passes {
		if p.Name == "accumulate" {
			return p
		}
	}
	t.Fatal("no accumulate pass in lower.Passes")
	return lower.Pass{}
}

func accIdx(v int64) te.Expr { return &te.IntImm{Value: v, T: te.Index} }

func accLoad(b *lower.Buffer, i te.Expr) te.Expr { return &lower.Load{Buffer: b, Index: i} }

func accBin(op te.BinOp, a, b te.Expr) te.Expr { return &te.Binary{Op: op, A: a, B: b, T: a.Type()} }

// accStore is B[i] = B[i] + v.
func accStore(b *lower.Buffer, i, v te.Expr) lower.Stmt {
	return &lower.Store{Buffer: b, Index: i, Value: accBin(te.Add, accLoad(b, i), v)}
}

// accCompareIR runs f in the interpreter before and after the accumulate
// pass (the body as built is the oracle) and reports whether it fired.
func accCompareIR(t *testing.T, f *lower.Func, inputs []*te.Buffer) bool {
	t.Helper()
	want, err := lower.Run(f, inputs, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := f.String()
	accPass(t).Run(f, nil)
	fired := strings.Contains(f.String(), ".part")
	got, err := lower.Run(f, inputs, nil)
	if err != nil {
		t.Fatalf("after accumulate: %v\n%s", err, f)
	}
	for i := range want {
		if m := te.Compare(got[i], want[i], 0); m.First >= 0 {
			t.Errorf("output %d after accumulate: %s\nbefore:\n%s\nafter:\n%s", i, m.Detail, before, f)
		}
	}
	return fired
}

// accIRInput is a uint8 input of n all-ones bytes (popcount 8 each).
func accIRInput(n int) *te.Buffer {
	b := te.NewBuffer(te.UInt8, []int{n})
	for i := range b.Ints {
		b.Ints[i] = 255
	}
	return b
}

// A shift amount that reads a buffer the loop accumulates into changes
// from step to step, though it does not use the loop variable, so the pass
// must leave the loop alone (it did not, before a fix):
//
//	for (k, 0, 3) {
//	  B[0] = B[0] + (cast(int32, popcount(A[k])) << B[1])
//	  B[1] = B[1] + cast(int32, popcount(A[k]))
//	}
func TestAccumulateAdversarialIRShiftReadsAccumulator(t *testing.T) {
	a := &lower.Buffer{Name: "A", DType: te.UInt8, Shape: []te.Expr{accIdx(3)}}
	b := &lower.Buffer{Name: "B", DType: te.Int32, Shape: []te.Expr{accIdx(2)}}
	k := &te.Var{Name: "k"}
	pc := func() te.Expr {
		return &te.Cast{T: te.Int32, X: &te.Unary{Op: te.Popcount, X: accLoad(a, k)}}
	}
	f := &lower.Func{Name: "f", Args: []*lower.Buffer{a, b}, Outputs: 1, Body: lower.Seq{
		&lower.Store{Buffer: b, Index: accIdx(0), Value: te.Const(te.Int32, 0)},
		&lower.Store{Buffer: b, Index: accIdx(1), Value: te.Const(te.Int32, 0)},
		&lower.For{Var: k, Min: accIdx(0), Extent: accIdx(3), Body: lower.Seq{
			accStore(b, accIdx(0), accBin(te.Shl, pc(), accLoad(b, accIdx(1)))),
			accStore(b, accIdx(1), pc()),
		}},
	}}
	fired := accCompareIR(t, f, []*te.Buffer{accIRInput(3)})
	t.Logf("accumulate fired: %v", fired)
}

// A store index that reads a buffer the loop accumulates into moves from
// step to step, so the pass must leave the loop alone (it did not, before a
// fix):
//
//	for (k, 0, 3) {
//	  B[B[0] + 1] = B[B[0] + 1] + cast(int32, popcount(A[k]))
//	  B[0] = B[0] + cast(int32, popcount(A[k]))
//	}
func TestAccumulateAdversarialIRIndexReadsAccumulator(t *testing.T) {
	a := &lower.Buffer{Name: "A", DType: te.UInt8, Shape: []te.Expr{accIdx(3)}}
	b := &lower.Buffer{Name: "B", DType: te.Int64, Shape: []te.Expr{accIdx(40)}}
	k := &te.Var{Name: "k"}
	pc := func() te.Expr {
		return &te.Cast{T: te.Int64, X: &te.Unary{Op: te.Popcount, X: accLoad(a, k)}}
	}
	moving := func() te.Expr { return accBin(te.Add, accLoad(b, accIdx(0)), accIdx(1)) }
	f := &lower.Func{Name: "f", Args: []*lower.Buffer{a, b}, Outputs: 1, Body: lower.Seq{
		&lower.For{Var: k, Min: accIdx(0), Extent: accIdx(3), Body: lower.Seq{
			accStore(b, moving(), pc()),
			accStore(b, accIdx(0), pc()),
		}},
	}}
	fired := accCompareIR(t, f, []*te.Buffer{accIRInput(3)})
	t.Logf("accumulate fired: %v", fired)
}

// Two buffers of one name: the pass must group the casts by buffer, not by
// the buffer's name and the index's text (it did, before a fix).
//
//	for (k, 0, 3) {
//	  B[0] = B[0] + cast(int32, popcount(A[k]))     // B: the first output
//	  B[0] = B[0] + cast(int32, popcount(A[k]))     // B: the second output
//	}
func TestAccumulateAdversarialIRSameName(t *testing.T) {
	a := &lower.Buffer{Name: "A", DType: te.UInt8, Shape: []te.Expr{accIdx(3)}}
	b1 := &lower.Buffer{Name: "B", DType: te.Int32, Shape: []te.Expr{accIdx(1)}}
	b2 := &lower.Buffer{Name: "B", DType: te.Int32, Shape: []te.Expr{accIdx(1)}}
	k := &te.Var{Name: "k"}
	pc := func() te.Expr {
		return &te.Cast{T: te.Int32, X: &te.Unary{Op: te.Popcount, X: accLoad(a, k)}}
	}
	f := &lower.Func{Name: "f", Args: []*lower.Buffer{a, b1, b2}, Outputs: 2, Body: lower.Seq{
		&lower.For{Var: k, Min: accIdx(0), Extent: accIdx(3), Body: lower.Seq{
			accStore(b1, accIdx(0), pc()),
			accStore(b2, accIdx(0), pc()),
		}},
	}}
	fired := accCompareIR(t, f, []*te.Buffer{accIRInput(3)})
	t.Logf("accumulate fired: %v", fired)
}

// A cast whose operand reads the accumulated buffer must be left alone:
//
//	for (k, 0, 4) {
//	  B[0] = B[0] + cast(int32, popcount(cast(uint8, B[1])))
//	  B[1] = B[1] + cast(int32, popcount(A[k]))
//	}
func TestAccumulateAdversarialIROperandReadsAccumulator(t *testing.T) {
	a := &lower.Buffer{Name: "A", DType: te.UInt8, Shape: []te.Expr{accIdx(4)}}
	b := &lower.Buffer{Name: "B", DType: te.Int32, Shape: []te.Expr{accIdx(2)}}
	k := &te.Var{Name: "k"}
	f := &lower.Func{Name: "f", Args: []*lower.Buffer{a, b}, Outputs: 1, Body: lower.Seq{
		&lower.For{Var: k, Min: accIdx(0), Extent: accIdx(4), Body: lower.Seq{
			accStore(b, accIdx(0), &te.Cast{T: te.Int32, X: &te.Unary{Op: te.Popcount, X: &te.Cast{T: te.UInt8, X: accLoad(b, accIdx(1))}}}),
			accStore(b, accIdx(1), &te.Cast{T: te.Int32, X: &te.Unary{Op: te.Popcount, X: accLoad(a, k)}}),
		}},
	}}
	if accCompareIR(t, f, []*te.Buffer{accIRInput(4)}) {
		t.Errorf("accumulate rewrote a loop whose cast reads the accumulated buffer:\n%s", f)
	}
}

// A loop that does not start at 0, chunked: 40 steps of 8 from k = 5, in
// two chunks of 20 (the chunk's index is min + chunk*20 + in).
func TestAccumulateAdversarialIRChunkFromMin(t *testing.T) {
	a := &lower.Buffer{Name: "A", DType: te.UInt8, Shape: []te.Expr{accIdx(50)}}
	b := &lower.Buffer{Name: "B", DType: te.Int16, Shape: []te.Expr{accIdx(1)}}
	k := &te.Var{Name: "k"}
	f := &lower.Func{Name: "f", Args: []*lower.Buffer{a, b}, Outputs: 1, Body: lower.Seq{
		&lower.For{Var: k, Min: accIdx(5), Extent: accIdx(40), Body: accStore(b, accIdx(0),
			&te.Cast{T: te.Int16, X: &te.Unary{Op: te.Popcount, X: accLoad(a, k)}})},
	}}
	in := accIRInput(50)
	for i := range in.Ints {
		in.Ints[i] = int64(i * 37 % 256) // a different popcount per element
	}
	if !accCompareIR(t, f, []*te.Buffer{in}) {
		t.Errorf("accumulate left a loop of 40 steps of 8 alone:\n%s", f)
	}
	if !strings.Contains(f.String(), "k.chunk") {
		t.Errorf("want chunks of the loop:\n%s", f)
	}
}
