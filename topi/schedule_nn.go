package topi

import (
	"slices"

	"github.com/tide-compiler/tide/schedule"
	"github.com/tide-compiler/tide/te"
)

// scheduleConv schedules a convolution (float or bitserial, NHWC or NCHW),
// its padding stage and, for XNOR, its correcting output stage:
//
//   - the output is tiled into register blocks (a few pixels by a vector of
//     channels in NHWC, a few channels by a vector of pixels in NCHW), its
//     rows run in parallel;
//   - the reduction is computed at the block, with the block's pixels
//     unrolled and its vector innermost, so the partial sums stay in
//     registers across the whole reduction (cache_write makes the block's
//     accumulator when nothing follows the convolution);
//   - the padding is its own stage at the root, except a binary NHWC
//     convolution's, copied row by row inside the parallel loop.
func scheduleConv(s *schedule.Schedule, acc *schedule.Stage, t Target, keep func(*te.Tensor) bool) error {
	return scheduleConvInto(s, acc, nil, t, keep)
}

// scheduleConvInto is scheduleConv with the convolution's blocks computed
// for epilogue, when not nil: the last stage of an element-wise chain
// after the convolution (fused glue, a residual add, ...), which the caller
// has inlined into it. The blocks then hold the epilogue's output, so the
// convolution's own output is never stored (TVM's fusion of an
// out-element-wise-fusable operator with its element-wise consumers).
func scheduleConvInto(s *schedule.Schedule, acc, epilogue *schedule.Stage, t Target, keep func(*te.Tensor) bool) error {
	pad := inputTagged(s, acc, TagPad)
	out := consumerTagged(acc, TagBitserialXnor)
	if epilogue != nil {
		out = epilogue
	}
	border, wsum, wones := zeroPadStages(s, out)
	pops := activationPopsOf(s, acc)
	if skipped(keep, acc, pad, out, border, wsum, wones, pops) {
		return nil
	}
	nhwc := acc.Tensor.Tag == TagConv2DNHWC || acc.Tensor.Tag == TagBitserialConv2DNHWC
	if out == nil {
		local, err := s.CacheWrite(acc.Tensor, "local")
		if err != nil {
			return err
		}
		out, acc = acc, local
	}
	var p steps
	// vectors are as wide as the operands: floats, or packed words
	elem := acc.Tensor.DType
	if !elem.IsFloat() {
		elem = acc.Tensor.Inputs()[0].DType
	}
	v := lanes(t, elem)
	// the output's axes by position (an epilogue's have other names):
	// NHWC n, oh, ow, oc; NCHW n, oc, oh, ow
	nAx, hAx, rowAx, colAx := 0, 1, 2, 3
	if !nhwc {
		hAx, rowAx, colAx = 2, 1, 3
		// vectors run along the output row: narrower ones that divide it
		// beat full ones with a scalar tail (there is no masked tail)
		for n := extentAt(out, colAx); v > 1 && n%v != 0; v /= 2 {
		}
	}
	// the block: 4 pixels (or channels) by two vectors, as the matmul
	// example's register tile
	rows, cols := int64(4), pairOfVectors(extentAt(out, colAx), v)
	if !elem.IsFloat() {
		// binary blocks hold byte sums, not one register per vector of
		// outputs: taller blocks pay, and a height that divides the row
		// leaves no tail (measured: 14x14 layers 20-35% faster at 7 than 4)
		rows = blockRows(extentAt(out, rowAx))
		if n := extentAt(out, rowAx); t.VectorBits == 256 && n%4 == 0 {
			// AVX2 counts bits with nibble tables (llvmgen/popcount.go):
			// two table vectors per pixel and the weights' nibbles live
			// next to the accumulators, so 4 pixels by two vectors fit
			// the 16 registers where 8 spill (measured: 56x56x64 322
			// against 370 us, 28x28x128 318 against 372; 7- and
			// 14-pixel rows keep 7)
			rows = 4
		}
		if n, m := extentAt(out, rowAx), extentAt(out, colAx); nhwc && neonWideWords(t, v) && n%4 == 0 && m%(4*v) == 0 {
			// 4 pixels by four vectors, the bitpack-fused layers' block
			// (rows that 4 does not divide keep 8 or 7 by two vectors)
			rows, cols = 4, 4*v
		}
	}
	packed := nhwc && elem.IsFloat() // the kernel comes in blocks of OCBlock channels
	if packed {
		cols = OCBlock
		if cols == 2*v && t.VectorBits == 256 {
			// AVX2: 6 pixels by the block's two vectors, 12 of the 16
			// registers, the weights and a broadcast in the others
			// (measured with tide tune on ResNet-18's stem: 1.06x 4 pixels)
			rows = 6
		}
		if cols <= v {
			// one vector per packed block (AVX-512): see floatBlock
			var vectors int64
			rows, vectors = floatBlock(extentAt(out, rowAx), extentAt(out, colAx)/OCBlock)
			cols = OCBlock * vectors
		}
	}
	rows = min(rows, extentAt(out, rowAx))
	cols = min(cols, extentAt(out, colAx))
	switch {
	case t.NoTiling:
		// the ablation: no register block, one vector of outputs at a time
		rows, cols = 1, min(v, extentAt(out, colAx))
	default:
		// the block's shape is tunable: its pixels (NCHW: channels) and,
		// unless the kernel's packing fixes it, its vectors
		n := extentAt(out, rowAx)
		rows = t.knob(out, "rows", rows, n, 1, 2, 4, 6, 7, 8, 12, 14, 16)
		m := extentAt(out, colAx)
		switch {
		case packed && OCBlock <= v && m%OCBlock == 0:
			// whole packed blocks of one vector each
			cols = OCBlock * t.knob(out, "vectors", cols/OCBlock, m/OCBlock, 1, 2, 3, 4)
		case !packed && cols%v == 0 && m >= v:
			cols = v * t.knob(out, "vectors", cols/v, m/v, 1, 2, 3, 4)
		}
	}
	xo, yo, xi, yi, err := out.Tile(out.Root[rowAx], out.Root[colAx], rows, cols)
	if err != nil {
		return err
	}
	yio, yii := p.split(out, yi, min(v, cols))
	p.vectorize(out, yii)
	if packed {
		// the block's epilogue unrolled: every access to the block's
		// accumulators has a constant offset, so LLVM keeps them in
		// registers whatever its own unrolling decides (a loop of 14x2
		// vectors with a batch norm in it was left rolled in a network,
		// and the 28 accumulators went through memory at every
		// multiply-add: 3x slower)
		p.unroll(out, xi)
		p.unroll(out, yio)
	}
	// the rows of the output in parallel: n and the outer row loop fused
	outer, attach := out.Root[hAx], yo
	if !nhwc {
		outer = xo
	}
	wp := inputTagged(s, acc, TagWeightPack)
	blocksOuter := packed && extentAt(out, colAx) >= 4*OCBlock
	if blocksOuter {
		// blocks of output channels outermost, in parallel: a block packs
		// its own weights (no large buffer to allocate at every call),
		// which stay in the cache while every pixel passes
		p.reorder(out, yo, out.Root[hAx], xo)
		outer, attach = yo, xo
		if blocks := (extentAt(out, colAx) + cols - 1) / cols; blocks < parallelBlocks {
			// too few blocks to share out (SqueezeNet's stem: 3 blocks of
			// 32 channels, which 2 threads ran 2:1 and a Pi's 4 cores 3 of
			// 4): the blocks and the rows in parallel together, and the
			// weights, small, packed once before. Rows outside blocks: a
			// thread's rows are the padded rows it wrote itself (the pad's
			// parallel loop shares rows out the same way), where blocks
			// outside gave each thread every row, half of them in the
			// other core's cache (56x56x64 on 2 threads, best rounds:
			// 1.99-2.12x against 1.67-1.70x)
			p.reorder(out, out.Root[hAx], yo, xo)
			outer = p.fuse(out, out.Root[hAx], yo)
			blocksOuter = false
		}
	}
	if n := out.Root[nAx]; extentAt(out, nAx) > 1 {
		p.reorder(out, n, outer)
		outer = p.fuse(out, n, outer)
	}
	p.parallel(out, outer)
	// the block's reduction: every reduce loop outside the block's loops
	p.computeAt(acc, out, attach)
	if blocksOuter && wp != nil {
		// after acc's compute_at: wp is read by acc, computed inside out;
		// at the block loop (fused with n when there is a batch)
		p.computeAt(wp, out, outer)
		_, oi := p.split(wp, wp.Axis("oi"), min(v, OCBlock))
		p.vectorize(wp, oi)
		wp = nil // scheduled
	}
	rowA, colA := acc.Root[rowAx], acc.Root[colAx]
	p.then(func() error { return reduceOutside(acc, rowA, colA) })
	co, ci := p.split(acc, colA, min(v, cols))
	if !(t.ScalarPopcount && !elem.IsFloat()) {
		p.vectorize(acc, ci)
	}
	p.unroll(acc, co)
	p.unroll(acc, rowA)
	if packed && rows >= extentAt(out, rowAx) {
		// the window's columns unrolled: the conditions that skip padded
		// taps (topi.Conv2D's where=) fold to constants at each of the
		// block's pixels (7x7x512: 1.18x fewer multiply-adds, none tested
		// in the loop)
		p.unroll(acc, acc.Axis("rx"))
	}
	if w := packedWeights(acc); w != nil && t.VectorBits > 128 && extentAt(out, colAx)%cols == 0 {
		// the weights stream from L2 (a block's are 590 KB in a 7x7x512
		// layer): each step of the channel loop asks for the step 32
		// ahead, as the matmul example does for its panel (blocks that
		// straddle the packing's blocks of channels read a region too
		// large to prefetch)
		p.then(func() error { return acc.Prefetch(w, acc.Axis("rc"), 32) })
	}
	switch {
	case pad != nil && nhwc && !elem.IsFloat() && !blocksOuter:
		// a binary convolution's padded input is small (bits): each
		// parallel iteration copies the padded rows its outputs read,
		// which saves a parallel loop's fork and join per call (a few
		// microseconds against a 100 us layer on 2 threads)
		p.computeAt(pad, out, outer)
		p.then(func() error { return vectorizeInnermost(pad, t) })
	case pad != nil:
		p.then(func() error { return scheduleOuter(s, pad, t) })
	}
	if wp != nil {
		p.then(func() error { return scheduleOuter(s, wp, t) })
	}
	p.then(func() error { return scheduleZeroPad(border, wsum, wones, t) })
	if pops != nil {
		p.then(func() error { return scheduleOuter(s, pops, t) })
	}
	return p.err
}

