package driver

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/tide-compiler/tide/llvmgen"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/topi"
)

// xnorShapes are the binarized convolutions the references are checked on:
// the sizes the issue names (8x8x64->64 and 9x7x128->64, stride 1 and 2,
// padding 1), int16 and int32 outputs, a batch with channels that fill no
// whole 32- or 64-bit word (activations copied into padded words) and an
// output channel count that is no multiple of a register block, asymmetric
// padding (2 rows on top: the first output row reads one kernel row),
// unequal strides, 1x1 and 5x5 kernels, and more than 31 64-bit words per
// pixel (the AVX2 byte counters flushed within a tap).
var xnorShapes = []XnorConv{
	{Conv2DShape{N: 1, H: 8, W: 8, C: 64, O: 64, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}, te.Int16},
	{Conv2DShape{N: 1, H: 8, W: 8, C: 64, O: 64, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}, te.Int16},
	{Conv2DShape{N: 1, H: 9, W: 7, C: 128, O: 64, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}, te.Int32},
	{Conv2DShape{N: 1, H: 9, W: 7, C: 128, O: 64, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}, te.Int16},
	{Conv2DShape{N: 2, H: 7, W: 10, C: 20, O: 72, KH: 3, KW: 3, StrideH: 2, StrideW: 1, PadTop: 2, PadLeft: 0, PadBottom: 1, PadRight: 2}, te.Int32},
	{Conv2DShape{N: 1, H: 6, W: 13, C: 40, O: 24, KH: 1, KW: 1, StrideH: 1, StrideW: 1}, te.Int16},
	{Conv2DShape{N: 1, H: 11, W: 12, C: 264, O: 16, KH: 5, KW: 5, StrideH: 1, StrideW: 2, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2}, te.Int32},
	{Conv2DShape{N: 1, H: 5, W: 4, C: 2048, O: 16, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}, te.Int16},
}

// xnorReference is Tide's bitserial_conv2d for s and the reference
// evaluator's output on random packed words (every bit random, channel
// padding bits included: both count them alike).
func xnorReference(t *testing.T, s XnorConv, seed uint64) (in []*te.Buffer, want *te.Buffer) {
	t.Helper()
	ints := func(vs []int) []te.Expr {
		out := make([]te.Expr, len(vs))
		for i, v := range vs {
			out[i] = te.Int(int64(v))
		}
		return out
	}
	x, err := te.Placeholder("X", ints(s.XShape()), te.UInt8)
	if err != nil {
		t.Fatal(err)
	}
	w, err := te.Placeholder("W", ints(s.WShape()), te.UInt8)
	if err != nil {
		t.Fatal(err)
	}
	y, err := topi.BitserialConv2D("Y", x, w, topi.NHWC,
		topi.Window{KH: s.KH, KW: s.KW, StrideH: s.StrideH, StrideW: s.StrideW, Pad: topi.Padding{Top: s.PadTop, Left: s.PadLeft, Bottom: s.PadBottom, Right: s.PadRight}},
		topi.Bitserial{Polarity: topi.BipolarBipolar, Elements: s.C, Out: s.Out, PadValue: topi.PadZero})
	if err != nil {
		t.Fatal(err)
	}
	k, err := te.NewKernel("xnor", []*te.Tensor{x, w}, []*te.Tensor{y}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 7))
	in = []*te.Buffer{te.RandomBuffer(te.UInt8, s.XShape(), nil, r), te.RandomBuffer(te.UInt8, s.WShape(), nil, r)}
	out, err := te.EvalKernel(k, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := out[0].Shape; len(got) != 4 || got[1] != s.OutH() || got[2] != s.OutW() || got[3] != s.O {
		t.Fatalf("Tide's output is %v, the shape's %v", got, s.YShape())
	}
	return in, out[0]
}

// The hand-written references of bench/ equal the reference evaluator on
// Tide's bitserial_conv2d, exactly. The AVX-512 one is skipped (t.Skip,
// with the reason) on a CPU without AVX-512 VPOPCNTDQ; the AVX2 one on a
// CPU without AVX2.
func TestXnorBaselines(t *testing.T) {
	tgt, err := llvmgen.ParseTarget("x86-64")
	if err != nil {
		t.Fatal(err)
	}
	if !Native(tgt) {
		t.Skip("baselines are timed natively only, and this machine is not x86-64")
	}
	for _, ref := range []func(XnorConv) Baseline{XnorAVX2, XnorAVX512} {
		for i, s := range xnorShapes {
			b := ref(s)
			t.Run(b.Name+" "+s.Out.String(), func(t *testing.T) {
				requireTools(t, GCC)
				in, want := xnorReference(t, s, uint64(i))
				times, outs, err := BenchBaseline(tgt, b, in, []te.DType{s.Out}, [][]int{s.YShape()}, t.TempDir(), 2)
				var skip *SkipError
				if errors.As(err, &skip) {
					t.Skip(skip)
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(times) != 2 {
					t.Errorf("%d times, want 2", len(times))
				}
				if m := te.Compare(outs[0], want, 0); m.First >= 0 {
					t.Errorf("differs from the evaluator %s", m.Detail)
				}
			})
		}
	}
}

func TestXnorConvValid(t *testing.T) {
	s := xnorShapes[0]
	if err := s.Valid(); err != nil {
		t.Error(err)
	}
	if got := XnorAVX512(s).Name; got != "xnor-avx512 binary conv 8x8x64->64 3x3/1 pad 1" {
		t.Errorf("name %q", got)
	}
	s.StrideW = 3
	if err := s.Valid(); err == nil || err.Error() != "convolution 8x8x64->64 3x3/1,3 pad 1: the xnor references take strides 1 and 2" {
		t.Errorf("stride 3: %v", err)
	}
	s = xnorShapes[0]
	s.Out = te.Int8
	if err := s.Valid(); err == nil || err.Error() != "convolution 8x8x64->64 3x3/1 pad 1: output int8; the xnor references write int16 or int32" {
		t.Errorf("int8: %v", err)
	}
}
