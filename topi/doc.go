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
// # Padding
//
// What a binarized convolution's spatially padded pixels stand for is its
// PadValue (Bitserial.PadValue; pad_value= in .te files):
//
//   - PadZero (zero, the default): padded taps contribute exactly 0, as in
//     a network trained with zero ("same") padding. Unipolar and unsigned
//     activations pad with code 0, which is 0. Bipolar activations have no
//     0 (code 0 is -(2^N - 1)): the convolution pads with code 0 and its
//     output stage adds (2^N - 1) times the weight sums of the taps that
//     fell into the padding, out = out_code0 + (2^N - 1) * sum over padded
//     taps (ky, kx) of sum_c w(ky, kx, c, o). Stages compute the correction
//     from the packed weights alone (a network with constant weights can
//     fold them): name_wsum (tag bitserial_weight_sum), per tap and output
//     channel the weight sum sum_m 2^m (2 popc(w_m) - C), element-wise from
//     name_wones (tag bitserial_weight_ones), the popcounts sum_m 2^m
//     popc(w_m) summed over the channel words; and name_border (tag
//     bitserial_pad_border), (2^N - 1) times the padded taps' weight sums for
//     each class of output rows and columns (the border rows and columns,
//     one class for the interior, whose correction is 0; NCHW keeps every
//     column, so that a row of outputs reads it as one vector). The output
//     stage reads it with branch-free indices, one vector load and add per
//     vector of outputs. The default schedules compute name_wones and
//     name_border once, before the convolution (name_wsum inline), the
//     popcounts summed as bytes and in parallel over the taps when there
//     are many.
//   - PadOne (one): padded pixels hold the all-ones code 2^N - 1 in the real
//     channels (the channel padding bits of the last word stay zero): the
//     value +(2^N - 1) for bipolar activations (Larq's one padding), and for
//     unipolar and unsigned ones the largest code, 2^N - 1 (1.0 once
//     dequantized).
//   - PadMinusOne (minus_one): code 0 of bipolar activations, every
//     bit-plane -1: -(2^N - 1), what Riptide's TVM kernels compute.
//     Unipolar and unsigned activations have no -1: refused.
//
// PadOne and PadMinusOne cost nothing beyond the padding stage; PadZero
// with bipolar activations adds the two small stages and one add per
// output.
//
// Every pad value keeps the accumulator bound: a padded value is at most
// 2^N - 1 in magnitude, like any activation, so the largest result is still
// KH*KW*C*(2^N - 1)*(2^M - 1), and the correction's intermediates wrap
// back into range as the XNOR correction's do.
package topi
