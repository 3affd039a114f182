package topi

import (
	"math/rand/v2"
	"testing"

	"github.com/tide-compiler/tide/te"
)

// A small smoke test of the binarized path through the reference evaluator:
// bipolar codes packed in the kernel, a 3x3 padded convolution with each pad
// value (padded pixels 0, +1, -1), against the convolution of the decoded
// ±1 values (the thorough tests, with their own oracles, are in
// tests/topi_test.go).
func TestBipolarConvSmoke(t *testing.T) {
	for _, pv := range []struct {
		v   PadValue
		pad int64
	}{{PadZero, 0}, {PadOne, 1}, {PadMinusOne, -1}} {
		t.Run(pv.v.String(), func(t *testing.T) { bipolarConvSmoke(t, pv.v, pv.pad) })
	}
}

func bipolarConvSmoke(t *testing.T, pv PadValue, pad int64) {
	const n, h, w, c, o = 1, 4, 5, 5, 3
	x, _ := te.Placeholder("X", ints(n, h, w, c), te.UInt8)
	k, _ := te.Placeholder("K", ints(3, 3, c, o), te.UInt8)
	x.SetRange(0, 1)
	k.SetRange(0, 1)
	xp, err := Bitpack("Xp", x, 1, 3, 3, te.UInt8)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := Bitpack("Kp", k, 1, 2, 2, te.UInt8)
	if err != nil {
		t.Fatal(err)
	}
	y, err := BitserialConv2D("Y", xp, kp, NHWC, Window{KH: 3, KW: 3, Pad: Pad(1)}, Bitserial{Polarity: BipolarBipolar, Elements: c, Out: te.Int32, PadValue: pv})
	if err != nil {
		t.Fatal(err)
	}
	kern, err := te.NewKernel("bconv", []*te.Tensor{x, k}, []*te.Tensor{y}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	xb, kb := te.NewBuffer(te.UInt8, []int{n, h, w, c}), te.NewBuffer(te.UInt8, []int{3, 3, c, o})
	for i := range xb.Ints {
		xb.Ints[i] = int64(rng.IntN(2))
	}
	for i := range kb.Ints {
		kb.Ints[i] = int64(rng.IntN(2))
	}
	got, err := te.EvalKernel(kern, []*te.Buffer{xb, kb}, nil)
	if err != nil {
		t.Fatal(err)
	}
	val := func(bit int64) int64 { return 2*bit - 1 }
	for oh := 0; oh < h; oh++ {
		for ow := 0; ow < w; ow++ {
			for oc := 0; oc < o; oc++ {
				want := int64(0)
				for ry := 0; ry < 3; ry++ {
					for rx := 0; rx < 3; rx++ {
						for ic := 0; ic < c; ic++ {
							iy, ix := oh+ry-1, ow+rx-1
							a := pad
							if iy >= 0 && iy < h && ix >= 0 && ix < w {
								a = val(xb.Ints[(iy*w+ix)*c+ic])
							}
							want += a * val(kb.Ints[((ry*3+rx)*c+ic)*o+oc])
						}
					}
				}
				if g := got[0].Ints[(oh*w+ow)*o+oc]; g != want {
					t.Fatalf("Y[0, %d, %d, %d] = %d, want %d", oh, ow, oc, g, want)
				}
			}
		}
	}
}
