package dsl

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/tensorio"
	"github.com/tide-compiler/tide/topi"
)

// FuzzParse feeds arbitrary text to the parser and elaborator, and evaluates
// small programs that elaborate: nothing may panic, and errors must carry a
// position inside the file.
func FuzzParse(f *testing.F) {
	examples, _ := filepath.Glob("../examples/*.te")
	for _, path := range examples {
		if src, err := os.ReadFile(path); err == nil {
			f.Add(string(src))
		}
	}
	for _, s := range []string{
		"A = placeholder((4,), int8)\nB = compute((4,), (i) => A[i] >> 9)\nkernel k(A) -> B\n",
		"n = var()\nA = placeholder((n, 2), uint8, range=(0, 3))\nk = reduce_axis((0, 2))\nB = compute((n,), (i) => sum(cast(int32, A[i, k]), axis=k))\nkernel f(A) -> B\nschedule B {\n  x, y = split(i, factor=4)\n}\n",
		"A = placeholder((3,), float32)\nB = compute((3,), (i) => if_then_else(i > 0, A[i - 1], 0.0))\nkernel f(A) -> B",
		"X = (1 + 2\nY = )\nZ = 0x\n",
		// knobs and the target's constant functions
		"L = knob(max(8, natural_vector_size(float32)), 4, 16)\nW = knob(8 + 24 * target_has_feature(avx512vpopcntdq), 32)\nU = knob(1, 1, -3)\nA = placeholder((L, 64), uint8)\nP = bitpack(A, bits=1, pack_axis=1, bit_axis=1, word=W)\nkernel f(A) -> P\n",
		"T = knob()\nV = knob(natural_vector_size(), x)\nF = target_has_feature(1, 2)\n",
		"A = placeholder((2,), int32)\nB = compute((2,), (i) => A[i] / 0 + A[i] % -1 + popcount(~A[i]))\nkernel f(A) -> B",
		"X = placeholder((1, 5, 4, 1, 1), uint16)\nW = placeholder((3, 1, 2, 1, 3), uint16)\nY = bitserial_conv2d(X, W, layout=NHWC, stride=(2, 1), padding=(1, 0, 1, 0), polarity=unipolar, channels=9, out=int16)\nkernel f(X, W) -> Y\n",
		"X = placeholder((2, 3, 5, 5), float32)\nW = placeholder((4, 3, 3, 3), float32)\nY = conv2d(X, W, layout=NCHW, padding=1)\nP = max_pool2d(Y, pool=(2, 2), layout=NCHW)\nkernel f(X, W) -> P\n",
		// defs: calls, nested calls, keyword arguments, several results, misuse
		"X = placeholder((1, 4, 4, 1, 1), uint8)\nR = placeholder((1, 4, 4, 8), int16)\ndef block(x, r, c, stride) {\n    W1 = placeholder((3, 3, 1, (c + 7) / 8, c), uint8)\n    a = bitserial_conv2d(x, W1, layout=NHWC, stride=stride, padding=1, polarity=bipolar, channels=c, out=int16)\n    s = add(a, r)\n    return a, s\n}\nb1, s1 = block(X, R, 8, 1)\nkernel f(X, R, b1_W1) -> s1\nschedule b1_a_acc {\n    vectorize(oc)\n}\n",
		"N = 4\nX = placeholder((N,), int32)\ndef inner(v, k) {\n    W = placeholder((k,), int32)\n    m = k * N\n    y = compute((k,), (i) => v[i] * W[i] + m)\n    return y\n}\ndef outer(v, k) {\n    t = inner(v, k)\n    u = inner(t, k=k)\n    return u, m\n}\nb, c = outer(X, N)\nkernel f(X, b_t_W, b_u_W) -> b\n",
		// issue 13: TVM habits, float functions, reductions with a condition
		"N = 6\nA = placeholder((N, N), float32)\nk = reduce_axis(0, N)\nB = compute((N // 2,), (i) => sum(tanh(A[i, k]) + pow(sigmoid(A[i, k]), 2.0), axis=k, where=k <= i))\nC = compute((N,), (i) => log(A[i, i // 2]) + erf(A[i, 0]) + exp2(A[0, i]))\nkernel f(A) -> B, C\n",
		"A = placeholder((4,), \"float32\")\nB = compute((4,), lambda i: A[i])\nkernel f(A) -> B\nschedule B {\n    AL = cache_read(A, shared)\n}\n",
		// 0-d tensors: shapes () and [], () => body, reads A[] and A[()]
		"A = placeholder([3, 4], float32)\nalpha = placeholder((), float32)\ni = reduce_axis(0, 3)\nj = reduce_axis(0, 4)\nS = compute((), () => sum(A[i, j], axis=[i, j]))\nT = compute([], () => S[] * alpha[()])\nkernel f(A, alpha) -> T\nschedule S {\n    jo, ji = split(j, factor=2)\n}\n",
		"Z = placeholder((), float32)\nY = relu(Z)\nS = add(Y, Z)\nkernel f(Z) -> S\n", // the library's schedules of 0-d operators
		"X = placeholder((3,), float32)\ndef g(x) {\n    y = g(x)\n    return y\n}\ndef h(x, q) {\n    return x\n    z = compute((3,), (i) => x[i] + X[i])\n}\na = g(X)\nb, c = h(X, 1.5)\nd = h(X)\nkernel f(X) -> a\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		// with the operator library's schedules for a target too
		if _, err := ParseWith("fuzz.te", []byte(src), Options{Target: &topi.Target{Name: "x86-64", VectorBits: 256}}); err != nil {
			if list, ok := err.(ErrorList); !ok || len(list) == 0 || list[0].Pos.Line < 1 {
				t.Fatalf("with a target: error %T without a position: %v", err, err)
			}
		}
		p, err := Parse("fuzz.te", []byte(src))
		if err != nil {
			list, ok := err.(ErrorList)
			if !ok || len(list) == 0 {
				t.Fatalf("error is %T, want a non-empty ErrorList: %v", err, err)
			}
			for _, e := range list {
				if e.Pos.Line < 1 || e.Pos.Column < 1 {
					t.Fatalf("error without a position: %v", e)
				}
			}
			_ = err.Error()
			return
		}
		sizes := map[*te.Var]int64{}
		for _, s := range p.Sizes {
			sizes[s.Var] = 3
		}
		if work(p, sizes) > 1e5 {
			return // keep each fuzz case fast
		}
		in, _, err := tensorio.Inputs(p.Kernel, sizes, "", 1)
		if err != nil {
			return
		}
		te.EvalKernel(p.Kernel, in, sizes) // evaluation errors are fine; panics are not
	})
}

// work estimates the evaluation cost of a program: the sum over computes of
// their points times their reduction extents.
func work(p *Program, sizes map[*te.Var]int64) float64 {
	total := 0.0
	for _, t := range p.Tensors {
		shape, err := te.ShapeOf(t, sizes)
		if err != nil {
			return 1e18
		}
		n := 1.0
		for _, s := range shape {
			n *= float64(s)
		}
		for _, iv := range t.ReduceAxis {
			ext, err := te.ShapeOf(&te.Tensor{Shape: []te.Expr{iv.Extent}}, sizes)
			if err != nil {
				return 1e18
			}
			n *= float64(ext[0])
		}
		total += n
	}
	return total
}
