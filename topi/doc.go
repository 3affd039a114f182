// Package topi is Tide's operator library: the float operators of a
// convolutional network (the baselines) and Riptide's binarized operators,
// each declared as te tensors, with default schedules per target.
//
// Shapes are constants (te.IntImm); symbolic dimensions are not supported by
// the operators yet. Every operator returns its output tensor and reports bad
// arguments (shapes, dtypes, strides, bit widths) as errors that name the
// operator and say what is legal.
//
// # Layouts
//
// Float convolutions take NHWC data with an HWIO kernel, or NCHW data with an
// OIHW kernel. Binarized operators take bit-packed tensors (see Bitpack):
//
//	NHWC: data [N, H, W, abits, CW], kernel [KH, KW, wbits, CW, O] -> [N, OH, OW, O]
//	NCHW: data [N, abits, CW, H, W], kernel [O, wbits, CW, KH, KW] -> [N, O, OH, OW]
//	dense: data [B, abits, KW], weight [O, wbits, KW] -> [B, O]
//
// where CW (KW) is the number of packed words along the channels (the
// reduction), and abits/wbits are the bit-planes of the activation and weight
// codes. These are exactly what Bitpack produces from NHWC/HWIO (or
// NCHW/OIHW) codes with the bit axis placed just before the packed axis.
//
// # Bits
//
// Bitpack packs element t of each group of `word` consecutive elements into
// bit t of the word (LSB-first), the same order for activations and weights.
// A packed axis that is not a multiple of the word width is padded with zero
// bits. Zero bits in both operands add nothing to any dot product below; for
// bipolar x bipolar (XNOR) the operators correct with the real element count.
//
// Values: an N-bit activation code A in [0, 2^N) means A (unipolar or
// unsigned) or 2A - (2^N - 1) (bipolar); an M-bit weight code W means W
// (unsigned) or 2W - (2^M - 1) (bipolar; M = 1: bit 1 is +1, bit 0 is -1).
// Every binarized operator's result equals the plain integer dot product or
// convolution of these values (the tests' oracle).
//
// Spatial padding of a binarized convolution pads with code 0: the value 0
// for unipolar and unsigned activations, and -(2^N - 1) (every bit-plane -1)
// for bipolar ones.
package topi
