package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tide-compiler/tide/driver"
	"github.com/tide-compiler/tide/dsl"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/tensorio"
)

// Networks run end to end as generated code on both targets and equal the
// reference evaluator (integer outputs exactly), fused and unfused, and
// under AddressSanitizer.
func TestNetworkRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs whole networks")
	}
	requireTools(t)
	cases := []struct {
		file     string
		args     []string
		variants []string // --without values to run too
		noASan   bool     // its code paths are the other cases': cortex-a53 only
	}{
		// (the ablation's variants of the tiny network: TestNetworkAblation,
		// where bench checks each against the full build checked here)
		{"../../examples/networks/binary_tiny.te", nil, []string{"fusion"}, false},
		// (unfused networks: the tiny one and SqueezeNet, whose
		// concatenations matter there; ResNet-18 without fused glue)
		{"../../examples/networks/resnet18.te", []string{"-D", "IMAGE=32"}, []string{"fused-glue"}, false},
		// each network in 1 and 2 bits and in both polarities (not every
		// pairing: each run builds and runs a whole network twice)
		// (2 bits and unipolar layers on x86-64: SqueezeNet's below;
		// ResNet-18's residuals: the case above)
		{"../../examples/networks/resnet18.te", []string{"-D", "IMAGE=32", "-D", "BITS=2", "-D", "POLARITY=unipolar"}, nil, true},
		{"../../examples/networks/resnet18.te", []string{"-D", "IMAGE=32", "-D", "WORD=32"}, nil, false}, // 32-bit packing words
		{"../../examples/networks/squeezenet.te", []string{"-D", "IMAGE=32", "-D", "POLARITY=unipolar"}, []string{"fusion"}, false},
		{"../../examples/networks/squeezenet.te", []string{"-D", "IMAGE=32", "-D", "BITS=2"}, nil, false},
		{"../../examples/networks/squeezenet_float.te", []string{"-D", "IMAGE=32"}, nil, false},
	}
	// one subtest per network and target, named for a rerun with -run
	runCase := func(name string, args ...string) {
		t.Run(name, func(t *testing.T) {
			status, stdout, stderr := tide(t, args...)
			if status != 0 || !strings.Contains(stdout, "PASS") || strings.Contains(stdout, "FAIL") {
				t.Errorf("%s: status %d\n%s%s", strings.Join(args, " "), status, stdout, stderr)
			}
		})
	}
	for _, c := range cases {
		name := strings.TrimSuffix(filepath.Base(c.file), ".te")
		if len(c.args) > 0 {
			name += "," + strings.ReplaceAll(strings.Join(c.args, ""), "-D", ",")[1:]
		}
		for _, target := range []string{"x86-64", "cortex-a53"} {
			for _, without := range append([]string{""}, c.variants...) {
				if without != "" && target == "cortex-a53" {
					continue // the unfused code is the same on both targets
				}
				if without == "" && target == "x86-64" {
					// the sanitized run below checks the same build's
					// output (and its memory accesses): a plain one
					// would only add a whole network's compile
					continue
				}
				args := append([]string{"run", c.file, "--target", target}, c.args...)
				sub := name + "/" + target
				if without != "" {
					args = append(args, "--without", without)
					sub += "/without=" + without
				}
				runCase(sub, args...)
			}
		}
		if !c.noASan {
			runCase(name+"/x86-64+asan", append([]string{"run", c.file, "--target", "x86-64", "--sanitize"}, c.args...)...)
		}
	}
	// the float ResNet-18 holds 47 MB of weights: one target is enough to
	// check its semantics here, and with the weights passed at run time
	// clang compiles no 47 MB of constants (13 s against 4; the constants'
	// path is the other networks')
	runCase("resnet18_float,IMAGE=32/x86-64", "run", "../../examples/networks/resnet18_float.te", "--target", "x86-64", "-D", "IMAGE=32", "--runtime-weights")
	// host follows the machine: on AVX-512 its float convolutions take
	// blocks of two packed vectors (SqueezeNet's, 32 channels and more)
	// or one (the tiny network's 16 channels; topi.floatBlock), which the
	// presets never build
	runCase("squeezenet_float,IMAGE=32/host+asan", "run", "../../examples/networks/squeezenet_float.te", "--target", "host", "-D", "IMAGE=32", "--sanitize")
	runCase("binary_tiny/host+asan", "run", "../../examples/networks/binary_tiny.te", "--target", "host", "--sanitize")
	// SqueezeNet with 32-bit words (its default where the target has
	// vpopcntd): fires whose 32 channels are one word, concatenated in
	// place as words
	runCase("squeezenet,IMAGE=32,WORD=32/x86-64+asan", "run", "../../examples/networks/squeezenet.te", "--target", "x86-64", "-D", "IMAGE=32", "-D", "WORD=32", "--sanitize")
}