// neonWideWords reports whether binary words of v lanes are wider than
// bytes on NEON: a binary convolution's block then takes four vectors of
// output channels, the 32 channels two vectors of byte words hold, by 4
// pixels. tide tune on cortex-a53 found it, with 16-bit words: every
// bitpack-fused layer of ResNet-18 1.21-1.26x, SqueezeNet's 1.06-1.28x,
// and SqueezeNet's plain convolutions 1.08-1.17x (within 5% of the best
// block for each) over two vectors by 8 or 7 pixels.
func neonWideWords(t Target, v int64) bool { return t.VectorBits == 128 && v < 16 }

// activationPopsOf is the stage name_apop that a unipolar binary
// operator's correction (the accumulation's consumer) reads, or nil: its
// own loop nest in the operator's group, the output rows in parallel.
func activationPopsOf(s *schedule.Schedule, acc *schedule.Stage) *schedule.Stage {
	if c := consumerTagged(acc, TagBitserialXnor); c != nil {
		return inputTagged(s, c, TagBitserialActivationPops)
	}
	return nil
}

// parallelBlocks is how many blocks of output channels a float convolution
// needs to run them in parallel on their own: with fewer, some threads of
// 2 or 4 would get one more block than others.
const parallelBlocks = 8

// zeroPadStages are the border correction (name_border), the weight sums
// (name_wsum) and their popcounts (name_wones) that the output stage of a
// bipolar convolution with zero padding reads, or nils. The output stage is
// the XNOR correction, which reads the border, or a glue after it: one that
// reads the correction, or (folded, see FusedGlue) thresholds made of the
// border.
func zeroPadStages(s *schedule.Schedule, out *schedule.Stage) (border, wsum, wones *schedule.Stage) {
	if out == nil {
		return nil, nil, nil
	}
	border = inputTagged(s, out, TagBitserialPadBorder)
	for _, tag := range []te.Tag{TagBitserialXnor, TagGlueThreshold} {
		if in := inputTagged(s, out, tag); border == nil && in != nil {
			border = inputTagged(s, in, TagBitserialPadBorder)
		}
	}
	if border != nil {
		if wsum = inputTagged(s, border, TagBitserialWeightSum); wsum != nil {
			wones = inputTagged(s, wsum, TagBitserialWeightOnes)
		}
	}
	return border, wsum, wones
}

