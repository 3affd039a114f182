package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tide-compiler/tide/driver"
	"github.com/tide-compiler/tide/dsl"
	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/tensorio"
)

func tide(t *testing.T, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	status = run(args, &out, &errb)
	return status, out.String(), errb.String()
}

func TestEvalMatmulWritesNpy(t *testing.T) {
	dir := t.TempDir()
	status, _, stderr := tide(t, "eval", "../../examples/matmul.te", "--seed", "1", "--outputs", dir)
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "C.npy"))
	if err != nil {
		t.Fatal(err)
	}
	// the format numpy reads: magic, then a header naming dtype and shape
	if !bytes.HasPrefix(raw, []byte("\x93NUMPY")) || !bytes.Contains(raw, []byte("'descr': '<f4'")) ||
		!bytes.Contains(raw, []byte("'shape': (256, 256)")) {
		t.Fatalf("C.npy header: %q", raw[:80])
	}
	read := func(name string) *te.Buffer {
		b, err := tensorio.ReadNpy(filepath.Join(dir, name+".npy"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	A, B, C := read("A"), read("B"), read("C")
	n := 256
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			var s float32 // the reference sums in float32, in k order
			for k := 0; k < n; k++ {
				p := float32(A.Floats[i*n+k]) * float32(B.Floats[k*n+j])
				s += p
			}
			if C.Floats[i*n+j] != float64(s) {
				t.Fatalf("C[%d,%d] = %v, want %v", i, j, C.Floats[i*n+j], s)
			}
		}
	}

	// the same inputs read back with --inputs give the same output
	dir2 := t.TempDir()
	if status, _, stderr := tide(t, "eval", "../../examples/matmul.te", "--inputs", dir, "--outputs", dir2); status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	C2, err := tensorio.ReadNpy(filepath.Join(dir2, "C.npy"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range C.Floats {
		if C.Floats[i] != C2.Floats[i] {
			t.Fatalf("element %d differs after a round trip through .npy", i)
		}
	}
	if _, err := os.Stat(filepath.Join(dir2, "A.npy")); err == nil {
		t.Errorf("inputs read from files should not be written again")
	}
}

func TestEvalRefusesWrongInputs(t *testing.T) {
	dir := t.TempDir()
	b := te.NewBuffer(te.Float32, []int{3, 3})
	if err := tensorio.WriteNpy(filepath.Join(dir, "A.npy"), b); err != nil {
		t.Fatal(err)
	}
	status, _, stderr := tide(t, "eval", "../../examples/rowmax.te", "--inputs", dir)
	if status != 1 || !strings.Contains(stderr, "A.npy holds float32[3 3], but A is float32[128 300]") {
		t.Fatalf("status %d, stderr %q", status, stderr)
	}
	os.Remove(filepath.Join(dir, "A.npy"))
	status, _, stderr = tide(t, "eval", "../../examples/rowmax.te", "--inputs", dir)
	if status != 1 || !strings.Contains(stderr, "does not exist") {
		t.Fatalf("status %d, stderr %q", status, stderr)
	}
}

func TestEvalSetSymbolicDim(t *testing.T) {
	status, stdout, stderr := tide(t, "eval", "../../examples/elementwise.te", "--set", "n=5")
	if status != 0 || !strings.Contains(stdout, "float32[5]") || !strings.Contains(stdout, "n=5") {
		t.Fatalf("status %d\n%s%s", status, stdout, stderr)
	}
	status, _, stderr = tide(t, "eval", "../../examples/elementwise.te", "--set", "m=5")
	if status != 1 || !strings.Contains(stderr, "not a symbolic dimension") {
		t.Fatalf("status %d, stderr %q", status, stderr)
	}
}

func TestCheckPrintsSignature(t *testing.T) {
	status, stdout, stderr := tide(t, "check", "../../examples/matmul.te")
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	for _, want := range []string{
		"kernel matmul(A: float32(256, 256), B: float32(256, 256)) -> C: float32(256, 256)",
		"compute     Bp       float32  (16, 256, 16) = (jb, kk, jv) => if_then_else(jb * 16 + jv < 256, B[kk, jb * 16 + jv], 0.0)",
		"compute     C        float32  (256, 256) = (i, j) => sum(A[i, k] * Bp[j / 16, k, j % 16], axis=k)",
		"schedule    C        cache_write, tile, split, reorder, vectorize, parallel",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("missing %q in\n%s", want, stdout)
		}
	}
}

// Each kind of user error gives file:line:col, the line, a caret, and status 1.
func TestUserErrors(t *testing.T) {
	header := "M = 8\nA = placeholder((M, M), float32)\nU = placeholder((M,), uint8)\nk = reduce_axis(0, M)\n"
	cases := []struct {
		name, line, want string
		at               string // the caret points at the first occurrence of this
	}{
		{"mistyped name", "C = compute((M,), (i) => sum(A[i, kk], axis=k))", `unknown name "kk"; did you mean "k"?`, "kk"},
		{"shape mismatch", "C = compute((M,), (i) => A[i])", "A has 2 dimensions but is indexed with 1 indices", "[i]"},
		{"float plus uint8", "C = compute((M,), (i) => U[i] + 1.5)", "float constant 1.5 cannot be used as uint8", "+"},
		{"typed float plus uint8", "C = compute((M,), (i) => A[i, 0] + U[i])", "mismatched types float32 and uint8", "+"},
		{"unknown dtype", "C = placeholder((M,), float23)", `unknown dtype "float23"; did you mean "float32"?`, "float23"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.te")
			src := header + c.line + "\nkernel f(A, U) -> C\n"
			os.WriteFile(path, []byte(src), 0o644)
			status, _, stderr := tide(t, "check", path)
			if status != 1 {
				t.Fatalf("status %d, want 1; stderr %q", status, stderr)
			}
			lines := strings.Split(stderr, "\n")
			col := strings.Index(c.line, c.at) + 1
			wantPos := fmt.Sprintf("%s:5:%d: ", path, col)
			if !strings.HasPrefix(lines[0], wantPos) || !strings.Contains(lines[0], c.want) {
				t.Fatalf("got %q, want prefix %q and %q", lines[0], wantPos, c.want)
			}
			if strings.TrimSpace(lines[1]) != c.line || strings.Index(lines[2], "^")-4 != col-1 {
				t.Fatalf("bad source line or caret:\n%s", stderr)
			}
		})
	}
	t.Run("unknown schedule primitive", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "bad.te")
		src := header + "C = compute((M,), (i) => A[i, 0])\nkernel f(A) -> C\nschedule C {\n    vectorise(i)\n}\n"
		os.WriteFile(path, []byte(src), 0o644)
		status, _, stderr := tide(t, "check", path)
		if status != 1 || !strings.HasPrefix(stderr, path+":8:5: unknown schedule primitive \"vectorise\"; did you mean \"vectorize\"?") {
			t.Fatalf("status %d, stderr %q", status, stderr)
		}
	})
}

func TestCommandLineErrors(t *testing.T) {
	if status, _, _ := tide(t, "eval"); status != 2 {
		t.Errorf("missing FILE: status %d, want 2", status)
	}
	status, _, stderr := tide(t, "check", "no/such/file.te")
	if status != 1 || !strings.Contains(stderr, "no such file") {
		t.Errorf("missing file: status %d, stderr %q", status, stderr)
	}
}

func TestLowerPrintsLoops(t *testing.T) {
	status, stdout, stderr := tide(t, "lower", "../../examples/elementwise.te")
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	// the schedule splits i by 8 and vectorizes: a vector main loop and a
	// scalar tail for n % 8 elements
	if !strings.Contains(stdout, "C[ramp(io * 8, 1, 8)] = max(") || !strings.Contains(stdout, "for (ii, 0, min(max(n - io * 8, 0), 8))") {
		t.Errorf("unexpected IR:\n%s", stdout)
	}
	if !strings.Contains(stderr, "elementwise.te:13:5: note: vectorize(ii): runs as a scalar loop: this is the tail") {
		t.Errorf("missing note, stderr %q", stderr)
	}
}