// requireTools skips (or, with TIDE_REQUIRE_TOOLS, fails) without clang,
// gcc and qemu.
func requireTools(t *testing.T) {
	t.Helper()
	for _, tool := range []driver.Tool{driver.Clang, driver.GCC, driver.CrossGCC, driver.QEMU} {
		if _, err := tool.Path(); err != nil {
			if os.Getenv("TIDE_REQUIRE_TOOLS") != "" {
				t.Fatal(err)
			}
			t.Skip(err)
		}
	}
}

// The plan is visible: groups with what each fuses, and the workspace
// against the sum of the intermediates.
func TestNetworkStats(t *testing.T) {
	status, stdout, stderr := tide(t, "lower", "../../examples/networks/binary_tiny.te", "--target", "x86-64", "--stats")
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	for _, want := range []string{
		"network tiny: 4 groups",
		// the float conv with batch norm and quantization
		"group 0 Q0: pad(F0_pad) + conv2d_nhwc(F0) + batch_norm(N0) + quantize(Q0)",
		// bitpack fusion: conv, glue and packing in one group (the glue's
		// thresholds fold the XNOR correction in: it compares A1_acc)
		"group 2 P1: pad(A1_pad) + bitserial_conv2d_nhwc(A1_acc) + fused_glue(Q1) + bitpack(P1)",
		// the residual: the shortcut's cast inlined into the add, the add into the glue
		"group 3 Y: pad(A2_pad) + bitserial_conv2d_nhwc(A2_acc) + bitserial_xnor(A2) + compute(S) + add(R) + fused_glue(Y)",
		"workspace: 2240 bytes for 5 intermediates of 2680 bytes together",
		// computed at build time: the packed weights, batch norm's scale and
		// shift, the float kernel's blocks, zero padding's border
		// corrections (from the weight sums), and the glues' thresholds
		// (from their constants, which come from the layer's weight scale
		// and batch norm; Q1's with the XNOR correction and its border
		// folded in, one per border class)
		"(8 computed at build time)",
		"constant A2_border:",
		"constant Q1_threshold_acc: int32(1, 3, 3, 16)",
		"constant Y_threshold:",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("lower --stats lacks %q:\n%s", want, stdout)
		}
	}
	// the weights bitpack reads are not in the module: only their packing
	if strings.Contains(stdout, "constant W1:") || !strings.Contains(stdout, "constant W1p:") {
		t.Errorf("constants:\n%s", stdout)
	}
}

// A network's module: the entry function takes the input, the output and
// the workspace; the header declares its size function.
func TestNetworkBuild(t *testing.T) {
	dir := t.TempDir()
	ll, h := filepath.Join(dir, "tiny.ll"), filepath.Join(dir, "tiny.h")
	status, _, stderr := tide(t, "build", "../../examples/networks/binary_tiny.te", "--target", "x86-64", "-o", ll, "--header", h)
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	header, _ := os.ReadFile(h)
	for _, want := range []string{"int64_t tiny_workspace_size(void);", "void tiny(const float *X, uint8_t *Y, void *workspace);"} {
		if !strings.Contains(string(header), want) {
			t.Errorf("header lacks %q:\n%s", want, header)
		}
	}
	ir, _ := os.ReadFile(ll)
	for _, want := range []string{"define internal void @tiny.P1(", "define i64 @tiny_workspace_size()", "@tiny.W1p = private unnamed_addr constant"} {
		if !strings.Contains(string(ir), want) {
			t.Errorf("module lacks %q", want)
		}
	}
}