// scheduleZeroPad schedules the zero-padding correction's small stages,
// computed once before the convolution. The border (KH*KW adds per border
// class and channel): serial, the taps outside, the output channels (NCHW:
// the output row) as vectors. The weight sums: inline into the border.
// Their popcounts (KH*KW*O*wbits*CW, one pass over the weights): for each
// tap and vector of output channels (NHWC) the channel words innermost, so
// that the accumulate pass sums the popcounts in the words' own type and
// widens once; the taps (NCHW: the output channels) in parallel when
// there are parallelWords words or more.
func scheduleZeroPad(border, wsum, wones *schedule.Stage, t Target) error {
	var p steps
	if border != nil {
		p.then(func() error { return vectorizeInside(border, t) })
	}
	if wsum != nil {
		p.computeInline(wsum)
	}
	if wones == nil || p.err != nil {
		return p.err
	}
	work := int64(1)
	for _, a := range wones.Leaf {
		n, _ := te.IntValue(a.StaticExtent())
		work *= n
	}
	outer := wones.Leaf[0] // NCHW: the output channels
	if oc := wones.Axis("oc"); oc == wones.Leaf[2] {
		// NHWC [KH, KW, O]: ky, kx, channel vectors, then the reduction
		ky, kx := wones.Leaf[0], wones.Leaf[1]
		n, _ := te.IntValue(oc.StaticExtent())
		// vectors as wide as the packed words, as the convolution's
		oo, oi := p.split(wones, oc, min(n, lanes(t, wones.Tensor.Inputs()[0].DType)))
		order := []*schedule.Axis{ky, kx, oo}
		for _, a := range wones.Leaf {
			if a.Reduce {
				order = append(order, a)
			}
		}
		p.reorder(wones, append(order, oi)...)
		p.vectorize(wones, oi)
		outer = p.fuse(wones, ky, kx)
	}
	if p.err != nil {
		return p.err
	}
	if n, _ := te.IntValue(outer.StaticExtent()); work >= parallelWords && n > 1 {
		p.parallel(wones, outer)
	}
	return p.err
}

