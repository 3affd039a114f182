package topi

import (
	"fmt"
	"reflect"

	"github.com/tide-compiler/tide/te"
)

// The operator tags: every compute an operator makes carries one of them
// (te.Tensor.Tag), so that schedules, the graph level, the baselines and
// the weights' random inputs recognize it. They are defined here, once:
// a reader compares with a constant, never with a spelled-out string.
const (
	// private producers, which belong to their consumer
	TagPad        te.Tag = "pad"         // a window operator's padded input
	TagWeightPack te.Tag = "weight_pack" // a float NHWC kernel packed in blocks of OCBlock channels

	// float operators
	TagConv2DNHWC     te.Tag = "conv2d_nhwc"
	TagConv2DNCHW     te.Tag = "conv2d_nchw"
	TagDense          te.Tag = "dense"
	TagMaxPool2D      te.Tag = "max_pool2d"
	TagAvgPool2DSum   te.Tag = "avg_pool2d_sum" // the window sums of an average pool
	TagAvgPool2D      te.Tag = "avg_pool2d"     // the sums divided by the counts
	TagReLU           te.Tag = "relu"
	TagQuantize       te.Tag = "quantize"
	TagBiasAdd        te.Tag = "bias_add"
	TagBatchNormScale te.Tag = "batch_norm_scale" // of the parameters alone
	TagBatchNormShift te.Tag = "batch_norm_shift" // of the parameters alone
	TagBatchNorm      te.Tag = "batch_norm"
	TagAdd            te.Tag = "add"
	TagConcatenate    te.Tag = "concatenate"
	TagSoftmaxMax     te.Tag = "softmax_max"
	TagSoftmaxExp     te.Tag = "softmax_exp"
	TagSoftmaxSum     te.Tag = "softmax_sum"
	TagSoftmax        te.Tag = "softmax"

	// binarized operators
	TagBitpack                 te.Tag = "bitpack"
	TagBitserialDense          te.Tag = "bitserial_dense"           // the accumulation
	TagBitserialConv2DNHWC     te.Tag = "bitserial_conv2d_nhwc"     // the accumulation
	TagBitserialConv2DNCHW     te.Tag = "bitserial_conv2d_nchw"     // the accumulation
	TagBitserialXnor           te.Tag = "bitserial_xnor"            // the correction after the accumulation: XNOR's, or unipolar's
	TagBitserialActivationPops te.Tag = "bitserial_activation_pops" // a unipolar operator's popcounts of the activations alone
	TagBitserialWeightOnes     te.Tag = "bitserial_weight_ones"     // see PadValue: the zero-padding correction's stages
	TagBitserialWeightSum      te.Tag = "bitserial_weight_sum"
	TagBitserialPadBorder      te.Tag = "bitserial_pad_border"
	TagBitpackConv2DNHWC       te.Tag = "bitpack_conv2d_nhwc" // the packing stage of BitpackConv2D
	TagBitpackConv2DNCHW       te.Tag = "bitpack_conv2d_nchw"
	TagFusedGlue               te.Tag = "fused_glue"
	TagGlueFloat               te.Tag = "glue_float" // each step of FloatGlue
	TagGlueShift               te.Tag = "glue_shift" // FusedGlueBatchNorm's constants, of the parameters alone
	TagGlueCB                  te.Tag = "glue_cb"
	TagGlueThreshold           te.Tag = "glue_threshold" // FusedGlue's thresholds, of its constants alone
)

// OfParameters reports whether tag marks a stage of an operator's
// parameters alone (a batch norm's scale, a glue's constants or
// thresholds), which belongs to the operator that reads it: messages about
// the parameters name that operator.
func OfParameters(tag te.Tag) bool {
	switch tag {
	case TagBatchNormScale, TagBatchNormShift, TagGlueShift, TagGlueCB, TagGlueThreshold:
		return true
	}
	return false
}

// byLayout is the tag of an operator's NHWC or NCHW form.
func byLayout(l Layout, nhwc, nchw te.Tag) te.Tag {
	if l == NCHW {
		return nchw
	}
	return nhwc
}

// The attributes of the operators' computes (te.Tensor.Attrs), one type
// per family of operators. te holds them as an interface value because te
// cannot know topi's types (topi imports te), and defining the structs in
// te would put the operator library's parameters into the core; a reader
// takes them with AttrsOf, which checks the type.

// WindowAttrs are a float convolution's (conv2d_nhwc, conv2d_nchw) and a
// pool's stages' (max_pool2d, avg_pool2d_sum, avg_pool2d).
type WindowAttrs struct {
	Layout Layout
	Window Window // with its strides resolved: at least 1, never the 0 that means 1
}

// BitserialConv2DAttrs are a bitserial convolution's accumulation's
// (bitserial_conv2d_nhwc, bitserial_conv2d_nchw).
type BitserialConv2DAttrs struct {
	WindowAttrs
	Bitserial Bitserial
}

