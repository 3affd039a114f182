package driver

import (
	"crypto/sha256"
	_ "embed"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tide-compiler/tide/llvmgen"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/topi"
)

// oneDNNNetworkSource is the harness that runs a translated network with
// oneDNN primitives (its comment gives the layer format).
//
//go:embed harness/onednn_network.cpp
var oneDNNNetworkSource string

// ClangXX compiles the oneDNN network harness (C++; part of clang).
var ClangXX = Tool{"clang++", "clang"}

// A OneDNNNetwork is a float network translated into oneDNN layers, the
// whole-network baseline: each operator of the network is a oneDNN
// primitive with oneDNN's own fusions (batch norm folded into the
// convolution's weights and bias, ReLU and the residual sum as post-ops, a
// per-channel scale folded into the weights, concatenation in place), and
// its weights already folded.
type OneDNNNetwork struct {
	Name    string
	Input   []int // the input's NHWC shape
	Output  []int // the output's shape (Tide's layout)
	Layers  []string
	Weights []float32
}

// oneDNNLayer is a layer being translated: its fields, and the weights and
// post-ops its consumers may still fold into it.
type oneDNNLayer struct {
	index      int
	kind, name string
	fields     []string // key=value, in order
	src        []*oneDNNLayer
	w, b       []float32 // conv HWIO or dense OI weights, and the bias
	oc         int
	post       []string // post-ops: relu, sum:NAME
	relu       bool     // bn and add: a fused ReLU
	addend     *oneDNNLayer
	addendOf   *te.Tensor // the te tensor whose value the sum reads in place
	dims       []int      // oneDNN's logical dims of its value
}

// supportedOps is what the translation knows, for its errors.
const supportedOps = "conv2d (NHWC, float32), batch_norm, relu, add, max_pool2d, avg_pool2d, global_avg_pool2d, concatenate (channels), dense, softmax, a squeeze of unit dims and a per-channel scale by a weight"

// TranslateOneDNN translates a float network (its inputs, weights with
// their values, and outputs: one input and one output) into oneDNN layers.
// An operator oneDNN has no primitive for is an error naming it.
func TranslateOneDNN(name string, inputs, weights []*te.Tensor, values []*te.Buffer, outputs []*te.Tensor) (*OneDNNNetwork, error) {
	if len(inputs) != 1 || len(outputs) != 1 {
		return nil, fmt.Errorf("onednn %s: %d inputs and %d outputs; the oneDNN baseline takes a network of one input and one output", name, len(inputs), len(outputs))
	}
	if len(weights) != len(values) {
		return nil, fmt.Errorf("onednn %s: %d weights but %d values", name, len(weights), len(values))
	}
	tr := &oneDNNTranslation{name: name, value: map[*te.Tensor]*oneDNNLayer{}, weight: map[*te.Tensor]*te.Buffer{}, consumers: map[*te.Tensor][]*te.Tensor{}}
	for i, w := range weights {
		tr.weight[w] = values[i]
	}
	order := te.PostOrder(outputs)
	for _, t := range order {
		for _, in := range t.Inputs() {
			tr.consumers[in] = append(tr.consumers[in], t)
		}
	}
	tr.consumers[outputs[0]] = append(tr.consumers[outputs[0]], nil) // the caller reads it
	for _, t := range order {
		if err := tr.translate(t, inputs[0]); err != nil {
			return nil, fmt.Errorf("onednn %s: %w", name, err)
		}
	}
	out := tr.value[outputs[0]]
	if out == nil || out.kind == "alias" {
		return nil, fmt.Errorf("onednn %s: the output %s is no layer's value", name, outputs[0].Name)
	}
	return tr.emit(inputs[0], outputs[0], out)
}

type oneDNNTranslation struct {
	name      string
	layers    []*oneDNNLayer
	value     map[*te.Tensor]*oneDNNLayer // the layer whose memory holds a tensor
	weight    map[*te.Tensor]*te.Buffer
	consumers map[*te.Tensor][]*te.Tensor
}

// internal stages are read by their operator's own translation
var oneDNNInternal = map[te.Tag]bool{topi.TagPad: true, topi.TagWeightPack: true, topi.TagBatchNormScale: true, topi.TagBatchNormShift: true,
	topi.TagAvgPool2DSum: true, topi.TagSoftmaxMax: true, topi.TagSoftmaxExp: true, topi.TagSoftmaxSum: true}

