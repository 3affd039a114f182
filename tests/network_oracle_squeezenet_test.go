package tests

// An independent oracle of the binarized SqueezeNet network file
// examples/networks/squeezenet.te, in the manner of the ResNet-18 oracle
// (network_oracle_test.go, whose float convolution, quantization, binary
// convolution and glue helpers it reuses): the same network computed in
// plain Go from the same weights, over decoded values, without topi, te
// expressions, packing or the evaluator (dsl and te only load the file,
// draw the inputs as tide does and give the evaluator's tensors to compare
// against).
//
// Semantics, from /work/shared/networks.md, topi and the comments of the
// network file:
//   - stem, in float32 with a rounding after every operation (te/eval.go):
//     conv 7x7 stride 4 with zero padding (top 1, left 1, bottom 2, right 2),
//     summed over (ky, kx, c), ky outermost (Conv2D's reduce axes ry, rx,
//     rc); ReLU max(x, 0); batch norm x * scale + shift with scale = g /
//     sqrt(var + eps), shift = b - mu * scale (topi.BatchNorm); DoReFa
//     quantize round((2^N - 1) * clip(x, 0, 1)), ties to even.
//   - a fire module: squeeze 1x1 binary convolution, fused glue, codes;
//     expand 1x1 and expand 3x3 (a padded pixel is the value 0) of those
//     codes, each through its fused glue; the output is the channel
//     concatenation, expand 1x1 first. A binary convolution is the integer
//     convolution of decoded values (bipolar activation code a is 2a -
//     (2^N - 1), unipolar a is a; weight code w is 2w - 1).
//   - packing (bitpack, the packed fires) only changes the representation:
//     the evaluator's packed tensors are decoded to codes (bit t of a word
//     of bit-plane b is bit b of channel word*8 + t) and compared with the
//     oracle's codes.
//   - max pool 2x2 stride 2 of codes: the maximum code.
//   - head: the codes as float32, their mean over H x W (sum with the row
//     outermost, then one division by H*W), dense 1000 in float32 (summed
//     over k in order), softmax: the maximum, exp(x - max) computed in
//     float64 and rounded to float32 (te.FloatUnary), their float32 sum in
//     order, the division. Go's math.Exp is what the evaluator calls, so the
//     softmax matches bit for bit too.
//
// Every intermediate is compared with the evaluator: integers exactly,
// floats bit for bit.

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/tide-compiler/tide/te"
)

const snNetworkFile = "../examples/networks/squeezenet.te"

// snFire is one fire module of the file: its name, input channels,
// squeeze and expand widths, and whether it outputs packed words (fire) or
// codes (fire_codes).
type snFire struct {
	name       string
	cin, s, e  int
	packed     bool
	poolBefore string // the max pool (m3, m7) that feeds it, if any
}

var snFires = []snFire{
	{"f1", 96, 32, 64, true, ""},
	{"f2", 128, 32, 64, true, ""},
	{"f3", 128, 32, 128, false, ""},
	{"f4", 256, 32, 128, true, "m3"},
	{"f5", 256, 64, 192, true, ""},
	{"f6", 384, 64, 192, true, ""},
	{"f7", 384, 64, 256, false, ""},
	{"f8", 512, 64, 256, false, "m7"},
}

// snPacked are the tensors the file holds as packed words: the evaluator's
// values are decoded to codes before comparing.
func snPacked(name string) bool {
	if name == "P0" || strings.HasSuffix(name, "_P") {
		return true
	}
	for _, f := range snFires {
		if f.packed && name == f.name+"_y" {
			return true
		}
	}
	return false
}

// snOrder is the order the tensors are compared in: the first mismatch is
// the interesting one.
func snOrder() []string {
	names := []string{"F0", "R0", "N0_scale", "N0_shift", "N0", "Q0", "P0"}
	for _, f := range snFires {
		if f.poolBefore != "" {
			names = append(names, f.poolBefore, "p"+f.poolBefore[1:]+"_P")
		}
		p := f.name + "_"
		names = append(names, p+"sq_A", p+"qs_Q", p+"ps_P", p+"e1_A", p+"q1_Q")
		if f.packed {
			names = append(names, p+"p1_P")
		}
		names = append(names, p+"e3_A", p+"q3_Q")
		if f.packed {
			names = append(names, p+"p3_P")
		}
		names = append(names, p+"y")
	}
	return append(names, "FF", "GP_sum", "GP", "G2", "D", "Y_max", "Y_exp", "Y_sum", "Y")
}

