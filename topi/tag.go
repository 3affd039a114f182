package topi

import "github.com/tide-compiler/tide/te"

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
	TagBitpack             te.Tag = "bitpack"
	TagBitserialDense      te.Tag = "bitserial_dense"       // the accumulation
	TagBitserialConv2DNHWC te.Tag = "bitserial_conv2d_nhwc" // the accumulation
	TagBitserialConv2DNCHW te.Tag = "bitserial_conv2d_nchw" // the accumulation
	TagBitserialXnor       te.Tag = "bitserial_xnor"        // the XNOR correction after the accumulation
	TagBitserialWeightOnes te.Tag = "bitserial_weight_ones" // see PadValue: the zero-padding correction's stages
	TagBitserialWeightSum  te.Tag = "bitserial_weight_sum"
	TagBitserialPadBorder  te.Tag = "bitserial_pad_border"
	TagBitpackConv2DNHWC   te.Tag = "bitpack_conv2d_nhwc" // the packing stage of BitpackConv2D
	TagBitpackConv2DNCHW   te.Tag = "bitpack_conv2d_nchw"
	TagFusedGlue           te.Tag = "fused_glue"
	TagGlueFloat           te.Tag = "glue_float" // each step of FloatGlue
	TagGlueShift           te.Tag = "glue_shift" // FusedGlueBatchNorm's constants, of the parameters alone
	TagGlueCB              te.Tag = "glue_cb"
)

// byLayout is the tag of an operator's NHWC or NCHW form.
func byLayout(l Layout, nhwc, nchw te.Tag) te.Tag {
	if l == NCHW {
		return nchw
	}
	return nhwc
}
