package tests

import (
	"os"
	"strings"
	"testing"

	"github.com/tide-compiler/tide/driver"
	"github.com/tide-compiler/tide/dsl"
	"github.com/tide-compiler/tide/llvmgen"
	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/tensorio"
)

// TestZeroDimensional checks testdata/lower/zero_dim.te (issue 13's 0-d
// tensors: a 0-d input, 0-d stages computed at loops of a 0-d reduction
// and of a consumer, a 0-d sum of every element split by rfactor) against
// plain Go sums: in the reference evaluator, and compiled and run on
// x86-64, on cortex-a53 under qemu, and on x86-64 under AddressSanitizer
// with every buffer (the 0-d ones are 4 bytes) allocated to the byte.
func TestZeroDimensional(t *testing.T) {
	src, err := os.ReadFile("testdata/lower/zero_dim.te")
	if err != nil {
		t.Fatal(err)
	}
	p, err := dsl.Parse("zero_dim.te", src)
	if err != nil {
		t.Fatal(err)
	}
	in, _, err := tensorio.Inputs(p.Kernel, nil, "", 11)
	if err != nil {
		t.Fatal(err)
	}
	A, alpha := in[0], in[1]
	if len(alpha.Shape) != 0 || len(alpha.Floats) != 1 {
		t.Fatalf("alpha is %v%v, want one element of shape []", alpha.Shape, alpha.Floats)
	}
	// the formula: first = sum_k A[0, k] * 2 alpha, B = A * alpha - first,
	// total = the sum of every element of A
	M, N := A.Shape[0], A.Shape[1]
	al := alpha.Floats[0]
	first, total := 0.0, 0.0
	for k := 0; k < N; k++ {
		first += A.Floats[k] * (2 * al)
	}
	for _, a := range A.Floats {
		total += a
	}
	check := func(t *testing.T, what string, out []*te.Buffer) {
		t.Helper()
		B, T := out[0], out[1]
		if len(T.Shape) != 0 || len(T.Floats) != 1 {
			t.Fatalf("%s: total is %v%v, want one element of shape []", what, T.Shape, T.Floats)
		}
		if !closeTo(T.Floats[0], total, M*N) {
			t.Errorf("%s: total = %v, want %v", what, T.Floats[0], total)
		}
		for i, a := range A.Floats {
			if want := a*al - first; !closeTo(B.Floats[i], want, N) {
				t.Fatalf("%s: B[%d] = %v, want %v", what, i, B.Floats[i], want)
			}
		}
	}
	want, err := te.EvalKernel(p.Kernel, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	check(t, "evaluator", want)

	f, _, err := lower.Lower(p.Kernel, p.Schedule, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"x86-64", "cortex-a53", "x86-64+asan"} {
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			tgt, err := llvmgen.ParseTarget(strings.TrimSuffix(target, "+asan"))
			if err != nil {
				t.Fatal(err)
			}
			requireTools(t, tgt)
			opts := llvmgen.Options{Sanitize: strings.HasSuffix(target, "+asan")}
			got, _, err := driver.RunKernel(tgt, opts, f, in, nil, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			check(t, target, got)
		})
	}
}