func (tr *oneDNNTranslation) layer(kind string, t *te.Tensor, dims []int, src ...*oneDNNLayer) *oneDNNLayer {
	l := &oneDNNLayer{index: len(tr.layers), kind: kind, name: fmt.Sprintf("%s.%d", t.Name, len(tr.layers)), src: src, dims: dims}
	tr.layers = append(tr.layers, l)
	tr.value[t] = l
	return l
}

// single reports whether t's value is read once, by a compute (so a
// layer may fold what follows it).
func (tr *oneDNNTranslation) single(t *te.Tensor) bool {
	cs := tr.consumers[t]
	return len(cs) == 1 && cs[0] != nil
}

// of is the layer holding t's value.
func (tr *oneDNNTranslation) of(t, reader *te.Tensor) (*oneDNNLayer, error) {
	l := tr.value[t]
	if l == nil {
		return nil, fmt.Errorf("%s reads %s (%s), which has no oneDNN layer of its own", reader.Name, t.Name, describeTag(t))
	}
	return l, nil
}

func describeTag(t *te.Tensor) string {
	switch {
	case t.IsPlaceholder():
		return "a weight"
	case t.Tag == "":
		return "an untagged compute"
	}
	return string(t.Tag)
}

// nchw is oneDNN's logical dims of a Tide NHWC (or 2-D) shape.
func nchw(shape []int) []int {
	if len(shape) == 4 {
		return []int{shape[0], shape[3], shape[1], shape[2]}
	}
	return slices.Clone(shape)
}

func shapeOf(t *te.Tensor) ([]int, error) {
	s, err := te.ShapeOf(t, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.Name, err)
	}
	return s, nil
}

func (tr *oneDNNTranslation) floats(w *te.Tensor) ([]float32, error) {
	b := tr.weight[w]
	if b == nil || w.DType != te.Float32 {
		return nil, fmt.Errorf("%s is not a float32 weight", w.Name)
	}
	out := make([]float32, b.Len())
	for i := range out {
		out[i] = float32(b.Floats[i])
	}
	return out, nil
}

// evaluate computes a stage of weights alone (batch norm's scale and
// shift) with the reference evaluator.
func (tr *oneDNNTranslation) evaluate(t *te.Tensor) ([]float32, error) {
	res, err := te.Evaluate([]*te.Tensor{t}, tr.weight, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.Name, err)
	}
	out := make([]float32, res[t].Len())
	for i := range out {
		out[i] = float32(res[t].Floats[i])
	}
	return out, nil
}

