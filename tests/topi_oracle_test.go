package tests

// Naive oracles for the operators of package topi, written from the
// specification /work/shared/riptide.md (and the textbook definitions of the
// float operators), independently of te and of topi's implementation: plain
// Go loops over row-major []int64 / []float64.
//
// 4-D oracles work in NHWC (kernels HWIO); NCHW cases are transposed to NHWC
// and back by the helpers at the end of this file.

import (
	"math"
)

// ---------------------------------------------------------------------------
// Index helpers

// strides of a row-major shape.
func oStrides(shape []int) []int {
	s := make([]int, len(shape))
	n := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = n
		n *= shape[i]
	}
	return s
}

func oNumel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// oUnravel writes the multi-index of flat index i into idx.
func oUnravel(i int, shape []int, idx []int) {
	for d := len(shape) - 1; d >= 0; d-- {
		idx[d] = i % shape[d]
		i /= shape[d]
	}
}

func oRavel(idx, strides []int) int {
	f := 0
	for d := range idx {
		f += idx[d] * strides[d]
	}
	return f
}

// ---------------------------------------------------------------------------
// Bitpack (riptide.md "bitpack"): plane_b = (x >> b) & 1; word w of the
// packed axis holds element w*width + t in bit t (LSB-first, as topi's doc
// says); elements past the end of the axis are zero bits. The bit axis (of
// length bits) is inserted at position bitAxis of the output.
//
// Words are returned as int64 holding the word's bits (te's canonical form:
// uint64 keeps all 64 bits).
func oracleBitpack(x []int64, shape []int, bits, packAxis, bitAxis, width int) ([]int64, []int) {
	words := (shape[packAxis] + width - 1) / width
	// shape without the bit axis
	inner := append([]int{}, shape...)
	inner[packAxis] = words
	outShape := make([]int, 0, len(shape)+1)
	outShape = append(outShape, inner[:bitAxis]...)
	outShape = append(outShape, bits)
	outShape = append(outShape, inner[bitAxis:]...)

	xs := oStrides(shape)
	out := make([]int64, oNumel(outShape))
	oidx := make([]int, len(outShape))
	src := make([]int, len(shape))
	for i := range out {
		oUnravel(i, outShape, oidx)
		b := oidx[bitAxis]
		copy(src, oidx[:bitAxis])
		copy(src[bitAxis:], oidx[bitAxis+1:])
		w := src[packAxis]
		var word uint64
		for t := 0; t < width; t++ {
			e := w*width + t
			if e >= shape[packAxis] {
				break // zero bits
			}
			src[packAxis] = e
			code := uint64(x[oRavel(src, xs)])
			word |= ((code >> uint(b)) & 1) << uint(t)
		}
		out[i] = int64(word)
	}
	return out, outShape
}

// ---------------------------------------------------------------------------
// Values and polarity (riptide.md "Values and polarity").

// activationValue decodes an N-bit activation code: A for unipolar and
// unsigned activations, 2A - (2^N - 1) for bipolar ones.
func activationValue(code int64, bits int, bipolar bool) int64 {
	if bipolar {
		return 2*code - (int64(1)<<bits - 1)
	}
	return code
}

// weightValue decodes an M-bit weight code: W (unsigned) or 2W - (2^M - 1)
// (bipolar).
func weightValue(code int64, bits int, bipolar bool) int64 {
	if bipolar {
		return 2*code - (int64(1)<<bits - 1)
	}
	return code
}

// oraclePadValue is the value a padded activation stands for, by the pad
// value's name (riptide.md; networks.md, "Padding in binary layers"):
// "zero" is 0; "one" is the all-ones code 2^N - 1, the value +(2^N - 1)
// whether the activations are bipolar (2(2^N - 1) - (2^N - 1)) or not;
// "minus_one" is bipolar code 0, -(2^N - 1) (unipolar activations have no
// -1).
func oraclePadValue(name string, bits int, bipolar bool) int64 {
	levels := int64(1)<<bits - 1
	switch {
	case name == "zero":
		return 0
	case name == "one":
		return levels
	case name == "minus_one" && bipolar:
		return -levels
	}
	panic("oraclePadValue: " + name)
}