// A weights file that lacks an array, has one of the wrong shape or dtype,
// or an extra one is refused with every problem named, and nothing is built.
func TestNetworkBadWeights(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.npz")
	if status, _, stderr := tide(t, "weights", "../../examples/networks/binary_tiny.te", "-o", good); status != 0 {
		t.Fatalf("weights: %s", stderr)
	}
	prog, err := dsl.Parse("../../examples/networks/binary_tiny.te", mustRead(t, "../../examples/networks/binary_tiny.te"))
	if err != nil {
		t.Fatal(err)
	}
	specs := weightSpecs(prog)
	values := tensorio.RandomWeights(specs, 1)
	var badSpecs []tensorio.WeightSpec
	var badValues []*te.Buffer
	for i, s := range specs {
		switch s.Name {
		case "CB1": // missing
			continue
		case "W1": // wrong shape
			s.Shape = []int{3, 3, 16, 8}
			values[i] = te.NewBuffer(s.DType, s.Shape)
		case "SH1": // wrong dtype
			s.DType = te.Int16
			values[i] = te.NewBuffer(s.DType, s.Shape)
		}
		badSpecs = append(badSpecs, s)
		badValues = append(badValues, values[i])
	}
	badSpecs = append(badSpecs, tensorio.WeightSpec{Name: "W9", DType: te.UInt8, Shape: []int{2}})
	badValues = append(badValues, te.NewBuffer(te.UInt8, []int{2}))
	bad := filepath.Join(dir, "bad.npz")
	if err := tensorio.SaveWeights(bad, badSpecs, badValues); err != nil {
		t.Fatal(err)
	}
	ll := filepath.Join(dir, "tiny.ll")
	status, _, stderr := tide(t, "build", "../../examples/networks/binary_tiny.te", "--target", "x86-64", "--weights", bad, "-o", ll)
	if status == 0 {
		t.Fatal("build accepted a bad weights file")
	}
	for _, want := range []string{
		"no array CB1 for fused_glue Q1; want int32 (16,)",
		"W1 for bitpack W1p has shape (3, 3, 16, 8), want (3, 3, 16, 16)",
		"SH1 for fused_glue Q1 is int16, want int32",
		"extra array W9",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("error lacks %q:\n%s", want, stderr)
		}
	}
	if _, err := os.Stat(ll); err == nil {
		t.Error("a .ll was written from a bad weights file")
	}
	if status, stdout, stderr := tide(t, "lower", "../../examples/networks/binary_tiny.te", "--weights", good, "--verify"); status != 0 || !strings.Contains(stdout, "PASS") {
		t.Errorf("the weights file tide weights wrote: status %d\n%s%s", status, stdout, stderr)
	}
}

