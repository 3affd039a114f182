package tests

// Tests of package topi against the naive oracles of topi_oracle_test.go
// (written from /work/shared/riptide.md): every operator through the
// reference evaluator, a representative subset through lower and llvmgen on
// x86-64 and cortex-a53, argument errors, and a measurement of how far
// Riptide's fused integer glue is from the float pipeline it replaces.

import (
	"fmt"
	"math"
	"math/rand/v2"
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

// ---------------------------------------------------------------------------
// Helpers

func topiRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x70b1)) }

// topiPH is a placeholder of a constant shape.
func topiPH(t *testing.T, name string, dt te.DType, shape ...int) *te.Tensor {
	t.Helper()
	es := make([]te.Expr, len(shape))
	for i, d := range shape {
		es[i] = te.Int(int64(d))
	}
	p, err := te.Placeholder(name, es, dt)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// setCodeRange declares that a placeholder holds bits-bit codes, as a
// network's code tensors would.
func setCodeRange(t *testing.T, x *te.Tensor, bits int) {
	t.Helper()
	if err := x.SetRange(0, float64(int(1)<<bits-1)); err != nil {
		t.Fatal(err)
	}
}

func intBuf(dt te.DType, shape []int, vals []int64) *te.Buffer {
	b := te.NewBuffer(dt, shape)
	if len(vals) != len(b.Ints) {
		panic(fmt.Sprintf("intBuf: %d values for shape %v", len(vals), shape))
	}
	copy(b.Ints, vals)
	return b
}

func floatBuf(dt te.DType, shape []int, vals []float64) *te.Buffer {
	b := te.NewBuffer(dt, shape)
	if len(vals) != len(b.Floats) {
		panic(fmt.Sprintf("floatBuf: %d values for shape %v", len(vals), shape))
	}
	copy(b.Floats, vals)
	return b
}

// randCodes are n codes in [0, 2^bits).
func randCodes(r *rand.Rand, n, bits int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = r.Int64N(int64(1) << bits)
	}
	return out
}

// randF32 are n float32 values (as float64) in [lo, hi).
func randF32(r *rand.Rand, n int, lo, hi float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(float32(lo + (hi-lo)*r.Float64()))
	}
	return out
}

func shapeOf(t *testing.T, x *te.Tensor) []int {
	t.Helper()
	s := make([]int, len(x.Shape))
	for i, d := range x.Shape {
		v, ok := te.IntValue(d)
		if !ok {
			t.Fatalf("%s has a symbolic shape", x.Name)
		}
		s[i] = int(v)
	}
	return s
}

// topiCase is a kernel built from topi operators with its inputs and the
// oracle's outputs.
type topiCase struct {
	name    string
	inputs  []*te.Tensor
	outputs []*te.Tensor
	bufs    []*te.Buffer
	want    []*te.Buffer
	tol     float64 // 0 for integer outputs
}

func (c *topiCase) kernel(t *testing.T) *te.Kernel {
	t.Helper()
	// a C identifier: the driver names the generated function after it
	ident := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, c.name)
	k, err := te.NewKernel("topi_"+ident, c.inputs, c.outputs, nil)
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	return k
}

func (c *topiCase) compare(t *testing.T, how string, got []*te.Buffer) {
	t.Helper()
	if len(got) != len(c.want) {
		t.Fatalf("%s (%s): %d outputs, want %d", c.name, how, len(got), len(c.want))
	}
	for i := range c.want {
		if m := te.Compare(got[i], c.want[i], c.tol); m.First >= 0 {
			t.Errorf("%s (%s): output %d (%s): %s", c.name, how, i, c.outputs[i].Name, m.Detail)
		}
	}
}

// checkEval runs the case in te's reference evaluator.
func (c *topiCase) checkEval(t *testing.T) {
	t.Helper()
	got, err := te.EvalKernel(c.kernel(t), c.bufs, nil)
	if err != nil {
		t.Fatalf("%s: eval: %v", c.name, err)
	}
	c.compare(t, "evaluator", got)
}

// checkLowered lowers the case with topi's default schedule for target and
// runs the loop IR in lower's interpreter (no toolchain needed).
func (c *topiCase) checkLowered(t *testing.T, target string) {
	t.Helper()
	got, err := lower.Run(c.lowered(t, target), c.bufs, nil)
	if err != nil {
		t.Fatalf("%s: interpret: %v", c.name, err)
	}
	c.compare(t, "lowered for "+target+", interpreted", got)
}

// lowered is the case lowered with topi's schedules for target.
func (c *topiCase) lowered(t *testing.T, target string) *lower.Func {
	t.Helper()
	tgt, err := llvmgen.ParseTarget(target)
	if err != nil {
		t.Fatal(err)
	}
	return c.loweredFor(t, topi.Target{Name: tgt.Name, VectorBits: tgt.VectorBits})
}

// loweredFor is the case lowered with topi's schedules for tgt.
func (c *topiCase) loweredFor(t *testing.T, tgt topi.Target) *lower.Func {
	t.Helper()
	sched, err := topi.Schedule(tgt, c.outputs...)
	if err != nil {
		t.Fatalf("%s: schedule: %v", c.name, err)
	}
	f, _, err := lower.Lower(c.kernel(t), sched, nil)
	if err != nil {
		t.Fatalf("%s: lower: %v", c.name, err)
	}
	return f
}

// check runs the case in the evaluator and, lowered with topi's schedules
// for both targets, in lower's interpreter; the first case of each
// operator also as generated code on both targets.
func (c *topiCase) check(t *testing.T) {
	t.Helper()
	c.checkEval(t)
	codegen := c.firstOfKind()
	for _, target := range []string{"x86-64", "cortex-a53"} {
		c.checkLowered(t, target)
		if codegen {
			c.checkCodegen(t, target)
		}
	}
}

// checkCodegen lowers the case with topi's default schedule for target,
// builds it with llvmgen and runs it (natively or under qemu); a target
// named with "+asan" runs under AddressSanitizer.
func (c *topiCase) checkCodegen(t *testing.T, target string) {
	t.Helper()
	tgt, err := driver.ParseTarget(strings.TrimSuffix(target, "+asan"))
	if err != nil {
		t.Fatal(err)
	}
	requireTools(t, tgt)
	sched, err := topi.Schedule(topi.Target{Name: tgt.Name, VectorBits: tgt.VectorBits}, c.outputs...)
	if err != nil {
		t.Fatalf("%s: schedule: %v", c.name, err)
	}
	f, _, err := lower.Lower(c.kernel(t), sched, nil)
	if err != nil {
		t.Fatalf("%s: lower: %v", c.name, err)
	}
	got, warnings, err := driver.RunKernel(tgt, llvmgen.Options{Sanitize: strings.HasSuffix(target, "+asan")}, f, c.bufs, nil, t.TempDir())
	for _, w := range warnings {
		t.Log(w)
	}
	if err != nil {
		t.Fatalf("%s: run on %s: %v", c.name, target, err)
	}
	c.compare(t, target, got)
}

// ---------------------------------------------------------------------------
// Bitpack

type bitpackCase struct {
	layout            string // a label: NHWC, HWIO, NCHW, OIHW, 2-D
	shape             []int
	bits, pack, bitAx int
	word              te.DType
	codeBits          int // codes are drawn from [0, 2^codeBits)
}

func (c bitpackCase) String() string {
	return fmt.Sprintf("%s%v/bits=%d/pack=%d/bitaxis=%d/%v/codes<2^%d", c.layout, c.shape, c.bits, c.pack, c.bitAx, c.word, c.codeBits)
}

func bitpackTopiCase(t *testing.T, r *rand.Rand, c bitpackCase) *topiCase {
	t.Helper()
	x := topiPH(t, "codes", te.UInt8, c.shape...)
	out, err := topi.Bitpack("packed", x, c.bits, c.pack, c.bitAx, c.word)
	if err != nil {
		t.Fatalf("%v: %v", c, err)
	}
	codes := randCodes(r, oNumel(c.shape), c.codeBits)
	want, wantShape := oracleBitpack(codes, c.shape, c.bits, c.pack, c.bitAx, c.word.Bits)
	if got := shapeOf(t, out); fmt.Sprint(got) != fmt.Sprint(wantShape) {
		t.Fatalf("%v: output shape %v, want %v", c, got, wantShape)
	}
	return &topiCase{
		name: c.String(), inputs: []*te.Tensor{x}, outputs: []*te.Tensor{out},
		bufs: []*te.Buffer{intBuf(te.UInt8, c.shape, codes)},
		want: []*te.Buffer{intBuf(c.word, wantShape, want)},
	}
}

// TestTopiBitpack packs codes of every layout the binarized operators use
// (and 2-D ones) into uint8/16/32/64 words, along axes whose length is and
// is not a multiple of the word width, with 1 to 4 (and 8) bit-planes at
// several bit-axis positions, and compares with the LSB-first packing of
// riptide.md. Codes with bits above the packed planes check that only the
// low planes are taken.
func TestTopiBitpack(t *testing.T) {
	r := topiRNG(1)
	cases := []bitpackCase{
		{"NHWC", []int{2, 3, 2, 65}, 2, 3, 3, te.UInt64, 2},
		{"NHWC", []int{1, 2, 3, 3}, 1, 3, 3, te.UInt8, 1},
		{"NHWC", []int{1, 2, 2, 100}, 4, 3, 3, te.UInt32, 4},
		{"NHWC", []int{1, 3, 2, 64}, 3, 3, 3, te.UInt64, 3},
		{"NHWC", []int{1, 2, 3, 65}, 2, 3, 0, te.UInt16, 2},  // bit axis first
		{"NHWC", []int{2, 2, 1, 100}, 2, 3, 4, te.UInt64, 2}, // bit axis last
		{"NHWC", []int{1, 2, 2, 17}, 3, 3, 2, te.UInt8, 3},   // bit axis before W
		{"HWIO", []int{3, 3, 100, 4}, 2, 2, 2, te.UInt32, 2},
		{"HWIO", []int{1, 1, 65, 3}, 1, 2, 2, te.UInt64, 1},
		{"HWIO", []int{5, 5, 3, 2}, 2, 2, 2, te.UInt8, 2},
		{"NCHW", []int{1, 65, 2, 3}, 3, 1, 1, te.UInt16, 3},
		{"NCHW", []int{2, 100, 2, 2}, 4, 1, 1, te.UInt64, 4},
		{"NCHW", []int{1, 3, 3, 2}, 1, 1, 1, te.UInt32, 1},
		{"NCHW", []int{1, 9, 2, 2}, 2, 3, 4, te.UInt8, 2}, // pack along W, bit axis last
		{"OIHW", []int{5, 100, 1, 1}, 1, 1, 1, te.UInt64, 1},
		{"OIHW", []int{2, 65, 3, 3}, 2, 1, 1, te.UInt8, 2},
		{"2-D", []int{3, 100}, 4, 1, 1, te.UInt64, 4},
		{"2-D", []int{4, 64}, 2, 1, 1, te.UInt64, 2},
		{"2-D", []int{2, 17}, 1, 1, 1, te.UInt8, 1},
		{"2-D", []int{2, 48}, 3, 1, 1, te.UInt16, 3},
		{"2-D", []int{5, 33}, 2, 1, 0, te.UInt32, 2},
		{"2-D", []int{65, 3}, 1, 0, 2, te.UInt64, 1}, // pack the first axis
		{"2-D", []int{3, 20}, 8, 1, 1, te.UInt16, 8}, // all 8 planes of uint8 codes
		{"2-D", []int{3, 70}, 2, 1, 1, te.UInt64, 8}, // codes wider than the planes
		{"1-D", []int{129}, 2, 0, 0, te.UInt64, 2},
	}
	for _, c := range cases {
		t.Run(c.String(), func(t *testing.T) {
			bitpackTopiCase(t, r, c).check(t)
		})
	}
}