// parallelWords is how many words a small stage processes before it pays
// to start the threads (a parallel region costs a few microseconds).
const parallelWords = 1 << 15

// vectorizeInside moves a reduction's loops outside its innermost data axis
// and vectorizes that axis in vector-wide pieces, when it is the output
// channels or an output row (not a kernel's width).
func vectorizeInside(st *schedule.Stage, t Target) error {
	data := dataAxes(st)
	if len(data) == 0 {
		return nil // a 0-d reduction: its loops are its reduce axes
	}
	inner := data[len(data)-1]
	n, _ := te.IntValue(inner.StaticExtent())
	if n < 2 || inner.Name() != "oc" && inner.Name() != "ow" {
		return nil
	}
	var order []*schedule.Axis
	order = append(order, data[:len(data)-1]...)
	for _, a := range st.Leaf {
		if a.Reduce {
			order = append(order, a)
		}
	}
	var p steps
	p.reorder(st, append(order, inner)...)
	_, vi := p.split(st, inner, min(n, lanes(t, st.Tensor.DType)))
	p.vectorize(st, vi)
	return p.err
}

// blockRows is the height of a binary convolution's register block for
// rows of n pixels: the largest divisor of n from 4 to 8, else 4.
func blockRows(n int64) int64 {
	for r := int64(8); r >= 4; r-- {
		if n%r == 0 {
			return r
		}
	}
	return 4
}