// snMaxPoolCodes is the maximum code of each 2x2 window, stride 2.
func snMaxPoolCodes(x []int64, h, w, c int) ([]int64, int, int) {
	oh, ow := h/2, w/2
	out := make([]int64, oh*ow*c)
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			for ci := 0; ci < c; ci++ {
				m := x[((2*oy)*w+2*ox)*c+ci]
				for ky := 0; ky < 2; ky++ {
					for kx := 0; kx < 2; kx++ {
						m = max(m, x[((2*oy+ky)*w+2*ox+kx)*c+ci])
					}
				}
				out[(oy*ow+ox)*c+ci] = m
			}
		}
	}
	return out, oh, ow
}

// snOracle computes the network from n's inputs (named as the file names
// them).
func snOracle(n *roNet) roVals {
	r := roVals{ints: map[string][]int64{}, floats: map[string][]float32{}}
	bits := n.bits

	// stem
	f0, h, w := roConvF32(n.f32("X"), n.image, n.image, 3, n.f32("W0"), 7, 7, 96, 4, 1, 1, 2, 2)
	r0 := make([]float32, len(f0))
	for i, v := range f0 {
		r0[i] = max(v, 0)
	}
	g, b, mu, vr := n.f32("G0"), n.f32("B0"), n.f32("MU0"), n.f32("VAR0")
	scale, shift := make([]float32, 96), make([]float32, 96)
	for c := range scale {
		scale[c] = float32(g[c] / float32(math.Sqrt(float64(float32(vr[c]+float32(0.00001))))))
		shift[c] = float32(b[c] - float32(mu[c]*scale[c]))
	}
	n0 := make([]float32, len(r0))
	q0 := make([]int64, len(r0))
	for i, x := range r0 {
		c := i % 96
		n0[i] = float32(float32(x*scale[c]) + shift[c])
		q0[i] = roQuantize(n0[i], bits)
	}
	r.floats["F0"], r.floats["R0"], r.floats["N0_scale"], r.floats["N0_shift"], r.floats["N0"] = f0, r0, scale, shift, n0
	r.ints["Q0"], r.ints["P0"] = q0, q0

	// the fire modules
	in, c := q0, 96
	for _, f := range snFires {
		if f.poolBefore != "" {
			in, h, w = snMaxPoolCodes(in, h, w, c)
			r.ints[f.poolBefore] = in
			r.ints["p"+f.poolBefore[1:]+"_P"] = in
		}
		if c != f.cin {
			panic(fmt.Sprintf("%s: %d input channels, want %d", f.name, c, f.cin))
		}
		p := f.name + "_"
		sq, _, _ := roBinConv(in, h, w, c, bits, n.unipolar, n.codes(p+"sq_W"), 1, 1, f.s, 1, 0, 0, 0, 0)
		qs := roGlue(sq, n.codes(p+"qs_CB"), n.codes(p+"qs_SH"), bits)
		e1, _, _ := roBinConv(qs, h, w, f.s, bits, n.unipolar, n.codes(p+"e1_W"), 1, 1, f.e, 1, 0, 0, 0, 0)
		q1 := roGlue(e1, n.codes(p+"q1_CB"), n.codes(p+"q1_SH"), bits)
		e3, _, _ := roBinConv(qs, h, w, f.s, bits, n.unipolar, n.codes(p+"e3_W"), 3, 3, f.e, 1, 1, 1, 1, 1)
		q3 := roGlue(e3, n.codes(p+"q3_CB"), n.codes(p+"q3_SH"), bits)
		y := make([]int64, 0, h*w*2*f.e)
		for px := 0; px < h*w; px++ {
			y = append(y, q1[px*f.e:(px+1)*f.e]...)
			y = append(y, q3[px*f.e:(px+1)*f.e]...)
		}
		r.ints[p+"sq_A"], r.ints[p+"qs_Q"], r.ints[p+"ps_P"] = sq, qs, qs
		r.ints[p+"e1_A"], r.ints[p+"q1_Q"], r.ints[p+"e3_A"], r.ints[p+"q3_Q"], r.ints[p+"y"] = e1, q1, e3, q3, y
		if f.packed {
			r.ints[p+"p1_P"], r.ints[p+"p3_P"] = q1, q3
		}
		in, c = y, 2*f.e
	}

	// head
	ff := make([]float32, len(in))
	for i, v := range in {
		ff[i] = float32(v)
	}
	gs := make([]float32, c)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for ci := 0; ci < c; ci++ {
				gs[ci] = float32(gs[ci] + ff[(y*w+x)*c+ci])
			}
		}
	}
	gp := make([]float32, c)
	for ci := range gs {
		gp[ci] = float32(gs[ci] / float32(h*w))
	}
	wd := n.f32("WD")
	classes := len(wd) / c
	d := make([]float32, classes)
	for o := range d {
		acc := float32(0)
		for k := 0; k < c; k++ {
			p := float32(gp[k] * wd[o*c+k]) // explicit: no FMA
			acc = float32(acc + p)
		}
		d[o] = acc
	}
	m := d[0]
	for _, v := range d {
		m = max(m, v)
	}
	e := make([]float32, classes)
	sum := float32(0)
	for o, v := range d {
		e[o] = float32(math.Exp(float64(float32(v - m))))
		sum = float32(sum + e[o])
	}
	y := make([]float32, classes)
	for o := range e {
		y[o] = float32(e[o] / sum)
	}
	r.floats["FF"], r.floats["GP_sum"], r.floats["GP"], r.floats["G2"], r.floats["D"] = ff, gs, gp, gp, d
	r.floats["Y_max"], r.floats["Y_exp"], r.floats["Y_sum"], r.floats["Y"] = []float32{m}, e, []float32{sum}, y
	return r
}

