//go:build ignore

// (The build constraint above keeps the Go tool from taking this file for
// cgo source: bench/bench.go embeds it, and tide compiles it with gcc.)

/*
 * xnor_avx2.c: a hand-written binarized (XNOR-net) 2-D convolution for
 * AVX2, the reference `tide bench --vs xnor-avx2` times next to Tide's
 * bitserial_conv2d (NHWC, bipolar activations and weights, 1 bit each,
 * pad_value=zero). Compiled with -O3 -march=haswell -fopenmp.
 *
 * Semantics (as topi/bitserial.go): activations x [N, H, W, CW] and weights
 * w [KH, KW, CW, O] are uint8 words of 8 channels each, bit t of word j
 * being channel 8j + t; a set bit is +1 and a clear bit -1. The output
 *
 *   y[n, oh, ow, o] = sum over the valid taps (ky, kx) of C - 2 popc(x ^ w)
 *
 * is the dot product of the +-1 vectors over the C real channels, the
 * taps that fall into the padding contributing 0 (zero padding): they are
 * skipped, and C times the number of valid taps is the constant the counts
 * are subtracted from. Channel padding bits (past C in the last word) are
 * counted as Tide counts them (zero in Tide's inputs, so they agree).
 *
 * Design: 64-bit words, one output channel per 64-bit lane, so a ymm holds
 * 4 output channels. A step broadcasts one 64-bit activation word (64
 * input channels of one pixel), xors it with the weight words of 8 output
 * channels (2 ymm) and counts the bits of each byte with the vpshufb
 * nibble table (and, shift, and, 2 vpshufb, 2 adds), accumulating byte
 * counts. A register block is 4 output pixels x 8 output channels: 8 ymm
 * of byte counters, flushed with vpsadbw into 64-bit counts (the counts of
 * each lane's output channel) every 31 steps, before a byte can overflow
 * (a step adds at most 8). Weights are repacked once (untimed) into
 * [O/8][KH][KW][CW/8][8] 64-bit words; activations are read in place when
 * a pixel is a whole number of 64-bit words (CW % 8 == 0), else copied
 * into zero-padded words first (inside the timed call). OpenMP splits the
 * output rows.
 */
#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xnor_common.h"

#define PX 4           /* output pixels per register block */
#define QV 2           /* ymm of weights per block (4 output channels each) */
#define OB (4 * QV)    /* output channels per block */

typedef struct {
    int n, h, w, cw, o, kh, kw, sh, sw, pt, pl, oh, ow, c, out_bits;
    int cw64, nob;
    uint64_t *wt;       /* [nob][kh][kw][cw64][OB] */
    uint64_t *xbuf;     /* [n][h][w][cw64] when cw % 8 != 0, else NULL */
    xnor_border_t bd;   /* the border tables (xnor_common.h) */
} xnor_avx2_plan_t;

void xnor_avx2_free(void *p) {
    xnor_avx2_plan_t *pl = p;
    if (!pl) return;
    free(pl->wt); free(pl->xbuf); xnor_border_free(&pl->bd);
    free(pl);
}

/* xnor_avx2_plan repacks the weights w [KH, KW, CW, O] (uint8 words) and
 * computes the border tables: the untimed setup. NULL when out of memory. */
void *xnor_avx2_plan(int n, int h, int w, int cw, int o, int kh, int kw, int sh, int sw,
                     int pt, int pl_, int pb, int pr, int channels, int out_bits, const uint8_t *wts) {
    xnor_avx2_plan_t *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n = n; p->h = h; p->w = w; p->cw = cw; p->o = o; p->kh = kh; p->kw = kw; p->sh = sh; p->sw = sw;
    p->pt = pt; p->pl = pl_; p->c = channels; p->out_bits = out_bits;
    p->oh = (h + pt + pb - kh) / sh + 1;
    p->ow = (w + pl_ + pr - kw) / sw + 1;
    p->cw64 = (cw + 7) / 8;
    p->nob = (o + OB - 1) / OB;
    size_t nw = (size_t)p->nob * kh * kw * p->cw64 * OB;
    p->wt = aligned_alloc(64, (nw * 8 + 63) / 64 * 64);
    if (cw % 8) p->xbuf = aligned_alloc(64, ((size_t)n * h * w * p->cw64 * 8 + 63) / 64 * 64);
    if (!p->wt || (cw % 8 && !p->xbuf) || xnor_border_init(&p->bd, p->oh, p->ow, h, w, kh, kw, sh, sw, pt, pl_) != 0) {
        xnor_avx2_free(p);
        return NULL;
    }
    xnor_pack_weights((uint8_t *)p->wt, wts, kh, kw, cw, o, 8, OB);
    return p;
}