func (tr *oneDNNTranslation) translate(t, input *te.Tensor) error {
	if t.IsPlaceholder() {
		if t != input {
			if tr.weight[t] == nil {
				return fmt.Errorf("placeholder %s is neither the input nor a weight", t.Name)
			}
			return nil
		}
		s, err := shapeOf(t)
		if err != nil {
			return err
		}
		if len(s) != 4 || t.DType != te.Float32 {
			return fmt.Errorf("the input %s is %v%v; the oneDNN baseline takes float32 NHWC images", t.Name, t.DType, s)
		}
		tr.layer("input", t, nchw(s))
		return nil
	}
	if oneDNNInternal[t.Tag] {
		return nil
	}
	shape, err := shapeOf(t)
	if err != nil {
		return err
	}
	if t.DType != te.Float32 {
		return fmt.Errorf("%s is %v; the oneDNN baseline runs float32 networks (a binarized network's float twin)", t.Name, t.DType)
	}
	in := t.Inputs()
	switch t.Tag {
	case topi.TagConv2DNHWC:
		x, wp := in[0], in[1]
		if x.Tag == topi.TagPad {
			x = x.Inputs()[0]
		}
		if wp.Tag != topi.TagWeightPack || !wp.Inputs()[0].IsPlaceholder() {
			return fmt.Errorf("conv2d %s: its kernel is computed; the oneDNN baseline takes a weight", t.Name)
		}
		src, err := tr.of(x, t)
		if err != nil {
			return err
		}
		w, err := tr.floats(wp.Inputs()[0])
		if err != nil {
			return err
		}
		a, err := topi.AttrsOf[topi.WindowAttrs](t)
		if err != nil {
			return err
		}
		l := tr.layer("conv", t, nchw(shape), src)
		l.oc, l.w, l.b = shape[3], w, make([]float32, shape[3])
		l.fields = windowFields(a.Window)
	case topi.TagBatchNorm:
		x, scaleT, shiftT := in[0], in[1], in[2]
		scale, err := tr.evaluate(scaleT)
		if err != nil {
			return err
		}
		shift, err := tr.evaluate(shiftT)
		if err != nil {
			return err
		}
		src, err := tr.of(x, t)
		if err != nil {
			return err
		}
		if src.kind == "conv" && len(src.post) == 0 && tr.single(x) {
			foldScale(src, scale, shift) // into the weights and bias
			tr.value[t] = src
			return nil
		}
		l := tr.layer("bn", t, src.dims, src)
		l.w, l.b = scale, shift
	case topi.TagReLU:
		src, err := tr.of(in[0], t)
		if err != nil {
			return err
		}
		switch {
		case tr.single(in[0]) && src.kind == "conv" && (len(src.post) == 0 || src.post[len(src.post)-1] != "relu"):
			src.post = append(src.post, "relu")
			tr.value[t] = src
		case tr.single(in[0]) && (src.kind == "bn" || src.kind == "add") && !src.relu:
			src.relu = true
			tr.value[t] = src
		default:
			tr.layer("relu", t, src.dims, src)
		}
	case topi.TagAdd:
		if len(in) != 2 {
			return fmt.Errorf("add %s adds a tensor to itself", t.Name)
		}
		var ops [2]*oneDNNLayer
		for i := range ops {
			l, err := tr.of(in[i], t)
			if err != nil {
				return err
			}
			ops[i] = l
		}
		// the later of the operands that are convolutions read only here
		// computes the sum as a post-op, reading the other's value
		conv := -1
		for i, l := range ops {
			if l.kind == "conv" && len(l.post) == 0 && tr.single(in[i]) && (conv < 0 || l.index > ops[conv].index) {
				conv = i
			}
		}
		if conv >= 0 {
			c, addend := ops[conv], ops[1-conv]
			if addend.index < c.index && addend.kind != "input" {
				c.post = append(c.post, "sum:"+addend.name)
				c.addend, c.addendOf = addend, in[1-conv]
				tr.value[t] = c
				return nil
			}
		}
		tr.layer("add", t, ops[0].dims, ops[0], ops[1])
	case topi.TagMaxPool2D, topi.TagAvgPool2D:
		x, alg := in[0], "max"
		if t.Tag == topi.TagAvgPool2D {
			x, alg = x.Inputs()[0], "avg"
		}
		a, err := topi.AttrsOf[topi.WindowAttrs](t)
		if err != nil {
			return err
		}
		if a.Layout != topi.NHWC {
			return fmt.Errorf("%s: an NCHW pool; the oneDNN baseline takes NHWC networks", t.Name)
		}
		src, err := tr.of(x, t)
		if err != nil {
			return err
		}
		l := tr.layer("pool", t, nchw(shape), src)
		l.fields = append([]string{"alg=" + alg}, windowFields(a.Window)...)
	case topi.TagConcatenate:
		a, err := topi.AttrsOf[topi.ConcatAttrs](t)
		if err != nil {
			return err
		}
		if a.Axis != 3 || len(shape) != 4 {
			return fmt.Errorf("concatenate %s: along axis %d; the oneDNN baseline joins NHWC channels (axis 3)", t.Name, a.Axis)
		}
		var parts []*oneDNNLayer
		var names []string
		channels := 0
		for _, p := range in {
			l, err := tr.of(p, t)
			if err != nil {
				return err
			}
			parts, names = append(parts, l), append(names, l.name)
			channels += l.dims[1]
		}
		if channels != shape[3] {
			return fmt.Errorf("concatenate %s: its parts have %d channels of its %d (a part joined twice?)", t.Name, channels, shape[3])
		}
		l := tr.layer("concat", t, nchw(shape), parts...)
		l.fields = []string{"parts=" + strings.Join(names, ","), "dims=" + joinInts(l.dims)}
	case topi.TagDense:
		if !in[1].IsPlaceholder() {
			return fmt.Errorf("dense %s: its weight is computed; the oneDNN baseline takes a weight", t.Name)
		}
		src, err := tr.of(in[0], t)
		if err != nil {
			return err
		}
		w, err := tr.floats(in[1])
		if err != nil {
			return err
		}
		l := tr.layer("dense", t, shape, src)
		l.oc, l.w, l.b = shape[1], w, make([]float32, shape[1])
	case topi.TagSoftmax:
		x := in[0].Inputs()[0] // softmax reads its exp stage, which reads x
		src, err := tr.of(x, t)
		if err != nil {
			return err
		}
		if len(shape) != 2 {
			return fmt.Errorf("softmax %s: of a %d-D tensor; the oneDNN baseline takes [N, classes]", t.Name, len(shape))
		}
		tr.layer("softmax", t, shape, src)
	case "":
		return tr.untagged(t, shape)
	default:
		return fmt.Errorf("%s (%s) has no oneDNN translation; it knows %s", t.Name, t.Tag, supportedOps)
	}
	return nil
}