func TestLowerPrintAfter(t *testing.T) {
	status, stdout, _ := tide(t, "lower", "../../examples/elementwise.te", "--print-after", "nest")
	if status != 0 || !strings.Contains(stdout, "// after nest") || strings.Contains(stdout, "ramp") {
		t.Errorf("--print-after nest: status %d, output:\n%s", status, stdout)
	}
	status, stdout, _ = tide(t, "lower", "../../examples/elementwise.te", "--print-after-all")
	if status != 0 {
		t.Errorf("--print-after-all: status %d", status)
	}
	for _, p := range []string{"nest", "simplify", "partition", "vectorize", "unroll", "final-simplify"} {
		if !strings.Contains(stdout, "// after "+p+"\n") {
			t.Errorf("--print-after-all does not show pass %s", p)
		}
	}
	status, _, stderr := tide(t, "lower", "../../examples/elementwise.te", "--print-after", "vectorise")
	if status != 2 || !strings.Contains(stderr, "no such pass; the passes are nest, simplify") {
		t.Errorf("unknown pass: status %d, stderr %q", status, stderr)
	}
}

func TestCheckPrintsScheduleOfCacheStage(t *testing.T) {
	status, stdout, stderr := tide(t, "check", "../../tests/testdata/lower/cache_write.te")
	if status != 0 || !strings.Contains(stdout, "schedule    CL       compute_at, reorder, vectorize") {
		t.Errorf("status %d, stdout %q, stderr %q", status, stdout, stderr)
	}
}

func TestLowerVerify(t *testing.T) {
	status, stdout, stderr := tide(t, "lower", "../../examples/elementwise.te", "--verify", "--set", "n=13", "--seed", "4")
	if status != 0 || !strings.Contains(stdout, "PASS C (max abs error 0; tolerance |got - want| <= 0.0001 + 0.0001*|want|)") {
		t.Errorf("status %d, stdout tail %q, stderr %q", status, stdout[max(0, len(stdout)-200):], stderr)
	}
}

func TestBuildAndRun(t *testing.T) {
	for _, tool := range []string{"clang", "qemu-aarch64", "aarch64-linux-gnu-gcc"} {
		if _, err := exec.LookPath(tool); err != nil && os.Getenv("TIDE_REQUIRE_TOOLS") == "" {
			t.Skipf("%s is missing (the test command installs it)", tool)
		}
	}
	dir := t.TempDir()
	ll, h, o := filepath.Join(dir, "k.ll"), filepath.Join(dir, "k.h"), filepath.Join(dir, "k.o")
	status, stdout, stderr := tide(t, "build", "../../examples/elementwise.te", "--target", "cortex-a53", "-o", ll, "--header", h, "--obj", o)
	if status != 0 {
		t.Fatalf("build: status %d, %s", status, stderr)
	}
	irText, _ := os.ReadFile(ll)
	header, _ := os.ReadFile(h)
	if !strings.Contains(string(irText), `target triple = "aarch64-unknown-linux-gnu"`) || !strings.Contains(string(irText), `"target-cpu"="cortex-a53"`) {
		t.Errorf("the module does not carry the target:\n%s", stdout)
	}
	// the declaration's order: kernel elementwise(A, B, n) -> C
	if !strings.Contains(string(header), "void elementwise(const float *A, const float *B, int64_t n, float *C);") {
		t.Errorf("header:\n%s", header)
	}
	// a symbolic length: aligned to the element, size unknown
	if !strings.Contains(string(irText), "define void @elementwise(float* noalias align 4 %A, float* noalias align 4 %B, i64 %n, float* noalias align 4 %C)") {
		t.Errorf("arguments of elementwise:\n%s", irText)
	}
	// constant shapes: 256*256 floats of 4 bytes each
	status, _, stderr = tide(t, "build", "../../examples/matmul.te", "--target", "x86-64", "-o", ll)
	irText, _ = os.ReadFile(ll)
	if status != 0 || !strings.Contains(string(irText), "float* noalias align 4 dereferenceable(262144) %A") {
		t.Errorf("arguments of matmul: status %d, %s\n%s", status, stderr, irText)
	}
	if _, err := os.Stat(o); err != nil {
		t.Error(err)
	}
	for _, target := range []string{"x86-64", "cortex-a53"} {
		status, stdout, stderr = tide(t, "run", "../../examples/elementwise.te", "--target", target, "--set", "n=37")
		if status != 0 || !strings.Contains(stdout, "PASS C on "+target) {
			t.Errorf("run on %s: status %d, stdout %q, stderr %q", target, status, stdout, stderr)
		}
	}
	// the tolerance, stated on the PASS line
	status, stdout, stderr = tide(t, "run", "../../examples/elementwise.te", "--target", "x86-64", "--rtol", "1e-3", "--atol", "0")
	if status != 0 || !strings.Contains(stdout, "tolerance |got - want| <= 0 + 0.001*|want|)") {
		t.Errorf("run --rtol 1e-3 --atol 0: status %d, stdout %q, stderr %q", status, stdout, stderr)
	}
	status, _, stderr = tide(t, "run", "../../examples/elementwise.te", "--target", "arm")
	if status != 2 || !strings.Contains(stderr, `unknown target "arm"; the presets are cortex-a53, host, x86-64`) {
		t.Errorf("bad target: status %d, stderr %q", status, stderr)
	}
}

func TestBench(t *testing.T) {
	if _, err := exec.LookPath("clang"); err != nil && os.Getenv("TIDE_REQUIRE_TOOLS") == "" {
		t.Skip("clang is missing (the test command installs it)")
	}
	status, stdout, stderr := tide(t, "bench", "../../examples/elementwise.te", "--target", "x86-64", "--repeat", "3", "--threads", "1,2")
	if status != 0 || !strings.Contains(stdout, "elementwise on x86-64, threads 1: median") || !strings.Contains(stdout, "GFLOP/s") ||
		!strings.Contains(stdout, "x the speed with 1 thread (outputs checked against the reference evaluator)") {
		t.Errorf("status %d, stdout %q, stderr %q", status, stdout, stderr)
	}
	status, _, stderr = tide(t, "bench", "../../examples/elementwise.te", "--target", "x86-64", "--threads", "0")
	if status != 2 || !strings.Contains(stderr, "want a positive count or a list like 1,2") {
		t.Errorf("--threads 0: status %d, stderr %q", status, stderr)
	}
	status, stdout, stderr = tide(t, "bench", "../../examples/popcount.te", "--target", "cortex-a53")
	if status != 0 || !strings.Contains(stdout, "static estimates from llvm-mca (-mcpu=cortex-a53), not measurements") ||
		!strings.Contains(stdout, "cycles per iteration") || !strings.Contains(stdout, "binary MACs) per cycle") {
		t.Errorf("emulated bench: status %d, stdout %q, stderr %q", status, stdout, stderr)
	}
	status, stdout, stderr = tide(t, "bench", "../../examples/matmul.te", "--target", "cortex-a53", "--fast-math")
	if status != 0 || !strings.Contains(stdout, "flops/cycle") {
		t.Errorf("emulated bench: status %d, stdout %q, stderr %q", status, stdout, stderr)
	}
}