// snUnpack decodes packed words [1, H, W, bits, CW] (uint8, LSB-first) to
// codes [H, W, CW*8].
func snUnpack(words []int64, shape []int) []int64 {
	hw, bits, cw := shape[0]*shape[1]*shape[2], shape[3], shape[4]
	out := make([]int64, hw*cw*8)
	for px := 0; px < hw; px++ {
		for c := 0; c < cw*8; c++ {
			var code int64
			for b := 0; b < bits; b++ {
				code |= (words[(px*bits+b)*cw+c/8] >> (c % 8) & 1) << b
			}
			out[px*cw*8+c] = code
		}
	}
	return out
}

// snLoad evaluates the SqueezeNet network file for its oracle, decoding
// its packed tensors to codes.
func snLoad(t *testing.T, image, bits int, polarity string, seed uint64) (*roNet, roVals) {
	t.Helper()
	unpack := func(tt *te.Tensor, words []int64) []int64 {
		if !snPacked(tt.Name) {
			return nil
		}
		shape := make([]int, len(tt.Shape))
		for d, e := range tt.Shape {
			c, ok := e.(*te.IntImm)
			if !ok {
				t.Fatalf("%s: extent %v is not a constant", tt.Name, e)
			}
			shape[d] = int(c.Value)
		}
		if tt.DType != te.UInt8 || len(shape) != 5 || shape[0] != 1 || shape[3] != bits {
			t.Fatalf("%s is %v%v; want uint8 [1, H, W, %d, CW]", tt.Name, tt.DType, shape, bits)
		}
		return snUnpack(words, shape)
	}
	defines := map[string]int64{"IMAGE": int64(image), "BITS": int64(bits)}
	in, ev := roEvaluate(t, snNetworkFile, defines, polarity, seed, func(n string) string { return n }, snOrder(), unpack)
	return &roNet{image: image, bits: bits, unipolar: polarity == "unipolar", in: in}, ev
}

func TestNetworkOracleSqueezeNet(t *testing.T) {
	cases := []struct {
		image, bits int
		seed        uint64
		slow        bool
		polarity    string
	}{
		{32, 1, 1, false, "bipolar"},
		{32, 2, 2, false, "unipolar"},
		{32, 2, 3, false, "bipolar"},
		{32, 1, 4, false, "unipolar"},
		{64, 1, 5, true, "bipolar"}, // 4 x 4 last fire: the mean divides by 16
		{64, 2, 6, true, "unipolar"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("IMAGE=%d,BITS=%d,%s", tc.image, tc.bits, tc.polarity), func(t *testing.T) {
			if tc.slow && testing.Short() {
				t.Skip("slow under -short")
			}
			n, ev := snLoad(t, tc.image, tc.bits, tc.polarity, tc.seed)
			want := snOracle(n)
			for _, d := range roCompare(snOrder(), want, ev) {
				t.Error(d)
			}
			roVaried(t, want, "Q0", "f1_qs_Q", "f1_y", "f4_y", "f8_y")
			if y := want.floats["Y"]; slices.Min(y) == slices.Max(y) {
				t.Errorf("Y is constant")
			}
			if tc.seed != 1 {
				return
			}
			// an expand 3x3's centre tap: ((ky*3 + kx)*cin + ci)*cout + oc,
			// ky = kx = 1
			roMutate(t, n, snOracle, snOrder(), ev,
				roMutation{"f1_e3_W", (4*32+5)*64 + 17, "f1_e3_A"},
				roMutation{"f8_e3_W", (4*64+33)*256 + 200, "f8_e3_A"})
		})
	}
}
