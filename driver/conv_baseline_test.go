package driver

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/tide-compiler/tide/llvmgen"
	"github.com/tide-compiler/tide/te"
)

// requireLibraries is requireTools for libraries, whose Tool names a header
// file rather than a command on PATH.
func requireLibraries(t *testing.T, libs ...Tool) {
	t.Helper()
	for _, lib := range libs {
		if _, err := os.Stat(lib.Command); err != nil {
			err := &MissingError{lib}
			if os.Getenv("TIDE_REQUIRE_TOOLS") != "" {
				t.Fatal(err)
			}
			t.Skip(err)
		}
	}
}

// convShapes cover padding on all sides, asymmetric padding with stride 2
// and a batch, 1×1 kernels (with and without im2col), a 5×5 kernel, a
// rectangular kernel with unequal strides, and channel counts for which
// oneDNN picks blocked layouts.
var convShapes = []Conv2DShape{
	{N: 1, H: 7, W: 7, C: 3, O: 5, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
	{N: 2, H: 9, W: 8, C: 4, O: 6, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 0, PadLeft: 1, PadBottom: 1, PadRight: 0},
	{N: 1, H: 6, W: 5, C: 8, O: 4, KH: 1, KW: 1, StrideH: 1, StrideW: 1},
	{N: 1, H: 7, W: 7, C: 8, O: 16, KH: 1, KW: 1, StrideH: 2, StrideW: 2},
	{N: 1, H: 10, W: 10, C: 3, O: 7, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2},
	{N: 1, H: 6, W: 9, C: 5, O: 3, KH: 3, KW: 2, StrideH: 1, StrideW: 2, PadTop: 1, PadLeft: 0, PadBottom: 0, PadRight: 1},
	{N: 1, H: 8, W: 8, C: 16, O: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
}

// naiveConv computes the convolution from its definition, in float64, with
// the sum of the terms' magnitudes at each output (the scale of its
// rounding error).
func naiveConv(s Conv2DShape, x, w []float64) (y, scale []float64) {
	oh, ow := s.OutH(), s.OutW()
	y, scale = make([]float64, s.N*oh*ow*s.O), make([]float64, s.N*oh*ow*s.O)
	for n := range s.N {
		for i := range oh {
			for j := range ow {
				for o := range s.O {
					var sum, mag float64
					for kh := range s.KH {
						for kw := range s.KW {
							ih, iw := i*s.StrideH-s.PadTop+kh, j*s.StrideW-s.PadLeft+kw
							if ih < 0 || ih >= s.H || iw < 0 || iw >= s.W {
								continue
							}
							for c := range s.C {
								p := x[((n*s.H+ih)*s.W+iw)*s.C+c] * w[((kh*s.KW+kw)*s.C+c)*s.O+o]
								sum += p
								mag += math.Abs(p)
							}
						}
					}
					k := ((n*oh+i)*ow+j)*s.O + o
					y[k], scale[k] = sum, mag
				}
			}
		}
	}
	return y, scale
}

func randomFloat32s(r *rand.Rand, shape []int) *te.Buffer {
	b := te.NewBuffer(te.Float32, shape)
	for i := range b.Floats {
		b.Floats[i] = float64(float32(r.Float64()*2 - 1))
	}
	return b
}

func TestConvBaselines(t *testing.T) {
	tgt, err := llvmgen.ParseTarget("x86-64")
	if err != nil {
		t.Fatal(err)
	}
	if !Native(tgt) {
		t.Skip("baselines are timed natively only, and this machine is not x86-64")
	}
	for _, lib := range []struct {
		tool     Tool
		baseline func(Conv2DShape) Baseline
	}{{OpenBLAS, Im2colSgemm}, {OneDNN, OneDNNConv}} {
		for i, s := range convShapes {
			b := lib.baseline(s)
			t.Run(b.Name, func(t *testing.T) {
				requireTools(t, GCC)
				requireLibraries(t, lib.tool)
				r := rand.New(rand.NewPCG(uint64(i), 7))
				x, w := randomFloat32s(r, s.XShape()), randomFloat32s(r, s.WShape())
				times, outs, err := BenchBaseline(tgt, b, []*te.Buffer{x, w}, []te.DType{te.Float32}, [][]int{s.YShape()}, t.TempDir(), 2)
				if err != nil {
					t.Fatal(err)
				}
				if len(times) != 2 {
					t.Errorf("%d times, want 2", len(times))
				}
				for _, d := range times {
					if d <= 0 {
						t.Errorf("time %v, want positive", d)
					}
				}
				want, scale := naiveConv(s, x.Floats, w.Floats)
				got := outs[0]
				if len(got.Floats) != len(want) {
					t.Fatalf("%d outputs, want %d", len(got.Floats), len(want))
				}
				bad := 0
				for k, v := range got.Floats {
					if math.Abs(v-want[k]) > 1e-4*max(scale[k], 1e-6) {
						if bad++; bad <= 5 {
							t.Errorf("Y%s = %g, want %g", te.IndexString(s.YShape(), k), v, want[k])
						}
					}
				}
				if bad > 5 {
					t.Errorf("%d outputs differ in all", bad)
				}
			})
		}
	}
}

func TestConv2DShape(t *testing.T) {
	s := Conv2DShape{N: 1, H: 56, W: 56, C: 64, O: 64, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}
	if s.OutH() != 56 || s.OutW() != 56 || s.Flops() != 2*56*56*64*9*64 || s.Valid() != nil {
		t.Errorf("%v: OH %d, OW %d, flops %d, %v", s, s.OutH(), s.OutW(), s.Flops(), s.Valid())
	}
	if got := Im2colSgemm(s).Name; got != "openblas im2col+sgemm conv 56x56x64->64 3x3/1 pad 1" {
		t.Errorf("name %q", got)
	}
	a := convShapes[1]
	if a.OutH() != 4 || a.OutW() != 4 {
		t.Errorf("%v: OH %d, OW %d, want 4, 4", a, a.OutH(), a.OutW())
	}
	if got := OneDNNConv(a).Name; got != "onednn conv 2x9x8x4->6 3x3/2 pad 0,1,1,0" {
		t.Errorf("name %q", got)
	}
	if got := convShapes[5].String(); got != "6x9x5->3 3x2/1,2 pad 1,0,0,1" {
		t.Errorf("string %q", got)
	}
	for _, bad := range []Conv2DShape{
		{N: 1, H: 2, W: 2, C: 1, O: 1, KH: 3, KW: 3, StrideH: 1, StrideW: 1},
		{N: 1, H: 4, W: 4, C: 1, O: 1, KH: 3, KW: 3},
		{N: 1, H: 4, W: 4, C: 1, O: 1, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: -1},
		{H: 4, W: 4, C: 1, O: 1, KH: 3, KW: 3, StrideH: 1, StrideW: 1},
	} {
		if bad.Valid() == nil {
			t.Errorf("%+v is valid", bad)
		}
	}
}
