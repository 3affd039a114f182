// Package tests holds end-to-end tests across packages: every example program
// is evaluated and compared with an independent, plain-Go computation of the
// same maths.
package tests

import (
	"math"
	"math/bits"
	"os"
	"testing"

	"github.com/tide-compiler/tide/dsl"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/tensorio"
)

// evalExample parses an example and evaluates it on seeded random inputs.
func evalExample(t *testing.T, name string, set map[string]int64) (in, out []*te.Buffer, p *dsl.Program) {
	t.Helper()
	path := "../examples/" + name
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err = dsl.Parse(path, src)
	if err != nil {
		t.Fatal(err)
	}
	sizes, err := p.SizeValues(set)
	if err != nil {
		t.Fatal(err)
	}
	in, _, err = tensorio.Inputs(p.Kernel, sizes, "", 7)
	if err != nil {
		t.Fatal(err)
	}
	out, err = te.EvalKernel(p.Kernel, in, sizes)
	if err != nil {
		t.Fatal(err)
	}
	return in, out, p
}

// closeTo compares a float32 result with a float64 reference: the evaluator
// sums in float32, so allow a relative error growing with the sum's length.
func closeTo(got, want float64, terms int) bool {
	tol := 1e-6 * float64(terms) * (1 + math.Abs(want))
	return math.Abs(got-want) <= tol
}

func TestMatmulExample(t *testing.T) {
	in, out, _ := evalExample(t, "matmul.te", nil)
	A, B, C := in[0], in[1], out[0]
	M, K, N := A.Shape[0], A.Shape[1], B.Shape[1]
	if C.Shape[0] != M || C.Shape[1] != N {
		t.Fatalf("C shape %v", C.Shape)
	}
	for i := 0; i < M; i++ {
		for j := 0; j < N; j++ {
			s := 0.0
			for k := 0; k < K; k++ {
				s += A.Floats[i*K+k] * B.Floats[k*N+j]
			}
			if got := C.Floats[i*N+j]; !closeTo(got, s, K) {
				t.Fatalf("C[%d,%d] = %v, want %v", i, j, got, s)
			}
		}
	}
}

func TestConv2dExample(t *testing.T) {
	in, out, _ := evalExample(t, "conv2d_nchw.te", nil)
	X, W, Y := in[0], in[1], out[0]
	N, C, H, Wd := X.Shape[0], X.Shape[1], X.Shape[2], X.Shape[3]
	K, R := W.Shape[0], W.Shape[2]
	const pad, stride = 1, 1
	OH, OW := (H+2*pad-R)/stride+1, (Wd+2*pad-R)/stride+1
	if want := []int{N, K, OH, OW}; Y.Shape[0] != N || Y.Shape[1] != K || Y.Shape[2] != OH || Y.Shape[3] != OW {
		t.Fatalf("Y shape %v, want %v", Y.Shape, want)
	}
	for n := 0; n < N; n++ {
		for k := 0; k < K; k++ {
			for oy := 0; oy < OH; oy++ {
				for ox := 0; ox < OW; ox++ {
					s := 0.0
					for c := 0; c < C; c++ {
						for ry := 0; ry < R; ry++ {
							for rx := 0; rx < R; rx++ {
								y, x := oy*stride+ry-pad, ox*stride+rx-pad
								if y < 0 || y >= H || x < 0 || x >= Wd {
									continue // zero padding
								}
								s += X.Floats[((n*C+c)*H+y)*Wd+x] * W.Floats[((k*C+c)*R+ry)*R+rx]
							}
						}
					}
					got := Y.Floats[((n*K+k)*OH+oy)*OW+ox]
					if !closeTo(got, s, C*R*R) {
						t.Fatalf("Y[%d,%d,%d,%d] = %v, want %v", n, k, oy, ox, got, s)
					}
				}
			}
		}
	}
}

func TestElementwiseExample(t *testing.T) {
	for _, n := range []int64{1, 7, 1000} {
		in, out, _ := evalExample(t, "elementwise.te", map[string]int64{"n": n})
		A, B, C := in[0], in[1], out[0]
		if len(C.Floats) != int(n) {
			t.Fatalf("n=%d: %d outputs", n, len(C.Floats))
		}
		for i := range C.Floats {
			// float32 arithmetic, rounded after each operation
			a, b := float32(A.Floats[i]), float32(B.Floats[i])
			prod := a * b
			v := prod + a
			want := float64(max(v, 0))
			if C.Floats[i] != want {
				t.Fatalf("n=%d: C[%d] = %v, want %v", n, i, C.Floats[i], want)
			}
		}
	}
}

func TestRowmaxExample(t *testing.T) {
	in, out, _ := evalExample(t, "rowmax.te", nil)
	A, R := in[0], out[0]
	M, N := A.Shape[0], A.Shape[1]
	for i := 0; i < M; i++ {
		want := math.Inf(-1)
		for j := 0; j < N; j++ {
			want = math.Max(want, A.Floats[i*N+j])
		}
		if R.Floats[i] != want {
			t.Fatalf("R[%d] = %v, want %v", i, R.Floats[i], want)
		}
	}
}

// normalize.te: a 0-d reduction (the sum of squares of every element) and
// a 0-d input (the target norm), against float64 sums.
func TestNormalizeExample(t *testing.T) {
	in, out, _ := evalExample(t, "normalize.te", nil)
	A, gain, B, SS := in[0], in[1], out[0], out[1]
	if len(gain.Shape) != 0 || len(SS.Shape) != 0 || len(SS.Floats) != 1 {
		t.Fatalf("gain %v and ss %v%v are not 0-d", gain.Shape, SS.Shape, SS.Floats)
	}
	ss := 0.0
	for _, a := range A.Floats {
		ss += a * a
	}
	if !closeTo(SS.Floats[0], ss, len(A.Floats)) {
		t.Fatalf("ss = %v, want %v", SS.Floats[0], ss)
	}
	g := gain.Floats[0]
	if g < 0.5 || g > 2 {
		t.Fatalf("gain %v outside its declared range 0.5..2", g)
	}
	norm := 0.0
	for i, a := range A.Floats {
		want := a * g / math.Sqrt(ss)
		if !closeTo(B.Floats[i], want, len(A.Floats)) {
			t.Fatalf("B[%d] = %v, want %v", i, B.Floats[i], want)
		}
		norm += B.Floats[i] * B.Floats[i]
	}
	if !closeTo(math.Sqrt(norm), g, len(A.Floats)) {
		t.Errorf("B's norm is %v, want the gain %v", math.Sqrt(norm), g)
	}
}

func TestPopcountExample(t *testing.T) {
	in, out, _ := evalExample(t, "popcount.te", nil)
	A, B, C := in[0], in[1], out[0]
	M, W, N := A.Shape[0], A.Shape[1], B.Shape[0]
	for i := 0; i < M; i++ {
		for j := 0; j < N; j++ {
			agree := 0
			for w := 0; w < W; w++ {
				agree += bits.OnesCount64(^(uint64(A.Ints[i*W+w]) ^ uint64(B.Ints[j*W+w])))
			}
			if got := C.Ints[i*N+j]; got != int64(agree) {
				t.Fatalf("C[%d,%d] = %d, want %d", i, j, got, agree)
			}
		}
	}
}