// Glue constants computed at build time from a layer's parameters: a
// weight scale that gives no fused glue is refused, naming the channel.
func TestNetworkGlueFromBatchNorm(t *testing.T) {
	// a copy of the network whose weight scales may be anything
	dir := t.TempDir()
	src := strings.Replace(string(mustRead(t, "../../examples/networks/binary_tiny.te")), "AL2 = placeholder((C,), float32, range=(0.1, 0.3))", "AL2 = placeholder((C,), float32)", 1)
	file := filepath.Join(dir, "tiny.te")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	prog, err := dsl.Parse(file, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	specs := weightSpecs(prog)
	values := tensorio.RandomWeights(specs, 1)
	for i, s := range specs {
		if s.Name == "AL2" {
			for c := range values[i].Floats {
				values[i].Floats[c] = 0.25
			}
			values[i].Floats[5] = 1 // wb = 0: nothing to shift by
		}
	}
	w := filepath.Join(dir, "w.npz")
	if err := tensorio.SaveWeights(w, specs, values); err != nil {
		t.Fatal(err)
	}
	status, _, stderr := tide(t, "lower", file, "--weights", w)
	if status == 0 || !strings.Contains(stderr, "Y_shift, channel 5: its weight scale and batch norm give no fused glue") {
		t.Errorf("status %d, stderr:\n%s", status, stderr)
	}
	values[slices.IndexFunc(specs, func(s tensorio.WeightSpec) bool { return s.Name == "AL2" })].Floats[5] = 0.25
	if err := tensorio.SaveWeights(w, specs, values); err != nil {
		t.Fatal(err)
	}
	if status, stdout, stderr := tide(t, "lower", file, "--weights", w, "--verify"); status != 0 || !strings.Contains(stdout, "PASS") {
		t.Errorf("valid scales: status %d\n%s%s", status, stdout, stderr)
	}
}

// Layers whose shapes do not chain: a positioned error naming both.
func TestNetworkShapesMustChain(t *testing.T) {
	src := strings.Replace(string(mustRead(t, "../../examples/networks/binary_tiny.te")),
		"W2 = placeholder((3, 3, C, C), uint8", "W2 = placeholder((3, 3, 2 * C, C), uint8", 1)
	path := filepath.Join(t.TempDir(), "chain.te")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	status, _, stderr := tide(t, "check", path)
	want := "bitserial_conv2d A2: its data P1 has 2 channel words but its kernel W2p has 4"
	if status == 0 || !strings.Contains(stderr, want) || !strings.Contains(stderr, "chain.te:32:6:") {
		t.Errorf("status %d, want an error at 32:6 with %q:\n%s", status, want, stderr)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bench --profile times every group of a network and sums the shares.
func TestNetworkProfile(t *testing.T) {
	requireTools(t)
	pngFile := filepath.Join(t.TempDir(), "profile.png")
	status, stdout, stderr := tide(t, "bench", "../../examples/networks/binary_tiny.te", "--target", "x86-64", "--repeat", "2", "--profile", "--plot", pngFile)
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	f, err := os.Open(pngFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if img, err := png.Decode(f); err != nil || img.Bounds().Dx() < 100 || img.Bounds().Dy() < 100 {
		t.Errorf("the profile chart is not a PNG of some size: %v", err)
	}
	for _, want := range []string{"  0 Q0 ", "  3 Y ", "convolution groups", "glue groups"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("profile lacks %q:\n%s", want, stdout)
		}
	}
}

// A fire module's concatenation is made in place: each expand's group
// stores into its slice, no group copies; unfused, it is a group of its own.
// (x86-64: byte words, whatever this machine's are.)
func TestNetworkConcatInPlace(t *testing.T) {
	status, stdout, stderr := tide(t, "lower", "../../examples/networks/squeezenet.te", "-D", "IMAGE=32", "--stats", "--target", "x86-64")
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	if !strings.Contains(stdout, "concatenate f1_y in place: f1_p1_P at 0, f1_p3_P at 8 along axis 4") ||
		!strings.Contains(stdout, "concatenate f3_y in place: f3_q1_Q at 0, f3_q3_Q at 128 along axis 3") {
		t.Errorf("no in-place concatenation:\n%s", stdout)
	}
	if strings.Contains(stdout, "group f1_y {") || strings.Contains(stdout, "concatenate(f1_y)") {
		t.Errorf("a group computes the concatenation:\n%s", stdout)
	}
	// the parts' stores go to the concatenation's buffer
	if !strings.Contains(stdout, "f1_y[") || strings.Contains(stdout, "f1_p1_P[") {
		t.Errorf("the expand groups do not store into f1_y")
	}
	status, stdout, _ = tide(t, "lower", "../../examples/networks/squeezenet.te", "-D", "IMAGE=32", "--stats", "--target", "x86-64", "--without", "fusion")
	if status != 0 || !strings.Contains(stdout, "concatenate(f1_y)") {
		t.Errorf("unfused, the concatenation is not its own group:\n%s", stdout)
	}
}

// The object tide build writes is one relocatable object (its groups were
// compiled in parallel, then joined) that a C program calls as the header
// says: it asks the workspace's size, allocates it once and runs the
// network twice with the same result.
func TestNetworkObjectLinksFromC(t *testing.T) {
	requireTools(t)
	dir := t.TempDir()
	obj, h := filepath.Join(dir, "tiny.o"), filepath.Join(dir, "tiny.h")
	status, _, stderr := tide(t, "build", "../../examples/networks/binary_tiny.te", "--target", "x86-64", "-o", filepath.Join(dir, "tiny.ll"), "--header", h, "--obj", obj)
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	main := `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tiny.h"
int main(void) {
    static float x[1 * 8 * 8 * 3];
    static uint8_t y1[1 * 8 * 8 * 16], y2[1 * 8 * 8 * 16];
    for (int i = 0; i < 192; i++) x[i] = (float)((i * 37) % 100) / 100.0f;
    long size = (long)tiny_workspace_size();
    void *ws = aligned_alloc(64, (size + 63) / 64 * 64);
    tiny(x, y1, ws);
    tiny(x, y2, ws);
    int ones = 0;
    for (int i = 0; i < 1024; i++) ones += y1[i];
    printf("%ld %d %d\n", size, memcmp(y1, y2, sizeof y1) == 0, ones);
    return 0;
}
`
	src := filepath.Join(dir, "main.c")
	if err := os.WriteFile(src, []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "main")
	out, err := exec.Command("gcc", "-O2", "-I", dir, "-o", exe, src, obj, "-fopenmp").CombinedOutput()
	if err != nil {
		t.Fatalf("linking the network's object from C: %v\n%s", err, out)
	}
	out, err = exec.Command(exe).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var size, same, ones int
	if _, err := fmt.Sscanf(string(out), "%d %d %d", &size, &same, &ones); err != nil || size != 2240 || same != 1 || ones == 0 || ones == 1024 {
		t.Errorf("the C caller printed %q; want the 2240-byte workspace, the same output twice, and codes of both values", out)
	}
}

// Nothing is allocated per inference: a network's module never calls the
// allocator (intermediates are in the workspace, register blocks on the
// stack), even at full size.
func TestNetworkAllocatesNothing(t *testing.T) {
	for _, net := range []string{"resnet18", "squeezenet"} {
		ll := filepath.Join(t.TempDir(), net+".ll")
		status, _, stderr := tide(t, "build", "../../examples/networks/"+net+".te", "--target", "x86-64", "-o", ll)
		if status != 0 {
			t.Fatalf("%s: status %d: %s", net, status, stderr)
		}
		ir, _ := os.ReadFile(ll)
		for _, alloc := range []string{"@aligned_alloc", "@malloc", "@free"} {
			if strings.Contains(string(ir), alloc) {
				t.Errorf("%s's module calls %s", net, alloc)
			}
		}
	}
}

// check prints a network's signature without its weights, and their size.
func TestNetworkCheck(t *testing.T) {
	status, stdout, stderr := tide(t, "check", "../../examples/networks/resnet18.te", "-D", "IMAGE=32")
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	for _, want := range []string{"network resnet18(X: float32(1, 32, 32, 3)) -> Y: float32(1, 1000)", "weights: 58 placeholders, 11742880 bytes"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("check lacks %q:\n%s", want, stdout[:min(len(stdout), 600)])
		}
	}
}

// On cortex-a53 bench estimates a whole network: each group's innermost
// loops, their iterations counted under qemu; the counting run computes
// what the network computes.
func TestNetworkEstimateCortexA53(t *testing.T) {
	requireTools(t)
	status, stdout, stderr := tide(t, "bench", "../../examples/networks/binary_tiny.te", "--target", "cortex-a53")
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	for _, want := range []string{"an ESTIMATE, not a measurement", "  0 Q0 ", "  3 Y ", "cycles in all", "popcount bits (binary MACs) per cycle"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the estimate lacks %q:\n%s", want, stdout)
		}
	}
	var total float64
	if i := strings.Index(stdout, "estimated: "); i < 0 {
		t.Fatal("no total")
	} else if _, err := fmt.Sscanf(stdout[i:], "estimated: %g cycles", &total); err != nil || total < 1000 {
		t.Errorf("total %g cycles (%v):\n%s", total, err, stdout)
	}
	for _, line := range strings.Split(stdout, "\n") {
		if strings.Contains(line, " cycles ") && strings.Contains(line, "%") && strings.Fields(line)[2] == "0" {
			t.Errorf("a group with no cycles: %s", line)
		}
	}
}

// Regressions found by review: a tensor two concatenations read is placed
// in one of them only (the other copies it), and stages a file's own
// schedule block makes (cache_write, rfactor) run in their reader's group.
func TestNetworkReviewRegressions(t *testing.T) {
	requireTools(t)
	cases := map[string]string{
		"two_concats": `H = 4
C = 8
X = placeholder((1, H, H, C), float32, range=(-1, 1))
W1 = placeholder((3, 3, C, C), float32, range=(-1, 1))
W2 = placeholder((3, 3, C, C), float32, range=(-1, 1))
W3 = placeholder((3, 3, C, C), float32, range=(-1, 1))
A = conv2d(X, W1, layout=NHWC, stride=1, padding=1)
B = conv2d(X, W2, layout=NHWC, stride=1, padding=1)
D = conv2d(X, W3, layout=NHWC, stride=1, padding=1)
C1 = concatenate(A, B, axis=3)
C2 = concatenate(A, D, axis=3)
Y1 = relu(C1)
Y2 = relu(C2)
network c2(X) -> (Y1, Y2)
`,
		"cache_write": `C = 16
X = placeholder((4, C), float32, range=(-1, 1))
W = placeholder((C, C), float32, range=(-1, 1))
D = dense(X, W)
R = relu(D)
network u1(X) -> R
schedule D {
    DL = cache_write(D, local)
}
`,
		"rfactor": `C = 16
X = placeholder((4, C), float32, range=(-1, 1))
W = placeholder((C, C), float32, range=(-1, 1))
D = dense(X, W)
R = relu(D)
network u2(X) -> R
schedule D {
    ko, ki = split(k, factor=4)
    DF = rfactor(D, ki)
}
`,
	}
	dir := t.TempDir()
	for name, src := range cases {
		file := filepath.Join(dir, name+".te")
		if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, target := range []string{"x86-64", "cortex-a53"} {
			status, stdout, stderr := tide(t, "run", file, "--target", target)
			if status != 0 || strings.Contains(stdout, "FAIL") {
				t.Errorf("%s on %s: status %d\n%s%s", name, target, status, stdout, stderr)
			}
		}
	}
}

// --ablation times every variant (each also checked by TestNetworkRuns):
// each optimization removed, and the ladder from an unoptimized build.
func TestNetworkAblation(t *testing.T) {
	requireTools(t)
	svg := filepath.Join(t.TempDir(), "ablation.svg")
	status, stdout, stderr := tide(t, "bench", "../../examples/networks/binary_tiny.te", "--target", "x86-64", "--ablation", "--repeat", "2", "--plot", svg)
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	// the chart is well-formed SVG with a bar per variant and their labels
	data, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	root := ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the chart is not valid XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" || !strings.Contains(string(data), "without fast-popcount") {
		t.Errorf("the chart's root is %q, or it lacks the labels", root)
	}
	for _, want := range []string{"all optimizations", "without fused-glue", "without tiling", "without vectorize", "without parallel", "without fast-popcount", "without bitpack-fusion",
		"unoptimized", "+ tiling", "+ vectorize", "+ parallel", "+ fast-popcount", "+ bitpack-fusion"} {
		if !strings.Contains(stdout, "  "+want+" ") {
			t.Errorf("the ablation lacks %q:\n%s", want, stdout)
		}
	}
}

