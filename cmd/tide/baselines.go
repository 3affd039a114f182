package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tide-compiler/tide/driver"
	"github.com/tide-compiler/tide/dsl"
	"github.com/tide-compiler/tide/llvmgen"
	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/topi"
)

// A comparison is a baseline that bench times next to the kernel.
type comparison struct {
	name string
	run  func(dir string, repeat int) ([]time.Duration, *te.Buffer, error)
	// sameAsKernel: it computes the kernel's own output from the kernel's
	// inputs, so the two outputs must agree. Otherwise it is a float
	// baseline for a binarized kernel, on float data of the same shape,
	// and the float baselines must agree with each other.
	sameAsKernel bool
	flops        float64 // the float baseline's work, when it is not the kernel's
}

// convTol is how far float convolutions by different libraries may differ
// (relative): they sum KH*KW*C products in different orders.
const convTol = 1e-3

// baselineNames are the names --vs takes.
const baselineNames = "openblas (cblas_sgemm for a matmul, im2col+sgemm for a convolution), onednn (dnnl_sgemm for a matmul, its convolution for a convolution), tide (Tide's own float conv2d, for a binarized convolution), xnor-avx2 and xnor-avx512 (hand-written C references in bench/ for a binarized bitserial_conv2d: NHWC, bipolar, 1-bit activations and weights, stride 1 or 2, pad_value=zero; OpenMP over output rows); for a network: tide-float (its float twin NAME_float.te compiled by Tide) and onednn (the float twin run by oneDNN primitives)"

// comparisons reads --vs for a kernel: a matmul (sgemm's signature), a
// float NHWC convolution (an operator call), or a binarized NHWC
// convolution (timed against float convolutions of the same shape).
func comparisons(vs string, prog *dsl.Program, sizes map[*te.Var]int64, in []*te.Buffer, tgt llvmgen.Target, opts llvmgen.Options, seed uint64) ([]comparison, error) {
	if vs == "" {
		return nil, nil
	}
	conv, binary, isConv, err := convShape(prog)
	if err != nil {
		return nil, err
	}
	var out []comparison
	for _, name := range strings.Split(vs, ",") {
		switch name = strings.TrimSpace(name); {
		case (name == "openblas" || name == "onednn") && !isConv:
			m, n, k, ok := te.MatmulShape(prog.Kernel, sizes)
			if !ok {
				return nil, fmt.Errorf("--vs %s times an sgemm, C = A·B with float32 A (M×K), B (K×N) and C (M×N), or a convolution; kernel %s is neither", name, prog.Kernel.Name)
			}
			b := driver.Sgemm(m, n, k)
			if name == "onednn" {
				b = driver.OneDNNSgemm(m, n, k)
			}
			out = append(out, sameInputs(b, tgt, in, prog))
		case (name == "openblas" || name == "onednn") && isConv:
			b := driver.Im2colSgemm(conv)
			if name == "onednn" {
				b = driver.OneDNNConv(conv)
			}
			if binary {
				out = append(out, floatConv(b, tgt, conv, seed))
			} else {
				out = append(out, sameInputs(b, tgt, in, prog))
			}
		case name == "tide" && isConv && binary:
			out = append(out, tideFloatConv(conv, tgt, opts, seed))
		case name == "tide":
			return nil, fmt.Errorf("--vs tide times Tide's own float conv2d next to a binarized convolution; kernel %s is not one", prog.Kernel.Name)
		case name == "xnor-avx2" || name == "xnor-avx512":
			x, args, err := xnorConv(prog, name)
			if err != nil {
				return nil, err
			}
			b := driver.XnorAVX2(x)
			if name == "xnor-avx512" {
				b = driver.XnorAVX512(x)
			}
			data, weights := byteWords(in[args[0]], in[args[1]])
			out = append(out, sameInputs(b, tgt, []*te.Buffer{data, weights}, prog))
		default:
			return nil, fmt.Errorf("--vs %s: the baselines are %s", name, baselineNames)
		}
	}
	return out, nil
}