// scheduleDense schedules a dense layer: the dot products over K in vector
// accumulators (one horizontal sum each at the end), output rows in
// parallel, and an XNOR correction stage element-wise.
func scheduleDense(s *schedule.Schedule, acc *schedule.Stage, t Target, keep func(*te.Tensor) bool) error {
	out := consumerTagged(acc, TagBitserialXnor)
	if skipped(keep, acc, out) {
		return nil
	}
	var p steps
	k := acc.Axis("k")
	// the vector is over K's elements: words for bitserial, floats else
	elem := acc.Tensor.DType
	for _, in := range acc.Tensor.Inputs() {
		elem = in.DType
	}
	v := lanes(t, elem)
	if elem.IsFloat() && !t.NoTiling && extent(acc, "k")%v == 0 && extent(acc, "o")%denseBlock == 0 {
		return scheduleFloatDense(s, acc, v)
	}
	if n := extent(acc, "k"); n >= v {
		_, ki := p.split(acc, k, v)
		if !(t.ScalarPopcount && !elem.IsFloat()) {
			p.vectorize(acc, ki)
		}
	}
	if extent(acc, "o") > 1 {
		p.parallel(acc, acc.Axis("o"))
	}
	if out != nil {
		p.then(func() error { return scheduleOuter(s, out, t) })
	}
	return p.err
}

// denseBlock is the number of outputs a float dense layer computes at
// once (see scheduleFloatDense).
const denseBlock = 8

// scheduleFloatDense schedules a float dense layer: a matrix-vector product
// at batch 1, where each weight is used once. One vector accumulator per
// output (a vectorized reduction) makes every multiply-add wait for the
// previous one: SqueezeNet's 512 -> 1000 head took 14 cycles per
// multiply-add on cortex-a53 (llvm-mca), 2.8% of the binary network. So
// the reduction's vector lanes become a data axis of a partial stage
// (rfactor), whose blocks of denseBlock outputs are computed together: as
// many independent accumulators, one load of the input vector for all of
// them (5.5 cycles per multiply-add). The block's lanes add up after.
func scheduleFloatDense(s *schedule.Schedule, acc *schedule.Stage, v int64) error {
	var p steps
	ko, ki := p.split(acc, acc.Axis("k"), v)
	if p.err != nil {
		return p.err
	}
	// the partial results last: a block's vectors of partial sums are
	// contiguous
	part, err := s.RFactorAt(acc.Tensor, ki, len(acc.Tensor.Shape))
	if err != nil {
		return err
	}
	oo, _ := p.split(acc, acc.Axis("o"), denseBlock)
	p.parallel(acc, oo)
	// each output's partial sums, one vector: a horizontal sum, where a
	// loop over the lanes added them one after another (AVX-512: 16
	// dependent adds per output, 41 against 35 us for the 512 -> 1000
	// layer on this host)
	p.vectorize(acc, acc.Axis(ki.Name()+"_r"))
	p.computeAt(part, acc, oo)
	lanesAx := part.Axis(ki.Name())
	p.reorder(part, part.Axis(ko.Name()), part.Axis("o"), lanesAx)
	p.vectorize(part, lanesAx)
	p.unroll(part, part.Axis("o"))
	return p.err
}

// scheduleBitpackConv schedules a bitpack-fused binary layer: the glue (and
// the XNOR correction) inline into the packing, and the convolution
// computed inside the packing loop over pixels (NHWC: one pixel's output
// channels, as vectors; NCHW: one row's pixels, as vectors), so only that
// tile of accumulators is ever alive.
func scheduleBitpackConv(s *schedule.Schedule, y *schedule.Stage, t Target, keep func(*te.Tensor) bool) error {
	stages := bitpackConvStages(s, y)
	if len(stages) < 3 {
		return nil
	}
	glue, acc := stages[1], stages[len(stages)-1]
	between := stages[2 : len(stages)-1] // the XNOR correction, when there is one
	return scheduleBitpackInto(s, y, glue, acc, between, t, keep)
}