func TestBenchVsOpenBLAS(t *testing.T) {
	if _, err := os.Stat("/usr/include/x86_64-linux-gnu/cblas.h"); err != nil && os.Getenv("TIDE_REQUIRE_TOOLS") == "" {
		t.Skip("libopenblas-dev is missing (the test command installs it)")
	}
	status, stdout, stderr := tide(t, "bench", "../../examples/matmul.te", "-D", "N=200", "--target", "x86-64", "--repeat", "2", "--threads", "1", "--vs", "openblas")
	if status != 0 || !strings.Contains(stdout, "openblas cblas_sgemm 256x200x256, threads 1: median") || !strings.Contains(stdout, "Tide/baseline speed ratio") ||
		!strings.Contains(stdout, "(outputs checked against openblas cblas_sgemm 256x200x256)") {
		t.Errorf("status %d, stdout %q, stderr %q", status, stdout, stderr)
	}
	// oneDNN's sgemm, where the library is installed
	if _, err := os.Stat("/usr/include/dnnl.h"); err == nil || os.Getenv("TIDE_REQUIRE_TOOLS") != "" {
		status, stdout, stderr = tide(t, "bench", "../../examples/matmul.te", "-D", "N=200", "--target", "x86-64", "--repeat", "2", "--threads", "1", "--vs", "onednn,openblas")
		if status != 0 || !strings.Contains(stdout, "onednn dnnl_sgemm 256x200x256, threads 1: median") || !strings.Contains(stdout, "openblas cblas_sgemm 256x200x256, threads 1: median") {
			t.Errorf("--vs onednn: status %d, stdout %q, stderr %q", status, stdout, stderr)
		}
	}
	status, _, stderr = tide(t, "bench", "../../examples/rowmax.te", "--target", "x86-64", "--vs", "openblas")
	if status != 1 || !strings.Contains(stderr, "kernel rowmax is neither") {
		t.Errorf("not a matmul: status %d, stderr %q", status, stderr)
	}
	// sgemm's signature, but not its computation: B is read transposed
	dir := t.TempDir()
	notMatmul := filepath.Join(dir, "mt.te")
	os.WriteFile(notMatmul, []byte(`A = placeholder((8, 8), float32)
B = placeholder((8, 8), float32)
k = reduce_axis(0, 8)
C = compute((8, 8), (i, j) => sum(A[i, k] * B[j, k], axis=k))
kernel mt(A, B) -> C
`), 0o644)
	status, _, stderr = tide(t, "bench", notMatmul, "--target", "x86-64", "--vs", "openblas")
	if status != 1 || !strings.Contains(stderr, "output C differs from the baseline (openblas cblas_sgemm 8x8x8)") {
		t.Errorf("a different computation: status %d, stderr %q", status, stderr)
	}
}

// Convolutions: a float conv2d is checked against the libraries on its own
// inputs; a binarized one is timed next to float convolutions of its shape,
// which must agree with each other.
func TestBenchConvBaselines(t *testing.T) {
	for _, h := range []string{"/usr/include/x86_64-linux-gnu/cblas.h", "/usr/include/dnnl.h"} {
		if _, err := os.Stat(h); err != nil && os.Getenv("TIDE_REQUIRE_TOOLS") == "" {
			t.Skipf("%s is missing (the test command installs it)", h)
		}
	}
	dir := t.TempDir()
	float := filepath.Join(dir, "fconv.te")
	os.WriteFile(float, []byte(`X = placeholder((1, 9, 8, 5), float32)
W = placeholder((3, 3, 5, 7), float32)
Y = conv2d(X, W, layout=NHWC, stride=2, padding=(1, 0, 1, 1))
kernel fconv(X, W) -> Y
`), 0o644)
	status, stdout, stderr := tide(t, "bench", float, "--target", "x86-64", "--repeat", "2", "--threads", "1", "--vs", "onednn,openblas")
	if status != 0 || !strings.Contains(stdout, "(outputs checked against openblas im2col+sgemm conv 9x8x5->7 3x3/2 pad 1,0,1,1)") ||
		!strings.Contains(stdout, "onednn conv 9x8x5->7 3x3/2 pad 1,0,1,1, threads 1: median") {
		t.Errorf("float conv: status %d, stdout %q, stderr %q", status, stdout, stderr)
	}
	status, stdout, stderr = tide(t, "bench", "../../examples/bitserial_conv2d.te", "-D", "H=6", "-D", "W=7", "--target", "x86-64", "--repeat", "2", "--threads", "1", "--vs", "tide,openblas,onednn")
	for _, want := range []string{"G binary MACs/s (outputs checked against the reference evaluator)", "tide float conv2d 6x7x64->64 3x3/1 pad 1, threads 1", "openblas im2col+sgemm conv 6x7x64->64", "onednn conv 6x7x64->64", "Tide/baseline speed ratio"} {
		if status != 0 || !strings.Contains(stdout, want) {
			t.Errorf("binary conv: missing %q: status %d, stdout %q, stderr %q", want, status, stdout, stderr)
		}
	}
	status, _, stderr = tide(t, "bench", "../../examples/bitserial_dense.te", "--target", "x86-64", "--vs", "onednn")
	if status != 1 || !strings.Contains(stderr, "--vs onednn times an sgemm, C = A·B with float32 A (M×K), B (K×N) and C (M×N), or a convolution; kernel bitserial_dense is neither") {
		t.Errorf("not a conv: status %d, stderr %q", status, stderr)
	}
}

// --vs xnor-avx2,xnor-avx512 times the hand-written references of bench/
// on a binarized convolution's own inputs, checks Tide's output against
// theirs exactly and prints their lines (the AVX-512 one may say it is
// skipped on a CPU without VPOPCNTDQ); a variant they do not compute is an
// error that says what they support. driver's TestXnorBaselines checks
// them against the reference evaluator.
func TestBenchVsXnor(t *testing.T) {
	if _, err := driver.GCC.Path(); err != nil && os.Getenv("TIDE_REQUIRE_TOOLS") == "" {
		t.Skip(err)
	}
	avx512 := regexp.MustCompile(`xnor-avx512 binary conv 8x8x64->64 3x3/1 pad 1, threads 1: (median .*; Tide/baseline speed ratio [0-9.]+ \(same run\)|skipped: this CPU lacks AVX-512 VPOPCNTDQ)\n`)
	status, stdout, stderr := tide(t, "bench", "../../examples/bitserial_conv2d.te", "-D", "H=8", "-D", "W=8", "--target", "host", "--repeat", "2", "--threads", "1", "--vs", "xnor-avx2,xnor-avx512")
	if status != 0 || !regexp.MustCompile(`xnor-avx2 binary conv 8x8x64->64 3x3/1 pad 1, threads 1: median .* Gop/s; Tide/baseline speed ratio [0-9.]+ \(same run\)\n`).MatchString(stdout) ||
		!avx512.MatchString(stdout) || !strings.Contains(stdout, "(outputs checked against xnor-avx") {
		t.Errorf("status %d, stdout %q, stderr %q", status, stdout, stderr)
	}
	dir := t.TempDir()
	conv := func(name, args string, sig ...string) string {
		if sig == nil {
			sig = []string{"Xp, Wp"}
		}
		path := filepath.Join(dir, name+".te")
		os.WriteFile(path, []byte(`Xp = placeholder((1, 9, 7, 1, 16), uint8)
Wp = placeholder((3, 3, 1, 16, 64), uint8)
Y = bitserial_conv2d(Xp, Wp, layout=NHWC, channels=128, `+args+`)
kernel `+name+`(`+sig[0]+`) -> Y
`), 0o644)
		return path
	}
	// stride 2, int32, asymmetric padding, the data after the weights
	status, stdout, stderr = tide(t, "bench", conv("s2", "stride=2, padding=(1, 0, 1, 1), polarity=bipolar, out=int32", "Wp, Xp"), "--target", "host", "--repeat", "1", "--threads", "1", "--vs", "xnor-avx2")
	if status != 0 || !strings.Contains(stdout, "xnor-avx2 binary conv 9x7x128->64 3x3/2 pad 1,0,1,1, threads 1: median") {
		t.Errorf("stride 2: status %d, stdout %q, stderr %q", status, stdout, stderr)
	}
	for _, c := range []struct{ file, vs, want string }{
		{"../../examples/bitserial_conv2d.te -D A=2", "xnor-avx2", "--vs xnor-avx2: Y_acc has 2 activation bits; the xnor references compute bitserial_conv2d with layout=NHWC, polarity=bipolar, 1 activation bit and 1 weight bit"},
		{"../../examples/bitserial_conv2d.te -D M=2", "xnor-avx512", "--vs xnor-avx512: Y_acc has 2 weight bits; the xnor references"},
		{conv("uni", "stride=1, padding=1, polarity=unipolar"), "xnor-avx2", "--vs xnor-avx2: Y_acc is unipolar; the xnor references"},
		{conv("one", "stride=1, padding=1, polarity=bipolar, pad_value=one"), "xnor-avx2", "--vs xnor-avx2: Y_acc pads with pad_value=one; the xnor references"},
		{conv("s3", "stride=3, padding=1, polarity=bipolar"), "xnor-avx512", "--vs xnor-avx512: convolution 9x7x128->64 3x3/3 pad 1: the xnor references take strides 1 and 2; the xnor references"},
		{"../../examples/bitserial_dense.te", "xnor-avx2", "--vs xnor-avx2: kernel bitserial_dense computes no bitserial_conv2d; the xnor references"},
	} {
		status, _, stderr := tide(t, append(append([]string{"bench"}, strings.Fields(c.file)...), "--target", "host", "--vs", c.vs)...)
		if status != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%s --vs %s: status %d, stderr %q, want %q", c.file, c.vs, status, stderr, c.want)
		}
	}
}

