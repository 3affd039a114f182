package tests

// An independent oracle of the binarized ResNet-18 network file
// examples/networks/resnet18.te: the same network computed in plain Go from
// the same weights, over decoded values, without topi, te expressions or the
// evaluator (dsl and te are used only to load the file, draw the inputs as
// tide does, and get the evaluator's tensors to compare against).
//
// Semantics, from /work/shared/riptide.md, topi/doc.go and the comments of
// the network file:
//   - stem, in float32 with a rounding after every operation (te/eval.go):
//     conv 7x7 stride 2 with zero padding (top 2, left 2, bottom 3, right 3),
//     summed over (ky, kx, c) in that order, ky outermost, as Conv2D declares
//     its reduce axes (ry, rx, rc) and the evaluator runs the first reduce
//     axis outermost; max pool 3x3 stride 2, padding (0, 0, 1, 1), padded taps
//     excluded; batch norm (x - mean) / sqrt(var + eps) * gamma + beta;
//     DoReFa quantize round((2^N - 1) * clip(x, 0, 1)), ties to even. With
//     the same order and float32 rounding the stem matches bit for bit.
//   - every binary convolution is the integer convolution of decoded bipolar
//     values: an N-bit activation code c is 2c - (2^N - 1), a 1-bit weight
//     code w is 2w - 1, a spatially padded pixel is the value 0 (the binary
//     convolutions' default pad_value=zero, what a trained network computes).
//     No bits are packed here.
//   - fused glue: clip((acc + cb) >> shift, 0, 2^N - 1), arithmetic shift in
//     int32.
//   - residual: the second convolution's accumulators plus the identity
//     shortcut (the block input's codes times SCALE) or the downsampling
//     shortcut (the 1x1 stride-2 binary convolution of the block input), then
//     the fused glue.
//   - head: the mean of the last block's codes over H x W in float32 (sum
//     with the row outermost, then one division), quantize, binary dense of
//     decoded values, times the per-class scale.
//
// Every intermediate the file names is compared with the evaluator: integers
// exactly, floats bit for bit.

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/tide-compiler/tide/dsl"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/tensorio"
)

const roNetworkFile = "../examples/networks/resnet18.te"

// roNet holds one parse of the network: its inputs by name, the defines.
type roNet struct {
	image, bits, scale int
	unipolar           bool // activations unipolar (a code is its value), else bipolar
	in                 map[string]*te.Buffer
}

// roVals are the oracle's (or the evaluator's) tensors by name: integer
// tensors in ints, float32 tensors in floats, all row-major without the
// batch axis (batch is 1).
type roVals struct {
	ints   map[string][]int64
	floats map[string][]float32
}

func (n *roNet) f32(name string) []float32 {
	b := n.in[name]
	out := make([]float32, len(b.Floats))
	for i, v := range b.Floats {
		out[i] = float32(v)
	}
	return out
}

func (n *roNet) codes(name string) []int64 { return n.in[name].Ints }

// roConvF32 is a float32 convolution of x [h, w, c] with k [kh, kw, c, o]
// (HWIO), zero padding, summed over ky, kx, c (ky outermost) from 0, with a
// float32 rounding after every multiply and add.
func roConvF32(x []float32, h, w, c int, k []float32, kh, kw, o, stride, pt, pl, pb, pr int) ([]float32, int, int) {
	oh, ow := (h+pt+pb-kh)/stride+1, (w+pl+pr-kw)/stride+1
	out := make([]float32, oh*ow*o)
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			for oc := 0; oc < o; oc++ {
				acc := float32(0)
				for ky := 0; ky < kh; ky++ {
					for kx := 0; kx < kw; kx++ {
						iy, ix := oy*stride+ky-pt, ox*stride+kx-pl
						for ci := 0; ci < c; ci++ {
							v := float32(0)
							if iy >= 0 && iy < h && ix >= 0 && ix < w {
								v = x[(iy*w+ix)*c+ci]
							}
							p := float32(v * k[((ky*kw+kx)*c+ci)*o+oc]) // explicit: no FMA
							acc = float32(acc + p)
						}
					}
				}
				out[(oy*ow+ox)*o+oc] = acc
			}
		}
	}
	return out, oh, ow
}

