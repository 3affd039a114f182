package tests

import (
	"strings"
	"testing"

	"github.com/tide-compiler/tide/dsl"
	"github.com/tide-compiler/tide/llvmgen"
	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/tensorio"
)

// mathFunctions uses every float function TVM users reach for (issue 13
// item 11), one output each, in float32 and float64. Each stage is
// vectorized with a factor that leaves a tail of 3, so the partition pass
// gives both a vector loop and a scalar tail: libm calls made lane by lane
// (tanh, erf), LLVM intrinsics on vectors (log, exp2, pow) and the sigmoid's
// expansion, each in both forms.
const mathFunctions = `N = 19
A = placeholder((N,), float32, range=(-4, 4))
P = placeholder((N,), float32, range=(0.05, 5))
B = placeholder((N,), float64, range=(-4, 4))
Q = placeholder((N,), float64, range=(0.05, 5))
T = compute((N,), (i) => tanh(A[i]))
S = compute((N,), (i) => sigmoid(A[i] * 8.0))
E = compute((N,), (i) => erf(A[i]))
L = compute((N,), (i) => log(P[i]))
W = compute((N,), (i) => pow(P[i], A[i]))
X = compute((N,), (i) => exp2(A[i] * 4.0))
G = compute((N,), (i) => log2(P[i]) + exp(A[i]))
T64 = compute((N,), (i) => tanh(B[i]) + erf(B[i]) * 2.0 + sigmoid(B[i]) * 4.0)
L64 = compute((N,), (i) => log(Q[i]) + pow(Q[i], B[i]) + exp2(B[i]))
kernel math(A, P, B, Q) -> T, S, E, L, W, X, G, T64, L64
`

func mathSchedule() string {
	var b strings.Builder
	for _, out := range []string{"T", "S", "E", "L", "W", "X", "G"} {
		b.WriteString("schedule " + out + " {\n    io, ii = split(i, factor=8)\n    vectorize(ii)\n}\n")
	}
	for _, out := range []string{"T64", "L64"} {
		b.WriteString("schedule " + out + " {\n    io, ii = split(i, factor=4)\n    vectorize(ii)\n}\n")
	}
	return b.String()
}

// TestMathFunctionsInterpreted: the loop IR of the vectorized program, run
// by the interpreter, equals the reference evaluator exactly (both call
// te's FloatUnary and FloatBinary).
func TestMathFunctionsInterpreted(t *testing.T) {
	p, err := dsl.Parse("math.te", []byte(mathFunctions+mathSchedule()))
	if err != nil {
		t.Fatal(err)
	}
	f, _, err := lower.Lower(p.Kernel, p.Schedule, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := f.String(); !strings.Contains(s, "ramp(") {
		t.Fatalf("nothing was vectorized:\n%s", s)
	}
	in, _, err := tensorio.Inputs(p.Kernel, nil, "", 3)
	if err != nil {
		t.Fatal(err)
	}
	want, err := te.EvalKernel(p.Kernel, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := lower.Run(f, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range p.Kernel.Outputs {
		if m := te.Compare(got[i], want[i], 0); m.First >= 0 {
			t.Errorf("%s: %s", o.Name, m.Detail)
		}
	}
}

// TestMathFunctionsCompiled: the same program compiled for x86-64 and
// cortex-a53 (under qemu) agrees with the evaluator within floatTol, with
// and without vectorization.
func TestMathFunctionsCompiled(t *testing.T) {
	for _, target := range []string{"x86-64", "cortex-a53"} {
		tgt, err := llvmgen.ParseTarget(target)
		if err != nil {
			t.Fatal(err)
		}
		for name, src := range map[string]string{"scalar": mathFunctions, "vectorized": mathFunctions + mathSchedule()} {
			t.Run(target+"/"+name, func(t *testing.T) {
				t.Parallel()
				checkGenerated(t, "math_"+name, src, tgt, llvmgen.Options{}, 4)
			})
		}
	}
}