static inline uint64_t load64(const uint64_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* store8 writes 8 outputs (o0 .. o0+7, fewer at the end of the channels)
 * from 8 int32 lanes: truncated to int16 (wrapping, as Tide's int16
 * arithmetic) or as they are. */
static inline __attribute__((always_inline)) void store8(const xnor_avx2_plan_t *pl, void *y, size_t at, int o0, __m256i v) {
    int m = pl->o - o0 < 8 ? pl->o - o0 : 8;
    if (pl->out_bits == 16) {
        const __m256i pick = _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1,
                                              0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1);
        __m128i h = _mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_shuffle_epi8(v, pick), 0x08));
        int16_t *dst = (int16_t *)y + at;
        if (m == 8) _mm_storeu_si128((__m128i *)dst, h);
        else { int16_t t[8]; _mm_storeu_si128((__m128i *)t, h); memcpy(dst, t, sizeof(int16_t) * m); }
    } else {
        int32_t *dst = (int32_t *)y + at;
        if (m == 8) _mm256_storeu_si256((__m256i *)dst, v);
        else { int32_t t[8]; _mm256_storeu_si256((__m256i *)t, v); memcpy(dst, t, sizeof(int32_t) * m); }
    }
}

/* steps adds the bit counts of words c0 <= c < c1 of P pixels (xp, the
 * first pixel's words at this tap; the next ones sw pixels apart) xor the
 * weights wp ([c][OB]) into the byte counters acc. */
static inline __attribute__((always_inline)) void steps(__m256i acc[PX][QV], const uint64_t *wp, const uint64_t *xp, size_t pstride,
                                                        int c0, int c1, const int P) {
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                         0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i low = _mm256_set1_epi8(0x0f);
    for (int c = c0; c < c1; c++) {
        __m256i wv[QV];
#pragma GCC unroll 2
        for (int q = 0; q < QV; q++) wv[q] = _mm256_load_si256((const __m256i *)(wp + (size_t)c * OB + 4 * q));
#pragma GCC unroll 4
        for (int p = 0; p < P; p++) {
            __m256i a = _mm256_set1_epi64x((long long)load64(xp + p * pstride + c));
#pragma GCC unroll 2
            for (int q = 0; q < QV; q++) {
                __m256i v = _mm256_xor_si256(a, wv[q]);
                __m256i lo = _mm256_and_si256(v, low), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
                acc[p][q] = _mm256_add_epi8(acc[p][q], _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi)));
            }
        }
    }
}

/* flush adds the byte counters' sums per 64-bit lane (vpsadbw) to the
 * counts tot, [P][OB] in memory, and clears them. */
static inline __attribute__((always_inline)) void flush(__m256i acc[PX][QV], uint64_t *tot, const int P) {
#pragma GCC unroll 4
    for (int p = 0; p < P; p++)
#pragma GCC unroll 2
        for (int q = 0; q < QV; q++) {
            __m256i *t = (__m256i *)(tot + p * OB + 4 * q);
            _mm256_store_si256(t, _mm256_add_epi64(_mm256_load_si256(t), _mm256_sad_epu8(acc[p][q], _mm256_setzero_si256())));
            acc[p][q] = _mm256_setzero_si256();
        }
}

/* block computes P output pixels (oh, ow0 .. ow0+P-1) x the 8 output
 * channels of block ob, over the taps ky0 <= ky < ky1, kx0 <= kx < kx1
 * (valid for all P pixels). x is image n's words, [H][W][cw64]. The byte
 * counters take up to 31 steps (words) between flushes: a group of 31 /
 * cw64 taps (with C = 64, all 9 taps of a 3x3 kernel: one flush), or, for
 * more than 31 words per pixel, runs of 31 words of one tap. */