func decodeAll(codes []int64, bits int, bipolar bool, weight bool) []int64 {
	out := make([]int64, len(codes))
	for i, c := range codes {
		if weight {
			out[i] = weightValue(c, bits, bipolar)
		} else {
			out[i] = activationValue(c, bits, bipolar)
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// Convolution, dense (integer and float by type parameter).

type oNum interface{ ~int64 | ~float64 }

// oWin is a window in the oracle's own terms.
type oWin struct {
	KH, KW, SH, SW           int
	Top, Left, Bottom, Right int
}

func (w oWin) outSize(h, wd int) (int, int) {
	return (h+w.Top+w.Bottom-w.KH)/w.SH + 1, (wd+w.Left+w.Right-w.KW)/w.SW + 1
}

// oracleConv2DNHWC is out[n, y, x, o] = sum_{ky, kx, c} in(n, y*SH + ky -
// Top, x*SW + kx - Left, c) * k[ky, kx, c, o], where an input position
// outside the image reads padVal.
func oracleConv2DNHWC[T oNum](in []T, n, h, wd, c int, k []T, o int, win oWin, padVal T) ([]T, int, int) {
	oh, ow := win.outSize(h, wd)
	out := make([]T, n*oh*ow*o)
	for b := 0; b < n; b++ {
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				for oc := 0; oc < o; oc++ {
					var s T
					for ky := 0; ky < win.KH; ky++ {
						for kx := 0; kx < win.KW; kx++ {
							iy, ix := y*win.SH+ky-win.Top, x*win.SW+kx-win.Left
							inside := iy >= 0 && iy < h && ix >= 0 && ix < wd
							for ic := 0; ic < c; ic++ {
								a := padVal
								if inside {
									a = in[((b*h+iy)*wd+ix)*c+ic]
								}
								s += a * k[((ky*win.KW+kx)*c+ic)*o+oc]
							}
						}
					}
					out[((b*oh+y)*ow+x)*o+oc] = s
				}
			}
		}
	}
	return out, oh, ow
}

// oracleDense is out[b, o] = sum_k x[b, k] * w[o, k].
func oracleDense[T oNum](x []T, batch, k int, w []T, o int) []T {
	out := make([]T, batch*o)
	for b := 0; b < batch; b++ {
		for j := 0; j < o; j++ {
			var s T
			for i := 0; i < k; i++ {
				s += x[b*k+i] * w[j*k+i]
			}
			out[b*o+j] = s
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// Pools (NHWC). Max: the maximum over the window elements inside the image
// (padding never wins). Avg: the mean over the window elements inside the
// image (count_include_pad=False).

func oraclePoolNHWC(in []float64, n, h, wd, c int, win oWin, isMax bool) ([]float64, int, int) {
	oh, ow := win.outSize(h, wd)
	out := make([]float64, n*oh*ow*c)
	for b := 0; b < n; b++ {
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				for ch := 0; ch < c; ch++ {
					best, sum, count := math.Inf(-1), 0.0, 0
					for ky := 0; ky < win.KH; ky++ {
						for kx := 0; kx < win.KW; kx++ {
							iy, ix := y*win.SH+ky-win.Top, x*win.SW+kx-win.Left
							if iy < 0 || iy >= h || ix < 0 || ix >= wd {
								continue
							}
							v := in[((b*h+iy)*wd+ix)*c+ch]
							best = math.Max(best, v)
							sum += v
							count++
						}
					}
					if isMax {
						out[((b*oh+y)*ow+x)*c+ch] = best
					} else {
						out[((b*oh+y)*ow+x)*c+ch] = sum / float64(count)
					}
				}
			}
		}
	}
	return out, oh, ow
}

// ---------------------------------------------------------------------------
// Elementwise and per-channel float operators.

func oracleReLU(x []float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		if v > 0 {
			out[i] = v
		}
	}
	return out
}

// channelOf is the index along axis of flat element i.
func channelOf(i int, shape []int, axis int) int {
	return i / oStrides(shape)[axis] % shape[axis]
}

func oracleBiasAdd(x []float64, shape []int, b []float64, axis int) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v + b[channelOf(i, shape, axis)]
	}
	return out
}

// oracleBatchNorm is inference batch norm: (x - mean) / sqrt(var + eps) *
// gamma + beta per channel.
func oracleBatchNorm(x []float64, shape []int, gamma, beta, mean, variance []float64, eps float64, axis int) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		c := channelOf(i, shape, axis)
		out[i] = (v-mean[c])/math.Sqrt(variance[c]+eps)*gamma[c] + beta[c]
	}
	return out
}

func oracleAdd(a, b []float64) []float64 {
	out := make([]float64, len(a))
	for i := range a {
		out[i] = a[i] + b[i]
	}
	return out
}

// oracleQuantize is riptide.md's code = round((2^N - 1) * clip(x, 0, 1)),
// ties to even, with the product computed in float32 (the operator's data
// type: a product of two float32 values is exact in float64, so rounding it
// once to float32 is float32 multiplication).
func oracleQuantize(x []float64, bits int) []int64 {
	levels := float64(int(1)<<bits - 1)
	out := make([]int64, len(x))
	for i, v := range x {
		c := math.Min(math.Max(v, 0), 1)
		p := float64(float32(levels * c))
		out[i] = int64(math.RoundToEven(p))
	}
	return out
}

// ---------------------------------------------------------------------------
// Fused glue (riptide.md "Fused glue").

