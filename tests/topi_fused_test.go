package tests

import (
	"fmt"
	"sync"
	"testing"

	"tide/te"
	"tide/topi"
)

// TestTopiBitpackConv2D checks the bitpack-fused layer against the
// composition of the oracles: the convolution of the decoded values, the
// fused glue, and the packing of its codes along the channels.
func TestTopiBitpackConv2D(t *testing.T) {
	r := topiRNG(21)
	for _, c := range []struct {
		pol            topi.Polarity
		abits, outBits int
		h, w, ch, o    int
		word           te.DType
		pad            topi.Padding
	}{
		{topi.BipolarBipolar, 1, 1, 6, 5, 64, 16, te.UInt8, topi.Pad(1)},
		{topi.UnipolarBipolar, 2, 2, 5, 7, 65, 13, te.UInt8, topi.Padding{Top: 1, Left: 0, Bottom: 1, Right: 1}},
		{topi.Unsigned, 1, 3, 4, 4, 3, 70, te.UInt32, topi.Pad(1)},
	} {
		name := fmt.Sprintf("%v/a%d/out%d/%dx%dx%d->%d/%v", c.pol, c.abits, c.outBits, c.h, c.w, c.ch, c.o, c.word)
		t.Run(name, func(t *testing.T) {
			const n, wbits = 1, 1
			bipolarActs := c.pol == topi.BipolarBipolar
			win := topi.Window{KH: 3, KW: 3, Pad: c.pad}
			xc := topiPH(t, "x_codes", te.UInt8, n, c.h, c.w, c.ch)
			wc := topiPH(t, "w_codes", te.UInt8, 3, 3, c.ch, c.o)
			cb := topiPH(t, "cb", te.Int32, c.o)
			sh := topiPH(t, "shift", te.Int32, c.o)
			xp, err := topi.Bitpack("xp", xc, c.abits, 3, 3, c.word)
			if err != nil {
				t.Fatal(err)
			}
			wp, err := topi.Bitpack("wp", wc, wbits, 2, 2, c.word)
			if err != nil {
				t.Fatal(err)
			}
			out, err := topi.BitpackConv2D("layer", xp, wp, cb, sh, topi.NHWC, win, topi.Bitserial{Polarity: c.pol, Elements: c.ch, Out: te.Int32}, c.outBits, c.word)
			if err != nil {
				t.Fatal(err)
			}
			xv, wv := randCodes(r, n*c.h*c.w*c.ch, c.abits), randCodes(r, 9*c.ch*c.o, wbits)
			cbv, shv := make([]int64, c.o), make([]int64, c.o)
			for i := range cbv {
				cbv[i], shv[i] = int64(r.IntN(81)-40), int64(r.IntN(5))
			}
			// padding is code 0: value 0, or -(2^N - 1) for bipolar activations
			padVal := activationValue(0, c.abits, bipolarActs)
			acc, oh, ow := oracleConv2DNHWC(decodeAll(xv, c.abits, bipolarActs, false), n, c.h, c.w, c.ch,
				decodeAll(wv, wbits, c.pol != topi.Unsigned, true), c.o,
				oWin{KH: 3, KW: 3, SH: 1, SW: 1, Top: c.pad.Top, Left: c.pad.Left, Bottom: c.pad.Bottom, Right: c.pad.Right}, padVal)
			codes := oracleFusedGlue(acc, []int{n, oh, ow, c.o}, cbv, shv, 3, c.outBits)
			want, wantShape := oracleBitpack(codes, []int{n, oh, ow, c.o}, c.outBits, 3, 3, c.word.Bits)
			(&topiCase{
				name: "bitpack_conv2d " + name, inputs: []*te.Tensor{xc, wc, cb, sh}, outputs: []*te.Tensor{out},
				bufs: []*te.Buffer{intBuf(te.UInt8, []int{n, c.h, c.w, c.ch}, xv), intBuf(te.UInt8, []int{3, 3, c.ch, c.o}, wv),
					intBuf(te.Int32, []int{c.o}, cbv), intBuf(te.Int32, []int{c.o}, shv)},
				want: []*te.Buffer{intBuf(c.word, wantShape, want)},
			}).check(t)
		})
	}
}

// codegenSampled is the operator tags whose first checked case has also
// run as generated code on both targets (see topiCase.check): every
// operator goes through llvmgen at least once, without compiling hundreds
// of cases.
var codegenSampled = struct {
	sync.Mutex
	done map[string]bool
}{done: map[string]bool{}}

// firstOfKind reports whether c is the first checked case of its output's
// operator.
func (c *topiCase) firstOfKind() bool {
	codegenSampled.Lock()
	defer codegenSampled.Unlock()
	tag := c.outputs[0].Tag
	if codegenSampled.done[tag] {
		return false
	}
	codegenSampled.done[tag] = true
	return true
}