// roMaxPool is the maximum over the window's taps inside the input.
func roMaxPool(x []float32, h, w, c, kh, kw, stride, pt, pl, pb, pr int) ([]float32, int, int) {
	oh, ow := (h+pt+pb-kh)/stride+1, (w+pl+pr-kw)/stride+1
	out := make([]float32, oh*ow*c)
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			for ci := 0; ci < c; ci++ {
				m, any := float32(0), false
				for ky := 0; ky < kh; ky++ {
					for kx := 0; kx < kw; kx++ {
						iy, ix := oy*stride+ky-pt, ox*stride+kx-pl
						if iy < 0 || iy >= h || ix < 0 || ix >= w {
							continue
						}
						if v := x[(iy*w+ix)*c+ci]; !any || v > m {
							m, any = v, true
						}
					}
				}
				if !any {
					panic("a pooling window with no input")
				}
				out[(oy*ow+ox)*c+ci] = m
			}
		}
	}
	return out, oh, ow
}

// roQuantize is round((2^bits - 1) * clip(v, 0, 1)), ties to even.
func roQuantize(v float32, bits int) int64 {
	levels := float32(int(1)<<bits - 1)
	cl := v
	if cl < 0 {
		cl = 0
	}
	if cl > 1 {
		cl = 1
	}
	return int64(math.RoundToEven(float64(float32(levels * cl))))
}

// roBinConv is the integer convolution of decoded bipolar values: act [h, w,
// c] holds N-bit codes (value 2a - (2^N - 1)), k [kh, kw, c, o] 1-bit codes
// (value 2w - 1); a padded pixel is the value 0 (exact zero padding).
func roBinConv(act []int64, h, w, c, bits int, unipolar bool, k []int64, kh, kw, o, stride, pt, pl, pb, pr int) ([]int64, int, int) {
	top := int64(1)<<bits - 1
	av := make([]int64, len(act))
	for i, a := range act {
		if a < 0 || a > top {
			panic(fmt.Sprintf("activation code %d of %d bits", a, bits))
		}
		av[i] = 2*a - top
		if unipolar {
			av[i] = a
		}
	}
	wv := make([]int64, len(k))
	for i, b := range k {
		if b != 0 && b != 1 {
			panic(fmt.Sprintf("weight code %d of 1 bit", b))
		}
		wv[i] = 2*b - 1
	}
	pad := int64(0) // zero padding: the value, which no bipolar code has
	oh, ow := (h+pt+pb-kh)/stride+1, (w+pl+pr-kw)/stride+1
	out := make([]int64, oh*ow*o)
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			acc := out[(oy*ow+ox)*o : (oy*ow+ox+1)*o]
			for ky := 0; ky < kh; ky++ {
				for kx := 0; kx < kw; kx++ {
					iy, ix := oy*stride+ky-pt, ox*stride+kx-pl
					inside := iy >= 0 && iy < h && ix >= 0 && ix < w
					for ci := 0; ci < c; ci++ {
						a := pad
						if inside {
							a = av[(iy*w+ix)*c+ci]
						}
						wr := wv[((ky*kw+kx)*c+ci)*o : ((ky*kw+kx)*c+ci+1)*o]
						for oc := range acc {
							acc[oc] += a * wr[oc]
						}
					}
				}
			}
		}
	}
	return out, oh, ow
}