// byteWords gives packed data [N, H, W, 1, CW] and weights [KH, KW, 1,
// CW, O] of words wider than a byte as the uint8 words the xnor references
// take. A little-endian word's bytes hold its channels in order, eight
// each, so the data's bytes are the same; the weights' words of one output
// channel lie together (O innermost), so their bytes move to the byte
// words' places, O apart.
func byteWords(data, weights *te.Buffer) (*te.Buffer, *te.Buffer) {
	wb := data.DType.Bytes()
	if wb == 1 {
		return data, weights
	}
	byteOf := func(word int64, k int) int64 { return int64(uint64(word) >> (8 * k) & 0xff) }
	ds := slices.Clone(data.Shape)
	ds[4] *= wb
	d := te.NewBuffer(te.UInt8, ds)
	for i, word := range data.Ints {
		for k := range wb {
			d.Ints[i*wb+k] = byteOf(word, k)
		}
	}
	ws := slices.Clone(weights.Shape)
	cw, o := ws[3], ws[4]
	ws[3] *= wb
	w := te.NewBuffer(te.UInt8, ws)
	for i, word := range weights.Ints {
		tap, c, oc := i/(cw*o), i/o%cw, i%o
		for k := range wb {
			w.Ints[((tap*cw+c)*wb+k)*o+oc] = byteOf(word, k)
		}
	}
	return d, w
}

// convShape finds the kernel's convolution: the conv2d or bitserial_conv2d
// operator call that the output is computed from (one, NHWC).
func convShape(prog *dsl.Program) (s driver.Conv2DShape, binary, ok bool, err error) {
	var found *te.Tensor
	for _, t := range te.PostOrder(prog.Kernel.Outputs) {
		switch t.Tag {
		case topi.TagConv2DNHWC, topi.TagBitserialConv2DNHWC:
			if found != nil {
				return s, false, false, fmt.Errorf("--vs: kernel %s has several convolutions; the baselines time one", prog.Kernel.Name)
			}
			found = t
		case topi.TagConv2DNCHW, topi.TagBitserialConv2DNCHW:
			return s, false, false, fmt.Errorf("--vs: the convolution baselines are NHWC; %s is NCHW", t.Name)
		}
	}
	if found == nil {
		return s, false, false, nil
	}
	binary = found.Tag == topi.TagBitserialConv2DNHWC
	var win topi.Window
	elements := 0 // the real channels of a binary convolution
	if binary {
		a, err := topi.AttrsOf[topi.BitserialConv2DAttrs](found)
		if err != nil {
			return s, false, false, err
		}
		win, elements = a.Window, a.Bitserial.Elements
	} else {
		a, err := topi.AttrsOf[topi.WindowAttrs](found)
		if err != nil {
			return s, false, false, err
		}
		win = a.Window
	}
	shape := func(t *te.Tensor) []int {
		out := make([]int, len(t.Shape))
		for i, d := range t.Shape {
			v, _ := te.IntValue(d)
			out[i] = int(v)
		}
		return out
	}
	y := shape(found)
	s = driver.Conv2DShape{N: y[0], O: y[3], KH: win.KH, KW: win.KW, StrideH: win.StrideH, StrideW: win.StrideW,
		PadTop: win.Pad.Top, PadLeft: win.Pad.Left, PadBottom: win.Pad.Bottom, PadRight: win.Pad.Right}
	// the data is the first input, or the padding stage's input
	data := found.Inputs()[0]
	if data.Tag == topi.TagPad {
		data = data.Inputs()[0]
	}
	x := shape(data)
	s.H, s.W, s.C = x[1], x[2], x[3]
	if binary {
		s.C = elements
	}
	return s, binary, true, s.Valid()
}

// xnorSupport says what the hand-written xnor references compute.
const xnorSupport = "the xnor references compute bitserial_conv2d with layout=NHWC, polarity=bipolar, 1 activation bit and 1 weight bit, stride 1 or 2, pad_value=zero (or no padding), uint8 words (wider words are taken as their bytes when the channels fill them) and an int16 or int32 output, as the kernel's only output, from its only inputs, the packed data and weights"

