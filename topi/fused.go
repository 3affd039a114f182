package topi

import (
	"fmt"

	"github.com/tide-compiler/tide/te"
)

// BitpackConv2D is a binary layer that hands the next binary layer its
// packed input directly (Riptide's bitpack fusion): a bitserial convolution,
// the fused glue (per output channel: clip((acc + cb) >> shift, 0,
// 2^outBits - 1)) and a bitpack of the resulting codes along the channels.
//
//	NHWC: data [N, H, W, abits, CW], kernel [KH, KW, wbits, CW, O] -> [N, OH, OW, outBits, OCW]
//	NCHW: data [N, abits, CW, H, W], kernel [O, wbits, CW, KH, KW] -> [N, outBits, OCW, OH, OW]
//
// with OCW = ceil(O / word bits). The stages are name_conv (and its
// name_conv_acc), name_glue and name (the packed output); the default
// schedule computes the convolution of one output pixel at a time inside
// the packing loop, so only O accumulators are alive, never the whole
// layer's integer output.
func BitpackConv2D(name string, data, kernel, cb, shift *te.Tensor, layout Layout, win Window, p Bitserial, outBits int, word te.DType) (*te.Tensor, error) {
	conv, err := BitserialConv2D(name+"_conv", data, kernel, layout, win, p)
	if err != nil {
		return nil, fmt.Errorf("bitpack_conv2d %s: %w", name, err)
	}
	_, cAxis := spatial(layout)
	glue, err := FusedGlue(name+"_glue", conv, cb, shift, cAxis, outBits)
	if err != nil {
		return nil, fmt.Errorf("bitpack_conv2d %s: %w", name, err)
	}
	packed, err := Bitpack(name, glue, outBits, cAxis, cAxis, word)
	if err != nil {
		return nil, fmt.Errorf("bitpack_conv2d %s: %w", name, err)
	}
	return tagged(packed, nil, byLayout(layout, TagBitpackConv2DNHWC, TagBitpackConv2DNCHW), packed.Attrs)
}