// roGlue is clip((acc + cb[c]) >> shift[c], 0, 2^bits - 1) along the last
// axis, in int32 (it panics if acc + cb leaves int32: the network would
// wrap there).
func roGlue(acc []int64, cb, sh []int64, bits int) []int64 {
	c := len(cb)
	out := make([]int64, len(acc))
	for i, a := range acc {
		s := a + cb[i%c]
		if s != int64(int32(s)) {
			panic(fmt.Sprintf("glue: acc + cb = %d leaves int32", s))
		}
		if sh[i%c] < 0 || sh[i%c] > 31 {
			panic(fmt.Sprintf("glue: shift %d", sh[i%c]))
		}
		v := int64(int32(s) >> sh[i%c])
		out[i] = min(max(v, 0), int64(1)<<bits-1)
	}
	return out
}

// oracle computes the network from n's inputs.
func (n *roNet) oracle() roVals {
	r := roVals{ints: map[string][]int64{}, floats: map[string][]float32{}}
	bits := n.bits

	// stem
	f0, h, w := roConvF32(n.f32("X"), n.image, n.image, 3, n.f32("W0"), 7, 7, 64, 2, 2, 2, 3, 3)
	r.floats["F0"] = f0
	m0, h, w := roMaxPool(f0, h, w, 64, 3, 3, 2, 0, 0, 1, 1)
	r.floats["M0"] = m0
	g, b, mu, vr := n.f32("G0"), n.f32("B0"), n.f32("MU0"), n.f32("VAR0")
	n0 := make([]float32, len(m0))
	q0 := make([]int64, len(m0))
	for i, x := range m0 {
		c := i % 64
		// batch norm folded: x * scale + shift, scale = g / sqrt(var + eps),
		// shift = b - mu * scale (topi.BatchNorm's documented form)
		scale := float32(g[c] / float32(math.Sqrt(float64(float32(vr[c]+float32(0.00001))))))
		shift := float32(b[c] - float32(mu[c]*scale))
		n0[i] = float32(float32(x*scale) + shift)
		q0[i] = roQuantize(n0[i], bits)
	}
	r.floats["N0"], r.ints["Q0"] = n0, q0

	// blocks
	in, c := q0, 64
	for blk := 1; blk <= 8; blk++ {
		p := fmt.Sprintf("b%d_", blk)
		down := blk == 3 || blk == 5 || blk == 7
		o, stride, pt, pl, pb, pr := c, 1, 1, 1, 1, 1
		if down {
			o, stride, pt, pl, pb, pr = 2*c, 2, 0, 0, 1, 1
		}
		A, oh, ow := roBinConv(in, h, w, c, bits, n.unipolar, n.codes(p+"Wa"), 3, 3, o, stride, pt, pl, pb, pr)
		Q := roGlue(A, n.codes(fmt.Sprintf("CBb%d_a", blk)), n.codes(fmt.Sprintf("SHb%d_a", blk)), bits)
		B, _, _ := roBinConv(Q, oh, ow, o, bits, n.unipolar, n.codes(p+"Wb"), 3, 3, o, 1, 1, 1, 1, 1)
		var S []int64
		if down {
			S, _, _ = roBinConv(in, h, w, c, bits, n.unipolar, n.codes(p+"Wd"), 1, 1, o, 2, 0, 0, 0, 0)
		} else {
			S = make([]int64, len(in))
			for i, a := range in {
				S[i] = a * int64(n.scale)
			}
		}
		R := make([]int64, len(B))
		for i := range B {
			R[i] = B[i] + S[i]
		}
		Y := roGlue(R, n.codes(fmt.Sprintf("CBb%d_b", blk)), n.codes(fmt.Sprintf("SHb%d_b", blk)), bits)
		r.ints[p+"A"], r.ints[p+"Q"], r.ints[p+"B"], r.ints[p+"S"], r.ints[p+"R"], r.ints[p+"Y"] = A, Q, B, S, R, Y
		in, c, h, w = Y, o, oh, ow
	}

	// head
	gs := make([]float32, c)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for ci := 0; ci < c; ci++ {
				gs[ci] = float32(gs[ci] + float32(in[(y*w+x)*c+ci]))
			}
		}
	}
	gp := make([]float32, c)
	qg := make([]int64, c)
	for ci := range gs {
		gp[ci] = float32(gs[ci] / float32(h*w))
		qg[ci] = roQuantize(gp[ci], bits)
	}
	r.floats["GS"], r.floats["GP"], r.ints["QG"] = gs, gp, qg
	wd, scd := n.codes("WD"), n.f32("SCD")
	classes := len(scd)
	top := int64(1)<<bits - 1
	d := make([]int64, classes)
	y := make([]float32, classes)
	for o := range d {
		for k := 0; k < c; k++ {
			a := 2*qg[k] - top
			if n.unipolar {
				a = qg[k]
			}
			d[o] += a * (2*wd[o*c+k] - 1)
		}
		y[o] = float32(float32(d[o]) * scd[o])
	}
	r.ints["D"], r.floats["Y"] = d, y
	return r
}

