#!/bin/sh
# ab_matmul.sh SIZE "DEFINES_A" "DEFINES_B" [tide build flags...]
#
# Times two builds of examples/matmul.te (each with its own -D list, e.g.
# "" and "-D PREFETCH=16"; FA=file.te or FB=file.te builds another file)
# and OpenBLAS's sgemm at SIZE³, in one process, called in turn, so that
# all three see the same state of a noisy machine. Prints the minimum and
# median of each and each build's speed as a fraction of OpenBLAS's (by
# minimums). Needs libopenblas-dev; TIDE is the tide binary (default tide),
# R the rounds (default 5).
#   OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=SkylakeX scripts/ab_matmul.sh 2048 "" "-D PREFETCH=16"
set -e
size=$1 defs_a=$2 defs_b=$3
shift 3
[ $# -gt 0 ] || set -- --target host
tide=${TIDE:-tide}
here=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s/^kernel matmul(/kernel mm_a(/" "${FA:-$here/examples/matmul.te}" > "$dir/a.te"
sed "s/^kernel matmul(/kernel mm_b(/" "${FB:-$here/examples/matmul.te}" > "$dir/b.te"
# shellcheck disable=SC2086 # the -D lists are word lists
"$tide" build "$dir/a.te" -D M="$size" -D N="$size" -D K="$size" $defs_a --fast-math --obj "$dir/a.o" -o "$dir/a.ll" "$@" >/dev/null
# shellcheck disable=SC2086
"$tide" build "$dir/b.te" -D M="$size" -D N="$size" -D K="$size" $defs_b --fast-math --obj "$dir/b.o" -o "$dir/b.ll" "$@" >/dev/null
cat > "$dir/main.c" <<'EOC'
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <cblas.h>
void mm_a(const float *, const float *, float *); void mm_b(const float *, const float *, float *);
static long now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000L + t.tv_nsec; }
static int cmp(const void *a, const void *b) { long x = *(long *)a, y = *(long *)b; return x < y ? -1 : x > y; }
int main(int argc, char **argv) {
	int n = atoi(argv[1]), R = atoi(argv[2]); long nn = (long)n * n;
	float *A = aligned_alloc(64, nn * 4), *B = aligned_alloc(64, nn * 4), *C1 = aligned_alloc(64, nn * 4), *C2 = aligned_alloc(64, nn * 4), *C3 = aligned_alloc(64, nn * 4);
	for (long i = 0; i < nn; i++) { A[i] = (float)((i * 7919) % 2001 - 1000) / 1000.0f; B[i] = (float)((i * 104729) % 2001 - 1000) / 1000.0f; }
	long *t1 = malloc(R * 8), *t2 = malloc(R * 8), *t3 = malloc(R * 8);
	mm_a(A, B, C1); mm_b(A, B, C2); cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, A, n, B, n, 0, C3, n);
	double md = 0;
	for (long i = 0; i < nn; i++) { double d = C1[i] - C3[i], e = C2[i] - C3[i]; if (d < 0) d = -d; if (e < 0) e = -e; if (d > md) md = d; if (e > md) md = e; }
	for (int r = 0; r < R; r++) {
		long a = now(); mm_a(A, B, C1); long b = now(); mm_b(A, B, C2); long c = now();
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, A, n, B, n, 0, C3, n); long d = now();
		t1[r] = b - a; t2[r] = c - b; t3[r] = d - c;
	}
	qsort(t1, R, 8, cmp); qsort(t2, R, 8, cmp); qsort(t3, R, 8, cmp);
	printf("a min %.2f med %.2f ms | b min %.2f med %.2f | openblas min %.2f med %.2f | speed vs openblas: a %.3f b %.3f | max|diff| from openblas %.2g\n",
		t1[0] / 1e6, t1[R / 2] / 1e6, t2[0] / 1e6, t2[R / 2] / 1e6, t3[0] / 1e6, t3[R / 2] / 1e6, (double)t3[0] / t1[0], (double)t3[0] / t2[0], md);
	return 0;
}
EOC
gcc -O2 "$dir/main.c" "$dir/a.o" "$dir/b.o" -fopenmp -lopenblas -lm -o "$dir/ab"
"$dir/ab" "$size" "${R:-5}"