// windowFields are a convolution's or pool's window in the harness's
// words.
func windowFields(w topi.Window) []string {
	return []string{fmt.Sprintf("k=%d,%d", w.KH, w.KW), fmt.Sprintf("stride=%d,%d", w.StrideH, w.StrideW),
		fmt.Sprintf("pad=%d,%d,%d,%d", w.Pad.Top, w.Pad.Left, w.Pad.Bottom, w.Pad.Right)}
}

// untagged recognizes the two untagged computes the networks use: a
// squeeze of unit dims (the global pool's [N,1,1,C] as [N,C], an alias) and
// a per-channel scale by a weight (folded into the layer before it).
func (tr *oneDNNTranslation) untagged(t *te.Tensor, shape []int) error {
	if r, ok := t.Body.(*te.Read); ok && isSqueeze(t, r) {
		src, err := tr.of(r.Tensor, t)
		if err != nil {
			return err
		}
		tr.value[t] = src
		return nil
	}
	if x, scale, ok := channelScale(t); ok {
		src, err := tr.of(x, t)
		if err != nil {
			return err
		}
		if (src.kind != "conv" && src.kind != "dense") || len(src.post) > 0 || !tr.single(x) {
			return fmt.Errorf("%s scales %s per channel, which is not a convolution or dense layer read only by it: no oneDNN layer to fold it into", t.Name, x.Name)
		}
		s, err := tr.floats(scale)
		if err != nil {
			return err
		}
		foldScale(src, s, make([]float32, len(s)))
		tr.value[t] = src
		return nil
	}
	return fmt.Errorf("%s (an untagged compute) has no oneDNN translation; it knows %s", t.Name, supportedOps)
}

// isSqueeze reports whether t = r.Tensor with unit dims dropped: r reads
// t's axes in order and 0 elsewhere.
func isSqueeze(t *te.Tensor, r *te.Read) bool {
	next := 0
	for i, idx := range r.Indices {
		if next < len(t.Axis) && idx == te.Expr(t.Axis[next].Var) {
			next++
			continue
		}
		v, ok := te.IntValue(idx)
		d, dok := te.IntValue(r.Tensor.Shape[i])
		if !ok || v != 0 || !dok || d != 1 {
			return false
		}
	}
	return next == len(t.Axis)
}

// channelScale recognizes t = x[axes...] * s[last axis], s a 1-D weight.
func channelScale(t *te.Tensor) (x, s *te.Tensor, ok bool) {
	m, isMul := t.Body.(*te.Binary)
	if !isMul || m.Op != te.Mul {
		return nil, nil, false
	}
	for _, pair := range [][2]te.Expr{{m.A, m.B}, {m.B, m.A}} {
		a, aok := pair[0].(*te.Read)
		b, bok := pair[1].(*te.Read)
		// (a 0-d t has no last axis for s to run along)
		if !aok || !bok || !b.Tensor.IsPlaceholder() || len(b.Indices) != 1 || len(t.Axis) == 0 || len(a.Indices) != len(t.Axis) {
			continue
		}
		same := b.Indices[0] == te.Expr(t.Axis[len(t.Axis)-1].Var)
		for i, idx := range a.Indices {
			same = same && idx == te.Expr(t.Axis[i].Var)
		}
		if same {
			return a.Tensor, b.Tensor, true
		}
	}
	return nil, nil, false
}