// roOrder is the order the tensors are compared in: the first mismatch is
// the interesting one.
func roOrder() []string {
	names := []string{"F0", "M0", "N0", "Q0"}
	for blk := 1; blk <= 8; blk++ {
		for _, s := range []string{"A", "Q", "B", "S", "R", "Y"} {
			names = append(names, fmt.Sprintf("b%d_%s", blk, s))
		}
	}
	return append(names, "GS", "GP", "QG", "D", "Y")
}

// roShortName is the oracle's name of a tensor of the network: the file
// builds its blocks with defs (y3 = down_block(...) names y3_a_W, y3_qa_Q,
// ...), the oracle names them by block and role (b3_Wa, b3_Q, ...).
func roShortName(name string) string {
	var blk int
	var rest string
	if _, err := fmt.Sscanf(name, "y%d_%s", &blk, &rest); err != nil || blk < 1 || blk > 8 {
		return name
	}
	roles := map[string]string{
		"a_W": "b%d_Wa", "b_W": "b%d_Wb", "s_W": "b%d_Wd",
		"qa_CB": "CBb%d_a", "qa_SH": "SHb%d_a", "y_CB": "CBb%d_b", "y_SH": "SHb%d_b",
		"a_A": "b%d_A", "qa_Q": "b%d_Q", "b_A": "b%d_B", "s_S": "b%d_S", "s_A": "b%d_S", "r": "b%d_R", "y_Q": "b%d_Y",
	}
	if f, ok := roles[rest]; ok {
		return fmt.Sprintf(f, blk)
	}
	return name
}