// xnorConv reads the binarized convolution that --vs xnor-avx2 and
// xnor-avx512 (name) time: the kernel must compute one bitserial_conv2d
// the references support (xnorSupport) and nothing else. It returns the
// convolution and the indices of its data and weights among the kernel's
// inputs, or an error that says what differs and what the references
// support.
func xnorConv(prog *dsl.Program, name string) (driver.XnorConv, [2]int, error) {
	var x driver.XnorConv
	var args [2]int
	fail := func(format string, a ...any) (driver.XnorConv, [2]int, error) {
		return x, args, fmt.Errorf("--vs %s: %s; %s", name, fmt.Sprintf(format, a...), xnorSupport)
	}
	conv, binary, isConv, err := convShape(prog)
	if err != nil {
		return fail("%v", err)
	}
	if !isConv || !binary {
		return fail("kernel %s computes no bitserial_conv2d", prog.Kernel.Name)
	}
	var acc *te.Tensor
	for _, t := range te.PostOrder(prog.Kernel.Outputs) {
		if t.Tag == topi.TagBitserialConv2DNHWC {
			acc = t
		}
	}
	if acc == nil {
		return fail("kernel %s computes no NHWC bitserial_conv2d", prog.Kernel.Name)
	}
	a, err := topi.AttrsOf[topi.BitserialConv2DAttrs](acc)
	if err != nil {
		return fail("%v", err)
	}
	if p := a.Bitserial.Polarity; p != topi.BipolarBipolar {
		return fail("%s is %v", acc.Name, p)
	}
	if v := a.Bitserial.PadValue; v != topi.PadZero && a.Window.Pad != (topi.Padding{}) {
		return fail("%s pads with pad_value=%v", acc.Name, v)
	}
	ins := acc.Inputs()
	data, weights := ins[0], ins[1]
	if data.Tag == topi.TagPad {
		data = data.Inputs()[0]
	}
	if !data.DType.IsUInt() || data.DType.Bits < 8 {
		return fail("%s has %v words", acc.Name, data.DType)
	}
	if cw, _ := te.IntValue(data.Shape[4]); int(cw)*data.DType.Bytes() != (conv.C+7)/8 {
		return fail("%s's %d channels leave whole %v words of padding", acc.Name, conv.C, data.DType)
	}
	if abits, _ := te.IntValue(data.Shape[3]); abits != 1 {
		return fail("%s has %d activation bits", acc.Name, abits)
	}
	if wbits, _ := te.IntValue(weights.Shape[2]); wbits != 1 {
		return fail("%s has %d weight bits", acc.Name, wbits)
	}
	k := prog.Kernel
	if len(k.Outputs) != 1 || k.Outputs[0].Tag != topi.TagBitserialXnor || !slices.Contains(k.Outputs[0].Inputs(), acc) {
		return fail("kernel %s computes more than the convolution", k.Name)
	}
	di, wi := slices.Index(k.Inputs, data), slices.Index(k.Inputs, weights)
	if len(k.Inputs) != 2 || len(k.Params) != 0 || di < 0 || wi < 0 {
		return fail("kernel %s takes other inputs than the packed data and weights", k.Name)
	}
	x = driver.XnorConv{Conv2DShape: conv, Out: k.Outputs[0].DType}
	if err := x.Valid(); err != nil {
		return fail("%v", err)
	}
	return x, [2]int{di, wi}, nil
}

// sameInputs times a baseline on the kernel's own inputs.
func sameInputs(b driver.Baseline, tgt llvmgen.Target, in []*te.Buffer, prog *dsl.Program) comparison {
	return comparison{name: b.Name, sameAsKernel: true, run: func(dir string, repeat int) ([]time.Duration, *te.Buffer, error) {
		out := prog.Kernel.Outputs[0]
		shape, err := te.ShapeOf(out, nil)
		if err != nil {
			return nil, nil, err
		}
		times, outs, err := driver.BenchBaseline(tgt, b, in, []te.DType{out.DType}, [][]int{shape}, dir, repeat)
		if err != nil {
			return nil, nil, err
		}
		return times, outs[0], nil
	}}
}

// convInputs are random float data and weights of a convolution's shape.
func convInputs(s driver.Conv2DShape, seed uint64) []*te.Buffer {
	rng := rand.New(rand.NewPCG(seed, 7))
	return []*te.Buffer{te.RandomBuffer(te.Float32, s.XShape(), nil, rng), te.RandomBuffer(te.Float32, s.WShape(), nil, rng)}
}