// foldScale folds y = x*scale[o] + shift[o] into the layer computing x:
// its weights of output channel o (the last HWIO dim, the first OI dim)
// and its bias.
func foldScale(l *oneDNNLayer, scale, shift []float32) {
	n := len(scale)
	for i := range l.w {
		o := i % n
		if l.kind == "dense" {
			o = i / (len(l.w) / n)
		}
		l.w[i] *= scale[o]
	}
	for o := range l.b {
		l.b[o] = l.b[o]*scale[o] + shift[o]
	}
}

// emit writes the layers and the weights file's contents.
func (tr *oneDNNTranslation) emit(input, output *te.Tensor, out *oneDNNLayer) (*OneDNNNetwork, error) {
	inShape, _ := shapeOf(input)
	outShape, _ := shapeOf(output)
	n := &OneDNNNetwork{Name: tr.name, Input: inShape, Output: outShape}
	offset := func(v []float32) string {
		off := len(n.Weights)
		n.Weights = append(n.Weights, v...)
		return strconv.Itoa(off)
	}
	for _, l := range tr.layers {
		f := []string{l.kind, l.name}
		switch l.kind {
		case "input":
			f = append(f, "dims="+joinInts(l.dims))
		case "conv", "dense":
			f = append(f, "src="+l.src[0].name, "oc="+strconv.Itoa(l.oc))
			f = append(f, l.fields...)
			f = append(f, "w="+offset(l.w), "b="+offset(l.b))
			if len(l.post) > 0 {
				f = append(f, "post="+strings.Join(l.post, ","))
			}
			if l.addend != nil && tr.deadAfter(l.addendOf, l) {
				f = append(f, "inplace=1")
			}
		case "bn":
			f = append(f, "src="+l.src[0].name, "scale="+offset(l.w), "shift="+offset(l.b))
		case "add":
			f = append(f, "a="+l.src[0].name, "b="+l.src[1].name)
		case "pool", "concat":
			if l.kind == "pool" {
				f = append(f, "src="+l.src[0].name)
			}
			f = append(f, l.fields...)
		default: // softmax, relu
			f = append(f, "src="+l.src[0].name)
		}
		if l.relu {
			f = append(f, "relu=1")
		}
		n.Layers = append(n.Layers, strings.Join(f, " "))
	}
	tag := "nc"
	if len(outShape) == 4 {
		tag = "nhwc"
	} else if len(outShape) != 2 {
		return nil, fmt.Errorf("onednn %s: the output %s is %d-D; the baseline writes [N, C] or NHWC", tr.name, output.Name, len(outShape))
	}
	n.Layers = append(n.Layers, fmt.Sprintf("output src=%s dims=%s tag=%s", out.name, joinInts(nchw(outShape)), tag))
	return n, nil
}

