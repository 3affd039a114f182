package tests

import (
	"fmt"
	"sync"
	"testing"

	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/topi"
)

// TestTopiBitpackConv2D checks the bitpack-fused layer against the
// composition of the oracles: the convolution of the decoded values (padded
// pixels holding the pad value, oraclePadValue), the fused glue, and the
// packing of its codes along the channels. Every pad value of each
// polarity runs in the evaluator and lower's interpreter (both targets'
// schedules), and as generated code on x86-64 and cortex-a53.
func TestTopiBitpackConv2D(t *testing.T) {
	r := topiRNG(21)
	type layerCase struct {
		layout         topi.Layout
		pol            topi.Polarity
		abits, outBits int
		h, w, ch, o    int
		word           te.DType
		pad            topi.Padding
		padValue       topi.PadValue
		codegen        bool
		batch          int
	}
	cases := []layerCase{
		{topi.NHWC, topi.BipolarBipolar, 1, 1, 6, 5, 64, 16, te.UInt8, topi.Pad(1), topi.PadZero, false, 1},
		{topi.NHWC, topi.UnipolarBipolar, 2, 2, 5, 7, 65, 13, te.UInt8, topi.Padding{Top: 1, Left: 0, Bottom: 1, Right: 1}, topi.PadZero, false, 1},
		{topi.NHWC, topi.Unsigned, 1, 3, 4, 4, 3, 70, te.UInt32, topi.Pad(1), topi.PadZero, false, 1},
		// 16-bit words, 32 output channels: cortex-a53's block of four
		// vectors (topi's scheduleBitpackInto)
		{topi.NHWC, topi.BipolarBipolar, 1, 1, 5, 6, 40, 32, te.UInt16, topi.Pad(1), topi.PadZero, true, 1},
	}
	// every pad value, with 60 channels (not a word multiple), both layouts
	for i, c := range []struct {
		pol      topi.Polarity
		padValue topi.PadValue
	}{
		{topi.BipolarBipolar, topi.PadZero}, {topi.BipolarBipolar, topi.PadOne}, {topi.BipolarBipolar, topi.PadMinusOne},
		{topi.UnipolarBipolar, topi.PadZero}, {topi.UnipolarBipolar, topi.PadOne},
		{topi.Unsigned, topi.PadZero}, {topi.Unsigned, topi.PadOne},
	} {
		abits := 1 + i%2
		cases = append(cases,
			layerCase{topi.NHWC, c.pol, abits, 2, 5, 6, 60, 12, te.UInt64, topi.Padding{Top: 1, Left: 2, Bottom: 0, Right: 1}, c.padValue, true, 1 + i%2},
			layerCase{topi.NCHW, c.pol, 3 - abits, 1, 6, 4, 60, 10, te.UInt8, topi.Padding{Top: 0, Left: 1, Bottom: 2, Right: 1}, c.padValue, true, 2 - i%2})
	}
	for _, c := range cases {
		name := fmt.Sprintf("%s/%v/a%d/out%d/n%d/%dx%dx%d->%d/%v/pad%d,%d,%d,%d=%v", c.layout, c.pol, c.abits, c.outBits, c.batch, c.h, c.w, c.ch, c.o, c.word,
			c.pad.Top, c.pad.Left, c.pad.Bottom, c.pad.Right, c.padValue)
		t.Run(name, func(t *testing.T) {
			// batch 2 as well: issue 12 found NCHW with a batch could not
			// be scheduled (the row it attached at was fused with n)
			n, wbits := c.batch, 1
			bipolarActs := c.pol == topi.BipolarBipolar
			win := topi.Window{KH: 3, KW: 3, Pad: c.pad}
			// codes in the layout's order; packed along the channels
			xshape, wshape, cAxis, kAxis := []int{n, c.h, c.w, c.ch}, []int{3, 3, c.ch, c.o}, 3, 2
			if c.layout == topi.NCHW {
				xshape, wshape, cAxis, kAxis = []int{n, c.ch, c.h, c.w}, []int{c.o, c.ch, 3, 3}, 1, 1
			}
			xc := topiPH(t, "x_codes", te.UInt8, xshape...)
			wc := topiPH(t, "w_codes", te.UInt8, wshape...)
			cb := topiPH(t, "cb", te.Int32, c.o)
			sh := topiPH(t, "shift", te.Int32, c.o)
			xp, err := topi.Bitpack("xp", xc, c.abits, cAxis, cAxis, c.word)
			if err != nil {
				t.Fatal(err)
			}
			wp, err := topi.Bitpack("wp", wc, wbits, kAxis, kAxis, c.word)
			if err != nil {
				t.Fatal(err)
			}
			out, err := topi.BitpackConv2D("layer", xp, wp, cb, sh, c.layout, win, topi.Bitserial{Polarity: c.pol, Elements: c.ch, Out: te.Int32, PadValue: c.padValue}, c.outBits, c.word)
			if err != nil {
				t.Fatal(err)
			}
			xv, wv := randCodes(r, oNumel(xshape), c.abits), randCodes(r, oNumel(wshape), wbits)
			cbv, shv := make([]int64, c.o), make([]int64, c.o)
			for i := range cbv {
				cbv[i], shv[i] = int64(r.IntN(81)-40), int64(r.IntN(5))
			}
			dv, kv := decodeAll(xv, c.abits, bipolarActs, false), decodeAll(wv, wbits, c.pol != topi.Unsigned, true)
			if c.layout == topi.NCHW {
				dv, kv = nchwToNHWC(dv, n, c.ch, c.h, c.w), oihwToHWIO(kv, c.o, c.ch, 3, 3)
			}
			acc, oh, ow := oracleConv2DNHWC(dv, n, c.h, c.w, c.ch, kv, c.o,
				oWin{KH: 3, KW: 3, SH: 1, SW: 1, Top: c.pad.Top, Left: c.pad.Left, Bottom: c.pad.Bottom, Right: c.pad.Right},
				oraclePadValue(c.padValue.String(), c.abits, bipolarActs))
			codes := oracleFusedGlue(acc, []int{n, oh, ow, c.o}, cbv, shv, 3, c.outBits)
			codeShape, packAxis := []int{n, oh, ow, c.o}, 3
			if c.layout == topi.NCHW {
				codes, codeShape, packAxis = nhwcToNCHW(codes, n, oh, ow, c.o), []int{n, c.o, oh, ow}, 1
			}
			want, wantShape := oracleBitpack(codes, codeShape, c.outBits, packAxis, packAxis, c.word.Bits)
			tc := &topiCase{
				name: "bitpack_conv2d " + name, inputs: []*te.Tensor{xc, wc, cb, sh}, outputs: []*te.Tensor{out},
				bufs: []*te.Buffer{intBuf(te.UInt8, xshape, xv), intBuf(te.UInt8, wshape, wv),
					intBuf(te.Int32, []int{c.o}, cbv), intBuf(te.Int32, []int{c.o}, shv)},
				want: []*te.Buffer{intBuf(c.word, wantShape, want)},
			}
			if !c.codegen {
				tc.check(t)
				return
			}
			tc.checkEval(t)
			for _, target := range []string{"x86-64", "cortex-a53"} {
				tc.checkLowered(t, target)
				tc.checkCodegen(t, target)
			}
		})
	}
}

// codegenSampled is the operator tags whose first checked case has also
// run as generated code on both targets (see topiCase.check): every
// operator goes through llvmgen at least once, without compiling hundreds
// of cases.
var codegenSampled = struct {
	sync.Mutex
	done map[te.Tag]bool
}{done: map[te.Tag]bool{}}

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
