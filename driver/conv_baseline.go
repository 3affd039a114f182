package driver

import (
	"fmt"
	"strings"
)

// OneDNN is oneDNN (DNNL 2.x, C API), the library the convolution baselines
// are also measured against. Debian's build runs on OpenMP, so its thread
// count follows OMP_NUM_THREADS.
var OneDNN = Tool{"/usr/include/dnnl.h", "libdnnl-dev"}

// Conv2DShape is a float32 2-D convolution in NHWC layout with an HWIO
// kernel: X [N, H, W, C], Wt [KH, KW, C, O] -> Y [N, OH, OW, O], where
//
//	Y[n, oh, ow, o] = Σ_{kh, kw, c} X[n, oh·StrideH - PadTop + kh, ow·StrideW - PadLeft + kw, c] · Wt[kh, kw, c, o]
//
// with OH = (H + PadTop + PadBottom - KH) / StrideH + 1, likewise OW, and X
// read as 0 outside [0, H) × [0, W) (the padding).
type Conv2DShape struct {
	N, H, W, C, O                        int
	KH, KW                               int
	StrideH, StrideW                     int
	PadTop, PadLeft, PadBottom, PadRight int
}

// OutH is the output height, OH.
func (s Conv2DShape) OutH() int { return (s.H+s.PadTop+s.PadBottom-s.KH)/s.StrideH + 1 }

// OutW is the output width, OW.
func (s Conv2DShape) OutW() int { return (s.W+s.PadLeft+s.PadRight-s.KW)/s.StrideW + 1 }

// XShape, WShape and YShape are the shapes of the input [N, H, W, C], the
// kernel [KH, KW, C, O] and the output [N, OH, OW, O].
func (s Conv2DShape) XShape() []int { return []int{s.N, s.H, s.W, s.C} }
func (s Conv2DShape) WShape() []int { return []int{s.KH, s.KW, s.C, s.O} }
func (s Conv2DShape) YShape() []int { return []int{s.N, s.OutH(), s.OutW(), s.O} }

// Flops is the convolution's floating-point operations, a multiply and an
// add per term: 2·N·OH·OW·O·KH·KW·C.
func (s Conv2DShape) Flops() int64 {
	return 2 * int64(s.N) * int64(s.OutH()) * int64(s.OutW()) * int64(s.O) * int64(s.KH) * int64(s.KW) * int64(s.C)
}

// Valid reports why the shape is not a convolution, or nil.
func (s Conv2DShape) Valid() error {
	type fields Conv2DShape // printed field by field, not by String
	switch f := fields(s); {
	case s.N < 1 || s.H < 1 || s.W < 1 || s.C < 1 || s.O < 1 || s.KH < 1 || s.KW < 1:
		return fmt.Errorf("convolution %+v: sizes must be positive", f)
	case s.StrideH < 1 || s.StrideW < 1:
		return fmt.Errorf("convolution %+v: strides must be positive", f)
	case s.PadTop < 0 || s.PadLeft < 0 || s.PadBottom < 0 || s.PadRight < 0:
		return fmt.Errorf("convolution %+v: padding must not be negative", f)
	case s.H+s.PadTop+s.PadBottom < s.KH || s.W+s.PadLeft+s.PadRight < s.KW:
		return fmt.Errorf("convolution %+v: the kernel is larger than the padded input", f)
	}
	return nil
}

// String describes the convolution, e.g. "56x56x64->64 3x3/1 pad 1" (input
// H×W×C, output channels, kernel, stride, padding; "2x" in front for a batch
// of 2; the padding top,left,bottom,right when the sides differ).
func (s Conv2DShape) String() string {
	var b strings.Builder
	if s.N != 1 {
		fmt.Fprintf(&b, "%dx", s.N)
	}
	fmt.Fprintf(&b, "%dx%dx%d->%d %dx%d/", s.H, s.W, s.C, s.O, s.KH, s.KW)
	if s.StrideH == s.StrideW {
		fmt.Fprint(&b, s.StrideH)
	} else {
		fmt.Fprintf(&b, "%d,%d", s.StrideH, s.StrideW)
	}
	switch p := s.PadTop; {
	case p == s.PadLeft && p == s.PadBottom && p == s.PadRight:
		if p != 0 {
			fmt.Fprintf(&b, " pad %d", p)
		}
	default:
		fmt.Fprintf(&b, " pad %d,%d,%d,%d", s.PadTop, s.PadLeft, s.PadBottom, s.PadRight)
	}
	return b.String()
}

