// Package bench holds hand-written C reference kernels that tide bench
// times next to Tide's own (tide bench --vs xnor-avx2,xnor-avx512),
// embedded so that a tide binary carries them wherever it runs. The
// driver (driver/xnor_baseline.go) compiles and runs them.
package bench

import _ "embed"

// XnorAVX2 is xnor_avx2.c: a binarized NHWC convolution (XNOR and
// popcount) for AVX2, compiled with -O3 -march=haswell.
//
//go:embed xnor_avx2.c
var XnorAVX2 string

// XnorAVX512 is xnor_avx512.c: the same convolution for AVX-512 with
// VPOPCNTDQ (function target attributes and a runtime CPU check, so it
// builds on any x86-64).
//
//go:embed xnor_avx512.c
var XnorAVX512 string

// XnorCommon is xnor_common.h, which both references include: the border
// tables of zero padding and the weights' repacking.
//
//go:embed xnor_common.h
var XnorCommon string
