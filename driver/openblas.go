package driver

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"tide/llvmgen"
)

// OpenBLAS is the library the float baselines are measured against.
var OpenBLAS = Tool{"/usr/include/x86_64-linux-gnu/cblas.h", "libopenblas-dev"}

// BenchSgemm times cblas_sgemm (row-major C = A·B with A M×K and B K×N) on
// this machine, like BenchKernel: a warm-up call, then repeat timed calls.
// OpenBLAS takes its thread count from OPENBLAS_NUM_THREADS.
func BenchSgemm(t llvmgen.Target, m, n, k int, dir string, repeat int) ([]time.Duration, error) {
	if !Native(t) {
		return nil, fmt.Errorf("OpenBLAS is timed natively only")
	}
	if _, err := os.Stat(OpenBLAS.Command); err != nil {
		return nil, &MissingError{OpenBLAS}
	}
	src := fmt.Sprintf(`#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
int main(void) {
    int M = %d, N = %d, K = %d;
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N), *C = malloc(sizeof(float) * M * N);
    for (long i = 0; i < (long)M * K; i++) A[i] = (float)(i %% 7) / 7 - 0.5f;
    for (long i = 0; i < (long)K * N; i++) B[i] = (float)(i %% 5) / 5 - 0.5f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, A, K, B, N, 0, C, N);
    for (int r = 0; r < %d; r++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, A, K, B, N, 0, C, N);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        printf("%%ld\n", (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec));
    }
    return C[0] == 12345.0f;
}
`, m, n, k, max(1, repeat))
	c, obj, exe := filepath.Join(dir, "sgemm.c"), filepath.Join(dir, "sgemm.o"), filepath.Join(dir, "sgemm")
	if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
		return nil, err
	}
	if err := CompileC(t, c, obj); err != nil {
		return nil, err
	}
	if err := Link(t, exe, []string{obj}, "openblas"); err != nil {
		return nil, err
	}
	out, err := Run(t, exe)
	if err != nil {
		return nil, err
	}
	var times []time.Duration
	for _, f := range strings.Fields(out) {
		ns, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("sgemm harness printed %q", f)
		}
		times = append(times, time.Duration(ns))
	}
	return times, nil
}