func (s Conv2DShape) mustBeValid() {
	if err := s.Valid(); err != nil {
		panic(err)
	}
}

// Im2colSgemm is the classic OpenBLAS convolution on the inputs X, Wt and
// the output Y of a convolution kernel: im2col copies X into an
// (N·OH·OW)×(KH·KW·C) matrix, zeros for the padding (the buffer is
// allocated once, before the timed calls), then one cblas_sgemm multiplies
// it by the HWIO kernel viewed as a row-major (KH·KW·C)×O matrix, writing Y
// viewed as (N·OH·OW)×O. The im2col is timed, as part of the convolution's
// cost; a 1×1 kernel with stride 1 and no padding needs none (X is already
// that matrix), so it multiplies X directly. OpenBLAS takes its thread count
// from OPENBLAS_NUM_THREADS. It panics on an invalid shape.
func Im2colSgemm(s Conv2DShape) Baseline {
	s.mustBeValid()
	rows, depth := s.N*s.OutH()*s.OutW(), s.KH*s.KW*s.C
	b := Baseline{
		Name:     "openblas im2col+sgemm conv " + s.String(),
		Library:  OpenBLAS,
		Libs:     []string{"openblas"},
		Includes: []string{"cblas.h"},
	}
	gemm := fmt.Sprintf("cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, %d, %d, %d, 1, %%s, %d, in1, %d, 0, out0, %d);", rows, s.O, depth, depth, s.O, s.O)
	if s.KH == 1 && s.KW == 1 && s.StrideH == 1 && s.StrideW == 1 && s.PadTop+s.PadLeft+s.PadBottom+s.PadRight == 0 {
		b.Call = fmt.Sprintf(gemm, "in0")
		return b
	}
	b.Includes = append(b.Includes, "string.h")
	b.Setup = fmt.Sprintf("float *cv_col = malloc(sizeof(float) * %dUL);\n    if (!cv_col) { fprintf(stderr, \"im2col: out of memory\\n\"); return 2; }", rows*depth)
	// Row (n, oh, ow) of the matrix is, for each kh, the KW·C floats of X
	// at row ih = oh·SH - PT + kh from column iw0 = ow·SW - PL on: one run
	// in X (C is innermost), its columns outside [0, W) and its rows
	// outside [0, H) zero.
	b.Call = fmt.Sprintf(`{
        float *cv_p = cv_col;
        for (long n = 0; n < %[1]d; n++)
        for (long oh = 0; oh < %[2]d; oh++)
        for (long ow = 0; ow < %[3]d; ow++)
        for (long kh = 0; kh < %[4]d; kh++, cv_p += %[5]d * %[6]d) {
            long ih = oh * %[7]d - %[8]d + kh, iw0 = ow * %[9]d - %[10]d;
            if (ih < 0 || ih >= %[11]d) { memset(cv_p, 0, sizeof(float) * %[5]d * %[6]d); continue; }
            long lo = iw0 < 0 ? -iw0 : 0, hi = %[12]d - iw0;
            if (lo > %[5]d) lo = %[5]d;
            if (hi > %[5]d) hi = %[5]d;
            if (hi < lo) hi = lo;
            if (lo > 0) memset(cv_p, 0, sizeof(float) * lo * %[6]d);
            if (hi > lo) memcpy(cv_p + lo * %[6]d, in0 + ((n * %[11]d + ih) * %[12]d + iw0 + lo) * %[6]d, sizeof(float) * (hi - lo) * %[6]d);
            if (hi < %[5]d) memset(cv_p + hi * %[6]d, 0, sizeof(float) * (%[5]d - hi) * %[6]d);
        }
        %[13]s
    }`, s.N, s.OutH(), s.OutW(), s.KH, s.KW, s.C, s.StrideH, s.PadTop, s.StrideW, s.PadLeft, s.H, s.W, fmt.Sprintf(gemm, "cv_col"))
	return b
}