// roEvaluate parses a network file with the defines and the polarity,
// draws its inputs with the seed as tide does, and evaluates every tensor
// order names in one run of the evaluator (the network's output, Y, among
// them). Names are the oracle's: rename maps the file's to them. It returns
// the inputs by name and the evaluator's values; unpack, when not nil,
// gives the codes of a tensor of packed words (nil for other tensors).
func roEvaluate(t *testing.T, file string, defines map[string]int64, polarity string, seed uint64, rename func(string) string, order []string,
	unpack func(tt *te.Tensor, words []int64) []int64) (map[string]*te.Buffer, roVals) {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := dsl.ParseWith(file, src, dsl.Options{Defines: defines, Words: map[string]string{"POLARITY": polarity}})
	if err != nil {
		t.Fatal(err)
	}
	if !prog.Network || prog.Kernel.Inputs[0].Name != "X" || len(prog.Kernel.Inputs) != 1+len(prog.Weights) {
		t.Fatalf("want a network of X and its weights; kernel inputs %d, weights %d", len(prog.Kernel.Inputs), len(prog.Weights))
	}
	bufs, _, err := tensorio.Inputs(prog.Kernel, nil, "", seed)
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]*te.Buffer{}
	for i, x := range prog.Kernel.Inputs {
		in[rename(x.Name)] = bufs[i]
	}
	byName := map[string]*te.Tensor{}
	for _, tt := range prog.Tensors {
		byName[rename(tt.Name)] = tt
	}
	if len(prog.Kernel.Outputs) != 1 || prog.Kernel.Outputs[0] != byName["Y"] {
		t.Fatalf("the network's output is not Y")
	}
	var outs []*te.Tensor
	for _, name := range order {
		tt := byName[name]
		if tt == nil {
			t.Fatalf("the network has no tensor %s", name)
		}
		outs = append(outs, tt)
	}
	k, err := te.NewKernel(prog.Kernel.Name+"_all", prog.Kernel.Inputs, outs, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := te.EvalKernel(k, bufs, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev := roVals{ints: map[string][]int64{}, floats: map[string][]float32{}}
	for i, tt := range outs {
		b, name := res[i], rename(tt.Name)
		if !tt.DType.IsFloat() {
			ev.ints[name] = b.Ints
			if unpack != nil {
				if codes := unpack(tt, b.Ints); codes != nil {
					ev.ints[name] = codes
				}
			}
			continue
		}
		if tt.DType != te.Float32 {
			t.Fatalf("%s is %v", tt.Name, tt.DType)
		}
		f := make([]float32, len(b.Floats))
		for i, v := range b.Floats {
			f[i] = float32(v)
			if float64(f[i]) != v {
				t.Fatalf("%s[%d] = %v is not a float32", tt.Name, i, v)
			}
		}
		ev.floats[name] = f
	}
	return in, ev
}

// roLoad evaluates the ResNet-18 network file for its oracle.
func roLoad(t *testing.T, defines map[string]int64, polarity string, seed uint64) (*roNet, roVals) {
	t.Helper()
	in, ev := roEvaluate(t, roNetworkFile, defines, polarity, seed, roShortName, roOrder(), nil)
	return &roNet{image: int(defines["IMAGE"]), bits: int(defines["BITS"]), scale: int(defines["SCALE"]), unipolar: polarity == "unipolar", in: in}, ev
}

// roCompare lists the tensors order names where the oracle and the
// evaluator differ (the first few elements of each): integers exactly,
// floats bit for bit.
func roCompare(order []string, want, got roVals) []string {
	var diffs []string
	for _, name := range order {
		bad, first := 0, ""
		if w, ok := want.ints[name]; ok {
			g := got.ints[name]
			if len(g) != len(w) {
				diffs = append(diffs, fmt.Sprintf("%s: %d elements, oracle %d", name, len(g), len(w)))
				continue
			}
			for i := range w {
				if g[i] != w[i] {
					if bad++; bad <= 3 {
						first += fmt.Sprintf(" [%d] %d, oracle %d;", i, g[i], w[i])
					}
				}
			}
		} else {
			w, g := want.floats[name], got.floats[name]
			if len(g) != len(w) || w == nil {
				diffs = append(diffs, fmt.Sprintf("%s: %d elements, oracle %d", name, len(g), len(w)))
				continue
			}
			for i := range w {
				if math.Float32bits(g[i]) != math.Float32bits(w[i]) {
					if bad++; bad <= 3 {
						first += fmt.Sprintf(" [%d] %v, oracle %v;", i, g[i], w[i])
					}
				}
			}
		}
		if bad > 0 {
			diffs = append(diffs, fmt.Sprintf("%s: %d elements differ:%s", name, bad, first))
		}
	}
	return diffs
}

// roVaried checks that the comparison has teeth: none of the named integer
// tensors of the oracle is one value everywhere (the glue does not clip
// everything to one code).
func roVaried(t *testing.T, want roVals, names ...string) {
	t.Helper()
	for _, name := range names {
		lo, hi := want.ints[name][0], want.ints[name][0]
		for _, v := range want.ints[name] {
			lo, hi = min(lo, v), max(hi, v)
		}
		if lo == hi {
			t.Errorf("%s is %d everywhere: the inputs do not exercise the network", name, lo)
		}
	}
}

// roMutation is one weight code to flip, and the first tensor the flip
// must change.
type roMutation struct {
	weight string
	index  int
	first  string
}

// roMutate checks that the comparison can fail: with each weight code
// flipped, the oracle disagrees with the evaluator, first at m.first.
func roMutate(t *testing.T, n *roNet, oracle func(*roNet) roVals, order []string, ev roVals, ms ...roMutation) {
	t.Helper()
	for _, m := range ms {
		orig := n.in[m.weight]
		mut := *orig
		mut.Ints = append([]int64(nil), orig.Ints...)
		mut.Ints[m.index] ^= 1
		n.in[m.weight] = &mut
		got := oracle(n)
		n.in[m.weight] = orig
		diffs := roCompare(order, got, ev)
		if len(diffs) == 0 {
			t.Errorf("flipping %s[%d]: the oracle still agrees with the evaluator", m.weight, m.index)
			continue
		}
		if !strings.HasPrefix(diffs[0], m.first+":") {
			t.Errorf("flipping %s[%d]: the first difference is %q, want one in %s", m.weight, m.index, diffs[0], m.first)
		}
	}
}

func TestNetworkOracleResNet18(t *testing.T) {
	cases := []struct {
		image, bits, scale int
		seed               uint64
		slow               bool
		polarity           string
	}{
		{32, 1, 16, 1, false, "bipolar"},
		{32, 2, 16, 2, false, "bipolar"},
		{32, 1, 4, 3, false, "bipolar"},
		{33, 1, 16, 4, false, "bipolar"}, // odd input: the stem's padding is not "same" there, but the shapes agree
		{64, 1, 16, 5, true, "bipolar"},  // 2 x 2 last blocks: the mean divides by 4
		{96, 2, 16, 6, true, "bipolar"},  // 3 x 3 last blocks: the mean divides by 9 and rounds
		{32, 1, 16, 7, false, "unipolar"},
		{32, 2, 16, 8, false, "unipolar"},
		{64, 2, 16, 9, true, "unipolar"},
	}
	// IMAGE=16 leaves the last blocks 0 x 0 (H5 = IMAGE / 32), and an IMAGE
	// whose IMAGE/16 is odd (48, 80) makes a downsampling block's 3x3 and
	// 1x1 convolutions disagree in size: the parser refuses both, so they
	// are not cases.
	for _, tc := range cases {
		t.Run(fmt.Sprintf("IMAGE=%d,BITS=%d,SCALE=%d,%s", tc.image, tc.bits, tc.scale, tc.polarity), func(t *testing.T) {
			if tc.slow && testing.Short() {
				t.Skip("slow under -short")
			}
			defines := map[string]int64{"IMAGE": int64(tc.image), "BITS": int64(tc.bits), "SCALE": int64(tc.scale)}
			n, ev := roLoad(t, defines, tc.polarity, tc.seed)
			want := n.oracle()
			for _, d := range roCompare(roOrder(), want, ev) {
				t.Error(d)
			}
			roVaried(t, want, "Q0", "b1_Q", "b8_Y", "QG")
			if tc.seed != 1 {
				return
			}
			roMutate(t, n, (*roNet).oracle, roOrder(), ev,
				roMutation{"b1_Wa", 5, "b1_A"},
				// the centre tap: at IMAGE=32 the last blocks are 1x1, so
				// the other taps read only (zero) padding
				roMutation{"b8_Wb", 4*512*512 + 777, "b8_B"},
				roMutation{"WD", 123, "D"})
		})
	}
	// 32-bit packing words (-D WORD=32, the AVX-512 choice): the same
	// values, whatever the words hold
	for _, polarity := range []string{"bipolar", "unipolar"} {
		t.Run("IMAGE=32,BITS=2,WORD=32,"+polarity, func(t *testing.T) {
			n, ev := roLoad(t, map[string]int64{"IMAGE": 32, "BITS": 2, "SCALE": 16, "WORD": 32}, polarity, 11)
			want := n.oracle()
			for _, d := range roCompare(roOrder(), want, ev) {
				t.Error(d)
			}
			roVaried(t, want, "Q0", "b1_Q", "b8_Y", "QG")
		})
	}
}