// scheduleBitpackInto schedules the packing y of glue's codes, where glue
// reads the convolution acc through the element-wise stages between
// (inlined, as glue is).
func scheduleBitpackInto(s *schedule.Schedule, y, glue, acc *schedule.Stage, between []*schedule.Stage, t Target, keep func(*te.Tensor) bool) error {
	pad := inputTagged(s, acc, TagPad)
	border, wsum, wones := zeroPadStages(s, glue)
	pops := activationPopsOf(s, acc)
	if skipped(keep, append([]*schedule.Stage{y, glue, acc, pad, border, wsum, wones, pops}, between...)...) {
		return nil
	}
	var p steps
	p.computeInline(glue)
	for _, b := range between {
		p.computeInline(b)
	}
	nhwc := acc.Tensor.Tag == TagBitserialConv2DNHWC
	// y's loops: n, then (NHWC) oh, ow, bits, words or (NCHW) bits,
	// words, oh, ow; the pixel loops go outside the packing
	yn, yb, yw := y.Leaf[0], y.Leaf[3], y.Leaf[4]
	yh, yx := y.Leaf[1], y.Leaf[2]
	if !nhwc {
		yb, yw, yh, yx = y.Leaf[1], y.Leaf[2], y.Leaf[3], y.Leaf[4]
	}
	v := lanes(t, acc.Tensor.Inputs()[0].DType)
	vecAx := "oc"
	if !nhwc {
		vecAx = "ow"
	}
	n := extent(acc, vecAx)
	block := min(n, pairOfVectors(n, v))
	if neonWideWords(t, v) && n%(4*v) == 0 {
		block = 4 * v
	}
	switch {
	case t.NoTiling:
		block = min(n, v)
	case block%v == 0 && n >= v:
		block = v * t.knob(y, "vectors", block/v, n/v, 1, 2, 3, 4)
	}
	attachAt := yh // NCHW: one row
	order := []*schedule.Axis{yn, yh, yx, yb, yw}
	if nhwc {
		// NHWC: a block of pixels by the block of channels. Two vectors of
		// channels take 4 pixels; one vector (byte words on AVX-512: 64
		// channels in one register) takes a row's divisor of 4 to 8, as
		// the convolution's own schedule (measured on the 56x56x64 layer,
		// 5 alternating rounds: bytes 190-195 us at 8 pixels against
		// 203-209 at 4; 32-bit words, two vectors, 135-139 at 4 against
		// 143-148 at 8)
		px := int64(1) // the ablation: one pixel at a time
		if !t.NoTiling {
			def := int64(4)
			if block <= v {
				def = blockRows(extent(y, yx.Name()))
			}
			px = t.knob(y, "pixels", def, extent(y, yx.Name()), 1, 2, 4, 7, 8)
		}
		xo, xi := p.split(y, yx, min(px, extent(y, yx.Name())))
		attachAt, order = xo, []*schedule.Axis{yn, yh, xo, xi, yb, yw}
	}
	p.reorder(y, order...)
	// the packing: the word's bits as vector lanes (glue computed for a
	// word's channels at once, one horizontal sum per word)
	if t := y.Leaf[len(y.Leaf)-1]; t.Reduce {
		p.vectorize(y, t)
	}
	if extent(y, yn.Name()) > 1 {
		f := p.fuse(y, yn, yh)
		if attachAt == yh {
			attachAt = f // NCHW attaches at the row, now fused with n
		}
		p.parallel(y, f)
	} else {
		p.parallel(y, yh)
	}
	p.computeAt(acc, y, attachAt)
	bo, br := p.split(acc, acc.Axis(vecAx), block)
	bm, bi := p.split(acc, br, min(v, block))
	if p.err != nil {
		return p.err
	}
	inner := []*schedule.Axis{bm, bi}
	if nhwc {
		// the block's pixels inside the reduction, unrolled
		ow := acc.Axis("ow")
		inner = append([]*schedule.Axis{ow}, inner...)
		p.unroll(acc, ow)
	}
	p.reorder(acc, bo, acc.Leaf[slices.Index(acc.Leaf, bo)+1])
	p.then(func() error { return reduceOutside(acc, inner...) })
	if !t.ScalarPopcount {
		p.vectorize(acc, bi)
	}
	p.unroll(acc, bm)
	if pad != nil {
		p.then(func() error { return scheduleOuter(s, pad, t) })
	}
	if pops != nil {
		p.then(func() error { return scheduleOuter(s, pops, t) })
	}
	p.then(func() error { return scheduleZeroPad(border, wsum, wones, t) })
	return p.err
}