func TestDefine(t *testing.T) {
	status, stdout, stderr := tide(t, "check", "../../examples/matmul.te", "-D", "M=64", "--define", "K=32")
	if status != 0 || !strings.Contains(stdout, "kernel matmul(A: float32(64, 32), B: float32(32, 256)) -> C: float32(64, 256)") {
		t.Errorf("status %d, stdout %q, stderr %q", status, stdout, stderr)
	}
	status, _, stderr = tide(t, "check", "../../examples/matmul.te", "-D", "Q=64")
	if status != 1 || !strings.Contains(stderr, "-D Q: ../../examples/matmul.te has no integer constant of that name (its integer constants are: M, N, K, LANES, PANEL, ROWS, BLOCK, PREFETCH)") {
		t.Errorf("unknown name: status %d, stderr %q", status, stderr)
	}
	status, _, stderr = tide(t, "run", "../../examples/elementwise.te", "-D", "n=64")
	if status != 1 || !strings.Contains(stderr, "give its value with --set n=VALUE") {
		t.Errorf("a symbolic dimension: status %d, stderr %q", status, stderr)
	}
}

// binaryMACs counts activation-bit by weight-bit products over the real
// channels: 14*14 pixels, 64 outputs, 3*3 window, 64 channels, 1 x 1 bits;
// and 2 x 1 bits over 512 inputs for the dense example.
func TestBinaryMACs(t *testing.T) {
	for _, c := range []struct {
		file string
		want float64
	}{
		{"../../examples/bitserial_conv2d.te", 14 * 14 * 64 * 9 * 64},
		{"../../examples/bitserial_dense.te", 4 * 100 * 512 * 2},
		{"../../examples/matmul.te", 0},
	} {
		src, err := os.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		p, err := dsl.Parse(c.file, src)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := binaryMACs(p.Kernel); err != nil || got != c.want {
			t.Errorf("%s: %g binary MACs (%v), want %g", c.file, got, err, c.want)
		}
	}
}

// Issue 12: `eval --set n=2000000000` allocated 16 GB and died with a Go
// stack trace. The evaluator's memory is now estimated first and a size
// that does not fit is refused, saying how much it needs.
func TestEvalRefusesWhatDoesNotFit(t *testing.T) {
	saved := availableMemory
	defer func() { availableMemory = saved }()
	availableMemory = func() int64 { return 1 << 30 } // pretend: 1 GiB free
	src := filepath.Join(t.TempDir(), "sym.te")
	os.WriteFile(src, []byte("n = var(default=10)\nA = placeholder((n,), float32)\nB = compute((n,), (i) => A[i] * 2)\nkernel s(A) -> B\n"), 0o644)
	for _, cmd := range [][]string{{"eval", src}, {"run", src, "--target", "x86-64"}} {
		status, _, stderr := tide(t, append(cmd, "--set", "n=200000000")...) // 2 x 1.5 GiB
		if status == 0 || !strings.Contains(stderr, "needs 3.0 GiB at these sizes") || !strings.Contains(stderr, "1.0 GiB available") {
			t.Errorf("%s: status %d: %s", cmd[0], status, stderr)
		}
	}
	// what fits runs
	if status, _, stderr := tide(t, "eval", src, "--set", "n=1000"); status != 0 {
		t.Errorf("n=1000: status %d: %s", status, stderr)
	}
}

// Issue 12: kernels named main, printf or malloc broke `tide run` (a
// conflicting main, a conflicting printf, a segfault). Names the C runtime
// or the harness own are refused where the kernel is declared; names the
// harness used for its locals and helpers (io, save, argc, ...) now work,
// on both targets.
func TestKernelNamesAndTheCRuntime(t *testing.T) {
	dir := t.TempDir()
	write := func(name string) string {
		path := filepath.Join(dir, name+".te")
		os.WriteFile(path, []byte("A = placeholder((4,), float32)\nB = compute((4,), (i) => A[i] * 2)\nkernel "+name+"(A) -> B\n"), 0o644)
		return path
	}
	for name, want := range map[string]string{"main": "entry point", "printf": "C runtime (libc)", "malloc": "C runtime (libc)", "tide_k": "Tide's own", "gnu_get_libc": "gnu_get_libc_release, a function of the C runtime"} {
		status, _, stderr := tide(t, "check", write(name))
		if status == 0 || !strings.Contains(stderr, name+".te:3:8: ") || !strings.Contains(stderr, want) {
			t.Errorf("kernel %s: status %d: %s", name, status, stderr)
		}
	}
	requireTools(t)
	for _, name := range []string{"io", "save", "argc", "argv", "workspace", "t0", "r"} {
		for _, target := range []string{"x86-64", "cortex-a53"} {
			if status, stdout, stderr := tide(t, "run", write(name), "--target", target); status != 0 || !strings.Contains(stdout, "PASS") {
				t.Errorf("kernel %s on %s: status %d: %s%s", name, target, status, stdout, stderr)
			}
		}
	}
}

// Issue 12: the generated code did not check aligned_alloc's result; a
// failed allocation of an intermediate now aborts instead of writing
// through a null pointer.
func TestHeapAllocationIsChecked(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "heap.te")
	os.WriteFile(src, []byte("n = var(default=4)\nm = var(default=8)\nA = placeholder((n,), float32)\nT = compute((n, m), (i, j) => A[i] * cast(float32, j))\nk = reduce_axis(0, m)\nB = compute((n,), (i) => sum(T[i, k], axis=k))\nkernel heap(A) -> B\n"), 0o644)
	ll := filepath.Join(dir, "heap.ll")
	if status, _, stderr := tide(t, "build", src, "--target", "x86-64", "-o", ll); status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	text, _ := os.ReadFile(ll)
	if !regexp.MustCompile(`(?s)(%\d+) = call i8\* @aligned_alloc\(.*icmp eq i8\* (%\d+), null.*call void @abort\(\)`).Match(text) {
		t.Errorf("no null check after aligned_alloc:\n%s", text)
	}
}