// The ablation's check: every variant's outputs equal the full build's,
// integers exactly, floats within a network's summation-order tolerance.
func TestSameBuildOutputs(t *testing.T) {
	ints := func(v ...int64) *te.Buffer { return &te.Buffer{DType: te.Int32, Shape: []int{len(v)}, Ints: v} }
	floats := func(v ...float64) *te.Buffer { return &te.Buffer{DType: te.Float32, Shape: []int{len(v)}, Floats: v} }
	for _, c := range []struct {
		got, want *te.Buffer
		ok        bool
	}{
		{ints(1, 2, 3), ints(1, 2, 3), true},
		{ints(1, 2, 3), ints(1, 2, 4), false},
		{floats(1, 0.5), floats(1.001, 0.5), true},
		{floats(1, 0.5), floats(1.01, 0.5), false},
	} {
		err := sameBuildOutputs([]*te.Buffer{c.got}, []*te.Buffer{c.want})
		if (err == nil) != c.ok {
			t.Errorf("%v against %v: %v", c.got, c.want, err)
		}
	}
	if err := sameBuildOutputs(nil, []*te.Buffer{ints(1)}); err == nil {
		t.Error("no outputs against one: no error")
	}
}

// On cortex-a53 (Riptide's own setting) --ablation reports estimates: 4
// cores sharing the parallel loops ideally, one core's beside it. A build
// without parallel loops takes as long on both; one with them less on 4;
// the full build's one-core figure is bench's estimate.
func TestNetworkAblationEstimates(t *testing.T) {
	requireTools(t)
	const file = "../../examples/networks/binary_tiny.te"
	status, stdout, stderr := tide(t, "bench", file, "--target", "cortex-a53", "--ablation")
	if status != 0 || !strings.Contains(stdout, "ESTIMATES, not measurements") {
		t.Fatalf("status %d: %s%s", status, stdout, stderr)
	}
	row := regexp.MustCompile(`(?m)^  (\S.*?) +estimate +(\S+) \(1 core: (\S+)\)$`)
	four, one := map[string]time.Duration{}, map[string]time.Duration{}
	for _, m := range row.FindAllStringSubmatch(stdout, -1) {
		a, errA := time.ParseDuration(m[2])
		b, errB := time.ParseDuration(m[3])
		if errA != nil || errB != nil {
			t.Fatalf("row %q: %v %v", m[0], errA, errB)
		}
		four[m[1]], one[m[1]] = a, b
	}
	serial := []string{"without parallel", "unoptimized", "+ tiling", "+ vectorize"}
	parallel := []string{"all optimizations", "without fused-glue", "without tiling", "without vectorize", "without fast-popcount", "without bitpack-fusion", "+ parallel", "+ fast-popcount", "+ bitpack-fusion"}
	for _, label := range serial {
		if four[label] == 0 || four[label] != one[label] {
			t.Errorf("%s (no parallel loops): %v on 4 cores, %v on one; want equal\n%s", label, four[label], one[label], stdout)
		}
	}
	for _, label := range parallel {
		if four[label] == 0 || four[label] >= one[label] {
			t.Errorf("%s: %v on 4 cores, %v on one; want less on 4\n%s", label, four[label], one[label], stdout)
		}
	}
	status, stdout, stderr = tide(t, "bench", file, "--target", "cortex-a53")
	var cycles float64
	if m := regexp.MustCompile(`estimated: (\S+) cycles in all`).FindStringSubmatch(stdout); status != 0 || m == nil {
		t.Fatalf("bench: status %d: %s%s", status, stdout, stderr)
	} else if cycles, _ = strconv.ParseFloat(m[1], 64); cycles == 0 {
		t.Fatalf("bench's cycles %q", m[1])
	}
	if got, want := one["all optimizations"].Seconds(), cycles/1.2e9; math.Abs(got-want) > 0.01*want {
		t.Errorf("the full build's one-core estimate is %v; bench's %.3g cycles at 1.2 GHz are %v", one["all optimizations"], cycles, time.Duration(want*1e9))
	}
}