// TestTopiBitpackWholeWords runs, as generated code, bitpacks of their own
// whose packed axis is the innermost and fills whole words: their default
// schedule makes a word's codes the lanes of a vector (packed by a mask move
// on AVX-512), which TestTopiBitpack's first case, a partial word, does not
// reach. Compared with the oracle on both targets, on this machine's
// vectors, and under AddressSanitizer.
func TestTopiBitpackWholeWords(t *testing.T) {
	r := topiRNG(2)
	cases := []bitpackCase{
		{"NHWC", []int{1, 3, 5, 96}, 1, 3, 3, te.UInt8, 1}, // SqueezeNet's stem codes
		{"NHWC", []int{1, 2, 3, 64}, 2, 3, 3, te.UInt32, 2},
		{"2-D", []int{3, 128}, 1, 1, 1, te.UInt64, 3},
	}
	for _, c := range cases {
		t.Run(c.String(), func(t *testing.T) {
			tc := bitpackTopiCase(t, r, c)
			sched, err := topi.Schedule(topi.Target{Name: "x86-64", VectorBits: 256}, tc.outputs...)
			if err != nil {
				t.Fatal(err)
			}
			f, _, err := lower.Lower(tc.kernel(t), sched, nil)
			if err != nil {
				t.Fatal(err)
			}
			if ir := fmt.Sprint(f); !strings.Contains(ir, "vector_reduce_sum") {
				t.Errorf("the default schedule packs a word's codes one at a time:\n%s", ir)
			}
			// a word's bits are a mask move on x86; AArch64 has none (LLVM
			// expands the bitcast of <N x i1> lane by lane), so there the
			// lanes' powers of two are summed (addv)
			for target, want := range map[string]string{"x86-64": " x i1> %", "cortex-a53": "@llvm.vector.reduce.add."} {
				tgt, err := llvmgen.ParseTarget(target)
				if err != nil {
					t.Fatal(err)
				}
				m, _, err := llvmgen.Generate(f, tgt, llvmgen.Options{})
				if err != nil {
					t.Fatal(err)
				}
				ll := m.String()
				if !strings.Contains(ll, want) || target == "cortex-a53" && regexp.MustCompile(`bitcast <\d+ x i1>`).MatchString(ll) {
					t.Errorf("%s: the bits are not packed with %q:\n%s", target, want, ll)
				}
			}
			for _, target := range []string{"x86-64", "cortex-a53", "host", "host+asan"} {
				tc.checkCodegen(t, target)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Bitserial conv2d and dense

// decodes says how a polarity decodes activations and weights.
func decodes(p topi.Polarity) (actBipolar, weightBipolar bool) {
	switch p {
	case topi.UnipolarBipolar:
		return false, true
	case topi.Unsigned:
		return false, false
	case topi.BipolarBipolar:
		return true, true
	}
	panic("polarity")
}

type bsConvCase struct {
	layout         topi.Layout
	pol            topi.Polarity
	abits, wbits   int
	n, h, w, c, o  int
	kh, kw, sh, sw int
	pad            topi.Padding
	out, word      te.DType
	// data: random codes unless fill >= 0 (every activation code = fill,
	// every weight code = wfill)
	fill, wfill int64
	// what padded pixels stand for (the zero value: exact zero, the default)
	padValue topi.PadValue
}

func (c bsConvCase) String() string {
	return fmt.Sprintf("%s/%v/a%dw%d/N%dH%dW%dC%dO%d/k%dx%d/s%d,%d/pad%d,%d,%d,%d=%v/%v/%v",
		c.layout, c.pol, c.abits, c.wbits, c.n, c.h, c.w, c.c, c.o, c.kh, c.kw, c.sh, c.sw,
		c.pad.Top, c.pad.Left, c.pad.Bottom, c.pad.Right, c.padValue, c.out, c.word)
}

func (c bsConvCase) win() topi.Window {
	return topi.Window{KH: c.kh, KW: c.kw, StrideH: c.sh, StrideW: c.sw, Pad: c.pad}
}

func (c bsConvCase) owin() oWin {
	return oWin{KH: c.kh, KW: c.kw, SH: max(1, c.sh), SW: max(1, c.sw), Top: c.pad.Top, Left: c.pad.Left, Bottom: c.pad.Bottom, Right: c.pad.Right}
}

func fillOrRand(r *rand.Rand, n, bits int, fill int64) []int64 {
	if fill < 0 {
		return randCodes(r, n, bits)
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = fill
	}
	return out
}

// bitserialConvTopiCase builds a kernel whose inputs are activation and
// weight CODES (uint8), packed by topi.Bitpack inside the kernel and
// convolved by topi.BitserialConv2D; the oracle is the integer convolution
// of the decoded values with padded pixels of the case's pad value
// (oraclePadValue: 0, +(2^N - 1) or -(2^N - 1)).
func bitserialConvTopiCase(t *testing.T, r *rand.Rand, c bsConvCase) *topiCase {
	t.Helper()
	var dataShape, kernShape []int
	var packAxisD, packAxisK int
	if c.layout == topi.NHWC {
		dataShape, kernShape = []int{c.n, c.h, c.w, c.c}, []int{c.kh, c.kw, c.c, c.o}
		packAxisD, packAxisK = 3, 2
	} else {
		dataShape, kernShape = []int{c.n, c.c, c.h, c.w}, []int{c.o, c.c, c.kh, c.kw}
		packAxisD, packAxisK = 1, 1
	}
	data := topiPH(t, "act_codes", te.UInt8, dataShape...)
	kern := topiPH(t, "weight_codes", te.UInt8, kernShape...)
	setCodeRange(t, data, c.abits)
	setCodeRange(t, kern, c.wbits)
	pd, err := topi.Bitpack("act_packed", data, c.abits, packAxisD, packAxisD, c.word)
	if err != nil {
		t.Fatalf("%v: %v", c, err)
	}
	pk, err := topi.Bitpack("weight_packed", kern, c.wbits, packAxisK, packAxisK, c.word)
	if err != nil {
		t.Fatalf("%v: %v", c, err)
	}
	out, err := topi.BitserialConv2D("conv", pd, pk, c.layout, c.win(), topi.Bitserial{Polarity: c.pol, Elements: c.c, Out: c.out, PadValue: c.padValue})
	if err != nil {
		t.Fatalf("%v: %v", c, err)
	}
	if c.fill < 0 && c.wfill >= 0 || c.fill >= 0 && c.wfill < 0 {
		panic("fill and wfill go together")
	}
	dcodes := fillOrRand(r, oNumel(dataShape), c.abits, c.fill)
	kcodes := fillOrRand(r, oNumel(kernShape), c.wbits, c.wfill)

	ab, wbip := decodes(c.pol)
	dv := decodeAll(dcodes, c.abits, ab, false)
	kv := decodeAll(kcodes, c.wbits, wbip, true)
	if c.layout == topi.NCHW {
		dv = nchwToNHWC(dv, c.n, c.c, c.h, c.w)
		kv = oihwToHWIO(kv, c.o, c.c, c.kh, c.kw)
	}
	want, oh, ow := oracleConv2DNHWC(dv, c.n, c.h, c.w, c.c, kv, c.o, c.owin(), oraclePadValue(c.padValue.String(), c.abits, ab))
	wantShape := []int{c.n, oh, ow, c.o}
	if c.layout == topi.NCHW {
		want = nhwcToNCHW(want, c.n, oh, ow, c.o)
		wantShape = []int{c.n, c.o, oh, ow}
	}
	if got := shapeOf(t, out); fmt.Sprint(got) != fmt.Sprint(wantShape) {
		t.Fatalf("%v: output shape %v, want %v", c, got, wantShape)
	}
	if out.DType != c.out {
		t.Fatalf("%v: output type %v, want %v", c, out.DType, c.out)
	}
	for _, v := range want {
		if v < c.out.MinInt() || v > c.out.MaxInt() {
			t.Fatalf("%v: the oracle's result %d does not fit %v: a bad test case", c, v, c.out)
		}
	}
	return &topiCase{
		name: c.String(), inputs: []*te.Tensor{data, kern}, outputs: []*te.Tensor{out},
		bufs: []*te.Buffer{intBuf(te.UInt8, dataShape, dcodes), intBuf(te.UInt8, kernShape, kcodes)},
		want: []*te.Buffer{intBuf(c.out, wantShape, want)},
	}
}

var topiPolarities = []topi.Polarity{topi.UnipolarBipolar, topi.Unsigned, topi.BipolarBipolar}

// bitserialConvShapes are the shapes each polarity and layout is tested
// with: activation bits 1..4, weight bits 1..2, channels 3, 65 and 100,
// 1x1, 3x3 and 5x5 kernels, strides 1 and 2, asymmetric padding, int16 and
// int32 outputs, words of 8, 16, 32 and 64 bits.
var bitserialConvShapes = []bsConvCase{
	{abits: 1, wbits: 1, n: 1, h: 5, w: 5, c: 3, o: 4, kh: 3, kw: 3, sh: 1, sw: 1, pad: topi.Pad(1), out: te.Int16, word: te.UInt8},
	{abits: 2, wbits: 2, n: 1, h: 6, w: 7, c: 65, o: 3, kh: 3, kw: 3, sh: 2, sw: 2, pad: topi.Padding{Top: 1, Left: 0, Bottom: 0, Right: 1}, out: te.Int32, word: te.UInt64},
	{abits: 3, wbits: 1, n: 2, h: 4, w: 3, c: 100, o: 5, kh: 1, kw: 1, sh: 1, sw: 1, out: te.Int32, word: te.UInt32},
	{abits: 4, wbits: 2, n: 1, h: 7, w: 6, c: 65, o: 2, kh: 5, kw: 5, sh: 2, sw: 2, pad: topi.Padding{Top: 2, Left: 1, Bottom: 0, Right: 2}, out: te.Int32, word: te.UInt8},
	{abits: 2, wbits: 1, n: 1, h: 5, w: 4, c: 100, o: 3, kh: 3, kw: 3, sh: 1, sw: 1, pad: topi.Padding{Top: 0, Left: 1, Bottom: 1, Right: 0}, out: te.Int16, word: te.UInt64},
	{abits: 1, wbits: 2, n: 1, h: 6, w: 5, c: 3, o: 2, kh: 5, kw: 5, sh: 2, sw: 1, pad: topi.Padding{Top: 1, Left: 2, Bottom: 3, Right: 0}, out: te.Int16, word: te.UInt32},
	{abits: 3, wbits: 2, n: 1, h: 3, w: 4, c: 65, o: 3, kh: 1, kw: 1, sh: 2, sw: 2, out: te.Int16, word: te.UInt16},
	{abits: 4, wbits: 1, n: 1, h: 4, w: 4, c: 3, o: 3, kh: 3, kw: 3, sh: 1, sw: 2, pad: topi.Padding{Top: 2, Left: 0, Bottom: 2, Right: 1}, out: te.Int32, word: te.UInt64},
}

// TestTopiBitserialConv2D checks BitserialConv2D (codes packed by Bitpack
// in the same kernel) against the integer convolution of the decoded
// values for every polarity, both layouts and the shapes above: exactly.
func TestTopiBitserialConv2D(t *testing.T) {
	r := topiRNG(2)
	for _, layout := range []topi.Layout{topi.NHWC, topi.NCHW} {
		for _, pol := range topiPolarities {
			for _, s := range bitserialConvShapes {
				c := s
				c.layout, c.pol, c.fill, c.wfill = layout, pol, -1, -1
				t.Run(c.String(), func(t *testing.T) {
					bitserialConvTopiCase(t, r, c).check(t)
				})
			}
		}
	}
}

// TestTopiBitserialNEONBlock runs the register block NEON takes for words
// wider than bytes (4 pixels by four vectors of 8 channels: rows that 4
// divides, output channels that 32 divides) as generated code.
func TestTopiBitserialNEONBlock(t *testing.T) {
	r := topiRNG(31)
	c := bsConvCase{abits: 1, wbits: 1, n: 1, h: 3, w: 8, c: 20, o: 64, kh: 3, kw: 3, sh: 1, sw: 1, pad: topi.Pad(1), out: te.Int16, word: te.UInt16,
		layout: topi.NHWC, pol: topi.BipolarBipolar, fill: -1, wfill: -1}
	tc := bitserialConvTopiCase(t, r, c)
	tc.checkEval(t)
	// the block is the one meant: 4 pixels by four vectors of 8 int16
	// accumulators
	if f, want := tc.lowered(t, "cortex-a53"), "int16(1, 1, 4, 32)"; !strings.Contains(f.String(), want) {
		t.Errorf("cortex-a53's block is not %s:\n%s", want, f)
	}
	for _, target := range []string{"cortex-a53", "x86-64"} {
		tc.checkCodegen(t, target)
	}
}

// TestTopiBitserialInt16Extremes drives int16 outputs to the edge of the
// bound topi accepts (K*(2^N-1)*(2^M-1) <= 32767) with constant codes that
// make every product the largest positive or negative value, including
// padded positions with every pad value (code 0, where the XNOR
// correction's intermediate (2 * sum of popcounts) leaves int16; the
// all-ones code; exact zero, whose border correction is up to (2^N - 1) *
// 5 taps * 80 channels * 3).
func TestTopiBitserialInt16Extremes(t *testing.T) {
	r := topiRNG(3)
	hi4, hi2 := int64(15), int64(3)
	var cases []bsConvCase
	// K = 3*3*80 = 720; 720 * 15 * 3 = 32400 <= 32767
	base := bsConvCase{abits: 4, wbits: 2, n: 1, h: 3, w: 4, c: 80, o: 2, kh: 3, kw: 3, sh: 1, sw: 1, pad: topi.Padding{Top: 1, Left: 1, Bottom: 0, Right: 1}, out: te.Int16, word: te.UInt64}
	for _, layout := range []topi.Layout{topi.NHWC, topi.NCHW} {
		for _, pol := range topiPolarities {
			for _, pv := range testPadValues(pol) {
				for _, f := range [][2]int64{{hi4, hi2}, {hi4, 0}, {0, hi2}, {0, 0}, {-1, -1}} {
					c := base
					c.layout, c.pol, c.fill, c.wfill, c.padValue = layout, pol, f[0], f[1], pv
					cases = append(cases, c)
				}
			}
		}
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v/fill=%d,%d", c, c.fill, c.wfill), func(t *testing.T) {
			bitserialConvTopiCase(t, r, c).check(t)
		})
	}
}

// testPadValues are the pad values activations of a polarity can take:
// bipolar ones zero, one and minus_one; unipolar and unsigned ones (no -1)
// zero and one.
func testPadValues(p topi.Polarity) []topi.PadValue {
	if p == topi.BipolarBipolar {
		return []topi.PadValue{topi.PadZero, topi.PadOne, topi.PadMinusOne}
	}
	return []topi.PadValue{topi.PadZero, topi.PadOne}
}

// padValueShapes are the pad-value tests' shapes: 60 channels (not a
// multiple of any word: a padded word of ones must leave the last word's
// channel padding alone), 1 and 2 activation and weight bits, strides 1
// and 2, asymmetric padding, words of 8 to 64 bits, and the border's
// special cases: every output row reading padding (2 rows under a 3-row
// kernel), and padding that no output reads (the stride skips it).
var padValueShapes = []bsConvCase{
	{abits: 1, wbits: 1, n: 1, h: 5, w: 6, c: 60, o: 3, kh: 3, kw: 3, sh: 1, sw: 1, pad: topi.Padding{Top: 1, Left: 2, Bottom: 0, Right: 1}, out: te.Int16, word: te.UInt64},
	{abits: 2, wbits: 1, n: 1, h: 6, w: 5, c: 60, o: 4, kh: 3, kw: 3, sh: 2, sw: 2, pad: topi.Padding{Top: 1, Left: 0, Bottom: 2, Right: 1}, out: te.Int16, word: te.UInt8},
	{abits: 1, wbits: 2, n: 2, h: 4, w: 7, c: 60, o: 2, kh: 3, kw: 5, sh: 1, sw: 2, pad: topi.Padding{Top: 2, Left: 1, Bottom: 1, Right: 3}, out: te.Int32, word: te.UInt32},
	{abits: 2, wbits: 2, n: 1, h: 7, w: 6, c: 60, o: 3, kh: 5, kw: 3, sh: 2, sw: 1, pad: topi.Padding{Top: 0, Left: 1, Bottom: 4, Right: 2}, out: te.Int32, word: te.UInt16},
	{abits: 2, wbits: 2, n: 1, h: 2, w: 9, c: 60, o: 5, kh: 3, kw: 3, sh: 1, sw: 1, pad: topi.Pad(1), out: te.Int16, word: te.UInt64},
	{abits: 1, wbits: 1, n: 1, h: 7, w: 7, c: 60, o: 3, kh: 3, kw: 3, sh: 2, sw: 2, pad: topi.Padding{Top: 0, Left: 0, Bottom: 1, Right: 1}, out: te.Int16, word: te.UInt32},
}

// TestTopiBitserialPadValues checks BitserialConv2D with every pad value
// its activations can take (bipolar: zero, one, minus_one; unipolar and
// unsigned: zero, one) against the integer convolution of the decoded
// values whose padded pixels hold 0, +(2^N - 1) or -(2^N - 1)
// (oraclePadValue), in both layouts and the shapes above: in the
// evaluator and, with topi's schedules for x86-64 and cortex-a53, in
// lower's interpreter for every case, and as generated code on both
// targets (natively and under qemu-aarch64 -cpu cortex-a53) for one shape
// of each polarity, pad value and layout (the shapes taking turns).
func TestTopiBitserialPadValues(t *testing.T) {
	r := topiRNG(30)
	combo := 0
	for _, layout := range []topi.Layout{topi.NHWC, topi.NCHW} {
		for _, pol := range topiPolarities {
			for _, pv := range testPadValues(pol) {
				for i, s := range padValueShapes {
					c := s
					c.layout, c.pol, c.padValue, c.fill, c.wfill = layout, pol, pv, -1, -1
					codegen := i == combo%len(padValueShapes)
					// the sampled shape's code runs on one target, the
					// next combination's on the other (7 combinations per
					// layout: each polarity and pad value runs on x86-64
					// in one layout and on cortex-a53 in the other), and
					// the suite compiles half
					codegenTarget := []string{"x86-64", "cortex-a53"}[combo%2]
					t.Run(c.String(), func(t *testing.T) {
						tc := bitserialConvTopiCase(t, r, c)
						tc.checkEval(t)
						for _, target := range []string{"x86-64", "cortex-a53"} {
							tc.checkLowered(t, target)
							if codegen && target == codegenTarget {
								tc.checkCodegen(t, target)
							}
						}
					})
				}
				combo++
			}
		}
	}
}

type bsDenseCase struct {
	pol          topi.Polarity
	abits, wbits int
	b, k, o      int
	out, word    te.DType
	fill, wfill  int64
}

func (c bsDenseCase) String() string {
	return fmt.Sprintf("%v/a%dw%d/B%dK%dO%d/%v/%v", c.pol, c.abits, c.wbits, c.b, c.k, c.o, c.out, c.word)
}

func bitserialDenseTopiCase(t *testing.T, r *rand.Rand, c bsDenseCase) *topiCase {
	t.Helper()
	data := topiPH(t, "act_codes", te.UInt8, c.b, c.k)
	wt := topiPH(t, "weight_codes", te.UInt8, c.o, c.k)
	setCodeRange(t, data, c.abits)
	setCodeRange(t, wt, c.wbits)
	pd, err := topi.Bitpack("act_packed", data, c.abits, 1, 1, c.word)
	if err != nil {
		t.Fatalf("%v: %v", c, err)
	}
	pw, err := topi.Bitpack("weight_packed", wt, c.wbits, 1, 1, c.word)
	if err != nil {
		t.Fatalf("%v: %v", c, err)
	}
	out, err := topi.BitserialDense("dense", pd, pw, topi.Bitserial{Polarity: c.pol, Elements: c.k, Out: c.out})
	if err != nil {
		t.Fatalf("%v: %v", c, err)
	}
	dcodes := fillOrRand(r, c.b*c.k, c.abits, c.fill)
	wcodes := fillOrRand(r, c.o*c.k, c.wbits, c.wfill)
	ab, wbip := decodes(c.pol)
	want := oracleDense(decodeAll(dcodes, c.abits, ab, false), c.b, c.k, decodeAll(wcodes, c.wbits, wbip, true), c.o)
	if got := shapeOf(t, out); fmt.Sprint(got) != fmt.Sprint([]int{c.b, c.o}) || out.DType != c.out {
		t.Fatalf("%v: output %v%v, want %v[%d %d]", c, out.DType, got, c.out, c.b, c.o)
	}
	return &topiCase{
		name: c.String(), inputs: []*te.Tensor{data, wt}, outputs: []*te.Tensor{out},
		bufs: []*te.Buffer{intBuf(te.UInt8, []int{c.b, c.k}, dcodes), intBuf(te.UInt8, []int{c.o, c.k}, wcodes)},
		want: []*te.Buffer{intBuf(c.out, []int{c.b, c.o}, want)},
	}
}

// TestTopiBitserialDense checks BitserialDense against the integer dot
// products of the decoded values: every polarity, K = 3, 64, 65, 100, 130,
// 700 (int16 at its bound, with constant extreme codes too), words of 8 to 64
// bits.
func TestTopiBitserialDense(t *testing.T) {
	r := topiRNG(4)
	shapes := []bsDenseCase{
		{abits: 1, wbits: 1, b: 3, k: 3, o: 4, out: te.Int16, word: te.UInt8},
		{abits: 2, wbits: 2, b: 2, k: 65, o: 3, out: te.Int32, word: te.UInt64},
		{abits: 4, wbits: 2, b: 4, k: 100, o: 5, out: te.Int32, word: te.UInt32},
		{abits: 3, wbits: 1, b: 1, k: 64, o: 2, out: te.Int16, word: te.UInt16},
		{abits: 2, wbits: 1, b: 5, k: 130, o: 3, out: te.Int16, word: te.UInt64},
		{abits: 4, wbits: 2, b: 2, k: 700, o: 2, out: te.Int16, word: te.UInt64}, // 700*45 = 31500
	}
	for _, pol := range topiPolarities {
		for _, s := range shapes {
			fills := [][2]int64{{-1, -1}}
			if s.k == 700 {
				fills = append(fills, [2]int64{15, 3}, [2]int64{15, 0}, [2]int64{0, 3}, [2]int64{0, 0})
			}
			for _, f := range fills {
				c := s
				c.pol, c.fill, c.wfill = pol, f[0], f[1]
				t.Run(fmt.Sprintf("%v/fill=%d,%d", c, c.fill, c.wfill), func(t *testing.T) {
					bitserialDenseTopiCase(t, r, c).check(t)
				})
			}
		}
	}
}

// topiCall runs f, turning a panic into a failure that names the case.
func topiCall(t *testing.T, what string, f func() error) error {
	t.Helper()
	var err error
	panicked := func() (p any) {
		defer func() { p = recover() }()
		err = f()
		return nil
	}()
	if panicked != nil {
		t.Errorf("%s: panicked instead of returning an error: %v", what, panicked)
		return nil
	}
	return err
}

// TestTopiErrors passes bad arguments to every operator: each must return
// an error (never panic) that contains the expected words.
func TestTopiErrors(t *testing.T) {
	u8 := func(name string, shape ...int) *te.Tensor { return topiPH(t, name, te.UInt8, shape...) }
	f32 := func(name string, shape ...int) *te.Tensor { return topiPH(t, name, te.Float32, shape...) }
	pack := func(x *te.Tensor, bits, axis int, word te.DType) *te.Tensor {
		p, err := topi.Bitpack(x.Name+"_p", x, bits, axis, axis, word)
		if err != nil {
			t.Fatalf("setting up: %v", err)
		}
		return p
	}
	// well-formed NHWC operands: 3x3 kernel, 100 channels in 2 uint64 words
	d100 := pack(u8("d", 1, 5, 5, 100), 2, 3, te.UInt64)
	k100 := pack(u8("k", 3, 3, 100, 4), 1, 2, te.UInt64)
	k130 := pack(u8("k130", 3, 3, 130, 4), 1, 2, te.UInt64) // 3 words
	k100w2 := pack(u8("kw2", 3, 3, 100, 4), 2, 2, te.UInt64)
	d100a4 := pack(u8("d4", 1, 5, 5, 100), 4, 3, te.UInt64)
	d100a5 := pack(u8("d5", 1, 5, 5, 100), 5, 3, te.UInt64)
	k100w3 := pack(u8("kw3", 3, 3, 100, 4), 3, 2, te.UInt64)
	d100u32 := pack(u8("d32", 1, 5, 5, 100), 2, 3, te.UInt32)
	d1x1 := pack(u8("d1", 1, 5, 5, 100), 2, 3, te.UInt64)
	win3 := topi.Window{KH: 3, KW: 3, Pad: topi.Pad(1)}
	i32 := topi.Bitserial{Polarity: topi.UnipolarBipolar, Elements: 100, Out: te.Int32}
	i16 := topi.Bitserial{Polarity: topi.UnipolarBipolar, Elements: 100, Out: te.Int16}
	dd := pack(u8("dd", 2, 1000), 4, 1, te.UInt64)
	dw := pack(u8("dw", 3, 1000), 2, 1, te.UInt64)
	dw65 := pack(u8("dw65", 3, 65), 1, 1, te.UInt64)
	int32Data := topiPH(t, "int_words", te.Int32, 1, 5, 5, 2, 4)

	conv := func(d, k *te.Tensor, l topi.Layout, w topi.Window, p topi.Bitserial) func() error {
		return func() error { _, err := topi.BitserialConv2D("c", d, k, l, w, p); return err }
	}
	with := func(p topi.Bitserial, f func(*topi.Bitserial)) topi.Bitserial { f(&p); return p }
	x4 := f32("x", 1, 5, 5, 3)
	w4 := f32("w", 3, 3, 3, 4)
	acc := topiPH(t, "acc", te.Int32, 1, 2, 2, 4)
	cb4 := topiPH(t, "cb", te.Int32, 4)
	sh4 := topiPH(t, "shift", te.Int32, 4)
	cb3 := topiPH(t, "cb3", te.Int32, 3)

	cases := []struct {
		name string
		f    func() error
		want []string // every word must appear (case-insensitive)
	}{
		// the int16 bound: 3*3*100 * 15 * 3 = 40500 > 32767
		{"conv int16 overflow", conv(d100a4, k100w2, topi.NHWC, win3, i16), []string{"int16"}},
		{"dense int16 overflow", func() error {
			_, err := topi.BitserialDense("d", dd, dw, topi.Bitserial{Polarity: topi.Unsigned, Elements: 1000, Out: te.Int16})
			return err
		}, []string{"int16"}},
		{"conv mismatched channel words", conv(d100, k130, topi.NHWC, win3, i32), []string{"word"}},
		{"conv elements do not fill the words", conv(d100, k100, topi.NHWC, win3, with(i32, func(p *topi.Bitserial) { p.Elements = 64 })), []string{"64"}},
		{"conv elements zero", conv(d100, k100, topi.NHWC, win3, with(i32, func(p *topi.Bitserial) { p.Elements = 0 })), nil},
		{"conv data rank 4", conv(u8("r4", 1, 5, 5, 2), k100, topi.NHWC, win3, i32), []string{"dimensions"}},
		{"conv kernel rank 4", conv(d100, u8("kr4", 3, 3, 2, 4), topi.NHWC, win3, i32), []string{"dimensions"}},
		{"conv bad polarity", conv(d100, k100, topi.NHWC, win3, with(i32, func(p *topi.Bitserial) { p.Polarity = 7 })), []string{"7"}},
		{"conv negative polarity", conv(d100, k100, topi.NHWC, win3, with(i32, func(p *topi.Bitserial) { p.Polarity = -1 })), nil},
		{"conv 5 activation bits", conv(d100a5, k100, topi.NHWC, win3, i32), []string{"5 activation bits"}},
		{"conv 3 weight bits", conv(d100, k100w3, topi.NHWC, win3, i32), []string{"3 weight bits"}},
		{"conv int8 output", conv(d100, k100, topi.NHWC, win3, with(i32, func(p *topi.Bitserial) { p.Out = te.Int8 })), []string{"int16", "int32"}},
		{"conv float output", conv(d100, k100, topi.NHWC, win3, with(i32, func(p *topi.Bitserial) { p.Out = te.Float32 })), nil},
		{"conv word types differ", conv(d100u32, k100, topi.NHWC, win3, i32), []string{"uint32", "uint64"}},
		{"conv signed words", conv(int32Data, k100, topi.NHWC, win3, i32), []string{"uint"}},
		{"conv bad layout", conv(d100, k100, topi.Layout("NWHC"), win3, i32), []string{"NWHC"}},
		{"conv window differs from kernel", conv(d100, k100, topi.NHWC, topi.Window{KH: 5, KW: 5}, i32), []string{"window"}},
		{"conv padding as large as the window", conv(d1x1, k100, topi.NHWC, topi.Window{KH: 3, KW: 3, Pad: topi.Pad(3)}, i32), []string{"padding"}},
		{"conv negative padding", conv(d100, k100, topi.NHWC, topi.Window{KH: 3, KW: 3, Pad: topi.Padding{Top: -1}}, i32), []string{"padding"}},
		{"conv negative stride", conv(d100, k100, topi.NHWC, topi.Window{KH: 3, KW: 3, StrideH: -1}, i32), []string{"stride"}},
		{"conv window larger than the input", conv(pack(u8("small", 1, 2, 2, 100), 2, 3, te.UInt64), k100, topi.NHWC, topi.Window{KH: 3, KW: 3}, i32), []string{"fit"}},
		{"conv unipolar pad minus_one", conv(d100, k100, topi.NHWC, win3, with(i32, func(p *topi.Bitserial) { p.PadValue = topi.PadMinusOne })), []string{"minus_one", "unipolar", "zero, one"}},
		{"conv unsigned pad minus_one", conv(d100, k100, topi.NHWC, win3, with(i32, func(p *topi.Bitserial) {
			p.Polarity, p.PadValue = topi.Unsigned, topi.PadMinusOne
		})), []string{"minus_one", "unsigned", "zero, one"}},
		{"conv bad pad value", conv(d100, k100, topi.NHWC, win3, with(i32, func(p *topi.Bitserial) {
			p.Polarity, p.PadValue = topi.BipolarBipolar, 7
		})), []string{"PadValue(7)", "zero, one, minus_one"}},
		{"conv nil data", conv(nil, k100, topi.NHWC, win3, i32), []string{"nil"}},
		{"conv nil kernel", conv(d100, nil, topi.NHWC, win3, i32), []string{"nil"}},
		{"dense mismatched words", func() error {
			_, err := topi.BitserialDense("d", dd, dw65, topi.Bitserial{Polarity: topi.Unsigned, Elements: 1000, Out: te.Int32})
			return err
		}, []string{"words"}},
		{"dense wrong rank", func() error {
			_, err := topi.BitserialDense("d", d100, dw, topi.Bitserial{Polarity: topi.Unsigned, Elements: 1000, Out: te.Int32})
			return err
		}, []string{"dimensions"}},
		{"dense elements", func() error {
			_, err := topi.BitserialDense("d", dd, dw, topi.Bitserial{Polarity: topi.Unsigned, Elements: 900, Out: te.Int32})
			return err
		}, []string{"900"}},
		{"dense bad polarity", func() error {
			_, err := topi.BitserialDense("d", dd, dw, topi.Bitserial{Polarity: 3, Elements: 1000, Out: te.Int32})
			return err
		}, nil},
		{"dense nil", func() error {
			_, err := topi.BitserialDense("d", nil, nil, topi.Bitserial{Polarity: 0, Elements: 1000, Out: te.Int32})
			return err
		}, []string{"nil"}},
		// Bitpack
		{"bitpack signed word", func() error { _, err := topi.Bitpack("p", u8("b", 2, 8), 1, 1, 1, te.Int32); return err }, []string{"uint8"}},
		{"bitpack float word", func() error { _, err := topi.Bitpack("p", u8("b", 2, 8), 1, 1, 1, te.Float32); return err }, nil},
		{"bitpack float data", func() error { _, err := topi.Bitpack("p", f32("bf", 2, 8), 1, 1, 1, te.UInt8); return err }, []string{"float32"}},
		{"bitpack 0 bits", func() error { _, err := topi.Bitpack("p", u8("b", 2, 8), 0, 1, 1, te.UInt8); return err }, nil},
		{"bitpack 9 bits of uint8", func() error { _, err := topi.Bitpack("p", u8("b", 2, 8), 9, 1, 1, te.UInt8); return err }, []string{"9"}},
		{"bitpack pack axis out of range", func() error { _, err := topi.Bitpack("p", u8("b", 2, 8), 1, 2, 1, te.UInt8); return err }, []string{"axis"}},
		{"bitpack negative pack axis", func() error { _, err := topi.Bitpack("p", u8("b", 2, 8), 1, -1, 1, te.UInt8); return err }, []string{"axis"}},
		{"bitpack bit axis out of range", func() error { _, err := topi.Bitpack("p", u8("b", 2, 8), 1, 1, 3, te.UInt8); return err }, []string{"axis"}},
		{"bitpack nil", func() error { _, err := topi.Bitpack("p", nil, 1, 0, 0, te.UInt8); return err }, []string{"nil"}},
		// float operators
		{"conv2d channels differ", func() error { _, err := topi.Conv2D("c", x4, f32("w5", 3, 3, 5, 4), topi.NHWC, win3); return err }, []string{"channels"}},
		{"conv2d integer data", func() error {
			_, err := topi.Conv2D("c", topiPH(t, "xi", te.Int32, 1, 5, 5, 3), topiPH(t, "wi", te.Int32, 3, 3, 3, 4), topi.NHWC, win3)
			return err
		}, []string{"float"}},
		{"conv2d window differs", func() error { _, err := topi.Conv2D("c", x4, w4, topi.NHWC, topi.Window{KH: 1, KW: 1}); return err }, []string{"window"}},
		{"conv2d bad layout", func() error { _, err := topi.Conv2D("c", x4, w4, "HWCN", win3); return err }, []string{"HWCN"}},
		{"dense K differs", func() error { _, err := topi.Dense("d", f32("dx", 2, 5), f32("dw", 3, 6)); return err }, []string{"K"}},
		{"maxpool window too large", func() error {
			_, err := topi.MaxPool2D("p", x4, topi.NHWC, topi.Window{KH: 7, KW: 7})
			return err
		}, []string{"fit"}},
		{"avgpool integer data", func() error {
			_, err := topi.AvgPool2D("p", topiPH(t, "pi", te.Int32, 1, 4, 4, 2), topi.NHWC, topi.Window{KH: 2, KW: 2})
			return err
		}, []string{"float"}},
		{"global avg pool bad layout", func() error { _, err := topi.GlobalAvgPool2D("g", x4, "XYZW"); return err }, []string{"XYZW"}},
		{"bias wrong length", func() error { _, err := topi.BiasAdd("b", x4, f32("bias", 4), 3); return err }, []string{"bias"}},
		{"bias axis out of range", func() error { _, err := topi.BiasAdd("b", x4, f32("bias3", 3), 4); return err }, []string{"axis"}},
		{"batch norm wrong type", func() error {
			p := f32("p3", 3)
			_, err := topi.BatchNorm("bn", x4, p, p, topiPH(t, "m64", te.Float64, 3), p, 1e-5, 3)
			return err
		}, []string{"float64"}},
		{"add shapes differ", func() error { _, err := topi.Add("a", x4, f32("y", 1, 5, 5, 4)); return err }, []string{"shape"}},
		{"quantize 0 bits", func() error { _, err := topi.Quantize("q", x4, 0); return err }, []string{"bits"}},
		{"quantize 9 bits", func() error { _, err := topi.Quantize("q", x4, 9); return err }, []string{"bits"}},
		{"quantize integer data", func() error { _, err := topi.Quantize("q", acc, 2); return err }, []string{"int32"}},
		// glue
		{"glue float accumulators", func() error { _, err := topi.FusedGlue("g", f32("fa", 2, 4), cb4, sh4, 1, 2); return err }, []string{"int16"}},
		{"glue cb wrong length", func() error { _, err := topi.FusedGlue("g", acc, cb3, sh4, 3, 2); return err }, []string{"cb3"}},
		{"glue axis out of range", func() error { _, err := topi.FusedGlue("g", acc, cb4, sh4, 4, 2); return err }, []string{"axis"}},
		{"glue 0 bits", func() error { _, err := topi.FusedGlue("g", acc, cb4, sh4, 3, 0); return err }, []string{"bits"}},
		{"glue constants lengths", func() error {
			_, err := topi.GlueConstants([]float64{0.1, 0.1}, []float64{0}, []float64{1, 1}, 1e-5, 2, false)
			return err
		}, nil},
		{"glue constants alpha 0", func() error {
			_, err := topi.GlueConstants([]float64{0}, []float64{0}, []float64{1}, 1e-5, 2, false)
			return err
		}, []string{"alpha"}},
		{"glue constants alpha 1 (wb = 0)", func() error {
			_, err := topi.GlueConstants([]float64{1}, []float64{0}, []float64{1}, 1e-5, 2, false)
			return err
		}, []string{"wb"}},
		{"glue constants negative variance", func() error {
			_, err := topi.GlueConstants([]float64{0.1}, []float64{0}, []float64{-1}, 1e-5, 2, false)
			return err
		}, nil},
		{"glue constants shift below 0", func() error {
			// wb = 1, sb = log2 AP2(sqrt(1e-4)) = -7: shift -6
			_, err := topi.GlueConstants([]float64{0.5}, []float64{0}, []float64{1e-4}, 0, 2, false)
			return err
		}, []string{"shift"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := topiCall(t, c.name, c.f)
			if err == nil {
				if !t.Failed() {
					t.Errorf("%s: no error", c.name)
				}
				return
			}
			for _, w := range c.want {
				if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(w)) {
					t.Errorf("%s: error %q does not mention %q", c.name, err, w)
				}
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Float operators

type convCase struct {
	layout         topi.Layout
	n, h, w, c, o  int
	kh, kw, sh, sw int
	pad            topi.Padding
	skip           bool // Window.SkipPaddedTaps
}

func (c convCase) String() string {
	s := fmt.Sprintf("%s/N%dH%dW%dC%dO%d/k%dx%d/s%d,%d/pad%d,%d,%d,%d", c.layout, c.n, c.h, c.w, c.c, c.o, c.kh, c.kw, c.sh, c.sw, c.pad.Top, c.pad.Left, c.pad.Bottom, c.pad.Right)
	if c.skip {
		s += "/skip"
	}
	return s
}

func (c convCase) win() topi.Window {
	return topi.Window{KH: c.kh, KW: c.kw, StrideH: c.sh, StrideW: c.sw, Pad: c.pad, SkipPaddedTaps: c.skip}
}

func (c convCase) owin() oWin {
	return oWin{KH: c.kh, KW: c.kw, SH: max(1, c.sh), SW: max(1, c.sw), Top: c.pad.Top, Left: c.pad.Left, Bottom: c.pad.Bottom, Right: c.pad.Right}
}

func (c convCase) dataShape() []int {
	if c.layout == topi.NCHW {
		return []int{c.n, c.c, c.h, c.w}
	}
	return []int{c.n, c.h, c.w, c.c}
}

func conv2DTopiCase(t *testing.T, r *rand.Rand, c convCase) *topiCase {
	t.Helper()
	kshape := []int{c.kh, c.kw, c.c, c.o}
	if c.layout == topi.NCHW {
		kshape = []int{c.o, c.c, c.kh, c.kw}
	}
	x := topiPH(t, "x", te.Float32, c.dataShape()...)
	w := topiPH(t, "w", te.Float32, kshape...)
	out, err := topi.Conv2D("conv", x, w, c.layout, c.win())
	if err != nil {
		t.Fatalf("%v: %v", c, err)
	}
	xv := randF32(r, oNumel(c.dataShape()), -1, 1)
	wv := randF32(r, oNumel(kshape), -1, 1)
	ox, ow := xv, wv
	if c.layout == topi.NCHW {
		ox = nchwToNHWC(xv, c.n, c.c, c.h, c.w)
		ow = oihwToHWIO(wv, c.o, c.c, c.kh, c.kw)
	}
	want, oh, oww := oracleConv2DNHWC(ox, c.n, c.h, c.w, c.c, ow, c.o, c.owin(), 0)
	wantShape := []int{c.n, oh, oww, c.o}
	if c.layout == topi.NCHW {
		want = nhwcToNCHW(want, c.n, oh, oww, c.o)
		wantShape = []int{c.n, c.o, oh, oww}
	}
	if got := shapeOf(t, out); fmt.Sprint(got) != fmt.Sprint(wantShape) {
		t.Fatalf("%v: output shape %v, want %v", c, got, wantShape)
	}
	return &topiCase{
		name: "conv2d/" + c.String(), inputs: []*te.Tensor{x, w}, outputs: []*te.Tensor{out},
		bufs: []*te.Buffer{floatBuf(te.Float32, c.dataShape(), xv), floatBuf(te.Float32, kshape, wv)},
		want: []*te.Buffer{floatBuf(te.Float32, wantShape, want)}, tol: floatTol,
	}
}

// TestTopiConv2D checks the float convolution in both layouts with 1x1,
// 3x3 and 5x5 kernels, 3 and 65 channels, strides 1 and 2 and per-side
// padding against the textbook convolution with zero padding; NHWC skips
// the padded taps (as x86 targets declare it), lowered with both targets'
// schedules.
func TestTopiConv2D(t *testing.T) {
	r := topiRNG(5)
	shapes := []convCase{
		{n: 1, h: 5, w: 5, c: 3, o: 4, kh: 3, kw: 3, sh: 1, sw: 1, pad: topi.Pad(1)},
		{n: 2, h: 6, w: 7, c: 65, o: 3, kh: 3, kw: 3, sh: 2, sw: 2, pad: topi.Padding{Top: 1, Left: 0, Bottom: 0, Right: 1}},
		{n: 1, h: 4, w: 3, c: 65, o: 5, kh: 1, kw: 1, sh: 1, sw: 1},
		{n: 1, h: 7, w: 6, c: 3, o: 2, kh: 5, kw: 5, sh: 2, sw: 1, pad: topi.Padding{Top: 2, Left: 1, Bottom: 0, Right: 4}},
		{n: 1, h: 5, w: 6, c: 65, o: 2, kh: 5, kw: 3, sh: 1, sw: 2, pad: topi.Padding{Top: 0, Left: 2, Bottom: 3, Right: 0}},
		{n: 1, h: 3, w: 5, c: 3, o: 3, kh: 1, kw: 1, sh: 2, sw: 2},
		{n: 2, h: 4, w: 4, c: 3, o: 2, kh: 3, kw: 3, sh: 0, sw: 0, pad: topi.Pad(1)}, // strides 0 mean 1
		// at least 4 blocks of 16 output channels: blocks outermost. 5
		// blocks (70: the last one padded) are too few to share out, so
		// the blocks and rows run in parallel together and the weights are
		// packed once; with 9 (130) each block packs its own
		{n: 2, h: 5, w: 6, c: 5, o: 70, kh: 3, kw: 3, sh: 1, sw: 2, pad: topi.Padding{Top: 1, Left: 1, Bottom: 0, Right: 1}},
		{n: 1, h: 4, w: 5, c: 3, o: 130, kh: 3, kw: 3, sh: 1, sw: 1, pad: topi.Pad(1)},
	}
	for _, layout := range []topi.Layout{topi.NHWC, topi.NCHW} {
		for _, s := range shapes {
			c := s
			c.layout, c.skip = layout, layout == topi.NHWC
			t.Run(c.String(), func(t *testing.T) { conv2DTopiCase(t, r, c).check(t) })
		}
	}
}

// TestTopiConv2DSkipsPaddedTaps: with Window.SkipPaddedTaps a float NHWC
// convolution adds no tap on padding. A 7x7 layer whose AVX-512 block spans
// its row: the taps' conditions fold away (no guard in the channel loops),
// and the channel loops hold 19 of the 21 multiply-adds per block row and
// vector that the zeros took (the window's first and last columns miss a
// pixel each); they also prefetch the packed weights. Checked against the textbook convolution as generated code
// on AVX-512 under AddressSanitizer and on cortex-a53 (whose 4-pixel blocks
// partition the block loop instead), and a stem-like 7x7 window with stride
// 2 and padding 3 on x86-64 (6-pixel blocks) under AddressSanitizer.
func TestTopiConv2DSkipsPaddedTaps(t *testing.T) {
	c7 := convCase{layout: topi.NHWC, n: 1, h: 7, w: 7, c: 8, o: 32, kh: 3, kw: 3, sh: 1, sw: 1, pad: topi.Pad(1), skip: true}
	count := lower.CountStmts
	channelLoopMACs := func(c convCase) (macs, guards, prefetches int) {
		// AVX-512's schedule whatever this machine has
		f := conv2DTopiCase(t, topiRNG(11), c).loweredFor(t, topi.Target{Name: "avx512", VectorBits: 512})
		lower.WalkStmt(f.Body, func(s lower.Stmt) bool {
			if l, ok := s.(*lower.For); ok && l.Var.Name == "rc" {
				macs += count(l, func(x lower.Stmt) bool { _, ok := x.(*lower.Store); return ok })
				guards += count(l, func(x lower.Stmt) bool { _, ok := x.(*lower.IfThenElse); return ok })
				prefetches += count(l, func(x lower.Stmt) bool {
					p, ok := x.(*lower.Prefetch)
					return ok && strings.HasSuffix(p.Buffer.Name, "_wpack")
				})
				return false
			}
			return true
		})
		return macs, guards, prefetches
	}
	skipped, guards, prefetches := channelLoopMACs(c7)
	all := c7
	all.skip = false
	added, _, _ := channelLoopMACs(all)
	if guards != 0 || skipped*21 != added*19 {
		t.Errorf("channel loops: %d multiply-adds and %d guards skipping padding, %d adding it; want 19:21 and no guard", skipped, guards, added)
	}
	// each of the 3 channel loops (one per column of the window) prefetches
	// a line of each of the block's 2 vectors of weights, 2 blocks apart
	if prefetches != 6 {
		t.Errorf("%d prefetches of the packed weights in the channel loops, want 6", prefetches)
	}
	c := conv2DTopiCase(t, topiRNG(12), c7)
	c.checkEval(t)
	for _, target := range []string{"host+asan", "cortex-a53"} {
		c.checkCodegen(t, target)
	}
	stem := conv2DTopiCase(t, topiRNG(13), convCase{layout: topi.NHWC, n: 1, h: 13, w: 14, c: 3, o: 16, kh: 7, kw: 7, sh: 2, sw: 2, pad: topi.Padding{Top: 3, Left: 3, Bottom: 2, Right: 3}, skip: true})
	stem.checkLowered(t, "cortex-a53")
	stem.checkCodegen(t, "x86-64+asan")
}

// TestTopiConv2DFewBlocksShareRows: a float NHWC convolution with too few
// blocks of output channels to share out among threads (96 channels: 6
// blocks of 16 on x86-64) runs its output rows and blocks as one parallel
// loop, whose block of accumulators sits at constant offsets (no base
// computed from the fused loop in a let, which kept LLVM from holding the
// block in registers). Checked against the textbook convolution, as
// generated code on both targets and under AddressSanitizer.
func TestTopiConv2DFewBlocksShareRows(t *testing.T) {
	c := conv2DTopiCase(t, topiRNG(7), convCase{layout: topi.NHWC, n: 1, h: 6, w: 7, c: 3, o: 96, kh: 3, kw: 3, sh: 1, sw: 1, pad: topi.Pad(1)})
	sched, err := topi.Schedule(topi.Target{Name: "x86-64", VectorBits: 256}, c.outputs...)
	if err != nil {
		t.Fatal(err)
	}
	f, _, err := lower.Lower(c.kernel(t), sched, nil)
	if err != nil {
		t.Fatal(err)
	}
	ir := fmt.Sprint(f)
	if !strings.Contains(ir, "parallel (oh.oc.outer.fused, 0, 36)") {
		t.Errorf("want the 6 blocks and 6 rows as one parallel loop of 36:\n%s", ir)
	}
	if strings.Contains(ir, ".min = ") {
		t.Errorf("a block's base is a let:\n%s", ir)
	}
	c.checkEval(t)
	for _, target := range []string{"x86-64", "cortex-a53"} {
		c.checkLowered(t, target)
	}
	for _, target := range []string{"x86-64", "cortex-a53", "host+asan"} {
		c.checkCodegen(t, target)
	}
}

// TestTopiDense checks the float dense layer (x times the transpose of w).
func TestTopiDense(t *testing.T) {
	r := topiRNG(6)
	// the last two take the blocked schedule (outputs by 8, K by whole
	// vectors on every target)
	for _, s := range [][3]int{{1, 3, 4}, {3, 65, 5}, {4, 100, 2}, {2, 1, 3}, {2, 64, 16}, {1, 48, 24}} {
		b, k, o := s[0], s[1], s[2]
		t.Run(fmt.Sprintf("B%dK%dO%d", b, k, o), func(t *testing.T) {
			x := topiPH(t, "x", te.Float32, b, k)
			w := topiPH(t, "w", te.Float32, o, k)
			out, err := topi.Dense("dense", x, w)
			if err != nil {
				t.Fatal(err)
			}
			xv, wv := randF32(r, b*k, -1, 1), randF32(r, o*k, -1, 1)
			c := &topiCase{
				name: fmt.Sprintf("dense B%dK%dO%d", b, k, o), inputs: []*te.Tensor{x, w}, outputs: []*te.Tensor{out},
				bufs: []*te.Buffer{floatBuf(te.Float32, []int{b, k}, xv), floatBuf(te.Float32, []int{o, k}, wv)},
				want: []*te.Buffer{floatBuf(te.Float32, []int{b, o}, oracleDense(xv, b, k, wv, o))}, tol: floatTol,
			}
			c.check(t)
			if o == 16 {
				// the blocked schedule's code (its partial sums by
				// rfactor), memory-checked too
				if f := c.lowered(t, "cortex-a53"); !strings.Contains(f.String(), "dense.rf") {
					t.Errorf("not the blocked schedule:\n%s", f)
				}
				for _, target := range []string{"x86-64", "cortex-a53", "host+asan"} {
					c.checkCodegen(t, target)
				}
			}
		})
	}
}

func poolTopiCase(t *testing.T, r *rand.Rand, c convCase, isMax bool) *topiCase {
	t.Helper()
	x := topiPH(t, "x", te.Float32, c.dataShape()...)
	var out *te.Tensor
	var err error
	kind := "avgpool"
	if isMax {
		kind = "maxpool"
		out, err = topi.MaxPool2D("pool", x, c.layout, c.win())
	} else {
		out, err = topi.AvgPool2D("pool", x, c.layout, c.win())
	}
	if err != nil {
		t.Fatalf("%s %v: %v", kind, c, err)
	}
	// negative values too, so that a zero from padding would win a max
	xv := randF32(r, oNumel(c.dataShape()), -2, -0.5)
	for i := range xv {
		if r.IntN(3) == 0 {
			xv[i] = -xv[i]
		}
	}
	ox := xv
	if c.layout == topi.NCHW {
		ox = nchwToNHWC(xv, c.n, c.c, c.h, c.w)
	}
	want, oh, ow := oraclePoolNHWC(ox, c.n, c.h, c.w, c.c, c.owin(), isMax)
	wantShape := []int{c.n, oh, ow, c.c}
	if c.layout == topi.NCHW {
		want = nhwcToNCHW(want, c.n, oh, ow, c.c)
		wantShape = []int{c.n, c.c, oh, ow}
	}
	return &topiCase{
		name: kind + "/" + c.String(), inputs: []*te.Tensor{x}, outputs: []*te.Tensor{out},
		bufs: []*te.Buffer{floatBuf(te.Float32, c.dataShape(), xv)},
		want: []*te.Buffer{floatBuf(te.Float32, wantShape, want)}, tol: floatTol,
	}
}

var poolShapes = []convCase{
	{n: 1, h: 5, w: 5, c: 3, kh: 3, kw: 3, sh: 2, sw: 2, pad: topi.Pad(1)},
	{n: 2, h: 6, w: 7, c: 4, kh: 2, kw: 2, sh: 2, sw: 2},
	{n: 1, h: 7, w: 6, c: 2, kh: 3, kw: 2, sh: 1, sw: 2, pad: topi.Padding{Top: 2, Left: 0, Bottom: 1, Right: 1}},
	{n: 1, h: 4, w: 4, c: 5, kh: 3, kw: 3, sh: 1, sw: 1, pad: topi.Padding{Top: 0, Left: 2, Bottom: 2, Right: 0}},
	{n: 1, h: 3, w: 5, c: 1, kh: 1, kw: 1, sh: 2, sw: 1},
	// ResNet-18's padding (the extra row and column at the bottom and
	// right): 64 channels keep their vectors in registers across the
	// window (8 to 16 vectors: the window outside them); 130 channels are
	// more vectors than that (the window inside each vector)
	{n: 1, h: 6, w: 6, c: 64, kh: 3, kw: 3, sh: 2, sw: 2, pad: topi.Padding{Bottom: 1, Right: 1}},
	{n: 1, h: 5, w: 4, c: 130, kh: 3, kw: 3, sh: 2, sw: 2, pad: topi.Padding{Bottom: 1, Right: 1}},
}

// TestTopiMaxPool2D: the maximum over the window elements inside the image
// (padding never wins: the data is mostly negative).
func TestTopiMaxPool2D(t *testing.T) {
	r := topiRNG(7)
	for _, layout := range []topi.Layout{topi.NHWC, topi.NCHW} {
		for _, s := range poolShapes {
			c := s
			c.layout = layout
			t.Run(c.String(), func(t *testing.T) { poolTopiCase(t, r, c, true).check(t) })
		}
	}
}

// TestTopiAvgPool2D: the mean over the window elements inside the image
// (count_include_pad=False, as topi's doc says).
func TestTopiAvgPool2D(t *testing.T) {
	r := topiRNG(8)
	for _, layout := range []topi.Layout{topi.NHWC, topi.NCHW} {
		for _, s := range poolShapes {
			c := s
			c.layout = layout
			t.Run(c.String(), func(t *testing.T) { poolTopiCase(t, r, c, false).check(t) })
		}
	}
}

// TestTopiGlobalAvgPool2D: the mean over H and W, [N, 1, 1, C] or [N, C, 1, 1].
func TestTopiGlobalAvgPool2D(t *testing.T) {
	r := topiRNG(9)
	for _, layout := range []topi.Layout{topi.NHWC, topi.NCHW} {
		c := convCase{layout: layout, n: 2, h: 5, w: 3, c: 65}
		t.Run(string(layout), func(t *testing.T) {
			x := topiPH(t, "x", te.Float32, c.dataShape()...)
			out, err := topi.GlobalAvgPool2D("gap", x, layout)
			if err != nil {
				t.Fatal(err)
			}
			xv := randF32(r, oNumel(c.dataShape()), -1, 1)
			ox := xv
			if layout == topi.NCHW {
				ox = nchwToNHWC(xv, c.n, c.c, c.h, c.w)
			}
			want, _, _ := oraclePoolNHWC(ox, c.n, c.h, c.w, c.c, oWin{KH: c.h, KW: c.w, SH: 1, SW: 1}, false)
			wantShape := []int{c.n, 1, 1, c.c}
			if layout == topi.NCHW {
				wantShape = []int{c.n, c.c, 1, 1} // same order of elements when H = W = 1
			}
			tc := &topiCase{
				name: "global_avg_pool/" + string(layout), inputs: []*te.Tensor{x}, outputs: []*te.Tensor{out},
				bufs: []*te.Buffer{floatBuf(te.Float32, c.dataShape(), xv)},
				want: []*te.Buffer{floatBuf(te.Float32, wantShape, want)}, tol: floatTol,
			}
			tc.check(t)
		})
	}
}

// TestTopiElementwise checks ReLU, BiasAdd, BatchNorm (along the channel
// axis of NHWC and of NCHW) and Add.
func TestTopiElementwise(t *testing.T) {
	r := topiRNG(10)
	for _, tc := range []struct {
		layout string
		shape  []int
		axis   int
	}{{"NHWC", []int{2, 3, 4, 5}, 3}, {"NCHW", []int{2, 5, 3, 4}, 1}, {"2-D", []int{3, 65}, 1}, {"2-D axis 0", []int{7, 3}, 0}} {
		n := oNumel(tc.shape)
		ch := tc.shape[tc.axis]
		t.Run(fmt.Sprintf("relu/%s%v", tc.layout, tc.shape), func(t *testing.T) {
			x := topiPH(t, "x", te.Float32, tc.shape...)
			out, err := topi.ReLU("relu", x)
			if err != nil {
				t.Fatal(err)
			}
			xv := randF32(r, n, -1, 1)
			(&topiCase{name: "relu", inputs: []*te.Tensor{x}, outputs: []*te.Tensor{out},
				bufs: []*te.Buffer{floatBuf(te.Float32, tc.shape, xv)},
				want: []*te.Buffer{floatBuf(te.Float32, tc.shape, oracleReLU(xv))}, tol: floatTol}).check(t)
		})
		t.Run(fmt.Sprintf("bias_add/%s%v/axis=%d", tc.layout, tc.shape, tc.axis), func(t *testing.T) {
			x := topiPH(t, "x", te.Float32, tc.shape...)
			b := topiPH(t, "b", te.Float32, ch)
			out, err := topi.BiasAdd("bias", x, b, tc.axis)
			if err != nil {
				t.Fatal(err)
			}
			xv, bv := randF32(r, n, -1, 1), randF32(r, ch, -1, 1)
			(&topiCase{name: "bias_add", inputs: []*te.Tensor{x, b}, outputs: []*te.Tensor{out},
				bufs: []*te.Buffer{floatBuf(te.Float32, tc.shape, xv), floatBuf(te.Float32, []int{ch}, bv)},
				want: []*te.Buffer{floatBuf(te.Float32, tc.shape, oracleBiasAdd(xv, tc.shape, bv, tc.axis))}, tol: floatTol}).check(t)
		})
		t.Run(fmt.Sprintf("batch_norm/%s%v/axis=%d", tc.layout, tc.shape, tc.axis), func(t *testing.T) {
			x := topiPH(t, "x", te.Float32, tc.shape...)
			ps := make([]*te.Tensor, 4)
			for i, name := range []string{"gamma", "beta", "mean", "var"} {
				ps[i] = topiPH(t, name, te.Float32, ch)
			}
			const eps = 1e-3
			out, err := topi.BatchNorm("bn", x, ps[0], ps[1], ps[2], ps[3], eps, tc.axis)
			if err != nil {
				t.Fatal(err)
			}
			xv := randF32(r, n, -2, 2)
			g, b, m, v := randF32(r, ch, 0.5, 2), randF32(r, ch, -1, 1), randF32(r, ch, -1, 1), randF32(r, ch, 0.01, 3)
			cs := []int{ch}
			(&topiCase{name: "batch_norm", inputs: []*te.Tensor{x, ps[0], ps[1], ps[2], ps[3]}, outputs: []*te.Tensor{out},
				bufs: []*te.Buffer{floatBuf(te.Float32, tc.shape, xv), floatBuf(te.Float32, cs, g), floatBuf(te.Float32, cs, b), floatBuf(te.Float32, cs, m), floatBuf(te.Float32, cs, v)},
				want: []*te.Buffer{floatBuf(te.Float32, tc.shape, oracleBatchNorm(xv, tc.shape, g, b, m, v, eps, tc.axis))}, tol: floatTol}).check(t)
		})
		t.Run(fmt.Sprintf("add/%s%v", tc.layout, tc.shape), func(t *testing.T) {
			a := topiPH(t, "a", te.Float32, tc.shape...)
			b := topiPH(t, "b", te.Float32, tc.shape...)
			out, err := topi.Add("add", a, b)
			if err != nil {
				t.Fatal(err)
			}
			av, bv := randF32(r, n, -1, 1), randF32(r, n, -1, 1)
			(&topiCase{name: "add", inputs: []*te.Tensor{a, b}, outputs: []*te.Tensor{out},
				bufs: []*te.Buffer{floatBuf(te.Float32, tc.shape, av), floatBuf(te.Float32, tc.shape, bv)},
				want: []*te.Buffer{floatBuf(te.Float32, tc.shape, oracleAdd(av, bv))}, tol: floatTol}).check(t)
		})
	}
}

// TestTopiQuantize checks round((2^N - 1) * clip(x, 0, 1)) with ties to
// even, as uint8, for N = 1..4 and 8, on random values and on exact ties and
// the ends of the range. Codes are compared exactly.
func TestTopiQuantize(t *testing.T) {
	r := topiRNG(11)
	special := []float64{0, 1, -0.25, 1.75, 0.5, 0.25, 0.75, 1.0 / 3, 2.0 / 3, 0.1, 0.9, -1e-30, 1 + 1e-7, 0.49999997, 0.50000006}
	for _, bits := range []int{1, 2, 3, 4, 8} {
		t.Run(fmt.Sprintf("bits=%d", bits), func(t *testing.T) {
			xv := append(randF32(r, 6*7-len(special), -0.3, 1.3), special...)
			for i := range xv {
				xv[i] = float64(float32(xv[i]))
			}
			shape := []int{6, 7}
			x := topiPH(t, "x", te.Float32, shape...)
			out, err := topi.Quantize("q", x, bits)
			if err != nil {
				t.Fatal(err)
			}
			if out.DType != te.UInt8 {
				t.Fatalf("codes are %v, want uint8", out.DType)
			}
			(&topiCase{name: fmt.Sprintf("quantize bits=%d", bits), inputs: []*te.Tensor{x}, outputs: []*te.Tensor{out},
				bufs: []*te.Buffer{floatBuf(te.Float32, shape, xv)},
				want: []*te.Buffer{intBuf(te.UInt8, shape, oracleQuantize(xv, bits))}}).check(t)
		})
	}
	// exact ties, worked out by hand: N = 1: 0.5 -> 0.5 -> 0; N = 2: 0.5 ->
	// 1.5 -> 2, 0.25 -> 0.75 -> 1, 0.75 -> 2.25 -> 2; N = 3: 0.5 -> 3.5 -> 4;
	// N = 4: 0.5 -> 7.5 -> 8; out of range: clipped
	for _, c := range []struct {
		bits int
		x    float64
		want int64
	}{{1, 0.5, 0}, {2, 0.5, 2}, {3, 0.5, 4}, {4, 0.5, 8}, {2, 0.25, 1}, {2, 0.75, 2}, {1, 0.75, 1}, {3, 1.5, 7}, {3, -3, 0}} {
		t.Run(fmt.Sprintf("tie/bits=%d/x=%g", c.bits, c.x), func(t *testing.T) {
			x := topiPH(t, "x", te.Float32, 1)
			out, err := topi.Quantize("q", x, c.bits)
			if err != nil {
				t.Fatal(err)
			}
			if got := oracleQuantize([]float64{c.x}, c.bits)[0]; got != c.want {
				t.Fatalf("the oracle says %d, the hand computation %d", got, c.want)
			}
			(&topiCase{name: "quantize tie", inputs: []*te.Tensor{x}, outputs: []*te.Tensor{out},
				bufs: []*te.Buffer{floatBuf(te.Float32, []int{1}, []float64{c.x})},
				want: []*te.Buffer{intBuf(te.UInt8, []int{1}, []int64{c.want})}}).check(t)
		})
	}
}

// ---------------------------------------------------------------------------
// Fused glue

type glueCase struct {
	shape    []int
	axis     int
	acc      te.DType
	bits     int
	accLo    int64
	accHi    int64
	maxShift int64
	cbRange  int64
	label    string
}

func fusedGlueTopiCase(t *testing.T, r *rand.Rand, c glueCase) *topiCase {
	t.Helper()
	ch := c.shape[c.axis]
	acc := topiPH(t, "acc", c.acc, c.shape...)
	cb := topiPH(t, "cb", te.Int32, ch)
	sh := topiPH(t, "shift", te.Int32, ch)
	out, err := topi.FusedGlue("glue", acc, cb, sh, c.axis, c.bits)
	if err != nil {
		t.Fatalf("%s: %v", c.label, err)
	}
	n := oNumel(c.shape)
	av := make([]int64, n)
	for i := range av {
		av[i] = c.accLo + r.Int64N(c.accHi-c.accLo+1)
	}
	cbv, shv := make([]int64, ch), make([]int64, ch)
	for i := range cbv {
		cbv[i] = r.Int64N(2*c.cbRange+1) - c.cbRange
		shv[i] = r.Int64N(c.maxShift + 1)
	}
	shv[0] = 0 // no shift at all
	want := oracleFusedGlue(av, c.shape, cbv, shv, c.axis, c.bits)
	return &topiCase{
		name: c.label, inputs: []*te.Tensor{acc, cb, sh}, outputs: []*te.Tensor{out},
		bufs: []*te.Buffer{intBuf(c.acc, c.shape, av), intBuf(te.Int32, []int{ch}, cbv), intBuf(te.Int32, []int{ch}, shv)},
		want: []*te.Buffer{intBuf(te.UInt8, c.shape, want)},
	}
}

// TestTopiFusedGlue checks q = clip((acc + cb) >> shift, 0, 2^N - 1) with
// an arithmetic shift, exactly, for int16 and int32 accumulators along the
// channel axis of NHWC and NCHW, N = 1..4 and 8, shifts 0..12 (negative
// sums floor).
func TestTopiFusedGlue(t *testing.T) {
	r := topiRNG(12)
	for _, acc := range []te.DType{te.Int16, te.Int32} {
		for _, bits := range []int{1, 2, 3, 4, 8} {
			for _, lay := range []struct {
				name  string
				shape []int
				axis  int
			}{{"NHWC", []int{2, 3, 4, 7}, 3}, {"NCHW", []int{2, 7, 3, 4}, 1}} {
				hi := int64(30000)
				if acc == te.Int32 {
					hi = 1 << 20
				}
				c := glueCase{shape: lay.shape, axis: lay.axis, acc: acc, bits: bits, accLo: -hi, accHi: hi, maxShift: 12, cbRange: 3000,
					label: fmt.Sprintf("%v/bits=%d/%s", acc, bits, lay.name)}
				if bits <= 2 {
					// small accumulators so that codes other than 0 and the top appear
					c.accLo, c.accHi, c.maxShift, c.cbRange = -40, 200, 5, 20
				}
				t.Run(c.label, func(t *testing.T) { fusedGlueTopiCase(t, r, c).check(t) })
			}
		}
	}
	// shifts up to 31 (the largest an int32 allows) on large accumulators
	c := glueCase{shape: []int{3, 2, 2, 16}, axis: 3, acc: te.Int32, bits: 4, accLo: -1 << 30, accHi: 1 << 30, maxShift: 31, cbRange: 1 << 20, label: "int32/bits=4/shifts<=31"}
	t.Run(c.label, func(t *testing.T) { fusedGlueTopiCase(t, r, c).check(t) })
}

// TestTopiGlueConstants compares GlueConstants with riptide.md's formulas
// on hand-picked channels (worked out by hand below) and with the oracle's
// implementation of the formulas on random channels.
//
// Channel 0: alpha = 0.1: log2 0.1 = -3.32, rounds to -3, so AP2 = 1/8 and
// wb = 3. var = 3, eps = 1e-5: sqrt = 1.732, log2 = 0.79, rounds to 1: sb
// = 1. N = 2 (2^N - 1 = 3): S = 1 + (1 - 1/8)/3 = 1.2917; mean 0.3 is
// inside; mu_hat = round(0.3 * 3 * 8) = round(7.2) = 7. cb = (1 << 2) - 7 =
// -3, shift = 4; exact: cb = (1 << 3) - 7 = 1.
//
// Channel 1: alpha = 0.02: log2 = -5.64 -> -6, wb = 6. var = 0.01: sqrt =
// 0.10005, log2 = -3.32 -> -3, sb = -3, shift = 3. N = 1: S = 1 + 63/64;
// mu_hat = round(-0.7 * 1 * 64) = round(-44.8) = -45. cb = 32 + 45 = 77;
// exact: cb = 4 + 45 = 49.
//
// Channel 2 (the mean is clipped): alpha = 0.3: log2 = -1.74 -> -2, wb =
// 2. var = 0.8: sqrt = 0.894, log2 = -0.16 -> 0, sb = 0, shift = 2. N = 3:
// S = 1 + (3/4)/7 = 1.10714; mean 2.5 clips to S: mu_hat = round(S * 7 * 4)
// = round(28 + 3) = 31. cb = 2 - 31 = -29 (exact: the same, sb = 0).
//
// Channel 3: alpha = 0.004: log2 = -7.97 -> -8, wb = 8. var = 50: sqrt =
// 7.07, log2 = 2.82 -> 3, sb = 3, shift = 11. N = 2: mean -0.05: mu_hat =
// round(-0.05 * 3 * 256) = round(-38.4) = -38. cb = 128 + 38 = 166; exact:
// 1024 + 38 = 1062.
func TestTopiGlueConstants(t *testing.T) {
	const eps = 1e-5
	hand := []struct {
		alpha, mean, variance float64
		bits                  int
		cb, cbExact, shift    int32
	}{
		{0.1, 0.3, 3, 2, -3, 1, 4},
		{0.02, -0.7, 0.01, 1, 77, 49, 3},
		{0.3, 2.5, 0.8, 3, -29, -29, 2},
		{0.004, -0.05, 50, 2, 166, 1062, 11},
	}
	for i, h := range hand {
		for _, exact := range []bool{false, true} {
			t.Run(fmt.Sprintf("hand/channel%d/exact=%v", i, exact), func(t *testing.T) {
				g, err := topi.GlueConstants([]float64{h.alpha}, []float64{h.mean}, []float64{h.variance}, eps, h.bits, exact)
				if err != nil {
					t.Fatal(err)
				}
				want := h.cb
				if exact {
					want = h.cbExact
				}
				ocb, osh, _, _ := oracleGlueChannel(h.alpha, h.mean, h.variance, eps, h.bits, exact)
				if int32(ocb) != want || int32(osh) != h.shift {
					t.Fatalf("the oracle says cb %d shift %d, the hand computation cb %d shift %d", ocb, osh, want, h.shift)
				}
				if g.CB[0] != want || g.Shift[0] != h.shift {
					t.Errorf("alpha %g mean %g var %g N %d exact %v: got cb %d shift %d, want cb %d shift %d",
						h.alpha, h.mean, h.variance, h.bits, exact, g.CB[0], g.Shift[0], want, h.shift)
				}
			})
		}
	}
	// all hand channels at once (per-channel vectors)
	t.Run("hand/vector", func(t *testing.T) {
		byBits := map[int][]int{}
		for i, h := range hand {
			byBits[h.bits] = append(byBits[h.bits], i)
		}
		for bits, idx := range byBits {
			var a, m, v []float64
			for _, i := range idx {
				a, m, v = append(a, hand[i].alpha), append(m, hand[i].mean), append(v, hand[i].variance)
			}
			g, err := topi.GlueConstants(a, m, v, eps, bits, false)
			if err != nil {
				t.Fatal(err)
			}
			for j, i := range idx {
				if g.CB[j] != hand[i].cb || g.Shift[j] != hand[i].shift {
					t.Errorf("channel %d in a vector: got cb %d shift %d, want %d %d", i, g.CB[j], g.Shift[j], hand[i].cb, hand[i].shift)
				}
			}
		}
	})
	// random channels against the oracle's formulas (skipping the rare
	// means whose scaled value is within 1e-6 of a rounding tie)
	t.Run("random", func(t *testing.T) {
		r := topiRNG(13)
		checked := 0
		for bits := 1; bits <= 4; bits++ {
			for range 300 {
				alpha, mean, variance, ok := randGlueChannel(r, bits, -1, 10, 1.5)
				if !ok {
					continue
				}
				for _, exact := range []bool{false, true} {
					ocb, osh, wb, sb := oracleGlueChannel(alpha, mean, variance, eps, bits, exact)
					scaled := mean * float64(int(1)<<bits-1) * math.Pow(2, float64(wb))
					if f := scaled - math.Floor(scaled); math.Abs(f-0.5) < 1e-6 {
						continue
					}
					g, err := topi.GlueConstants([]float64{alpha}, []float64{mean}, []float64{variance}, eps, bits, exact)
					if err != nil {
						t.Errorf("alpha %g mean %g var %g N %d (wb %d sb %d): %v", alpha, mean, variance, bits, wb, sb, err)
						continue
					}
					checked++
					if int64(g.CB[0]) != ocb || int64(g.Shift[0]) != osh {
						t.Errorf("alpha %g mean %g var %g N %d exact %v (wb %d sb %d): got cb %d shift %d, want %d %d",
							alpha, mean, variance, bits, exact, wb, sb, g.CB[0], g.Shift[0], ocb, osh)
					}
				}
			}
		}
		t.Logf("%d random channels checked", checked)
	})
}

// randGlueChannel draws a channel's float parameters: wb uniform in 1..7
// and shift = wb + sb uniform in [minShift, maxShift] (minShift -1 draws
// shifts from 0), alpha and sqrt(var + eps) within a factor of 2^0.45 of
// their powers of two (so AP2 rounds from both sides) and mean uniform in
// [-meanRange, meanRange] (FPQ clips it to +-S, S = 1 + (1 - 2^-wb)/(2^N - 1),
// so meanRange 1 stays inside).
func randGlueChannel(r *rand.Rand, bits int, minShift, maxShift int, meanRange float64) (alpha, mean, variance float64, ok bool) {
	const eps = 1e-5
	lo := max(minShift, 0)
	wb := 1 + r.IntN(7)
	shift := lo + r.IntN(maxShift-lo+1)
	sb := shift - wb
	alpha = math.Pow(2, -float64(wb)+0.9*(r.Float64()-0.5))
	std := math.Pow(2, float64(sb)+0.9*(r.Float64()-0.5))
	variance = std*std - eps
	mean = meanRange * (2*r.Float64() - 1)
	if variance <= 0 {
		return 0, 0, 0, false
	}
	// recheck the exponents after the floating point round trip
	if -ap2Exp(alpha) != wb || ap2Exp(math.Sqrt(variance+eps)) != sb {
		return 0, 0, 0, false
	}
	return alpha, mean, variance, true
}

// glueStats counts how often the fused glue differs from the float pipeline.
type glueStats struct {
	n, differ int
	maxDiff   int64
}

func (s *glueStats) add(got, want int64) {
	s.n++
	if got != want {
		s.differ++
		s.maxDiff = max(s.maxDiff, abs64(got-want))
	}
}

func (s glueStats) agree() float64 { return 1 - float64(s.differ)/float64(max(s.n, 1)) }

func (s glueStats) String() string {
	return fmt.Sprintf("agree %.4f%% (%d of %d differ), max |diff| %d", 100*s.agree(), s.differ, s.n, s.maxDiff)
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// glueMeasurement runs topi.FusedGlue (through the evaluator) with the
// constants of topi.GlueConstants on random channels and accumulators and
// compares every code with the float pipeline (oracleGluePipeline).
// Accumulators are drawn around each channel's interesting range: from
// 2^shift below mu_hat to (2^N + 1) * 2^shift above it, so that the codes
// cover 0..2^N-1 and a little clipping on both sides. It returns the stats
// per shift and in total, for the paper's constant and the exact one, plus
// the stats of the oracle's ceil variant (cb = 2^(shift-1) - ceil(mu *
// (2^N-1) * 2^wb), the mean not clipped) that shows what an integer glue
// can reach: floor((acc + 2^(shift-1) - m) / 2^shift) equals
// floor((acc + 2^(shift-1) - ceil(m)) / 2^shift) for every integer acc, so
// only exact ties (half-even in the float pipeline) can differ.
func glueMeasurement(t *testing.T, r *rand.Rand, bits, channels, perChannel, minShift, maxShift int, meanRange float64) (paper, exact, ceil map[int]*glueStats) {
	t.Helper()
	const eps = 1e-5
	var alpha, mean, variance []float64
	for len(alpha) < channels {
		a, m, v, ok := randGlueChannel(r, bits, minShift, maxShift, meanRange)
		if ok {
			alpha, mean, variance = append(alpha, a), append(mean, m), append(variance, v)
		}
	}
	levels := float64(int(1)<<bits - 1)
	shape := []int{perChannel, channels} // channel axis 1
	accs := make([]int64, perChannel*channels)
	for c := range channels {
		wb := -ap2Exp(alpha[c])
		sb := ap2Exp(math.Sqrt(variance[c] + eps))
		s := int64(1) << (wb + sb)
		center := int64(math.Round(mean[c] * levels * math.Pow(2, float64(wb))))
		lo, hi := center-s, center+(int64(1)<<bits+1)*s
		for i := range perChannel {
			accs[i*channels+c] = lo + r.Int64N(hi-lo+1)
		}
	}
	acc := topiPH(t, "acc", te.Int32, shape...)
	cbT := topiPH(t, "cb", te.Int32, channels)
	shT := topiPH(t, "shift", te.Int32, channels)
	out, err := topi.FusedGlue("glue", acc, cbT, shT, 1, bits)
	if err != nil {
		t.Fatal(err)
	}
	k, err := te.NewKernel("glue", []*te.Tensor{acc, cbT, shT}, []*te.Tensor{out}, nil)
	if err != nil {
		t.Fatal(err)
	}
	run := func(exactConst bool) []int64 {
		g, err := topi.GlueConstants(alpha, mean, variance, eps, bits, exactConst)
		if err != nil {
			t.Fatal(err)
		}
		cb, sh := make([]int64, channels), make([]int64, channels)
		for i := range cb {
			cb[i], sh[i] = int64(g.CB[i]), int64(g.Shift[i])
		}
		got, err := te.EvalKernel(k, []*te.Buffer{intBuf(te.Int32, shape, accs), intBuf(te.Int32, []int{channels}, cb), intBuf(te.Int32, []int{channels}, sh)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return got[0].Ints
	}
	gotPaper, gotExact := run(false), run(true)
	paper, exact, ceil = map[int]*glueStats{}, map[int]*glueStats{}, map[int]*glueStats{}
	for i, a := range accs {
		c := i % channels
		wb := -ap2Exp(alpha[c])
		sb := ap2Exp(math.Sqrt(variance[c] + eps))
		shift := wb + sb
		for _, m := range []map[int]*glueStats{paper, exact, ceil} {
			if m[shift] == nil {
				m[shift] = &glueStats{}
			}
		}
		want := oracleGluePipeline(a, alpha[c], mean[c], variance[c], eps, bits)
		paper[shift].add(gotPaper[i], want)
		exact[shift].add(gotExact[i], want)
		// the ceil variant (oracle only)
		m := mean[c] * levels * math.Pow(2, float64(wb))
		var rc int64
		if shift > 0 {
			rc = int64(1) << (shift - 1)
		}
		q := (a + rc - int64(math.Ceil(m))) >> shift
		ceil[shift].add(min(max(q, 0), int64(1)<<bits-1), want)
	}
	return paper, exact, ceil
}

func totalStats(m map[int]*glueStats, from int) glueStats {
	var s glueStats
	for shift, x := range m {
		if shift >= from {
			s.n += x.n
			s.differ += x.differ
			s.maxDiff = max(s.maxDiff, x.maxDiff)
		}
	}
	return s
}

// TestTopiGlueAgreement MEASURES how far the fused integer glue (topi's
// FusedGlue with GlueConstants) is from the float pipeline of riptide.md
// (dequantize, weight scale AP2(alpha), batch norm with AP2(sqrt(var +
// eps)), clip, requantize), for N = 1, 2, 3, with the paper's rounding
// constant and the exact one, on channels with shifts 1..10 (wb 1..7); the
// numbers are logged (go test -v) for the documentation.
//
// With the exact constant the only remaining error is mu_hat's rounding:
// acc - mu_hat is a tie (a multiple of 2^shift plus 2^(shift-1)) for about
// 2^-shift of the accumulators, and half of those round the other way than
// the float value, so about 2^-(shift+1) of the codes differ by 1. The
// assertions: exact never differs by more than 1; per shift, exact differs
// on at most 2^-(shift+1) + 1% of the codes; over the shifts 6..10, exact
// agrees on at least 99%.
func TestTopiGlueAgreement(t *testing.T) {
	for _, bits := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("N=%d", bits), func(t *testing.T) {
			r := topiRNG(uint64(100 + bits))
			paper, exact, ceil := glueMeasurement(t, r, bits, 400, 100, 1, 10, 1)
			for shift := 1; shift <= 10; shift++ {
				if exact[shift] == nil {
					continue
				}
				t.Logf("N=%d shift=%2d: paper %v | exact %v | ceil-mu_hat %v", bits, shift, paper[shift], exact[shift], ceil[shift])
				if e := exact[shift]; float64(e.differ)/float64(e.n) > math.Pow(2, -float64(shift+1))+0.01 {
					t.Errorf("N=%d shift=%d: exact differs on %d of %d codes, more than 2^-(shift+1) + 1%%", bits, shift, e.differ, e.n)
				}
			}
			tp, te1, tc := totalStats(paper, 1), totalStats(exact, 1), totalStats(exact, 6)
			t.Logf("N=%d all shifts 1..10: paper %v | exact %v | ceil-mu_hat %v", bits, tp, te1, totalStats(ceil, 1))
			t.Logf("N=%d shifts 6..10: paper %v | exact %v", bits, totalStats(paper, 6), tc)
			if te1.maxDiff > 1 {
				t.Errorf("N=%d: exact differs by up to %d codes", bits, te1.maxDiff)
			}
			if tc.agree() < 0.99 {
				t.Errorf("N=%d: over shifts 6..10 exact agrees on only %.4f", bits, tc.agree())
			}
		})
	}
}

// TestTopiGlueMeanOutsideClip logs (without asserting) how much FPQ's
// clipping of the mean to +-S costs when batch-norm means reach +-3 (a
// float pipeline does not clip the mean); shifts 1..10, exact constant.
func TestTopiGlueMeanOutsideClip(t *testing.T) {
	for _, bits := range []int{1, 2, 3} {
		r := topiRNG(uint64(200 + bits))
		paper, exact, ceil := glueMeasurement(t, r, bits, 400, 100, 1, 10, 3)
		t.Logf("N=%d means in [-3, 3], shifts 1..10: paper %v | exact %v | ceil-mu_hat %v", bits, totalStats(paper, 1), totalStats(exact, 1), totalStats(ceil, 1))
	}
}

// TestTopiGlueExactShiftZero: when wb + sb = 0 nothing is shifted out, so
// the fused glue with a correct rounding constant (0: q = acc - mu_hat)
// equals the float pipeline; riptide.md's exact constant 1 << (wb + sb - 1)
// is undefined there. Compare GlueConstants(exact=true) with the float
// pipeline on such channels (wb = 1..3, sb = -wb).
func TestTopiGlueExactShiftZero(t *testing.T) {
	const eps = 0.0
	for _, c := range []struct {
		alpha, mean, variance float64
		bits                  int
	}{
		// wb = 1, sb = -1: alpha 0.5, sqrt(var) = 0.5
		{0.5, 0.4, 0.25, 2},
		// wb = 2, sb = -2
		{0.25, -0.3, 0.0625, 1},
		// wb = 3, sb = -3
		{0.125, 0.2, 1.0 / 64, 3},
	} {
		t.Run(fmt.Sprintf("alpha=%g/mean=%g/var=%g/N=%d", c.alpha, c.mean, c.variance, c.bits), func(t *testing.T) {
			g, err := topi.GlueConstants([]float64{c.alpha}, []float64{c.mean}, []float64{c.variance}, eps, c.bits, true)
			if err != nil {
				t.Fatal(err)
			}
			if g.Shift[0] != 0 {
				t.Fatalf("shift %d, the case wants 0", g.Shift[0])
			}
			var s glueStats
			example := ""
			for a := int64(-20); a <= 40; a++ {
				q := oracleFusedGlue([]int64{a}, []int{1}, []int64{int64(g.CB[0])}, []int64{0}, 0, c.bits)[0]
				want := oracleGluePipeline(a, c.alpha, c.mean, c.variance, eps, c.bits)
				if q != want && example == "" {
					example = fmt.Sprintf("acc %d: fused %d, float pipeline %d", a, q, want)
				}
				s.add(q, want)
			}
			if s.differ > 0 {
				t.Errorf("cb %d shift 0: %v; e.g. %s", g.CB[0], s, example)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// A binary layer end to end: quantize, bitpack, bitserial conv, fused glue.

// binaryLayerTopiCase is float activations -> Quantize (N bits) -> Bitpack
// -> BitserialConv2D (unipolar x bipolar, NHWC) with weight codes -> FusedGlue
// with per-channel cb and shift; the oracle composes the oracles.
func binaryLayerTopiCase(t *testing.T, r *rand.Rand) *topiCase {
	t.Helper()
	const n, h, w, c, o, bits, wbits = 1, 5, 4, 65, 3, 2, 1
	win := topi.Window{KH: 3, KW: 3, Pad: topi.Padding{Top: 1, Left: 1, Bottom: 0, Right: 1}}
	x := topiPH(t, "x", te.Float32, n, h, w, c)
	wc := topiPH(t, "weight_codes", te.UInt8, 3, 3, c, o)
	cb := topiPH(t, "cb", te.Int32, o)
	sh := topiPH(t, "shift", te.Int32, o)
	q, err := topi.Quantize("q", x, bits)
	if err != nil {
		t.Fatal(err)
	}
	pq, err := topi.Bitpack("qp", q, bits, 3, 3, te.UInt64)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := topi.Bitpack("wp", wc, wbits, 2, 2, te.UInt64)
	if err != nil {
		t.Fatal(err)
	}
	conv, err := topi.BitserialConv2D("conv", pq, pw, topi.NHWC, win, topi.Bitserial{Polarity: topi.UnipolarBipolar, Elements: c, Out: te.Int16})
	if err != nil {
		t.Fatal(err)
	}
	out, err := topi.FusedGlue("glue", conv, cb, sh, 3, bits)
	if err != nil {
		t.Fatal(err)
	}
	xv := randF32(r, n*h*w*c, -0.2, 1.2)
	wv := randCodes(r, 9*c*o, wbits)
	cbv, shv := []int64{3, -20, 40}, []int64{2, 4, 5}
	codes := oracleQuantize(xv, bits)
	acc, oh, ow := oracleConv2DNHWC(codes, n, h, w, c, decodeAll(wv, wbits, true, true), o,
		oWin{KH: 3, KW: 3, SH: 1, SW: 1, Top: 1, Left: 1, Bottom: 0, Right: 1}, 0)
	want := oracleFusedGlue(acc, []int{n, oh, ow, o}, cbv, shv, 3, bits)
	return &topiCase{
		name: "binary_layer", inputs: []*te.Tensor{x, wc, cb, sh}, outputs: []*te.Tensor{out},
		bufs: []*te.Buffer{floatBuf(te.Float32, []int{n, h, w, c}, xv), intBuf(te.UInt8, []int{3, 3, c, o}, wv),
			intBuf(te.Int32, []int{o}, cbv), intBuf(te.Int32, []int{o}, shv)},
		want: []*te.Buffer{intBuf(te.UInt8, []int{n, oh, ow, o}, want)},
	}
}

// TestTopiBinaryLayer checks a whole binary layer (quantize, bitpack,
// bitserial conv, fused glue) in one kernel.
func TestTopiBinaryLayer(t *testing.T) {
	binaryLayerTopiCase(t, topiRNG(14)).check(t)
}

// ---------------------------------------------------------------------------
// Medium shapes: tiles with tails

// mediumTopiCases are shapes a little larger than the schedules' tiles and
// vectors (4 rows, 8 to 16 lanes on x86-64, 4 to 8 on cortex-a53), with odd
// extents so that every split has a tail.
func mediumTopiCases(t *testing.T, r *rand.Rand) []*topiCase {
	t.Helper()
	return []*topiCase{
		bitserialConvTopiCase(t, r, bsConvCase{layout: topi.NHWC, pol: topi.UnipolarBipolar, abits: 2, wbits: 1, n: 1, h: 9, w: 13, c: 130, o: 19, kh: 3, kw: 3, sh: 1, sw: 1,
			pad: topi.Pad(1), out: te.Int16, word: te.UInt64, fill: -1, wfill: -1}),
		bitserialConvTopiCase(t, r, bsConvCase{layout: topi.NCHW, pol: topi.BipolarBipolar, abits: 1, wbits: 1, n: 1, h: 11, w: 9, c: 70, o: 17, kh: 3, kw: 3, sh: 2, sw: 2,
			pad: topi.Padding{Top: 1, Left: 1, Bottom: 1, Right: 0}, out: te.Int32, word: te.UInt32, fill: -1, wfill: -1}),
		bitserialConvTopiCase(t, r, bsConvCase{layout: topi.NHWC, pol: topi.Unsigned, abits: 3, wbits: 2, n: 1, h: 6, w: 10, c: 33, o: 21, kh: 1, kw: 1, sh: 1, sw: 1,
			out: te.Int32, word: te.UInt8, fill: -1, wfill: -1}),
		bitserialConvTopiCase(t, r, bsConvCase{layout: topi.NCHW, pol: topi.UnipolarBipolar, abits: 2, wbits: 2, n: 1, h: 7, w: 15, c: 65, o: 6, kh: 5, kw: 5, sh: 1, sw: 2,
			pad: topi.Padding{Top: 2, Left: 0, Bottom: 1, Right: 3}, out: te.Int32, word: te.UInt64, fill: -1, wfill: -1}),
		bitserialDenseTopiCase(t, r, bsDenseCase{pol: topi.BipolarBipolar, abits: 2, wbits: 2, b: 5, k: 200, o: 37, out: te.Int32, word: te.UInt64, fill: -1, wfill: -1}),
		bitserialDenseTopiCase(t, r, bsDenseCase{pol: topi.Unsigned, abits: 1, wbits: 1, b: 3, k: 70, o: 19, out: te.Int16, word: te.UInt16, fill: -1, wfill: -1}),
		conv2DTopiCase(t, r, convCase{layout: topi.NHWC, n: 1, h: 9, w: 11, c: 5, o: 19, kh: 3, kw: 3, sh: 1, sw: 1, pad: topi.Pad(1)}),
		conv2DTopiCase(t, r, convCase{layout: topi.NCHW, n: 1, h: 7, w: 13, c: 4, o: 9, kh: 3, kw: 3, sh: 1, sw: 1, pad: topi.Padding{Top: 1, Left: 2, Bottom: 0, Right: 1}}),
		bitpackTopiCase(t, r, bitpackCase{"NHWC", []int{1, 5, 7, 130}, 2, 3, 3, te.UInt64, 2}),
		poolTopiCase(t, r, convCase{layout: topi.NCHW, n: 1, h: 13, w: 11, c: 7, kh: 3, kw: 3, sh: 2, sw: 2, pad: topi.Pad(1)}, true),
		poolTopiCase(t, r, convCase{layout: topi.NHWC, n: 1, h: 9, w: 9, c: 19, kh: 3, kw: 3, sh: 1, sw: 1, pad: topi.Pad(1)}, false),
		fusedGlueTopiCase(t, r, glueCase{shape: []int{1, 5, 7, 37}, axis: 3, acc: te.Int16, bits: 2, accLo: -60, accHi: 300, maxShift: 6, cbRange: 30, label: "fused_glue/int16/bits=2/NHWC/medium"}),
	}
}

// TestTopiMediumShapes runs the medium shapes in the evaluator and, with
// topi's schedules for both targets, in lower's interpreter.
func TestTopiMediumShapes(t *testing.T) {
	for _, c := range mediumTopiCases(t, topiRNG(16)) {
		t.Run(c.name, func(t *testing.T) { c.check(t) })
	}
}

// ---------------------------------------------------------------------------
// Code generation

// TestTopiCodegen lowers a representative subset with topi's default
// schedules and runs it on x86-64 (natively) and cortex-a53 (under qemu):
// bitpack, a bitserial conv per polarity in NHWC (one at the int16 bound)
// and one in NCHW, bitserial dense, float conv NHWC, fused glue, max pool
// and a whole binary layer (quantize, bitpack, conv, glue), compared with
// the oracles (integers exactly, floats within floatTol).
func TestTopiCodegen(t *testing.T) {
	r := topiRNG(15)
	medium := mediumTopiCases(t, topiRNG(16))
	cases := []*topiCase{
		bitpackTopiCase(t, r, bitpackCase{"NHWC", []int{1, 3, 2, 65}, 2, 3, 3, te.UInt64, 2}),
		bitserialConvTopiCase(t, r, bsConvCase{layout: topi.NHWC, pol: topi.Unsigned, abits: 1, wbits: 2, n: 1, h: 5, w: 5, c: 3, o: 2, kh: 3, kw: 3, sh: 2, sw: 2,
			pad: topi.Pad(1), out: te.Int32, word: te.UInt8, fill: -1, wfill: -1}),
		bitserialConvTopiCase(t, r, bsConvCase{layout: topi.NHWC, pol: topi.BipolarBipolar, abits: 3, wbits: 2, n: 1, h: 4, w: 4, c: 100, o: 2, kh: 3, kw: 3, sh: 1, sw: 1,
			pad: topi.Padding{Top: 0, Left: 1, Bottom: 1, Right: 0}, out: te.Int16, word: te.UInt32, fill: -1, wfill: -1}),
		// int16 at its bound with the XNOR correction's intermediate out of range
		bitserialConvTopiCase(t, r, bsConvCase{layout: topi.NHWC, pol: topi.BipolarBipolar, abits: 4, wbits: 2, n: 1, h: 3, w: 4, c: 80, o: 2, kh: 3, kw: 3, sh: 1, sw: 1,
			pad: topi.Padding{Top: 1, Left: 1, Bottom: 0, Right: 1}, out: te.Int16, word: te.UInt64, fill: 15, wfill: 0}),
		medium[0], // NHWC unipolar-bipolar 9x13x130 -> 19, int16, uint64
		medium[1], // NCHW bipolar 11x9x70 -> 17, stride 2, uint32
		medium[4], // bitserial dense, bipolar, 5x200 x 37
		medium[6], // float conv NHWC 9x11x5 -> 19
		fusedGlueTopiCase(t, r, glueCase{shape: []int{1, 5, 3, 4}, axis: 1, acc: te.Int16, bits: 3, accLo: -30000, accHi: 30000, maxShift: 12, cbRange: 2000, label: "fused_glue/int16/bits=3/NCHW"}),
		poolTopiCase(t, r, convCase{layout: topi.NHWC, n: 1, h: 5, w: 5, c: 3, kh: 3, kw: 3, sh: 2, sw: 2, pad: topi.Pad(1)}, true),
		binaryLayerTopiCase(t, r),
	}
	for _, target := range []string{"x86-64", "cortex-a53"} {
		for _, c := range cases {
			t.Run(target+"/"+c.name, func(t *testing.T) { c.checkCodegen(t, target) })
		}
	}
}

// padValueProgram is a .te program: 2-D codes packed by bitpack and
// convolved by bitserial_conv2d (or, with glue, bitpack_conv2d) with a
// pad_value keyword, on h x w x c codes with o output channels, a 3x3
// window, stride 2 down the rows, and asymmetric padding.
type padValueProgram struct {
	layout         topi.Layout
	pol            topi.Polarity
	padValue       topi.PadValue
	abits, wbits   int
	h, w, c, o     int
	glue           bool // bitpack_conv2d with fused glue to outBits codes
	outBits        int
	pad            topi.Padding
	stride         [2]int
	actWord, wWord string
}

func (p padValueProgram) name() string {
	op := "bitserial_conv2d"
	if p.glue {
		op = "bitpack_conv2d"
	}
	return fmt.Sprintf("%s_%s_%v_%v_a%dw%d", op, p.layout, p.pol, p.padValue, p.abits, p.wbits)
}

func (p padValueProgram) source() string {
	xshape, kshape, xAxis, kAxis := fmt.Sprintf("(1, %d, %d, %d)", p.h, p.w, p.c), fmt.Sprintf("(3, 3, %d, %d)", p.c, p.o), 3, 2
	if p.layout == topi.NCHW {
		xshape, kshape, xAxis, kAxis = fmt.Sprintf("(1, %d, %d, %d)", p.c, p.h, p.w), fmt.Sprintf("(%d, %d, 3, 3)", p.o, p.c), 1, 1
	}
	var b strings.Builder
	fmt.Fprintf(&b, "X = placeholder(%s, uint8, range=(0, %d))\n", xshape, 1<<p.abits-1)
	fmt.Fprintf(&b, "K = placeholder(%s, uint8, range=(0, %d))\n", kshape, 1<<p.wbits-1)
	fmt.Fprintf(&b, "Xp = bitpack(X, bits=%d, pack_axis=%d, bit_axis=%d, word=%s)\n", p.abits, xAxis, xAxis, p.actWord)
	fmt.Fprintf(&b, "Kp = bitpack(K, bits=%d, pack_axis=%d, bit_axis=%d, word=%s)\n", p.wbits, kAxis, kAxis, p.actWord)
	args := fmt.Sprintf("layout=%s, stride=(%d, %d), padding=(%d, %d, %d, %d), polarity=%v, channels=%d, out=int32, pad_value=%v",
		p.layout, p.stride[0], p.stride[1], p.pad.Top, p.pad.Left, p.pad.Bottom, p.pad.Right, p.pol, p.c, p.padValue)
	if p.glue {
		// glue constants around the accumulators' mean, so that the codes
		// do not saturate: unsigned accumulators average 9 C (2^N - 1)/2
		// (2^M - 1)/2, the others 0
		center := 0
		if p.pol == topi.Unsigned {
			center = 9 * p.c * (1<<p.abits - 1) * (1<<p.wbits - 1) / 4
		}
		fmt.Fprintf(&b, "CB = placeholder((%d,), int32, range=(%d, %d))\nSH = placeholder((%d,), int32, range=(2, 4))\n", p.o, -center-40, -center+40, p.o)
		fmt.Fprintf(&b, "Y = bitpack_conv2d(Xp, Kp, CB, SH, %s, bits=%d, word=%s)\n", args, p.outBits, p.wWord)
		b.WriteString("kernel " + p.name() + "(X, K, CB, SH) -> Y\n")
	} else {
		fmt.Fprintf(&b, "Y = bitserial_conv2d(Xp, Kp, %s)\n", args)
		b.WriteString("kernel " + p.name() + "(X, K) -> Y\n")
	}
	return b.String()
}

// oracle is the program's output from its inputs (codes, and for the glue
// cb and shift), by the oracles.
func (p padValueProgram) oracle(in []*te.Buffer) []int64 {
	actBipolar, wBipolar := decodes(p.pol)
	dv, kv := decodeAll(in[0].Ints, p.abits, actBipolar, false), decodeAll(in[1].Ints, p.wbits, wBipolar, true)
	if p.layout == topi.NCHW {
		dv, kv = nchwToNHWC(dv, 1, p.c, p.h, p.w), oihwToHWIO(kv, p.o, p.c, 3, 3)
	}
	win := oWin{KH: 3, KW: 3, SH: p.stride[0], SW: p.stride[1], Top: p.pad.Top, Left: p.pad.Left, Bottom: p.pad.Bottom, Right: p.pad.Right}
	acc, oh, ow := oracleConv2DNHWC(dv, 1, p.h, p.w, p.c, kv, p.o, win, oraclePadValue(p.padValue.String(), p.abits, actBipolar))
	out, shape, axis := acc, []int{1, oh, ow, p.o}, 3
	if p.glue {
		out = oracleFusedGlue(acc, shape, in[2].Ints, in[3].Ints, 3, p.outBits)
	}
	if p.layout == topi.NCHW {
		out, shape, axis = nhwcToNCHW(out, 1, oh, ow, p.o), []int{1, p.o, oh, ow}, 1
	}
	if p.glue {
		words, _ := te.ParseDType(p.wWord)
		out, _ = oracleBitpack(out, shape, p.outBits, axis, axis, words.Bits)
	}
	return out
}

// TestTopiPadValuePrograms writes each pad value of each polarity as a .te
// program's pad_value keyword (bitserial_conv2d in one layout and
// bitpack_conv2d in the other, 60 channels, stride (2, 1), asymmetric
// padding, 1 and 2 activation and weight bits), compares the reference
// evaluator's output with the oracles (the convolution of the decoded
// values padded with 0, +(2^N - 1) or -(2^N - 1)), and runs the program as
// generated code with the operator library's schedules on x86-64 and
// cortex-a53 (checkGenerated: against the evaluator).
func TestTopiPadValuePrograms(t *testing.T) {
	var progs []padValueProgram
	i := 0
	for _, pol := range topiPolarities {
		for _, pv := range testPadValues(pol) {
			layouts := []topi.Layout{topi.NHWC, topi.NCHW}
			if i%2 == 1 {
				layouts[0], layouts[1] = layouts[1], layouts[0]
			}
			base := padValueProgram{pol: pol, padValue: pv, abits: 1 + i%2, wbits: 1 + i/2%2, h: 7, w: 6, c: 60, o: 5,
				pad: topi.Padding{Top: 2, Left: 1, Bottom: 1, Right: 0}, stride: [2]int{2, 1}, actWord: "uint8", wWord: "uint8"}
			conv, layer := base, base
			conv.layout, conv.actWord = layouts[0], "uint64"
			layer.layout, layer.glue, layer.outBits, layer.o = layouts[1], true, 2, 11
			progs = append(progs, conv, layer)
			i++
		}
	}
	for _, p := range progs {
		t.Run(p.name(), func(t *testing.T) {
			src := p.source()
			prog, err := dsl.Parse(p.name()+".te", []byte(src))
			if err != nil {
				t.Fatalf("%v\n%s", err, src)
			}
			in, _, err := tensorio.Inputs(prog.Kernel, nil, "", 11)
			if err != nil {
				t.Fatal(err)
			}
			got, err := te.EvalKernel(prog.Kernel, in, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := intBuf(got[0].DType, got[0].Shape, p.oracle(in))
			if m := te.Compare(got[0], want, 0); m.First >= 0 {
				t.Errorf("evaluator against the oracle: %s\n%s", m.Detail, src)
			}
			for _, target := range []string{"x86-64", "cortex-a53"} {
				tgt, err := llvmgen.ParseTarget(target)
				if err != nil {
					t.Fatal(err)
				}
				checkGenerated(t, p.name(), src, tgt, llvmgen.Options{}, 11)
			}
		})
	}
}