// A kernel keeps its large heap intermediates between calls
// (llvmgen/heapcache.go). The cached block must be reused only when it is
// large enough, calls running at once must each get their own, and
// KERNEL_release must free it at any time: a C program calls the kernel
// with growing and shrinking symbolic shapes, from two threads at once,
// and releases between calls, on both targets; every result is checked
// against the closed form A[i] * m(m-1)/2.
func TestHeapIntermediatesAreKeptBetweenCalls(t *testing.T) {
	requireTools(t)
	for _, target := range []string{"x86-64", "cortex-a53"} {
		dir := t.TempDir()
		src, ll, h := filepath.Join(dir, "heap.te"), filepath.Join(dir, "heap.ll"), filepath.Join(dir, "heap.h")
		os.WriteFile(src, []byte("n = var(default=4)\nm = var(default=8)\nA = placeholder((n,), float32)\nT = compute((n, m), (i, j) => A[i] * cast(float32, j))\nk = reduce_axis(0, m)\nB = compute((n,), (i) => sum(T[i, k], axis=k))\nkernel heap(A) -> B\n"), 0o644)
		if status, _, stderr := tide(t, "build", src, "--target", target, "-o", ll, "--header", h); status != 0 {
			t.Fatalf("%s: status %d: %s", target, status, stderr)
		}
		if text, _ := os.ReadFile(ll); !strings.Contains(string(text), "atomicrmw xchg i64* @heap.heap0") {
			t.Fatalf("%s: T is not cached:\n%s", target, text)
		}
		os.WriteFile(filepath.Join(dir, "main.c"), []byte(`#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "heap.h"
static int check(long n, long m, int seed) {
    float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
    for (long i = 0; i < n; i++) a[i] = (float)((i * 7 + seed) % 5) - 2;
    heap(a, n, m, b);
    int bad = 0;
    for (long i = 0; i < n; i++) bad += b[i] != a[i] * (float)(m * (m - 1) / 2);
    free(a);
    free(b);
    return bad;
}
static void *worker(void *arg) {
    long id = (long)arg, bad = 0;
    for (int r = 0; r < 40; r++) bad += check(100 + 37 * ((r + id) % 4), 300 * (1 + (r + id) % 3), r);
    return (void *)bad;
}
int main(void) {
    long bad = 0;
    long shapes[][2] = {{3, 5}, {300, 1024}, {3, 5}, {500, 1000}, {2, 3}};
    for (int s = 0; s < 5; s++) {
        bad += check(shapes[s][0], shapes[s][1], s);
        if (s == 2) heap_release();
    }
    pthread_t th[2];
    for (long i = 0; i < 2; i++) pthread_create(&th[i], 0, worker, (void *)i);
    for (int i = 0; i < 2; i++) {
        void *r;
        pthread_join(th[i], &r);
        bad += (long)r;
    }
    heap_release();
    heap_release();
    bad += check(7, 11, 9);
    heap_release();
    printf("%ld wrong\n", bad);
    return 0;
}
`), 0o644)
		if out, err := buildAsTheHeaderSays(t, dir, mustRead(t, h), target); err != nil || out != "0 wrong" {
			t.Errorf("%s: %v: %q", target, err, out)
		}
	}
}

// Issue 12: a missing opt was reported as "the generated IR is invalid (a
// bug in Tide)". It is a tool to install, and the message says which.
func TestMissingOptIsNotABug(t *testing.T) {
	requireTools(t)
	saved := driver.Opt
	defer func() { driver.Opt = saved }()
	driver.Opt = driver.Tool{Command: "tide-no-such-opt", Package: "llvm"}
	status, _, stderr := tide(t, "run", "../../examples/elementwise.te", "--target", "x86-64")
	if status == 0 || !strings.Contains(stderr, "tide-no-such-opt is not installed; install it with: apt-get install llvm") || strings.Contains(stderr, "a bug in Tide") {
		t.Errorf("status %d: %s", status, stderr)
	}
}

// Issue 12: a bad TMPDIR said only "stat /sys/nonexist"; --outputs to a
// place that cannot be written failed only after the build.
func TestTempAndOutputDirsAreChecked(t *testing.T) {
	good, file := t.TempDir(), filepath.Join(t.TempDir(), "a-file")
	t.Setenv("TMPDIR", "/nonexistent-tide-tmp")
	status, _, stderr := tide(t, "run", "../../examples/elementwise.te", "--target", "x86-64")
	if status == 0 || !strings.Contains(stderr, "cannot make a temporary directory in /nonexistent-tide-tmp (set TMPDIR to a writable directory)") {
		t.Errorf("bad TMPDIR: status %d: %s", status, stderr)
	}
	t.Setenv("TMPDIR", good)
	os.WriteFile(file, nil, 0o644)
	for _, cmd := range [][]string{{"eval"}, {"run", "--target", "x86-64"}} {
		args := append(append([]string{cmd[0], "../../examples/elementwise.te"}, cmd[1:]...), "--outputs", filepath.Join(file, "out"))
		status, stdout, stderr := tide(t, args...)
		if status == 0 || !strings.Contains(stderr, "--outputs "+filepath.Join(file, "out")+": ") || strings.Contains(stdout, "PASS") {
			t.Errorf("%s --outputs under a file: status %d: %s%s", cmd[0], status, stdout, stderr)
		}
	}
}