func TestNetworkPlotNeedsSVGOrPNG(t *testing.T) {
	status, _, stderr := tide(t, "bench", "../../examples/networks/binary_tiny.te", "--target", "x86-64", "--repeat", "1", "--profile", "--plot", filepath.Join(t.TempDir(), "p.pdf"))
	if status == 0 || !strings.Contains(stderr, "the chart is written as .svg or .png") {
		t.Errorf("status %d: %s", status, stderr)
	}
}

// --vs tide-float times the network's float twin in the same run, in the
// operator benchmarks' format.
func TestNetworkVsFloatTwin(t *testing.T) {
	requireTools(t)
	status, stdout, stderr := tide(t, "bench", "../../examples/networks/squeezenet.te", "-D", "IMAGE=32", "-D", "POLARITY=unipolar", "--target", "x86-64", "--repeat", "2", "--vs", "tide-float")
	if status != 0 || !strings.Contains(stdout, "tide-float ../../examples/networks/squeezenet_float.te, threads default: median") || !strings.Contains(stdout, "Tide/baseline speed ratio") {
		t.Errorf("status %d\n%s%s", status, stdout, stderr)
	}
	status, _, stderr = tide(t, "bench", "../../examples/networks/binary_tiny.te", "--target", "x86-64", "--vs", "tide-float")
	if status == 0 || !strings.Contains(stderr, "no float twin") {
		t.Errorf("a network without a twin: status %d, %s", status, stderr)
	}
}

