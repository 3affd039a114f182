package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tide-compiler/tide/driver"
	"github.com/tide-compiler/tide/dsl"
	"github.com/tide-compiler/tide/llvmgen"
	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/tensorio"
	"github.com/tide-compiler/tide/topi"
)

// TestCodegen builds the scheduled programs of testdata/lower and the
// examples with llvmgen, runs them on x86-64 and on cortex-a53 (under qemu)
// and compares every output with the reference evaluator.
func TestCodegen(t *testing.T) {
	files, _ := filepath.Glob("testdata/lower/*.te")
	examples, _ := filepath.Glob("../examples/*.te")
	files = append(files, examples...)
	extra := map[string]string{
		"int_semantics": `A = placeholder((7,), int8)
B = placeholder((7,), int8)
C = compute((7,), (i) => select(B[i] != 0, floordiv(A[i], B[i]) + floormod(A[i], B[i]) * 3, A[i] >> 2) + cast(int8, popcount(A[i])))
kernel f(A, B) -> C
`,
		"lazy_conditions": `A = placeholder((6,), uint16)
C = compute((6,), (i) => if_then_else(i >= 1 && A[i - 1] > 100, A[i - 1] / 3, ~A[i]))
kernel f(A) -> C
`,
		// 9-lane masked loads (a padded row computed as one vector): found
		// wrong on x86-64 by the random tester, now made lane by lane
		"odd_width_masked_load": `C = 3
H = 7
W = 7
X = placeholder((C, H, W), float32)
T = compute((C, (H + 2), (W + 2)), (c, y, x) => if_then_else(y >= 1 && y < H + 1 && x >= 1 && x < W + 1, X[c, y - 1, x - 1], 0.0))
kernel rsched(X) -> T
schedule T {
    XR = cache_read(X, local, T)
    f1 = fuse(c, y)
    vectorize(x)
}
schedule XR {
    compute_at(T, f1)
}
`,
		// a 9.4 MB intermediate: larger than a thread's stack, so it must
		// live on the heap (it used to be an alloca, and crashed)
		"large_intermediate": `A = placeholder((1536, 1536), float32)
B = compute((1536, 1536), (i, j) => A[i, j] * 2.0)
C = compute((4, 1536), (i, j) => B[i, j] + B[1535 - i, j])
kernel f(A) -> C
`,
		"floats_and_casts": `A = placeholder((9,), float32)
C = compute((9,), (i) => cast(int32, floor(A[i] * 50.0)) + cast(int32, round(sqrt(abs(A[i])) * 10.0)) + cast(int32, A[i] > 0.0))
kernel f(A) -> C
`,
	}
	var sources []string
	names := map[string]string{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, string(src))
		names[string(src)] = strings.TrimSuffix(filepath.Base(f), ".te")
	}
	for name, src := range extra {
		sources = append(sources, src)
		names[src] = name
	}
	// x86-64+asan: the same code under AddressSanitizer, every buffer
	// allocated to the exact byte (issue 12's safety net)
	for _, target := range []string{"x86-64", "cortex-a53", "x86-64+asan"} {
		tgt, err := llvmgen.ParseTarget(strings.TrimSuffix(target, "+asan"))
		if err != nil {
			t.Fatal(err)
		}
		opts := llvmgen.Options{Sanitize: strings.HasSuffix(target, "+asan")}
		for _, src := range sources {
			name := names[src]
			t.Run(target+"/"+name, func(t *testing.T) {
				t.Parallel() // a compiler and a program each: both cores (the test command's time)
				checkGenerated(t, name, src, tgt, opts, 9)
			})
		}
	}
}

// checkGenerated builds a .te program for the target (operator calls get the
// operator library's schedule for it), runs it natively or under qemu on
// inputs from seed, and compares every output with the reference
// evaluator: integers exactly, floats within floatTol (exp and sqrt may
// round differently in libm).
func checkGenerated(t *testing.T, name, src string, tgt llvmgen.Target, opts llvmgen.Options, seed uint64) {
	t.Helper()
	requireTools(t, tgt)
	p, err := dsl.ParseWith(name+".te", []byte(src), dsl.Options{Target: &topi.Target{Name: tgt.Name, VectorBits: tgt.VectorBits}})
	if err != nil {
		t.Fatal(err)
	}
	f, _, err := lower.Lower(p.Kernel, p.Schedule, nil)
	if err != nil {
		t.Fatal(err)
	}
	sizes, err := p.SizeValues(nil)
	if err != nil {
		t.Fatal(err)
	}
	in, _, err := tensorio.Inputs(p.Kernel, sizes, "", seed)
	if err != nil {
		t.Fatal(err)
	}
	want, err := te.EvalKernel(p.Kernel, in, sizes)
	if err != nil {
		t.Fatal(err)
	}
	got, warnings, err := driver.RunKernel(tgt, opts, f, in, sizes, t.TempDir())
	for _, w := range warnings {
		t.Log(w)
	}
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if m := te.Compare(got[i], want[i], floatTol); m.First >= 0 {
			t.Errorf("output %d on %s: %s\n%s", i, tgt.Name, m.Detail, f)
		}
	}
}