// Issue 12: a killed tide bench left its temporary directory behind. An
// interrupt (to the process group, as a terminal's Ctrl-C) removes it.
func TestInterruptRemovesTemporaryFiles(t *testing.T) {
	requireTools(t)
	bin := filepath.Join(t.TempDir(), "tide")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tmp := t.TempDir()
	cmd := exec.Command(bin, "bench", "../../examples/elementwise.te", "--target", "x86-64", "--repeat", "100000000")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// wait until the harness runs in its directory (tide's directories
	// lie in one root in TMPDIR: count files at any depth)
	deadline := time.Now().Add(60 * time.Second)
	for {
		files := 0
		filepath.WalkDir(tmp, func(_ string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files++
			}
			return nil
		})
		if files > 2 {
			break
		}
		if time.Now().After(deadline) {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			t.Fatal("bench made no temporary directory in 60 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Errorf("exit: %v, want status 130", err)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("left behind in TMPDIR: %v", entries)
	}
}

// Issue 12: `clang -O3 k.ll main.c` failed (GOMP_parallel and expf
// undefined) and `clang -O3 -c` of a cortex-a53 module crashed clang 14.
// The header states the compile and link lines for its target; they work
// as typed, on both targets.
func TestHeaderBuildLinesWorkAsTyped(t *testing.T) {
	requireTools(t)
	for _, target := range []string{"x86-64", "cortex-a53"} {
		dir := t.TempDir()
		ll, h := filepath.Join(dir, "elementwise.ll"), filepath.Join(dir, "elementwise.h")
		if status, _, stderr := tide(t, "build", "../../examples/elementwise.te", "--target", target, "-o", ll, "--header", h); status != 0 {
			t.Fatalf("%s: status %d: %s", target, status, stderr)
		}
		header, _ := os.ReadFile(h)
		os.WriteFile(filepath.Join(dir, "main.c"), []byte(`#include <stdio.h>
#include "elementwise.h"
int main(void) {
    float a[3] = {1, -2, 3}, b[3] = {2, 2, -1}, c[3];
    elementwise(a, b, 3, c);
    printf("%g %g %g\n", c[0], c[1], c[2]);
    return 0;
}
`), 0o644)
		// max(a*b + a, 0): 3, 0, 0
		if out, err := buildAsTheHeaderSays(t, dir, header, target); err != nil || out != "3 0 0" {
			t.Errorf("%s: %v: %q", target, err, out)
		}
	}
}

// buildAsTheHeaderSays runs a header's two build lines as typed, in dir
// (which holds the module and main.c), then the program (under qemu for
// cortex-a53), and returns its output without surrounding space.
func buildAsTheHeaderSays(t *testing.T, dir string, header []byte, target string) (string, error) {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(string(header), "\n") {
		if cmd, ok := strings.CutPrefix(l, " *   "); ok {
			lines = append(lines, cmd)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("%s: the header's build lines are %q", target, lines)
	}
	for _, l := range lines {
		cmd := exec.Command("sh", "-c", l)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %s: %v\n%s", target, l, err, out)
		}
	}
	run := exec.Command("./main")
	if target == "cortex-a53" {
		run = exec.Command("qemu-aarch64", "-cpu", "cortex-a53", "-L", "/usr/aarch64-linux-gnu", "./main")
	}
	run.Dir = dir
	out, err := run.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// Issue 12: vectorized min/max reductions disagreed with the evaluator on
// NaN inputs (max as a select depends on the order). min and max are now
// IEEE 754-2019 minimum/maximum everywhere: NaN-propagating, -0 below +0,
// so every schedule computes the evaluator's result, on both targets.
func TestMinMaxNaNAndZerosInEverySchedule(t *testing.T) {
	requireTools(t)
	nan, negZero := math.NaN(), math.Copysign(0, -1)
	inputs := map[string][]float64{"nan": nil, "zeros": nil, "nan-first": nil}
	for name := range inputs {
		v := make([]float64, 64)
		for i := range v {
			v[i] = float64((i*37)%23) - 11
		}
		switch name {
		case "nan":
			v[37] = nan
		case "nan-first":
			v[0] = nan
		case "zeros":
			for i := range v {
				v[i] = negZero
			}
			v[20] = 0
		}
		inputs[name] = v
	}
	for _, op := range []string{"max", "min"} {
		for _, sched := range []string{"", "schedule M {\n    ko, ki = split(k, factor=16)\n    reorder(i, ko, ki)\n    vectorize(ki)\n}\n"} {
			dir := t.TempDir()
			src := filepath.Join(dir, "r.te")
			os.WriteFile(src, []byte("A = placeholder((64,), float32)\nk = reduce_axis(0, 64)\nM = compute((1,), (i) => "+op+"(A[k], axis=k))\nE = compute((64,), (i) => "+op+"(A[i], A[63 - i]))\nkernel r(A) -> (M, E)\n"+sched), 0o644)
			for name, v := range inputs {
				in := filepath.Join(dir, name)
				os.MkdirAll(in, 0o755)
				b := te.NewBuffer(te.Float32, []int{64})
				copy(b.Floats, v)
				if err := tensorio.WriteNpy(filepath.Join(in, "A.npy"), b); err != nil {
					t.Fatal(err)
				}
				for _, target := range []string{"x86-64", "cortex-a53"} {
					out := filepath.Join(dir, name+target)
					status, stdout, stderr := tide(t, "run", src, "--target", target, "--inputs", in, "--outputs", out)
					if status != 0 || strings.Count(stdout, "PASS") != 2 {
						t.Errorf("%s, %s input, vectorized %v, %s: status %d\n%s%s", op, name, sched != "", target, status, stdout, stderr)
						continue
					}
					m, err := tensorio.ReadNpy(filepath.Join(out, "M.npy"))
					if err != nil {
						t.Fatal(err)
					}
					// the oracle: NaN anywhere gives NaN; max of -0s and one +0 is +0, min -0
					got := m.Floats[0]
					switch {
					case name != "zeros" && !math.IsNaN(got):
						t.Errorf("%s of %s on %s: %v, want NaN", op, name, target, got)
					case name == "zeros" && op == "max" && (got != 0 || math.Signbit(got)):
						t.Errorf("max of zeros on %s: %v, want +0", target, got)
					case name == "zeros" && op == "min" && !math.Signbit(got):
						t.Errorf("min of zeros on %s: %v, want -0", target, got)
					}
				}
			}
		}
	}
}

// With --fast-math, float min and max are a plain compare-select (one
// vmaxps on x86, where the exact form takes seven instructions): the IR
// keeps no NaN test, and on finite inputs every schedule still computes the
// evaluator's result, on both targets.
func TestMinMaxFastMathIsCompareSelect(t *testing.T) {
	requireTools(t)
	for _, op := range []string{"max", "min"} {
		dir := t.TempDir()
		src := filepath.Join(dir, "r.te")
		os.WriteFile(src, []byte("A = placeholder((64,), float32, range=(-4, 4))\nk = reduce_axis(0, 64)\nM = compute((1,), (i) => "+op+"(A[k], axis=k))\nE = compute((64,), (i) => "+op+"(A[i], A[63 - i]))\nkernel r(A) -> (M, E)\nschedule M {\n    ko, ki = split(k, factor=16)\n    reorder(i, ko, ki)\n    vectorize(ki)\n}\n"), 0o644)
		ll := filepath.Join(dir, "r.ll")
		if status, _, stderr := tide(t, "build", src, "--target", "x86-64", "--fast-math", "-o", ll); status != 0 {
			t.Fatalf("%s: build: %s", op, stderr)
		}
		text, err := os.ReadFile(ll)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(text), "fcmp uno") {
			t.Errorf("%s under --fast-math still tests for NaN:\n%s", op, text)
		}
		for _, target := range []string{"x86-64", "cortex-a53"} {
			status, stdout, stderr := tide(t, "run", src, "--target", target, "--fast-math")
			if status != 0 || strings.Count(stdout, "PASS") != 2 {
				t.Errorf("%s on %s under --fast-math: status %d\n%s%s", op, target, status, stdout, stderr)
			}
		}
	}
}

// A parallel loop's body is a function whose buffer parameters are
// noalias (distinct buffers never overlap), so LLVM keeps a register tile
// that accumulates in an output buffer in registers: a matmul whose reduce
// loop is blocked outside its tiles (K-blocking, no cache_write) ran 5x
// slower when the body read its pointers from the OpenMP closure. The
// blocked schedule must also compute the evaluator's result on both
// targets and under AddressSanitizer.
func TestParallelBodyBuffersAreNoalias(t *testing.T) {
	requireTools(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "mm.te")
	os.WriteFile(src, []byte(`A = placeholder((24, 40), float32)
B = placeholder((40, 32), float32)
k = reduce_axis(0, 40)
C = compute((24, 32), (i, j) => sum(A[i, k] * B[k, j], axis=k))
kernel mm(A, B) -> C
schedule C {
    io, jo, ii, ji = tile(i, j, 4, 16)
    ib, io2 = split(io, factor=2)
    ko, ki = split(k, factor=16)
    reorder(ib, ko, jo, io2, ki, ii, ji)
    vectorize(ji)
    unroll(ii)
    parallel(ib)
}
`), 0o644)
	ll := filepath.Join(dir, "mm.ll")
	if status, _, stderr := tide(t, "build", src, "--target", "x86-64", "-o", ll); status != 0 {
		t.Fatalf("build: %s", stderr)
	}
	text, err := os.ReadFile(ll)
	if err != nil {
		t.Fatal(err)
	}
	var body string
	for _, line := range strings.Split(string(text), "\n") {
		if strings.HasPrefix(line, "define") && strings.Contains(line, ".parallel") && strings.Contains(line, ".body(") {
			body = line
		}
	}
	if body == "" || strings.Count(body, "noalias") != 3 {
		t.Errorf("the parallel loop's body should take A, B and C as noalias parameters; its definition: %q", body)
	}
	for _, args := range [][]string{{"--target", "x86-64"}, {"--target", "cortex-a53"}, {"--target", "host", "--sanitize"}} {
		status, stdout, stderr := tide(t, append([]string{"run", src}, args...)...)
		if status != 0 || !strings.Contains(stdout, "PASS") {
			t.Errorf("%v: status %d\n%s%s", args, status, stdout, stderr)
		}
	}
}

// On AVX2 a popcount of a broadcast byte combined with 32 bytes is two
// lookups in nibble tables chosen by the broadcast byte (llvmgen
// popcount.go). Every pair of bytes, for xor, and, or (either operand
// order), against the evaluator on x86-64 (where the tables are used),
// cortex-a53 and this machine under AddressSanitizer.
func TestBytePopcountNibbleTables(t *testing.T) {
	requireTools(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "pc.te")
	sched := ""
	for _, name := range []string{"X", "N", "R"} {
		sched += "schedule " + name + " {\n    jo, ji = split(j, factor=32)\n    vectorize(ji)\n}\n"
	}
	os.WriteFile(src, []byte(`A = placeholder((256,), uint8)
W = placeholder((256,), uint8)
X = compute((256, 256), (i, j) => popcount(A[i] ^ W[j]))
N = compute((256, 256), (i, j) => popcount(W[j] & A[i]))
R = compute((256, 256), (i, j) => popcount(A[i] | W[j]))
kernel pc(A, W) -> (X, N, R)
`+sched), 0o644)
	in := filepath.Join(dir, "in")
	os.MkdirAll(in, 0o755)
	for i, name := range []string{"A", "W"} {
		b := te.NewBuffer(te.UInt8, []int{256})
		for v := range 256 {
			b.Ints[v] = int64((v * (2*i + 1)) % 256) // every byte, in two orders
		}
		if err := tensorio.WriteNpy(filepath.Join(in, name+".npy"), b); err != nil {
			t.Fatal(err)
		}
	}
	// Skylake's AVX-512 (64 lanes: the schedules split by 64 there) takes
	// the tables too; a CPU with BITALG keeps vpopcntb
	skylake := "llvm -mtriple=x86_64-pc-linux-gnu -mcpu=skylake-avx512"
	sched64 := strings.ReplaceAll(sched, "factor=32", "factor=64")
	src64 := filepath.Join(dir, "pc64.te")
	text, _ := os.ReadFile(src)
	os.WriteFile(src64, []byte(strings.Replace(string(text), sched, sched64, 1)), 0o644)
	for _, c := range []struct {
		src, target, table string
		want               bool
	}{
		{src, "x86-64", "@tide.popcount.nibbles.xor.32", true},
		{src64, skylake, "@tide.popcount.nibbles.xor.64", true},
		{src64, "llvm -mtriple=x86_64-pc-linux-gnu -mcpu=icelake-server", "@tide.popcount.nibbles.", false},
		{src, "cortex-a53", "@tide.popcount.nibbles.", false},
	} {
		ll := filepath.Join(dir, "pc.ll")
		if status, _, stderr := tide(t, "build", c.src, "--target", c.target, "-o", ll); status != 0 {
			t.Fatalf("build for %s: %s", c.target, stderr)
		}
		if text, _ := os.ReadFile(ll); strings.Contains(string(text), c.table) != c.want {
			t.Errorf("%s: nibble tables %s used: %v, want %v", c.target, c.table, !c.want, c.want)
		}
	}
	runs := [][]string{{src, "--target", "x86-64"}, {src, "--target", "cortex-a53"}, {src, "--target", "host", "--sanitize"}}
	if host, err := driver.ParseTarget("host"); err == nil && strings.Contains(host.Features, "+avx512bw") {
		runs = append(runs, []string{src64, "--target", skylake})
	} else {
		t.Logf("this CPU has no AVX-512 BW: the 64-lane tables are built, not run")
	}
	for _, args := range runs {
		status, stdout, stderr := tide(t, append([]string{"run", "--inputs", in}, args...)...)
		if status != 0 || strings.Count(stdout, "PASS") != 3 {
			t.Errorf("%v: status %d\n%s%s", args, status, stdout, stderr)
		}
	}
}

// The 64-lane nibble tables take vpshufb on zmm registers, which is
// AVX-512 BW's: a target with AVX-512 F alone (-mattr=+avx512f, or
// Knights Landing with it) has 512-bit vectors but no such instruction,
// and LLVM failed to select llvm.x86.avx512.pshuf.b.512 ("Cannot select:
// X86ISD::PSHUFB"). Such a target keeps LLVM's own ctpop; a target that
// names BW gets the tables.
func TestBytePopcountNibbleTablesNeedAVX512BW(t *testing.T) {
	requireTools(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "pc.te")
	os.WriteFile(src, []byte(`A = placeholder((64,), uint8)
W = placeholder((128,), uint8)
X = compute((64, 128), (i, j) => popcount(A[i] ^ W[j]))
kernel pc(A, W) -> X
schedule X {
    jo, ji = split(j, factor=64)
    vectorize(ji)
}
`), 0o644)
	for _, c := range []struct {
		target string
		want   bool
	}{
		{"llvm -mtriple=x86_64-pc-linux-gnu -mattr=+avx512f", false},
		{"llvm -mtriple=x86_64-pc-linux-gnu -mcpu=knl -mattr=+avx512f", false},
		{"llvm -mtriple=x86_64-pc-linux-gnu -mattr=+avx512f,+avx512bw", true},
	} {
		ll, obj := filepath.Join(dir, "pc.ll"), filepath.Join(dir, "pc.o")
		if status, _, stderr := tide(t, "build", src, "--target", c.target, "-o", ll, "--obj", obj); status != 0 {
			t.Errorf("%s: build: %s", c.target, stderr)
			continue
		}
		if text, _ := os.ReadFile(ll); strings.Contains(string(text), "pshuf.b.512") != c.want {
			t.Errorf("%s: 64-lane nibble tables used: %v, want %v", c.target, !c.want, c.want)
		}
	}
}

// Issue 12: identical notes were printed once per layer. Each distinct
// diagnostic is printed once, with a count.
func TestDiagnosticsPrintedOnce(t *testing.T) {
	// AVX-512 (16 float lanes): the dense layer of 1000 classes has a tail
	status, _, stderr := tide(t, "lower", "../../examples/networks/squeezenet_float.te", "-D", "IMAGE=32", "--target", "llvm -mtriple=x86_64-pc-linux-gnu -mcpu=skylake-avx512 -mattr=+avx512f")
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if seen[line] {
			t.Errorf("printed twice: %s", line)
		}
		seen[line] = true
	}
	if !strings.Contains(stderr, " times)") {
		t.Errorf("no repeated diagnostic counted (the dense layer's tail is noted twice):\n%s", stderr)
	}
}