// --speedups runs the float twin by oneDNN primitives, checked against
// Tide's float twin (as --vs onednn does), and times the network at 1 and 2 bits, bipolar
// and unipolar, against both baselines and draws the chart (a PNG here,
// decoded).
func TestNetworkVsOneDNNAndSpeedups(t *testing.T) {
	requireTools(t)
	if _, err := os.Stat(driver.OneDNN.Command); err != nil {
		t.Skipf("oneDNN is not installed (%s)", driver.OneDNN.Package)
	}
	pngFile := filepath.Join(t.TempDir(), "speedups.png")
	status, stdout, stderr := tide(t, "bench", "../../examples/networks/squeezenet.te", "-D", "IMAGE=32", "--target", "x86-64", "--threads", "1", "--repeat", "1", "--speedups", "--plot", pngFile)
	if status != 0 {
		t.Fatalf("--speedups: status %d\n%s%s", status, stdout, stderr)
	}
	if !strings.Contains(stdout, "onednn ../../examples/networks/squeezenet_float.te (") || !strings.Contains(stdout, "ONEDNN_MAX_CPU_ISA=AVX2; output checked against Tide's float build)") {
		t.Errorf("--speedups does not name the oneDNN baseline, its ISA and its check:\n%s", stdout)
	}
	for _, want := range []string{"1-bit bipolar", "1-bit unipolar", "2-bit bipolar", "2-bit unipolar"} {
		if !regexp.MustCompile(`  ` + want + ` +median .*x tide-float .*x onednn`).MatchString(stdout) {
			t.Errorf("--speedups lacks the row %q:\n%s", want, stdout)
		}
	}
	if b := readPNG(t, pngFile).Bounds(); b.Dx() < 300 || b.Dy() < 200 {
		t.Errorf("the chart is %v", b)
	}
	// a float network is its own oneDNN baseline; a binarized one without
	// a twin has none
	status, stdout, stderr = tide(t, "bench", "../../examples/networks/resnet18_float.te", "-D", "IMAGE=32", "--target", "host", "--threads", "1", "--repeat", "1", "--vs", "onednn")
	if status != 0 || !regexp.MustCompile(`onednn ../../examples/networks/resnet18_float.te \(.*; output checked against Tide's float build\), threads 1: median .*; Tide/baseline speed ratio [0-9.]+ \(same run\)`).MatchString(stdout) {
		t.Errorf("a float network --vs onednn: status %d\n%s%s", status, stdout, stderr)
	}
	status, _, stderr = tide(t, "bench", "../../examples/networks/binary_tiny.te", "--target", "host", "--repeat", "1", "--vs", "onednn")
	if status == 0 || !strings.Contains(stderr, "--vs onednn runs a float network, or a binarized one's float twin") {
		t.Errorf("a binarized network without a twin: status %d, %s", status, stderr)
	}
}

// readPNG decodes a PNG file the command wrote (a chart, a screenshot).
func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", path, err)
	}
	return img
}