// requireTools skips (or, under the project's test command, fails) when
// the toolchain for a target is missing, naming the package.
func requireTools(t *testing.T, tgt llvmgen.Target) {
	t.Helper()
	tools := []driver.Tool{driver.Clang, driver.GCC}
	if !driver.Native(tgt) {
		tools = []driver.Tool{driver.Clang, driver.CrossGCC, driver.QEMU}
	}
	for _, tool := range tools {
		if _, err := tool.Path(); err != nil {
			if os.Getenv("TIDE_REQUIRE_TOOLS") != "" {
				t.Fatal(err)
			}
			t.Skip(err)
		}
	}
}

// TestParallelThreads runs a parallel kernel (parallel loops with a tail,
// a reduction, a window computed inside the parallel loop) with 1, 2 and 3
// OpenMP threads on both targets: each result equals the evaluator's.
func TestParallelThreads(t *testing.T) {
	src := `A = placeholder((23, 17), int32)
P = compute((25, 17), (i, j) => if_then_else(i >= 1 && i <= 23, A[i - 1, j], 0))
k = reduce_axis(0, 17)
S = compute((23,), (i) => sum(P[i, k] + P[i + 2, k] * 3, axis=k))
kernel f(A) -> S
schedule S {
    io, ii = split(i, factor=4)
    parallel(io)
}
schedule P {
    compute_at(S, io)
}
`
	p, err := dsl.Parse("par.te", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	f, _, err := lower.Lower(p.Kernel, p.Schedule, nil)
	if err != nil {
		t.Fatal(err)
	}
	in, _, _ := tensorio.Inputs(p.Kernel, nil, "", 5)
	want, _ := te.EvalKernel(p.Kernel, in, nil)
	for _, target := range []string{"x86-64", "cortex-a53"} {
		tgt, _ := llvmgen.ParseTarget(target)
		m, _, err := llvmgen.Generate(f, tgt, llvmgen.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(m.String(), "call void @GOMP_parallel(") {
			t.Errorf("%s: the parallel loop does not call GOMP_parallel", target)
		}
		for _, threads := range []string{"1", "2", "3"} {
			t.Run(target+"/threads="+threads, func(t *testing.T) {
				requireTools(t, tgt)
				t.Setenv("OMP_NUM_THREADS", threads)
				got, _, err := driver.RunKernel(tgt, llvmgen.Options{}, f, in, nil, t.TempDir())
				if err != nil {
					t.Fatal(err)
				}
				if m := te.Compare(got[0], want[0], 0); m.First >= 0 {
					t.Errorf("%s", m.Detail)
				}
			})
		}
	}
}

// TestAssembly checks the instructions the examples compile to: with
// --fast-math the matmul's vectorized multiply-adds become FMAs (ymm
// vfmadd on x86-64, fmla on 4 float lanes on cortex-a53), its prefetch of
// the packed panel a prefetch instruction on each, and the
// vectorized popcount uses the byte-wise cnt on 16-byte vectors of NEON.
func TestAssembly(t *testing.T) {
	cases := []struct {
		example, target string
		fast            bool
		want            []string
		avoid           string
	}{
		{"matmul.te", "x86-64", true, []string{"vfmadd", "ymm", "prefetcht0"}, ""},
		{"matmul.te", "cortex-a53", true, []string{"fmla\tv", ".4s", "prfm\tpldl1keep"}, ""},
		// strict by default: separate multiply and add, as the evaluator rounds
		{"matmul.te", "x86-64", false, []string{"vmulps", "vaddps"}, "vfmadd"},
		{"popcount.te", "cortex-a53", false, []string{"cnt\tv", ".16b"}, ""},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%s/fast=%v", c.example, c.target, c.fast), func(t *testing.T) {
			tgt, _ := llvmgen.ParseTarget(c.target)
			requireTools(t, tgt)
			src, err := os.ReadFile("../examples/" + c.example)
			if err != nil {
				t.Fatal(err)
			}
			p, err := dsl.Parse(c.example, src)
			if err != nil {
				t.Fatal(err)
			}
			asm := assemble(t, p, tgt, llvmgen.Options{FastMath: c.fast})
			for _, w := range c.want {
				if !strings.Contains(asm, w) {
					t.Errorf("the assembly has no %q", w)
				}
			}
			if c.avoid != "" && strings.Contains(asm, c.avoid) {
				t.Errorf("the assembly has %q", c.avoid)
			}
		})
	}
}