// Issue 12: fused_glue added in int32 and wrapped near the limit (the
// formula gives 15, Tide gave 0). The sum is exact now, in the evaluator
// and in generated code on both targets.
func TestFusedGlueDoesNotWrap(t *testing.T) {
	requireTools(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "g.te")
	os.WriteFile(src, []byte("ACC = placeholder((1, 1, 2, 16), int32)\nCB = placeholder((16,), int32)\nSH = placeholder((16,), int32, range=(0, 31))\nQ = fused_glue(ACC, CB, SH, axis=3, bits=4)\nkernel g(ACC, CB, SH) -> Q\n"), 0o644)
	in := filepath.Join(dir, "in")
	os.MkdirAll(in, 0o755)
	acc, cb, sh := te.NewBuffer(te.Int32, []int{1, 1, 2, 16}), te.NewBuffer(te.Int32, []int{16}), te.NewBuffer(te.Int32, []int{16})
	want := make([]int64, 32)
	for i := range acc.Ints {
		c := i % 16
		cb.Ints[c], sh.Ints[c] = 100+int64(c), int64(c+16)
		acc.Ints[i] = math.MaxInt32 - 10 // + cb passes 2^31: the result clips high
		if i >= 16 {
			acc.Ints[i] = -(1 << 20) // small: the shifted sum is 0 or -1, clipped to 0
		}
		// the formula in (Go's 64-bit) integers
		want[i] = min(max((acc.Ints[i]+cb.Ints[c])>>sh.Ints[c], 0), 15)
	}
	for name, b := range map[string]*te.Buffer{"ACC": acc, "CB": cb, "SH": sh} {
		if err := tensorio.WriteNpy(filepath.Join(in, name+".npy"), b); err != nil {
			t.Fatal(err)
		}
	}
	for _, target := range []string{"x86-64", "cortex-a53"} {
		out := filepath.Join(dir, target)
		status, stdout, stderr := tide(t, "run", src, "--target", target, "--inputs", in, "--outputs", out)
		if status != 0 || !strings.Contains(stdout, "PASS") {
			t.Fatalf("%s: status %d: %s%s", target, status, stdout, stderr)
		}
		q, err := tensorio.ReadNpy(filepath.Join(out, "Q.npy"))
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range want {
			if q.Ints[i] != w {
				t.Errorf("%s: Q[%d] = %d, want %d (acc %d, cb %d, shift %d)", target, i, q.Ints[i], w, acc.Ints[i], cb.Ints[i%16], sh.Ints[i%16])
			}
		}
	}
}

