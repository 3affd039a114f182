//go:build ignore

// (The build constraint above keeps the Go tool from taking this file for
// cgo source: bench/bench.go embeds it, and tide compiles it with gcc.)

/*
 * xnor_avx512.c: a hand-written binarized (XNOR-net) 2-D convolution for
 * AVX-512 with VPOPCNTDQ, the reference `tide bench --vs xnor-avx512` times
 * next to Tide's bitserial_conv2d (NHWC, bipolar activations and weights,
 * 1 bit each, pad_value=zero). Compiled with -O3 -fopenmp for any x86-64:
 * the kernel's functions carry the target attribute, and
 * xnor_avx512_supported() (__builtin_cpu_supports) says whether this CPU
 * may call them.
 *
 * Semantics (as topi/bitserial.go): activations x [N, H, W, CW] and weights
 * w [KH, KW, CW, O] are uint8 words of 8 channels each, bit t of word j
 * being channel 8j + t; a set bit is +1 and a clear bit -1. The output
 *
 *   y[n, oh, ow, o] = sum over the valid taps (ky, kx) of C - 2 popc(x ^ w)
 *
 * is the dot product of the +-1 vectors over the C real channels, the
 * taps that fall into the padding contributing 0 (zero padding).
 *
 * Design: 32-bit lanes, one output channel per lane, so the lanes' counts
 * are already the outputs' counts (no widening, no horizontal sums). A
 * register block is 6 output pixels x 64 output channels: 24 zmm of int32
 * counts, and 4 zmm of weights (the 32-bit words of 64 output channels for
 * one tap and 32 input channels), loaded once per step and reused by all 6
 * pixels. A step is 3 vector instructions per 512 bit-MACs: vpxord with a
 * broadcast 32-bit activation word, vpopcntd, vpaddd (gcc 12 loads the
 * broadcast word with one vpbroadcastd per pixel, shared by its 4 xors: a
 * load-port uop, where an embedded {1to16} operand would fold it into each
 * xor). The inner loop keeps all 24 counters and 4 weights in zmm
 * registers (no spills, checked with objdump at -O3). Padded taps
 * are skipped: a block's pixels share the taps they read (runs of columns
 * whose taps are all valid go 6 at a time, border columns one at a time),
 * and the output is (C x valid taps) - 2 x count, the border pixels'
 * constants computed once in the plan. Weights are repacked once (untimed)
 * into [O/64][KH][KW][CW/4][64] 32-bit words; activations are read in
 * place when a pixel is a whole number of 32-bit words (CW % 4 == 0), else
 * copied into zero-padded words first (inside the timed call). OpenMP
 * splits the output rows.
 */
#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xnor_common.h"

#define XNOR_TARGET __attribute__((target("avx512f,avx512vpopcntdq")))

#define PX 6           /* output pixels per register block */
#define QZ 4           /* zmm of weights per block (16 output channels each) */
#define OB (16 * QZ)   /* output channels per block */

typedef struct {
    int n, h, w, cw, o, kh, kw, sh, sw, pt, pl, oh, ow, c, out_bits;
    int cw32, nob;
    uint32_t *wt;       /* [nob][kh][kw][cw32][OB] */
    uint32_t *xbuf;     /* [n][h][w][cw32] when cw % 4 != 0, else NULL */
    xnor_border_t bd;   /* the border tables (xnor_common.h) */
    int *full;          /* per output row and column: C x its valid taps (the border constants) */
} xnor_avx512_plan_t;

/* xnor_avx512_supported reports whether this CPU (and its OS) runs
 * AVX-512F with VPOPCNTDQ. */
int xnor_avx512_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq");
}

void xnor_avx512_free(void *p) {
    xnor_avx512_plan_t *pl = p;
    if (!pl) return;
    free(pl->wt); free(pl->xbuf); xnor_border_free(&pl->bd); free(pl->full);
    free(pl);
}