// reduceOutside puts acc's reduce loops outside the given loops (in that
// order). For a binary NHWC convolution the reduce loops are ry, rx, the
// bit planes ab, wb and the channel words rc: the bit planes go outside
// the tap's columns, and rx and rc become one loop, so that the
// accumulate pass sums a whole row of taps in bytes and widens once per
// row, not once per tap (the row's words are contiguous in NHWC).
func reduceOutside(acc *schedule.Stage, inner ...*schedule.Axis) error {
	var red []*schedule.Axis
	for _, a := range acc.Leaf {
		if a.Reduce {
			red = append(red, a)
		}
	}
	names := make([]string, len(red))
	for i, a := range red {
		names[i] = a.Name()
	}
	fuse := acc.Tensor.Tag == TagBitserialConv2DNHWC && slices.Equal(names, []string{"ry", "rx", "ab", "wb", "rc"})
	if fuse {
		red = []*schedule.Axis{red[0], red[2], red[3], red[1], red[4]}
	}
	if err := acc.Reorder(append(slices.Clone(red), inner...)...); err != nil || !fuse {
		return err
	}
	_, err := acc.Fuse(red[3], red[4])
	return err
}

// packedWeights is the packed kernel a float convolution's accumulation
// reads (TagWeightPack), or nil.
func packedWeights(acc *schedule.Stage) *te.Tensor {
	for _, in := range acc.Inputs() {
		if in.Tag == TagWeightPack {
			return in
		}
	}
	return nil
}

// floatBlock is the register block of a float convolution whose packed
// kernel blocks are one vector wide (AVX-512): rows pixels of a row of n
// by vectors blocks of the blocks there are. Two vectors when the blocks
// pair up, by up to 14 pixels (28 accumulators, 2 weight vectors and a
// broadcast: 31 of the 32 registers; 16 loads per 28 multiply-adds, where
// one vector of 16 pixels loads 17 per 16 and is bound by the loads);
// else one vector by up to 16. Enough either way to cover the latency of
// the multiply-adds (two ports, four cycles: 8 accumulators is the bare
// minimum; the 7x7 stem measured 3.1 ms at 8, 1.64 at 16). The pixels
// divide the row when a candidate does (no tail). Measured in the float
// ResNet-18 (1 thread, --fast-math): 26.8-28.2 ms against 30.6-31.3 with
// one vector of up to 16, the 7x7x512 layers 1.25x faster.
func floatBlock(n, blocks int64) (rows, vectors int64) {
	candidates, vectors := []int64{16, 14, 12, 8}, int64(1)
	if blocks%2 == 0 {
		candidates, vectors = []int64{14, 12, 8, 7}, 2
	}
	for _, r := range candidates {
		if n%r == 0 {
			return r, vectors
		}
	}
	return candidates[0], vectors
}

// pairOfVectors is a register block's width along an axis of extent n: two
// vectors of v lanes, or one when two leave a tail and one does not (192
// channels are three blocks of one vector, not one of two and a tail of
// one, which would run as a scalar loop: measured 3x slower for
// SqueezeNet's 192-channel layers).
func pairOfVectors(n, v int64) int64 {
	if n%(2*v) != 0 && n%v == 0 {
		return v
	}
	return 2 * v
}

// bitpackConvStages are the stages of a bitpack-fused layer: the packing,
// the glue, the XNOR correction (when there is one) and the convolution's
// accumulation, in that order; nil when y is not one.
func bitpackConvStages(s *schedule.Schedule, y *schedule.Stage) []*schedule.Stage {
	glue := inputTagged(s, y, TagFusedGlue)
	if glue == nil {
		return nil
	}
	out := []*schedule.Stage{y, glue}
	st := glue
	for {
		// the accumulator or the XNOR correction; the latter may read the
		// zero-padding correction too
		var in *te.Tensor
		for _, x := range st.Inputs() {
			if x.Tag == TagBitserialXnor || x.Tag == TagBitserialConv2DNHWC || x.Tag == TagBitserialConv2DNCHW {
				in = x
				break
			}
		}
		if in == nil {
			return nil
		}
		st = s.Stage(in)
		out = append(out, st)
		if st.Tensor.Tag == TagBitserialConv2DNHWC || st.Tensor.Tag == TagBitserialConv2DNCHW {
			return out
		}
		if st.Tensor.Tag != TagBitserialXnor {
			return nil
		}
	}
}
