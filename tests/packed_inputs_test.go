package tests

// Issue 12, item 9: random inputs for packed words put bits past the
// channels into the last word, which the binary operators take to be zero
// (as bitpack leaves them), so `tide eval examples/bitserial_conv2d.te -D
// C=60` computed over 64 channels. Random packed inputs now leave those
// bits zero; the output is checked against a plain convolution of the 60
// decoded channels (bipolar: bit 1 is +1, 0 is -1; zero padding).

import (
	"os"
	"testing"

	"github.com/tide-compiler/tide/dsl"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/tensorio"
)

func TestRandomPackedInputsHaveZeroPadding(t *testing.T) {
	const h, w, c, o = 14, 14, 60, 64
	src, err := os.ReadFile("../examples/bitserial_conv2d.te")
	if err != nil {
		t.Fatal(err)
	}
	prog, err := dsl.ParseWith("bitserial_conv2d.te", src, dsl.Options{Defines: map[string]int64{"C": c}})
	if err != nil {
		t.Fatal(err)
	}
	in, _, err := tensorio.Inputs(prog.Kernel, nil, "", 3)
	if err != nil {
		t.Fatal(err)
	}
	xp, wp := in[0], in[1] // [1, H, W, 1, 8] and [3, 3, 1, 8, O] of uint8
	for i, v := range xp.Ints {
		if i%8 == 7 && v>>4 != 0 {
			t.Fatalf("Xp word %d = %#x has bits past channel 60", i, v)
		}
	}
	for i, v := range wp.Ints {
		if i/o%8 == 7 && v>>4 != 0 {
			t.Fatalf("Wp word %d = %#x has bits past channel 60", i, v)
		}
	}
	got, err := te.EvalKernel(prog.Kernel, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	bit := func(words []int64, base, ch int) int64 { // bipolar value of channel ch
		if words[base+ch/8]>>(ch%8)&1 == 1 {
			return 1
		}
		return -1
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for oc := 0; oc < o; oc++ {
				sum := int64(0)
				for ky := 0; ky < 3; ky++ {
					for kx := 0; kx < 3; kx++ {
						iy, ix := y+ky-1, x+kx-1
						if iy < 0 || iy >= h || ix < 0 || ix >= w {
							continue // a padded pixel is 0
						}
						for ch := 0; ch < c; ch++ {
							wv := int64(-1)
							if wp.Ints[((ky*3+kx)*8+ch/8)*o+oc]>>(ch%8)&1 == 1 {
								wv = 1
							}
							sum += bit(xp.Ints, (iy*w+ix)*8, ch) * wv
						}
					}
				}
				if g := got[0].Ints[(y*w+x)*o+oc]; g != sum {
					t.Fatalf("Y[0, %d, %d, %d] = %d, want %d", y, x, oc, g, sum)
				}
			}
		}
	}
}