/* xnor_avx512_plan repacks the weights w [KH, KW, CW, O] (uint8 words) and
 * computes the border tables: the untimed setup. NULL when out of memory. */
void *xnor_avx512_plan(int n, int h, int w, int cw, int o, int kh, int kw, int sh, int sw,
                       int pt, int pl_, int pb, int pr, int channels, int out_bits, const uint8_t *wts) {
    xnor_avx512_plan_t *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n = n; p->h = h; p->w = w; p->cw = cw; p->o = o; p->kh = kh; p->kw = kw; p->sh = sh; p->sw = sw;
    p->pt = pt; p->pl = pl_; p->c = channels; p->out_bits = out_bits;
    p->oh = (h + pt + pb - kh) / sh + 1;
    p->ow = (w + pl_ + pr - kw) / sw + 1;
    p->cw32 = (cw + 3) / 4;
    p->nob = (o + OB - 1) / OB;
    size_t nw = (size_t)p->nob * kh * kw * p->cw32 * OB;
    p->wt = aligned_alloc(64, (nw * 4 + 63) / 64 * 64);
    if (cw % 4) p->xbuf = aligned_alloc(64, ((size_t)n * h * w * p->cw32 * 4 + 63) / 64 * 64);
    p->full = malloc(sizeof(int) * (size_t)p->oh * p->ow);
    if (!p->wt || (cw % 4 && !p->xbuf) || xnor_border_init(&p->bd, p->oh, p->ow, h, w, kh, kw, sh, sw, pt, pl_) != 0 || !p->full) {
        xnor_avx512_free(p);
        return NULL;
    }
    xnor_pack_weights((uint8_t *)p->wt, wts, kh, kw, cw, o, 4, OB);
    for (int i = 0; i < p->oh; i++)
        for (int j = 0; j < p->ow; j++)
            p->full[(size_t)i * p->ow + j] = channels * (p->bd.ky1[i] - p->bd.ky0[i]) * (p->bd.kx1[j] - p->bd.kx0[j]);
    return p;
}

/* block computes P output pixels (oh, ow0 .. ow0+P-1) x the 64 output
 * channels of block ob, over the taps ky0 <= ky < ky1, kx0 <= kx < kx1
 * (valid for all P pixels). x is image n's words, [H][W][cw32]. */
static inline __attribute__((always_inline)) XNOR_TARGET void block(const xnor_avx512_plan_t *pl, const uint32_t *x, void *y, int n,
                                                                    int oh, int ow0, const int P, int ob, int ky0, int ky1, int kx0, int kx1) {
    const int cw32 = pl->cw32, kw = pl->kw;
    __m512i acc[PX][QZ];
#pragma GCC unroll 6
    for (int p = 0; p < P; p++)
#pragma GCC unroll 4
        for (int q = 0; q < QZ; q++) acc[p][q] = _mm512_setzero_si512();
    const uint32_t *wb = pl->wt + (size_t)ob * pl->kh * kw * cw32 * OB;
    for (int ky = ky0; ky < ky1; ky++) {
        const uint32_t *xrow = x + (size_t)(oh * pl->sh - pl->pt + ky) * pl->w * cw32;
        for (int kx = kx0; kx < kx1; kx++) {
            const uint32_t *wp = wb + (size_t)(ky * kw + kx) * cw32 * OB;
            const uint32_t *xp = xrow + (ptrdiff_t)(ow0 * pl->sw - pl->pl + kx) * cw32;
            for (int c = 0; c < cw32; c++, wp += OB) {
                __m512i wv[QZ];
#pragma GCC unroll 4
                for (int q = 0; q < QZ; q++) wv[q] = _mm512_load_si512((const void *)(wp + 16 * q));
#pragma GCC unroll 6
                for (int p = 0; p < P; p++) {
                    uint32_t word;
                    memcpy(&word, xp + (size_t)p * pl->sw * cw32 + c, 4);
                    __m512i a = _mm512_set1_epi32((int)word);
#pragma GCC unroll 4
                    for (int q = 0; q < QZ; q++)
                        acc[p][q] = _mm512_add_epi32(acc[p][q], _mm512_popcnt_epi32(_mm512_xor_si512(a, wv[q])));
                }
            }
        }
    }
    /* y = C x (valid taps) - 2 x count: int32 lanes, stored as they are or
     * truncated to int16 (vpmovdw, wrapping as Tide's int16 arithmetic) */
#pragma GCC unroll 6
    for (int p = 0; p < P; p++) {
        const __m512i full = _mm512_set1_epi32(pl->full[(size_t)oh * pl->ow + ow0 + p]);
        size_t at = (((size_t)n * pl->oh + oh) * pl->ow + ow0 + p) * pl->o + (size_t)ob * OB;
#pragma GCC unroll 4
        for (int q = 0; q < QZ; q++) {
            int o0 = ob * OB + 16 * q, m = pl->o - o0;
            if (m <= 0) break;
            __mmask16 k = m >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << m) - 1);
            __m512i v = _mm512_sub_epi32(full, _mm512_slli_epi32(acc[p][q], 1));
            if (pl->out_bits == 16) _mm512_mask_cvtepi32_storeu_epi16((int16_t *)y + at + 16 * q, k, v);
            else _mm512_mask_storeu_epi32((int32_t *)y + at + 16 * q, k, v);
        }
    }
}