// floatConv times a float convolution library on data of the binarized
// kernel's shape.
func floatConv(b driver.Baseline, tgt llvmgen.Target, s driver.Conv2DShape, seed uint64) comparison {
	return comparison{name: b.Name, flops: float64(s.Flops()), run: func(dir string, repeat int) ([]time.Duration, *te.Buffer, error) {
		times, outs, err := driver.BenchBaseline(tgt, b, convInputs(s, seed), []te.DType{te.Float32}, [][]int{s.YShape()}, dir, repeat)
		if err != nil {
			return nil, nil, err
		}
		return times, outs[0], nil
	}}
}

// tideFloatConv times Tide's own float conv2d (topi, with the target's
// default schedule) on data of the binarized kernel's shape.
func tideFloatConv(s driver.Conv2DShape, tgt llvmgen.Target, opts llvmgen.Options, seed uint64) comparison {
	name := "tide float conv2d " + s.String()
	return comparison{name: name, flops: float64(s.Flops()), run: func(dir string, repeat int) ([]time.Duration, *te.Buffer, error) {
		x, _ := te.Placeholder("X", intExprs(s.XShape()), te.Float32)
		w, _ := te.Placeholder("W", intExprs(s.WShape()), te.Float32)
		y, err := topi.Conv2D("Y", x, w, topi.NHWC, topi.Window{KH: s.KH, KW: s.KW, StrideH: s.StrideH, StrideW: s.StrideW,
			Pad:            topi.Padding{Top: s.PadTop, Left: s.PadLeft, Bottom: s.PadBottom, Right: s.PadRight},
			SkipPaddedTaps: opTarget(tgt).SkipsPaddedTaps()})
		if err != nil {
			return nil, nil, err
		}
		k, err := te.NewKernel("float_conv", []*te.Tensor{x, w}, []*te.Tensor{y}, nil)
		if err != nil {
			return nil, nil, err
		}
		sched, err := topi.Schedule(*opTarget(tgt), y)
		if err != nil {
			return nil, nil, err
		}
		f, _, err := lower.Lower(k, sched, nil)
		if err != nil {
			return nil, nil, err
		}
		sub := filepath.Join(dir, "tide-float")
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return nil, nil, err
		}
		times, outs, err := driver.BenchKernel(tgt, opts, f, convInputs(s, seed), nil, sub, repeat)
		if err != nil {
			return nil, nil, err
		}
		return times, outs[0], nil
	}}
}

func intExprs(vs []int) []te.Expr {
	out := make([]te.Expr, len(vs))
	for i, v := range vs {
		out[i] = te.Int(int64(v))
	}
	return out
}

// binaryMACs is the work of a kernel's bitserial operators in the unit
// binary networks are compared in: one multiply-accumulate of one
// activation bit with one weight bit (an N-bit by M-bit product is N*M of
// them); 0 when the kernel has none.
func binaryMACs(k *te.Kernel) (float64, error) {
	total := 0.0
	for _, t := range te.PostOrder(k.Outputs) {
		switch t.Tag {
		case topi.TagBitserialConv2DNHWC, topi.TagBitserialConv2DNCHW, topi.TagBitserialDense:
		default:
			continue
		}
		// the output's points times the reduction's steps, each over the
		// real (unpadded) elements of a word
		macs := 1.0
		for _, d := range t.Shape {
			v, _ := te.IntValue(d)
			macs *= float64(v)
		}
		for _, iv := range t.ReduceAxis {
			v, _ := te.IntValue(iv.Extent)
			macs *= float64(v)
		}
		// the reduction runs over words, which hold topi.Elements real
		// channels (or K elements) in all
		n, ok := topi.Elements(t)
		if !ok {
			return 0, fmt.Errorf("%s (%s) has attributes %T, without its elements", t.Name, t.Tag, t.Attrs)
		}
		elements := int64(n)
		bits := int64(t.Inputs()[0].DType.Bits)
		words := (elements + bits - 1) / bits
		total += macs / float64(words) * float64(elements)
	}
	return total, nil
}
