#!/bin/sh
# ab_network.sh OLD_TIDE NEW_TIDE NET.te [tide build flags...]
#
# Times two builds of one network (a float input X, a float output) in one
# process, calling them in turn, so that both see the same state of a noisy
# machine: the builds of two tide binaries (e.g. before and after a change),
# with --fast-math and the given flags (--target host by default). Prints
# the minimum and median of each, their ratio, and the largest difference
# between the two builds' outputs. N calls per build (default 50).
#   go build -o /tmp/tide_old ./cmd/tide   (at the old commit)
#   go build -o /tmp/tide ./cmd/tide
#   OMP_NUM_THREADS=1 scripts/ab_network.sh /tmp/tide_old /tmp/tide conv.te --target host
set -e
old=$1 new=$2 file=$3
shift 3
[ $# -gt 0 ] || set -- --target host
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
name=$(grep -o "^network [a-z_0-9]*" "$file" | cut -d' ' -f2)
sed "s/^network $name(/network a_old(/" "$file" > "$dir/a_old.te"
sed "s/^network $name(/network a_new(/" "$file" > "$dir/a_new.te"
"$old" build "$dir/a_old.te" --fast-math --obj "$dir/a_old.o" -o "$dir/a_old.ll" --header "$dir/a_old.h" "$@" >/dev/null
"$new" build "$dir/a_new.te" --fast-math --obj "$dir/a_new.o" -o "$dir/a_new.ll" "$@" >/dev/null
# the elements of the input and the output, from the header's comment
elems() { grep " \* $1 " "$dir/a_old.h" | head -1 | sed 's/.*(\(.*\)).*/\1/' | tr ',' '\n' | awk '{n = n ? n * $1 : $1} END {print n}'; }
cat > "$dir/main.c" <<'EOC'
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <time.h>
int64_t a_old_workspace_size(void); void a_old(const float *X, float *Y, void *w);
int64_t a_new_workspace_size(void); void a_new(const float *X, float *Y, void *w);
static long now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000L + t.tv_nsec; }
static int cmp(const void *a, const void *b) { long x = *(long *)a, y = *(long *)b; return x < y ? -1 : x > y; }
static void *alloc(long bytes) { return aligned_alloc(64, (bytes + 64) / 64 * 64); }
int main(int argc, char **argv) {
	int n = atoi(argv[1]); long in = atol(argv[2]), out = atol(argv[3]);
	float *X = alloc(in * 4), *Y1 = alloc(out * 4), *Y2 = alloc(out * 4);
	for (long i = 0; i < in; i++) X[i] = (float)((i * 7919) % 2001 - 1000) / 1000.0f;
	void *w1 = alloc(a_old_workspace_size()), *w2 = alloc(a_new_workspace_size());
	long *t1 = malloc(n * 8), *t2 = malloc(n * 8);
	a_old(X, Y1, w1); a_new(X, Y2, w2);
	double md = 0;
	for (long i = 0; i < out; i++) { double d = Y1[i] - Y2[i]; if (d < 0) d = -d; if (d > md) md = d; }
	for (int r = 0; r < n; r++) { long a = now(); a_old(X, Y1, w1); long b = now(); a_new(X, Y2, w2); long c = now(); t1[r] = b - a; t2[r] = c - b; }
	qsort(t1, n, 8, cmp); qsort(t2, n, 8, cmp);
	printf("old min %.1f med %.1f us | new min %.1f med %.1f us | old/new min %.3f med %.3f | max|diff| %.2g\n",
		t1[0] / 1e3, t1[n / 2] / 1e3, t2[0] / 1e3, t2[n / 2] / 1e3, (double)t1[0] / t2[0], (double)t1[n / 2] / t2[n / 2], md);
	return 0;
}
EOC
gcc -O2 "$dir/main.c" "$dir/a_old.o" "$dir/a_new.o" -fopenmp -lm -o "$dir/ab"
"$dir/ab" "${N:-50}" "$(elems input)" "$(elems output)"
