//go:build ignore

// (The build constraint above keeps the Go tool from taking this file for
// cgo source: bench/bench.go embeds it, and tide writes it beside the
// references it compiles.)

/*
 * xnor_common.h: what the hand-written binarized references in bench/
 * (xnor_avx2.c, xnor_avx512.c) share: the border tables of zero padding
 * (which kernel taps of each output row and column fall inside the image,
 * and the runs of columns whose taps all do) and the weights' repacking
 * into blocks of output channels. Static functions: each reference
 * includes its own copy.
 */
#ifndef XNOR_COMMON_H
#define XNOR_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int *ky0, *ky1;     /* per output row: the valid taps ky0 <= ky < ky1 */
    int *kx0, *kx1;     /* per output column, likewise */
    int *run;           /* per output column: how many columns from it on have every tap valid */
} xnor_border_t;

/* the valid taps [lo, hi) of output o along an axis */
static void xnor_taps(int o, int stride, int pad, int k, int in, int *lo, int *hi) {
    int i0 = o * stride - pad;
    *lo = i0 < 0 ? -i0 : 0;
    *hi = in - i0 < k ? in - i0 : k;
    if (*hi < *lo) *hi = *lo;
}

static void xnor_border_free(xnor_border_t *b) {
    free(b->ky0); free(b->ky1); free(b->kx0); free(b->kx1); free(b->run);
}

/* xnor_border_init fills b for an output of oh x ow from an image of h x w
 * (kernel kh x kw, strides sh, sw, padding pt on top and pl on the left):
 * 0, or -1 when out of memory (xnor_border_free then frees what was
 * allocated). */
static int xnor_border_init(xnor_border_t *b, int oh, int ow, int h, int w, int kh, int kw, int sh, int sw, int pt, int pl) {
    b->ky0 = malloc(sizeof(int) * oh); b->ky1 = malloc(sizeof(int) * oh);
    b->kx0 = malloc(sizeof(int) * ow); b->kx1 = malloc(sizeof(int) * ow); b->run = malloc(sizeof(int) * (ow + 1));
    if (!b->ky0 || !b->ky1 || !b->kx0 || !b->kx1 || !b->run) return -1;
    for (int i = 0; i < oh; i++) xnor_taps(i, sh, pt, kh, h, &b->ky0[i], &b->ky1[i]);
    for (int j = 0; j < ow; j++) xnor_taps(j, sw, pl, kw, w, &b->kx0[j], &b->kx1[j]);
    b->run[ow] = 0;
    for (int j = ow - 1; j >= 0; j--)
        b->run[j] = b->kx0[j] == 0 && b->kx1[j] == kw ? b->run[j + 1] + 1 : 0;
    return 0;
}

/* xnor_pack_weights repacks the weights w [KH, KW, CW, O] (uint8 words)
 * into [nob][KH][KW][cwn][ob] little-endian words of wb bytes (ob output
 * channels per block, cwn = CW / wb rounded up), zeros past CW and O. */
static void xnor_pack_weights(uint8_t *dst, const uint8_t *w, int kh, int kw, int cw, int o, int wb, int ob) {
    int cwn = (cw + wb - 1) / wb, nob = (o + ob - 1) / ob;
    for (int b = 0; b < nob; b++)
        for (int ky = 0; ky < kh; ky++)
            for (int kx = 0; kx < kw; kx++)
                for (int c = 0; c < cwn; c++)
                    for (int j = 0; j < ob; j++) {
                        int oc = b * ob + j;
                        uint8_t *word = dst + ((((size_t)b * kh + ky) * kw + kx) * cwn * ob + (size_t)c * ob + j) * wb;
                        for (int t = 0; t < wb; t++) {
                            int byte = c * wb + t;
                            word[t] = byte < cw && oc < o ? w[((size_t)(ky * kw + kx) * cw + byte) * o + oc] : 0;
                        }
                    }
}

/* xnor_pad_pixels copies n pixels of cw bytes into slots of stride bytes,
 * a whole number of words of wb bytes each, whose last word is zeroed
 * first: activations whose pixels are not whole words, made so (inside
 * the timed call, on OpenMP's threads). */
static void xnor_pad_pixels(uint8_t *dst, const uint8_t *x, size_t n, int cw, int stride, int wb) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        memset(dst + i * stride + stride - wb, 0, wb);
        memcpy(dst + i * stride, x + i * cw, cw);
    }
}

#endif