static inline __attribute__((always_inline)) void block(const xnor_avx2_plan_t *pl, const uint64_t *x, void *y, int n, int oh,
                                                        int ow0, const int P, int ob, int ky0, int ky1, int kx0, int kx1) {
    const int cw64 = pl->cw64, kw = pl->kw, nkx = kx1 - kx0, ntaps = (ky1 - ky0) * nkx;
    const int group = cw64 <= 31 ? 31 / cw64 : 1; /* taps per flush */
    const size_t pstride = (size_t)pl->sw * cw64;
    __m256i acc[PX][QV];
    _Alignas(32) uint64_t tot[PX * OB];
    memset(tot, 0, sizeof tot);
#pragma GCC unroll 4
    for (int p = 0; p < P; p++)
#pragma GCC unroll 2
        for (int q = 0; q < QV; q++) acc[p][q] = _mm256_setzero_si256();
    const uint64_t *wb = pl->wt + (size_t)ob * pl->kh * kw * cw64 * OB;
    for (int t0 = 0; t0 < ntaps; t0 += group) {
        int t1 = t0 + group < ntaps ? t0 + group : ntaps;
        for (int t = t0; t < t1; t++) {
            int ky = ky0 + t / nkx, kx = kx0 + t % nkx;
            const uint64_t *wp = wb + (size_t)(ky * kw + kx) * cw64 * OB;
            const uint64_t *xp = x + ((size_t)(oh * pl->sh - pl->pt + ky) * pl->w + (size_t)(ow0 * pl->sw - pl->pl + kx)) * cw64;
            if (cw64 <= 31) {
                steps(acc, wp, xp, pstride, 0, cw64, P);
            } else {
                for (int c0 = 0; c0 < cw64; c0 += 31) {
                    steps(acc, wp, xp, pstride, c0, c0 + 31 < cw64 ? c0 + 31 : cw64, P);
                    flush(acc, tot, P);
                }
            }
        }
        flush(acc, tot, P);
    }
    /* y = C * (valid taps) - 2 * count, 8 int32 lanes per pixel */
    const __m256i full = _mm256_set1_epi32(pl->c * ntaps);
    const __m256i order = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
#pragma GCC unroll 4
    for (int p = 0; p < P; p++) {
        __m256i t0 = _mm256_load_si256((const __m256i *)(tot + p * OB)), t1 = _mm256_load_si256((const __m256i *)(tot + p * OB + 4));
        /* the low dwords of t0 (channels 0-3) and t1 (4-7), interleaved, then in order */
        __m256i c32 = _mm256_permutevar8x32_epi32(_mm256_blend_epi32(t0, _mm256_slli_epi64(t1, 32), 0xAA), order);
        __m256i v = _mm256_sub_epi32(full, _mm256_slli_epi32(c32, 1));
        store8(pl, y, (((size_t)n * pl->oh + oh) * pl->ow + ow0 + p) * pl->o + (size_t)ob * OB, ob * OB, v);
    }
}

/* row computes output row oh of image n: runs of columns whose taps are
 * all valid in blocks of up to PX pixels, the border columns one by one
 * with their own taps. */
static void row(const xnor_avx2_plan_t *pl, const uint64_t *x, void *y, int n, int oh) {
    int ky0 = pl->bd.ky0[oh], ky1 = pl->bd.ky1[oh];
    for (int ow = 0; ow < pl->ow;) {
        int P = pl->bd.run[ow] < PX ? pl->bd.run[ow] : PX;
        int kx0 = 0, kx1 = pl->kw;
        if (P == 0) P = 1, kx0 = pl->bd.kx0[ow], kx1 = pl->bd.kx1[ow];
        for (int ob = 0; ob < pl->nob; ob++) {
            switch (P) {
            case 4: block(pl, x, y, n, oh, ow, 4, ob, ky0, ky1, kx0, kx1); break;
            case 3: block(pl, x, y, n, oh, ow, 3, ob, ky0, ky1, kx0, kx1); break;
            case 2: block(pl, x, y, n, oh, ow, 2, ob, ky0, ky1, kx0, kx1); break;
            default: block(pl, x, y, n, oh, ow, 1, ob, ky0, ky1, kx0, kx1); break;
            }
        }
        ow += P;
    }
}

/* xnor_avx2_run computes the whole output y [N, OH, OW, O] (int16 or int32)
 * from the packed activations x [N, H, W, CW]: the timed call. */
void xnor_avx2_run(const void *plan, const uint8_t *x, void *y) {
    const xnor_avx2_plan_t *pl = plan;
    const uint64_t *xw = (const uint64_t *)x;
    if (pl->xbuf) { /* pixels of CW % 8 != 0 bytes: copied into whole, zero-padded 64-bit words */
        xnor_pad_pixels((uint8_t *)pl->xbuf, x, (size_t)pl->n * pl->h * pl->w, pl->cw, pl->cw64 * 8, 8);
        xw = pl->xbuf;
    }
    int rows = pl->n * pl->oh;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++) {
        int n = r / pl->oh;
        row(pl, xw + (size_t)n * pl->h * pl->w * pl->cw64, y, n, r % pl->oh);
    }
}