// assemble lowers a program and compiles it to assembly for the target.
func assemble(t *testing.T, p *dsl.Program, tgt llvmgen.Target, opts llvmgen.Options) string {
	t.Helper()
	f, _, err := lower.Lower(p.Kernel, p.Schedule, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := llvmgen.Generate(f, tgt, opts)
	if err != nil {
		t.Fatal(err)
	}
	ll := filepath.Join(t.TempDir(), "k.ll")
	if err := os.WriteFile(ll, []byte(m.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	asm, err := driver.Assemble(tgt, ll)
	if err != nil {
		t.Fatal(err)
	}
	return asm
}

// TestBinaryKernelAssembly checks the popcount loop of the operator
// library's bitserial convolution (examples/bitserial_conv2d.te, scheduled
// for each target): in the innermost loop that counts bits, byte-wide
// popcounts (cnt v.16b on cortex-a53, vpshufb lookups on x86-64) summed as
// bytes, no horizontal add, and widening to 16 bits (uaddw on cortex-a53)
// at most once per 4 popcounts: LLVM may unroll the 8-step byte loop into
// the loop around it, but the bytes are widened once per 8 steps, not at
// every one.
func TestBinaryKernelAssembly(t *testing.T) {
	cases := []struct {
		target       string
		count, accum *regexp.Regexp // in the popcount loop
		widen        *regexp.Regexp // widening steps, rarer than counts
		horizontal   *regexp.Regexp // none in the popcount loop
	}{
		{"cortex-a53", regexp.MustCompile(`cnt\s+v\d+\.16b`), regexp.MustCompile(`\badd\s+v\d+\.16b`), regexp.MustCompile(`\b(uaddw2?|ushll2?|uaddl2?|uadalp)\s`),
			regexp.MustCompile(`\b(addv|addp|uaddlv|saddlv)\b`)},
		{"x86-64", regexp.MustCompile(`vpshufb\s+%ymm`), regexp.MustCompile(`vpaddb\s+%ymm`), regexp.MustCompile(`\b(vpmovzxbw|vpunpck[lh]bw)\s`),
			regexp.MustCompile(`\b(vpsadbw|vphaddw|vphaddd)\b`)},
	}
	src, err := os.ReadFile("../examples/bitserial_conv2d.te")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.target, func(t *testing.T) {
			tgt, _ := llvmgen.ParseTarget(c.target)
			requireTools(t, tgt)
			p, err := dsl.ParseWith("bitserial_conv2d.te", src, dsl.Options{Target: &topi.Target{Name: tgt.Name, VectorBits: tgt.VectorBits}})
			if err != nil {
				t.Fatal(err)
			}
			asm := assemble(t, p, tgt, llvmgen.Options{})
			var loop string
			for _, body := range driver.InnermostLoops(asm) {
				if text := strings.Join(body, "\n"); c.count.MatchString(text) {
					loop = text
				}
			}
			if loop == "" {
				t.Fatalf("no innermost loop counts bits with %v:\n%s", c.count, asm)
			}
			counts, widens := len(c.count.FindAllString(loop, -1)), len(c.widen.FindAllString(loop, -1))
			if !c.accum.MatchString(loop) {
				t.Errorf("the popcount loop does not sum bytes (%v):\n%s", c.accum, loop)
			}
			if 4*widens > counts {
				t.Errorf("the popcount loop widens %d times for %d popcounts; want at most one per 4:\n%s", widens, counts, loop)
			}
			if bad := c.horizontal.FindString(loop); bad != "" {
				t.Errorf("the popcount loop has %s, a horizontal add:\n%s", bad, loop)
			}
		})
	}
}
