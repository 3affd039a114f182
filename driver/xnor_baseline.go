package driver

import (
	"fmt"

	"github.com/tide-compiler/tide/bench"
	"github.com/tide-compiler/tide/te"
)

// XnorConv is the binarized convolution the hand-written references in
// bench/ compute: Tide's bitserial_conv2d in NHWC with bipolar activations
// and weights of 1 bit each and zero padding (pad_value=zero),
//
//	X [N, H, W, 1, CW] uint8, Wt [KH, KW, 1, CW, O] uint8 -> Y [N, OH, OW, O] of Out,
//
// CW = ceil(C / 8) words of 8 channels (bit t of word j is channel 8j + t,
// as bitpack packs them), and
//
//	Y[n, oh, ow, o] = Σ over the taps inside the input of C - 2·popcount(X word ^ Wt word)
//
// summed over the words: the ±1 dot product, taps in the padding adding 0.
type XnorConv struct {
	Conv2DShape          // C is the number of real channels
	Out         te.DType // int16 or int32
}

// CW is the number of uint8 words per pixel.
func (s XnorConv) CW() int { return (s.C + 7) / 8 }

// XShape, WShape and YShape are the shapes of the packed input, the packed
// kernel and the output.
func (s XnorConv) XShape() []int { return []int{s.N, s.H, s.W, 1, s.CW()} }
func (s XnorConv) WShape() []int { return []int{s.KH, s.KW, 1, s.CW(), s.O} }

// Valid reports why the references cannot compute the convolution, or nil.
func (s XnorConv) Valid() error {
	if err := s.Conv2DShape.Valid(); err != nil {
		return err
	}
	if s.StrideH < 1 || s.StrideH > 2 || s.StrideW < 1 || s.StrideW > 2 {
		return fmt.Errorf("convolution %v: the xnor references take strides 1 and 2", s.Conv2DShape)
	}
	if s.Out != te.Int16 && s.Out != te.Int32 {
		return fmt.Errorf("convolution %v: output %v; the xnor references write int16 or int32", s.Conv2DShape, s.Out)
	}
	return nil
}

// XnorAVX2 is bench/xnor_avx2.c on the inputs X, Wt and the output Y of a
// binarized convolution kernel (see XnorConv): 64-bit words, popcounts by
// vpshufb nibble lookups, a register block of 4 output pixels x 8 output
// channels. The weights are repacked before the timed calls; a timed call
// computes all of Y from the packed X. It runs on OpenMP over output rows
// (OMP_NUM_THREADS). On a CPU without AVX2 the harness reports it skipped
// (BenchBaseline's *SkipError). It panics when s is not Valid.
func XnorAVX2(s XnorConv) Baseline {
	return xnorBaseline(s, "xnor-avx2", "xnor_avx2", bench.XnorAVX2, []string{"-O3", "-march=haswell", "-fopenmp"},
		"", `__builtin_cpu_supports("avx2")`, "this CPU lacks AVX2")
}

// XnorAVX512 is bench/xnor_avx512.c on a binarized convolution kernel's
// inputs and output (see XnorConv): 32-bit lanes, one output channel each,
// vpopcntd, a register block of 6 output pixels x 64 output channels. As
// XnorAVX2 otherwise; on a CPU without AVX-512 VPOPCNTDQ the harness
// reports it skipped. It panics when s is not Valid.
func XnorAVX512(s XnorConv) Baseline {
	return xnorBaseline(s, "xnor-avx512", "xnor_avx512", bench.XnorAVX512, []string{"-O3", "-fopenmp"},
		"int xnor_avx512_supported(void);\n", "xnor_avx512_supported()", "this CPU lacks AVX-512 VPOPCNTDQ")
}

// xnorBaseline is a reference kernel's baseline: the C file text (functions
// prefix_plan, prefix_run) compiled with flags, and a harness that skips
// unless the C condition supported holds; decls declares what it calls.
func xnorBaseline(s XnorConv, name, prefix, text string, flags []string, decls, supported, lacks string) Baseline {
	if err := s.Valid(); err != nil {
		panic(err)
	}
	bits := 16
	if s.Out == te.Int32 {
		bits = 32
	}
	return Baseline{
		Name:     fmt.Sprintf("%s binary conv %v", name, s.Conv2DShape),
		Includes: []string{"stdint.h"},
		Sources:  []CSource{{Name: "xnor_common.h", Text: bench.XnorCommon}, {Name: prefix + ".c", Text: text, Flags: flags}},
		Decls: fmt.Sprintf(`%[2]svoid *%[1]s_plan(int n, int h, int w, int cw, int o, int kh, int kw, int sh, int sw,
                 int pt, int pl, int pb, int pr, int channels, int out_bits, const uint8_t *wts);
void %[1]s_run(const void *plan, const uint8_t *x, void *y);`, prefix, decls),
		Setup: fmt.Sprintf(`if (!(%[1]s)) { printf("%[2]s%[3]s\n"); return 0; }
    void *xn_plan = %[4]s_plan(%[5]d, %[6]d, %[7]d, %[8]d, %[9]d, %[10]d, %[11]d, %[12]d, %[13]d, %[14]d, %[15]d, %[16]d, %[17]d, %[18]d, %[19]d, in1);
    if (!xn_plan) { fprintf(stderr, "%[20]s: out of memory\n"); return 2; }`,
			supported, SkipMarker, lacks, prefix,
			s.N, s.H, s.W, s.CW(), s.O, s.KH, s.KW, s.StrideH, s.StrideW, s.PadTop, s.PadLeft, s.PadBottom, s.PadRight, s.C, bits, name),
		Call: prefix + "_run(xn_plan, in0, out0);",
	}
}
