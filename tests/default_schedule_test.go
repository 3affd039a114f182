package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Small programs with the structure of the examples (the interpreter is slow:
// about a microsecond per operation, so the examples' full sizes are left to
// the examples test below when they are small).
var smallPrograms = map[string]string{
	"matmul_small.te": `
M = 12
N = 10
K = 7
A = placeholder((M, K), float32)
B = placeholder((K, N), float32)
k = reduce_axis(0, K)
C = compute((M, N), (i, j) => sum(A[i, k] * B[k, j], axis=k))
kernel matmul(A, B) -> C
`,
	"conv_small.te": `
C = 3
H = 6
W = 5
K = 4
R = 3
X = placeholder((1, C, H, W), float32)
Wt = placeholder((K, C, R, R), float32)
Apad = compute((1, C, H + 2, W + 2), (n, c, y, x) =>
    if_then_else(y >= 1 && y < H + 1 && x >= 1 && x < W + 1, X[n, c, y - 1, x - 1], 0.0))
rc = reduce_axis(0, C)
ry = reduce_axis(0, R)
rx = reduce_axis(0, R)
Y = compute((1, K, H, W), (n, k, y, x) =>
    sum(Apad[n, rc, y + ry, x + rx] * Wt[k, rc, ry, rx], axis=[rc, ry, rx]))
kernel conv(X, Wt) -> Y
`,
	"intmix.te": `
n = var(default=9)
A = placeholder((n,), int8)
B = placeholder((n,), uint8, range=(0, 7))
k = reduce_axis(0, n)
C = compute((n,), (i) => (A[i] >> 2) ^ cast(int8, B[i] << 1) - abs(A[i]))
D = compute((n,), (i) => min(cast(int32, C[k]) * cast(int32, popcount(B[i])), axis=k))
kernel intmix(A, B) -> (C, D)
`,
}

// Every program, lowered with the default schedule and run by the
// interpreter, equals the reference evaluator exactly (same operation order).
func TestDefaultScheduleMatchesEvaluator(t *testing.T) {
	paths, _ := filepath.Glob("../examples/*.te")
	if len(paths) == 0 {
		t.Fatal("no examples")
	}
	sources := map[string]string{}
	for _, path := range paths {
		if base := filepath.Base(path); base == "matmul.te" || base == "conv2d_nchw.te" {
			continue // millions of points: covered by the small versions
		}
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sources[path] = string(src)
	}
	for name, src := range smallPrograms {
		sources[name] = src
	}
	for path, src := range sources {
		t.Run(filepath.Base(path), func(t *testing.T) {
			var set map[string]int64
			if strings.Contains(src, "n = var(") {
				set = map[string]int64{"n": 37} // not the default: a size the file does not fix
			}
			checkLowering(t, src, set, true)
		})
	}
}