// OneDNNConv is oneDNN's fp32 forward-inference direct convolution on the
// CPU engine, on the inputs X, Wt and the output Y of a convolution kernel.
// oneDNN chooses the layouts it computes in (format tag any): the HWIO
// weights are reordered into its layout once, before the timed calls, as
// constant weights are in inference; the NHWC src is reordered into its
// layout and its dst back to NHWC inside each timed call when it chose other
// layouts, as those reorders are part of the cost of using oneDNN on NHWC
// data. The engine, stream and primitives are made before the timed calls;
// a call executes them and waits for the stream. A failing oneDNN call
// prints its name and status and exits with status 2. oneDNN takes its
// thread count from OMP_NUM_THREADS. It panics on an invalid shape.
func OneDNNConv(s Conv2DShape) Baseline {
	s.mustBeValid()
	// reorder makes a reorder primitive from memory `from` to memory `to`
	// and its arguments, named after `name`.
	reorder := func(name, from, to string) string {
		return fmt.Sprintf(`{
        const dnnl_memory_desc_t *from_md, *to_md;
        dnnl_primitive_desc_t pd;
        DNNL_CHECK(dnnl_memory_get_memory_desc, (%[2]s, &from_md));
        DNNL_CHECK(dnnl_memory_get_memory_desc, (%[3]s, &to_md));
        DNNL_CHECK(dnnl_reorder_primitive_desc_create, (&pd, from_md, dn_eng, to_md, dn_eng, NULL));
        DNNL_CHECK(dnnl_primitive_create, (&%[1]s, pd));
        DNNL_CHECK(dnnl_primitive_desc_destroy, (pd));
        %[1]s_args[0] = (dnnl_exec_arg_t){DNNL_ARG_FROM, %[2]s};
        %[1]s_args[1] = (dnnl_exec_arg_t){DNNL_ARG_TO, %[3]s};
    }`, name, from, to)
	}
	// memory makes memory `mem` in the layout the convolution chose for
	// `what`, or uses the user's memory `user` when that is the layout.
	memory := func(mem, what, user, makeReorder string) string {
		return fmt.Sprintf(`dnnl_memory_t %[1]s = %[3]s;
    {
        const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(dn_pd, %[2]s, 0), *user_md;
        DNNL_CHECK(dnnl_memory_get_memory_desc, (%[3]s, &user_md));
        if (!dnnl_memory_desc_equal(md, user_md)) {
            DNNL_CHECK(dnnl_memory_create, (&%[1]s, md, dn_eng, DNNL_MEMORY_ALLOCATE));
            %[4]s
        }
    }`, mem, what, user, makeReorder)
	}
	setup := fmt.Sprintf(`#define DNNL_CHECK(f, args) do { dnnl_status_t dn_st = f args; if (dn_st != dnnl_success) { fprintf(stderr, "%%s: %%s\n", #f, dnnl_status2str(dn_st)); exit(2); } } while (0)
    dnnl_engine_t dn_eng;
    dnnl_stream_t dn_strm;
    DNNL_CHECK(dnnl_engine_create, (&dn_eng, dnnl_cpu, 0));
    DNNL_CHECK(dnnl_stream_create, (&dn_strm, dn_eng, dnnl_stream_default_flags));
    /* oneDNN's dims are logical: src N,C,H,W, weights O,I,KH,KW, dst N,O,OH,OW; the tags give the memory layout */
    dnnl_dims_t dn_src_dims = {%[1]d, %[4]d, %[2]d, %[3]d}, dn_w_dims = {%[5]d, %[4]d, %[6]d, %[7]d}, dn_dst_dims = {%[1]d, %[5]d, %[8]d, %[9]d};
    dnnl_dims_t dn_strides = {%[10]d, %[11]d}, dn_pad_l = {%[12]d, %[13]d}, dn_pad_r = {%[14]d, %[15]d};
    dnnl_memory_desc_t dn_user_src_md, dn_user_w_md, dn_user_dst_md, dn_src_any, dn_w_any, dn_dst_any;
    DNNL_CHECK(dnnl_memory_desc_init_by_tag, (&dn_user_src_md, 4, dn_src_dims, dnnl_f32, dnnl_nhwc));
    DNNL_CHECK(dnnl_memory_desc_init_by_tag, (&dn_user_w_md, 4, dn_w_dims, dnnl_f32, dnnl_hwio));
    DNNL_CHECK(dnnl_memory_desc_init_by_tag, (&dn_user_dst_md, 4, dn_dst_dims, dnnl_f32, dnnl_nhwc));
    DNNL_CHECK(dnnl_memory_desc_init_by_tag, (&dn_src_any, 4, dn_src_dims, dnnl_f32, dnnl_format_tag_any));
    DNNL_CHECK(dnnl_memory_desc_init_by_tag, (&dn_w_any, 4, dn_w_dims, dnnl_f32, dnnl_format_tag_any));
    DNNL_CHECK(dnnl_memory_desc_init_by_tag, (&dn_dst_any, 4, dn_dst_dims, dnnl_f32, dnnl_format_tag_any));
    dnnl_convolution_desc_t dn_cd;
    DNNL_CHECK(dnnl_convolution_forward_desc_init, (&dn_cd, dnnl_forward_inference, dnnl_convolution_direct,
        &dn_src_any, &dn_w_any, NULL, &dn_dst_any, dn_strides, dn_pad_l, dn_pad_r));
    dnnl_primitive_desc_t dn_pd;
    DNNL_CHECK(dnnl_primitive_desc_create, (&dn_pd, &dn_cd, NULL, dn_eng, NULL));
    dnnl_primitive_t dn_conv;
    DNNL_CHECK(dnnl_primitive_create, (&dn_conv, dn_pd));
    dnnl_memory_t dn_user_src, dn_user_w, dn_user_dst;
    DNNL_CHECK(dnnl_memory_create, (&dn_user_src, &dn_user_src_md, dn_eng, in0));
    DNNL_CHECK(dnnl_memory_create, (&dn_user_w, &dn_user_w_md, dn_eng, in1));
    DNNL_CHECK(dnnl_memory_create, (&dn_user_dst, &dn_user_dst_md, dn_eng, out0));
    dnnl_primitive_t dn_w_reorder = NULL, dn_src_reorder = NULL, dn_dst_reorder = NULL;
    dnnl_exec_arg_t dn_w_reorder_args[2], dn_src_reorder_args[2], dn_dst_reorder_args[2];
    /* the weights are constant: reordered once, here */
    %[16]s
    if (dn_w_reorder) {
        DNNL_CHECK(dnnl_primitive_execute, (dn_w_reorder, dn_strm, 2, dn_w_reorder_args));
        DNNL_CHECK(dnnl_stream_wait, (dn_strm));
    }
    /* src and dst are reordered at each (timed) call when oneDNN chose another layout than NHWC: a cost of using oneDNN on NHWC data */
    %[17]s
    %[18]s
    dnnl_exec_arg_t dn_conv_args[3] = {{DNNL_ARG_SRC, dn_src}, {DNNL_ARG_WEIGHTS, dn_w}, {DNNL_ARG_DST, dn_dst}};`,
		s.N, s.H, s.W, s.C, s.O, s.KH, s.KW, s.OutH(), s.OutW(),
		s.StrideH, s.StrideW, s.PadTop, s.PadLeft, s.PadBottom, s.PadRight,
		memory("dn_w", "dnnl_query_weights_md", "dn_user_w", reorder("dn_w_reorder", "dn_user_w", "dn_w")),
		memory("dn_src", "dnnl_query_src_md", "dn_user_src", reorder("dn_src_reorder", "dn_user_src", "dn_src")),
		memory("dn_dst", "dnnl_query_dst_md", "dn_user_dst", reorder("dn_dst_reorder", "dn_dst", "dn_user_dst")))
	return Baseline{
		Name:     "onednn conv " + s.String(),
		Library:  OneDNN,
		Libs:     []string{"dnnl"},
		Includes: []string{"dnnl.h", "dnnl_debug.h"},
		Setup:    setup,
		Call: `{
        if (dn_src_reorder) DNNL_CHECK(dnnl_primitive_execute, (dn_src_reorder, dn_strm, 2, dn_src_reorder_args));
        DNNL_CHECK(dnnl_primitive_execute, (dn_conv, dn_strm, 3, dn_conv_args));
        if (dn_dst_reorder) DNNL_CHECK(dnnl_primitive_execute, (dn_dst_reorder, dn_strm, 2, dn_dst_reorder_args));
        DNNL_CHECK(dnnl_stream_wait, (dn_strm));
    }`,
	}
}