// oracleFusedGlue is q = clip((acc + cb[c]) >> shift[c], 0, 2^N - 1) with
// an arithmetic shift (floor division by 2^shift).
func oracleFusedGlue(acc []int64, shape []int, cb, shift []int64, axis, bits int) []int64 {
	out := make([]int64, len(acc))
	hi := int64(1)<<bits - 1
	for i, a := range acc {
		c := channelOf(i, shape, axis)
		v := (a + cb[c]) >> uint(shift[c]) // Go's >> on int64 is arithmetic
		out[i] = min(max(v, 0), hi)
	}
	return out
}

// ap2Exp is log2 of AP2(x) = 2^round(log2 |x|).
func ap2Exp(x float64) int {
	return int(math.Round(math.Log2(math.Abs(x))))
}

// oracleGlueChannel computes one channel's (cb, shift) from riptide.md:
//
//	wb = -log2 AP2(alpha), sb = log2 AP2(sqrt(var + eps))
//	S = 1 + (1 - 2^-wb) / (2^N - 1)
//	mu_hat = round(clip(mu, -S, S) * (2^N - 1) * 2^wb)   (= FPQ(mu, N + wb, S))
//	cb = (1 << (wb - 1)) - mu_hat   (exact: 1 << (wb + sb - 1), 0 if wb + sb = 0)
//	shift = wb + sb
func oracleGlueChannel(alpha, mean, variance, eps float64, bits int, exact bool) (cb, shift int64, wb, sb int) {
	wb = -ap2Exp(alpha)
	sb = ap2Exp(math.Sqrt(variance + eps))
	levels := float64(int(1)<<bits - 1)
	s := 1 + (1-math.Pow(2, -float64(wb)))/levels
	mu := math.Min(math.Max(mean, -s), s)
	muHat := int64(math.RoundToEven(mu * levels * math.Pow(2, float64(wb))))
	round := int64(1) << uint(wb-1)
	if exact {
		// 1 << (wb + sb - 1) is half a step of the shift; with no shift
		// (wb + sb = 0) there is nothing to round: 0
		round = 0
		if wb+sb > 0 {
			round = int64(1) << uint(wb+sb-1)
		}
	}
	return round - muHat, int64(wb + sb), wb, sb
}

// oracleGluePipeline is the float pipeline the fused glue replaces, with the
// same power-of-two approximations (riptide.md): the accumulator of a binary
// layer is sum(activation code * weight value); the activation value is
// code / (2^N - 1) and the weight's scale AP2(alpha), so the layer's float
// output is x = acc / (2^N - 1) * AP2(alpha). Batch norm (without gamma and
// beta, as in Eq. 4-7): y = (x - mean) / AP2(sqrt(var + eps)); then clip to
// [0, 1] and requantize: q = round((2^N - 1) * y), ties to even.
func oracleGluePipeline(acc int64, alpha, mean, variance, eps float64, bits int) int64 {
	levels := float64(int(1)<<bits - 1)
	x := float64(acc) / levels * math.Pow(2, float64(ap2Exp(alpha)))
	y := (x - mean) / math.Pow(2, float64(ap2Exp(math.Sqrt(variance+eps))))
	y = math.Min(math.Max(y, 0), 1)
	return int64(math.RoundToEven(levels * y))
}

// ---------------------------------------------------------------------------
// Layout transposes (for the NCHW cases).

func nchwToNHWC[T any](x []T, n, c, h, w int) []T {
	out := make([]T, len(x))
	for b := 0; b < n; b++ {
		for ch := 0; ch < c; ch++ {
			for y := 0; y < h; y++ {
				for xx := 0; xx < w; xx++ {
					out[((b*h+y)*w+xx)*c+ch] = x[((b*c+ch)*h+y)*w+xx]
				}
			}
		}
	}
	return out
}

func nhwcToNCHW[T any](x []T, n, h, w, c int) []T {
	out := make([]T, len(x))
	for b := 0; b < n; b++ {
		for ch := 0; ch < c; ch++ {
			for y := 0; y < h; y++ {
				for xx := 0; xx < w; xx++ {
					out[((b*c+ch)*h+y)*w+xx] = x[((b*h+y)*w+xx)*c+ch]
				}
			}
		}
	}
	return out
}

// oihwToHWIO turns an OIHW kernel into HWIO.
func oihwToHWIO[T any](k []T, o, i, kh, kw int) []T {
	out := make([]T, len(k))
	for a := 0; a < o; a++ {
		for b := 0; b < i; b++ {
			for y := 0; y < kh; y++ {
				for x := 0; x < kw; x++ {
					out[((y*kw+x)*i+b)*o+a] = k[((a*i+b)*kh+y)*kw+x]
				}
			}
		}
	}
	return out
}