// Issue 12: the C function's parameters followed the tensors' order, not
// the declaration's (`kernel scale(m, A)` gave scale(A, Y, m)). They
// follow the declaration: the inputs and symbolic dims as listed, then
// the outputs; the header, the IR and the harness agree, on both targets.
func TestSignatureFollowsTheDeclaration(t *testing.T) {
	requireTools(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "scale.te")
	os.WriteFile(src, []byte("m = var(default=5)\nA = placeholder((m, 8), float32)\nB = placeholder((8,), float32)\nY = compute((m, 8), (i, j) => A[i, j] * B[j])\nkernel scale(m, A, B) -> Y\n"), 0o644)
	h, ll := filepath.Join(dir, "scale.h"), filepath.Join(dir, "scale.ll")
	if status, _, stderr := tide(t, "build", src, "--target", "x86-64", "-o", ll, "--header", h); status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	header, _ := os.ReadFile(h)
	if !strings.Contains(string(header), "void scale(int64_t m, const float *A, const float *B, float *Y);") {
		t.Errorf("header:\n%s", header)
	}
	ir, _ := os.ReadFile(ll)
	if !regexp.MustCompile(`define void @scale\(i64 %m, float\* noalias [^,]*%A, float\* noalias [^,]*%B, float\* noalias [^)]*%Y\)`).Match(ir) {
		t.Errorf("IR signature:\n%s", regexp.MustCompile(`define void @scale\([^)]*\)`).Find(ir))
	}
	for _, target := range []string{"x86-64", "cortex-a53"} {
		if status, stdout, stderr := tide(t, "run", src, "--target", target, "--set", "m=3"); status != 0 || !strings.Contains(stdout, "PASS") {
			t.Errorf("%s: status %d: %s%s", target, status, stdout, stderr)
		}
	}
}

// Issue 12: a vectorized loop that runs scalar on every iteration (its
// split's outer loop fused, so no partition can split the guard off) was
// a note about a tail. It is a warning; a real tail stays a note.
func TestScalarEveryIterationIsAWarning(t *testing.T) {
	dir := t.TempDir()
	write := func(name, sched string) string {
		path := filepath.Join(dir, name+".te")
		os.WriteFile(path, []byte("n = var(default=10)\nA = placeholder((n, 12), float32)\nB = compute((12, n), (j, i) => A[i, j] * 2.0)\nkernel "+name+"(A, n) -> B\nschedule B {\n"+sched+"}\n"), 0o644)
		return path
	}
	// the split's outer loop fused with j: every iteration keeps the guard
	_, _, stderr := tide(t, "lower", write("fused", "    io, ii = split(i, factor=8)\n    f = fuse(j, io)\n    parallel(f)\n    vectorize(ii)\n"))
	if !strings.Contains(stderr, "warning: vectorize(ii): runs as a scalar loop: on every iteration") {
		t.Errorf("fused: %s", stderr)
	}
	// not fused: the partition splits the tail off; only the tail is scalar
	_, _, stderr = tide(t, "lower", write("tail", "    io, ii = split(i, factor=8)\n    parallel(j)\n    vectorize(ii)\n"))
	if !strings.Contains(stderr, "note: vectorize(ii): runs as a scalar loop: this is the tail") || strings.Contains(stderr, "on every iteration") {
		t.Errorf("tail: %s", stderr)
	}
}

// Issue 12: the loop-IR printer reused loop names inside compute_at
// bodies (X[i * 12 + i * 12 + j + j], two different i's). A loop whose
// name an outer, different loop has is printed as name.2.
func TestPrintedLoopNamesAreUnique(t *testing.T) {
	src := filepath.Join(t.TempDir(), "names.te")
	os.WriteFile(src, []byte("A = placeholder((12, 12), float32)\nX = compute((12, 12), (i, j) => A[i, j] * 2.0)\nY = compute((12, 12), (i, j) => X[i, j] + X[11 - i, j])\nkernel names(A) -> Y\nschedule X {\n    compute_at(Y, j)\n}\n"), 0o644)
	status, stdout, stderr := tide(t, "lower", src)
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	for _, want := range []string{"for (i, 0, 12) {", "for (i.2, 0, 12) {", "X[i.2] = A[i.2 * 12 + j] * 2.0", "Y[i * 12 + j] = X[i] + X[11 - i]"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("no %q in:\n%s", want, stdout)
		}
	}
	// printing renames nothing: the same program lowers and prints alike twice
	if status, again, _ := tide(t, "lower", src); status != 0 || again != stdout {
		t.Errorf("a second lowering prints differently:\n%s", again)
	}
}

// Issue 13: `tide lower --help` lists every pass with what it does.
func TestLowerHelpListsPasses(t *testing.T) {
	status, stdout, _ := tide(t, "lower", "--help")
	if status != 0 {
		t.Fatalf("status %d", status)
	}
	for _, p := range lower.Passes {
		if !strings.Contains(stdout, p.Name) || !strings.Contains(stdout, p.Doc) {
			t.Errorf("no %s: %s in\n%s", p.Name, p.Doc, stdout)
		}
	}
}

// Issue 13: a 0-d input from numpy's np.save of a scalar and a 0-d output,
// through tide run's harness on both targets and back to .npy, with the
// C signature taking a pointer to the one element.
func TestRunZeroDimensional(t *testing.T) {
	requireTools(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.MkdirAll(in, 0o755)
	// np.save("gain.npy", np.float32(2)), byte for byte as numpy 1.24 writes it
	header := "{'descr': '<f4', 'fortran_order': False, 'shape': (), }"
	header += strings.Repeat(" ", 128-10-len(header)-1) + "\n"
	os.WriteFile(filepath.Join(in, "gain.npy"), []byte("\x93NUMPY\x01\x00v\x00"+header+"\x00\x00\x00@"), 0o644)
	a := te.NewBuffer(te.Float32, []int{64, 100})
	ss := 0.0
	for i := range a.Floats {
		a.Floats[i] = float64(i%7 - 3) // small integers: every sum is exact
		ss += a.Floats[i] * a.Floats[i]
	}
	if err := tensorio.WriteNpy(filepath.Join(in, "A.npy"), a); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"x86-64", "cortex-a53"} {
		out := filepath.Join(dir, target)
		status, stdout, stderr := tide(t, "run", "../../examples/normalize.te", "--target", target, "--inputs", in, "--outputs", out)
		if status != 0 || !strings.Contains(stdout, "PASS ss on "+target) || !strings.Contains(stdout, "PASS B on "+target) {
			t.Fatalf("run on %s: status %d\n%s%s", target, status, stdout, stderr)
		}
		got, err := tensorio.ReadNpy(filepath.Join(out, "ss.npy"))
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Shape) != 0 || got.Floats[0] != ss {
			t.Errorf("%s: ss.npy holds %v%v, want shape [] and %v", target, got.Shape, got.Floats, ss)
		}
		b, err := tensorio.ReadNpy(filepath.Join(out, "B.npy"))
		if err != nil {
			t.Fatal(err)
		}
		if want := a.Floats[1] * 2 / math.Sqrt(ss); math.Abs(b.Floats[1]-want) > 1e-6 {
			t.Errorf("%s: B[0, 1] = %v, want %v", target, b.Floats[1], want)
		}
	}
	h := filepath.Join(dir, "k.h")
	if status, _, stderr := tide(t, "build", "../../examples/normalize.te", "--target", "x86-64", "-o", filepath.Join(dir, "k.ll"), "--header", h); status != 0 {
		t.Fatalf("build: %s", stderr)
	}
	header2, _ := os.ReadFile(h)
	if !strings.Contains(string(header2), "void normalize(const float *A, const float *gain, float *B, float *ss);") ||
		!strings.Contains(string(header2), "input  gain: float32(), row-major") {
		t.Errorf("header:\n%s", header2)
	}
}