/* row computes output row oh of image n: runs of columns whose taps are
 * all valid in blocks of up to PX pixels, the border columns one by one
 * with their own taps. */
static __attribute__((noinline)) XNOR_TARGET void row(const xnor_avx512_plan_t *pl, const uint32_t *x, void *y, int n, int oh) {
    int ky0 = pl->bd.ky0[oh], ky1 = pl->bd.ky1[oh];
    for (int ow = 0; ow < pl->ow;) {
        int P = pl->bd.run[ow] < PX ? pl->bd.run[ow] : PX;
        int kx0 = 0, kx1 = pl->kw;
        if (P == 0) P = 1, kx0 = pl->bd.kx0[ow], kx1 = pl->bd.kx1[ow];
        for (int ob = 0; ob < pl->nob; ob++) {
            switch (P) {
            case 6: block(pl, x, y, n, oh, ow, 6, ob, ky0, ky1, kx0, kx1); break;
            case 5: block(pl, x, y, n, oh, ow, 5, ob, ky0, ky1, kx0, kx1); break;
            case 4: block(pl, x, y, n, oh, ow, 4, ob, ky0, ky1, kx0, kx1); break;
            case 3: block(pl, x, y, n, oh, ow, 3, ob, ky0, ky1, kx0, kx1); break;
            case 2: block(pl, x, y, n, oh, ow, 2, ob, ky0, ky1, kx0, kx1); break;
            default: block(pl, x, y, n, oh, ow, 1, ob, ky0, ky1, kx0, kx1); break;
            }
        }
        ow += P;
    }
}

/* xnor_avx512_run computes the whole output y [N, OH, OW, O] (int16 or
 * int32) from the packed activations x [N, H, W, CW]: the timed call. Call
 * it only when xnor_avx512_supported(). */
void xnor_avx512_run(const void *plan, const uint8_t *x, void *y) {
    const xnor_avx512_plan_t *pl = plan;
    const uint32_t *xw = (const uint32_t *)x;
    if (pl->xbuf) { /* pixels of CW % 4 != 0 bytes: copied into whole, zero-padded 32-bit words */
        xnor_pad_pixels((uint8_t *)pl->xbuf, x, (size_t)pl->n * pl->h * pl->w, pl->cw, pl->cw32 * 4, 4);
        xw = pl->xbuf;
    }
    int rows = pl->n * pl->oh;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++) {
        int n = r / pl->oh;
        row(pl, xw + (size_t)n * pl->h * pl->w * pl->cw32, y, n, r % pl->oh);
    }
}