// deadAfter reports whether every other reader of x comes before layer l,
// so that l may overwrite x's memory with its sum.
func (tr *oneDNNTranslation) deadAfter(x *te.Tensor, l *oneDNNLayer) bool {
	for _, c := range tr.consumers[x] {
		switch r := tr.value[c]; {
		case c == nil:
			return false // an output
		case r == nil && oneDNNInternal[c.Tag]:
			// a stage of its operator (a convolution's padding): its
			// readers are the operator's
			if !tr.deadAfter(c, l) {
				return false
			}
		case r != l && (r == nil || r.index >= l.index):
			return false
		}
	}
	return true
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// OneDNNMaxISA is the ONEDNN_MAX_CPU_ISA a target's baseline runs with:
// AVX2 for the x86-64 preset (Tide's code for it is AVX2), else oneDNN's
// choice for this machine.
func OneDNNMaxISA(t llvmgen.Target) string {
	if t.Name == "x86-64" {
		return "AVX2"
	}
	return ""
}

// oneDNNHarness is the compiled harness: built once per version of its
// source into the user's cache directory (clang++ takes seconds on
// oneDNN's headers), else into dir.
func oneDNNHarness(dir string) (string, error) {
	sum := sha256.Sum256([]byte(oneDNNNetworkSource))
	cache := dir
	if c, err := os.UserCacheDir(); err == nil {
		cache = filepath.Join(c, "tide")
	}
	exe := filepath.Join(cache, fmt.Sprintf("onednn_network-%x", sum[:8]))
	if _, err := os.Stat(exe); err == nil {
		return exe, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	src := filepath.Join(dir, "onednn_network.cpp")
	if err := os.WriteFile(src, []byte(oneDNNNetworkSource), 0o644); err != nil {
		return "", err
	}
	// built beside, then renamed: a concurrent build never sees half a file
	tmp := filepath.Join(dir, "onednn_network")
	if _, err := run(ClangXX, "-O2", "-std=c++17", "-o", tmp, src, "-ldnnl"); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, exe); err != nil {
		// another file system: the copy in dir serves this run
		return tmp, nil
	}
	return exe, nil
}

// Bench compiles the harness (once), runs the network natively on the input (a
// warm-up call, then repeat timed calls) and returns the times, the output
// and each primitive's implementation ("NAME IMPL" lines). oneDNN takes its
// thread count from OMP_NUM_THREADS. A reference implementation (oneDNN's
// slow fallback) is an error: it would make a weak baseline.
func (n *OneDNNNetwork) Bench(t llvmgen.Target, input *te.Buffer, dir string, repeat int) ([]time.Duration, *te.Buffer, []string, error) {
	if !Native(t) {
		return nil, nil, nil, fmt.Errorf("onednn %s: baselines are timed natively only", n.Name)
	}
	if _, err := os.Stat(OneDNN.Command); err != nil {
		return nil, nil, nil, &MissingError{OneDNN}
	}
	if fmt.Sprint(input.Shape) != fmt.Sprint(n.Input) || input.DType != te.Float32 {
		return nil, nil, nil, fmt.Errorf("onednn %s: the input is %v%v; want float32%v", n.Name, input.DType, input.Shape, n.Input)
	}
	path := func(name string) string { return filepath.Join(dir, "onednn_"+name) }
	exe, err := oneDNNHarness(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	weights := make([]byte, 4*len(n.Weights))
	for i, w := range n.Weights {
		binary.LittleEndian.PutUint32(weights[4*i:], math.Float32bits(w))
	}
	files := map[string][]byte{"layers.txt": []byte(strings.Join(n.Layers, "\n") + "\n"), "weights.bin": weights, "input.bin": input.Memory()}
	for name, data := range files {
		if err := os.WriteFile(path(name), data, 0o644); err != nil {
			return nil, nil, nil, err
		}
	}
	cmd := exec.Command(exe, path("layers.txt"), path("weights.bin"), path("input.bin"), path("output.bin"), path("impls.txt"), strconv.Itoa(max(1, repeat)))
	cmd.Env = os.Environ()
	if isa := OneDNNMaxISA(t); isa != "" {
		cmd.Env = append(cmd.Env, "ONEDNN_MAX_CPU_ISA="+isa)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("onednn %s: %w\n%s", n.Name, err, strings.TrimSpace(stderr.String()))
	}
	implText, err := os.ReadFile(path("impls.txt"))
	if err != nil {
		return nil, nil, nil, err
	}
	impls := strings.Split(strings.TrimSpace(string(implText)), "\n")
	for _, line := range impls {
		// the harness's own rule for a reference kernel: "ref" in its name
		if _, impl, _ := strings.Cut(line, " "); strings.Contains(impl, "ref") {
			return nil, nil, nil, fmt.Errorf("onednn %s: layer %s runs oneDNN's reference implementation, which would make a weak baseline", n.Name, line)
		}
	}
	var times []time.Duration
	for _, f := range strings.Fields(string(stdout)) {
		ns, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("onednn %s: the harness printed %q", n.Name, f)
		}
		times = append(times, time.Duration(ns))
	}
	data, err := os.ReadFile(path("output.bin"))
	if err != nil {
		return nil, nil, nil, err
	}
	out, err := decode(te.Float32, n.Output, data)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("onednn %s output: %w", n.Name, err)
	}
	return times, out, impls, nil
}