// BitpackAttrs are a bitpack's (bitpack, and bitpack_conv2d_nhwc/nchw, the
// packing stage of BitpackConv2D): the arguments of Bitpack.
type BitpackAttrs struct {
	Bits     int // bit-planes
	PackAxis int // the input axis packed into words
	BitAxis  int // the output axis of the bit-planes
	WordBits int
	Elements int // the packed axis's extent: its real (unpadded) elements
}

// WeightSumAttrs are the weight sums' of a bipolar zero-padded convolution
// (bitserial_weight_ones, bitserial_weight_sum).
type WeightSumAttrs struct {
	WBits    int // the weights' bit-planes
	Elements int // the real input channels
}

// XnorAttrs are the XNOR correction's (bitserial_xnor): its operator's
// parameters and its parts, Full - 2*Acc + Border (Border nil when no
// output reads the padding), which the fused glue folds into its
// thresholds (see FusedGlue); for unipolar activations the correction is
// 2*Acc - (2^M - 1)*Pops.
type XnorAttrs struct {
	Bitserial
	Full   int64
	Acc    *te.Tensor
	Border *PadBorder
	Pops   *ActivationPops // unipolar activations: 2 Acc - (2^M - 1) Pops instead
}

// PadBorderAttrs are the border correction's (bitserial_pad_border).
type PadBorderAttrs struct {
	Levels                 int64 // 2^N - 1 for N activation bits
	RowClasses, ColClasses int   // its classes of output rows and columns (NCHW: every column)
}

// GlueAttrs are the glue's (fused_glue, and each step of the unfused one,
// glue_float).
type GlueAttrs struct {
	Axis int // the channel axis
	Bits int // the output codes' bits
}

// ConcatAttrs are a concatenation's (concatenate).
type ConcatAttrs struct{ Axis int }

// tagAttrs is the attribute type of each tag whose computes carry
// attributes (Bitserial is declared with the operators); every other
// tag's carry none. tagged refuses any other pairing, so that AttrsOf
// fails only on a compute topi did not make.
var tagAttrs = map[te.Tag]reflect.Type{
	TagConv2DNHWC:          reflect.TypeFor[WindowAttrs](),
	TagConv2DNCHW:          reflect.TypeFor[WindowAttrs](),
	TagMaxPool2D:           reflect.TypeFor[WindowAttrs](),
	TagAvgPool2DSum:        reflect.TypeFor[WindowAttrs](),
	TagAvgPool2D:           reflect.TypeFor[WindowAttrs](),
	TagConcatenate:         reflect.TypeFor[ConcatAttrs](),
	TagBitpack:             reflect.TypeFor[BitpackAttrs](),
	TagBitpackConv2DNHWC:   reflect.TypeFor[BitpackAttrs](),
	TagBitpackConv2DNCHW:   reflect.TypeFor[BitpackAttrs](),
	TagBitserialDense:      reflect.TypeFor[Bitserial](),
	TagBitserialXnor:       reflect.TypeFor[XnorAttrs](),
	TagBitserialConv2DNHWC: reflect.TypeFor[BitserialConv2DAttrs](),
	TagBitserialConv2DNCHW: reflect.TypeFor[BitserialConv2DAttrs](),
	TagBitserialWeightOnes: reflect.TypeFor[WeightSumAttrs](),
	TagBitserialWeightSum:  reflect.TypeFor[WeightSumAttrs](),
	TagBitserialPadBorder:  reflect.TypeFor[PadBorderAttrs](),
	TagFusedGlue:           reflect.TypeFor[GlueAttrs](),
	TagGlueFloat:           reflect.TypeFor[GlueAttrs](),
}

// tagged sets the operator tag and attributes of a compute just made.
func tagged(t *te.Tensor, err error, tag te.Tag, attrs any) (*te.Tensor, error) {
	if err != nil {
		return nil, err
	}
	if want := tagAttrs[tag]; reflect.TypeOf(attrs) != want {
		return nil, fmt.Errorf("topi: %s: tag %s with attributes %T, want %v (an operator library bug: see tagAttrs)", t.Name, tag, attrs, want)
	}
	t.Tag, t.Attrs = tag, attrs
	return t, nil
}

// AttrsOf is t's attributes as an A: an error naming t, never a zero A,
// when t carries none or another type (a compute topi did not make, or
// one of another operator).
func AttrsOf[A any](t *te.Tensor) (A, error) {
	a, ok := t.Attrs.(A)
	if !ok {
		tag := string(t.Tag)
		if tag == "" {
			tag = "untagged"
		}
		return a, fmt.Errorf("%s (%s) has attributes %T; want %T", t.Name, tag, t.Attrs, a)
	}
	return a, nil
}

// Elements is the number of real (unpadded) elements along the packed
// axis of a binary operator's compute: a bitpack's packed axis, the
// channels (or K) a bitserial operator reduces over, the channels of a
// weight sum. ok is false for a compute without packed words.
func Elements(t *te.Tensor) (n int, ok bool) {
	switch a := t.Attrs.(type) {
	case BitpackAttrs:
		return a.Elements, true
	case Bitserial:
		return a.Elements, true
	case BitserialConv2DAttrs:
		return a.Bitserial.Elements, true
	case WeightSumAttrs:
		return a.Elements, true
	}
	return 0, false
}
