package te

import (
	"math"
	"strings"
	"testing"
)

// The float functions of issue 13 item 11 in the evaluator, against values
// computed independently (CPython's math module over glibc, written here
// as literals): float64 within 2 ulp (neither libm is correctly rounded),
// float32 the literal rounded to float32, within 1 ulp.
func TestEvalMathFunctions(t *testing.T) {
	type point struct{ x, want float64 }
	type mathCase struct {
		name string
		body func(x []Expr) Expr
		pts  []point
	}
	cases := []mathCase{
		{"tanh", un(Tanh), []point{{-2.5, -0.9866142981514303}, {0.5, 0.46211715726000974}, {1, 0.7615941559557649}, {3, 0.9950547536867305}, {0, 0}}},
		{"erf", un(Erf), []point{{-2.5, -0.999593047982555}, {-0.5, -0.5204998778130465}, {1, 0.8427007929497149}, {3, 0.9999779095030014}}},
		{"sigmoid", un(Sigmoid), []point{{-2.5, 0.07585818002124355}, {0, 0.5}, {0.5, 0.6224593312018546}, {3, 0.9525741268224334}, {-1000, 0}, {1000, 1}}},
		{"exp2", un(Exp2), []point{{-2.5, 0.1767766952966369}, {0.5, 1.4142135623730951}, {3, 8}}},
		{"log", un(Log), []point{{0.25, -1.3862943611198906}, {1, 0}, {2, 0.6931471805599453}, {10, 2.302585092994046}, {0, math.Inf(-1)}, {-1, math.NaN()}}},
		{"log2", un(Log2), []point{{0.25, -2}, {10, 3.321928094887362}}},
	}
	pow := func(a float64) func(x []Expr) Expr {
		return func(x []Expr) Expr { return Bin(Pow, x[0], Float(a)) }
	}
	powCases := []struct {
		base, exp, want float64
	}{{2.5, -1.5, 0.25298221281347033}, {9, 0.5, 3}, {-2, 3, -8}, {-2, 0.5, math.NaN()}, {math.NaN(), 0, 1}, {2, 10, 1024}}
	for _, pc := range powCases {
		cases = append(cases, mathCase{"pow", pow(pc.exp), []point{{pc.base, pc.want}}})
	}
	for _, c := range cases {
		for _, p := range c.pts {
			for _, dt := range []DType{Float64, Float32} {
				got, err := evalElem(t, c.body, vf(dt, roundTo(dt, p.x)))
				if err != nil {
					t.Fatalf("%s(%v) %v: %v", c.name, p.x, dt, err)
				}
				want := roundTo(dt, p.want)
				if !closeULP(dt, got.Floats[0], want) {
					t.Errorf("%s(%v) in %v = %v, want %v", c.name, p.x, dt, got.Floats[0], want)
				}
			}
		}
	}
}

// closeULP reports whether got is want, or within 2 ulp of it in dt.
func closeULP(dt DType, got, want float64) bool {
	if sameFloat(got, want) || got == want {
		return true
	}
	if math.IsNaN(got) || math.IsNaN(want) || math.IsInf(want, 0) {
		return false
	}
	ulp := math.Nextafter(math.Abs(want), math.Inf(1)) - math.Abs(want)
	if dt.Bits == 32 {
		w := float32(math.Abs(want))
		ulp = float64(math.Nextafter32(w, float32(math.Inf(1))) - w)
	}
	return math.Abs(got-want) <= 2*ulp
}

// The functions take floats only; an integer operand is an error that
// says how to convert it, and untyped constants fold.
func TestMathFunctionTypes(t *testing.T) {
	i32 := mustT(t)(Placeholder("I", []Expr{Int(2)}, Int32)).At(Int(0))
	for _, op := range FloatFunctions {
		err := Error(Un(op, i32))
		if err == nil || !strings.Contains(err.Error(), "it takes a float (use cast(float32, x) for integers)") {
			t.Errorf("%s(int32): %v", op, err)
		}
	}
	if err := Error(Bin(Pow, i32, Int(2))); err == nil || !strings.Contains(err.Error(), "operator 'pow' is not defined on int32; it takes floats (use cast(float32, x) for integers)") {
		t.Errorf("pow(int32, 2): %v", err)
	}
	if err := Error(Bin(Pow, Int(2), Int(3))); err == nil {
		t.Errorf("pow(2, 3) of integer literals: no error")
	}
	if c, ok := Bin(Pow, Float(2), Int(10)).(*FloatImm); !ok || c.Value != 1024 || c.T != UntypedFloat {
		t.Errorf("pow(2.0, 10) = %v, want the untyped constant 1024.0", Bin(Pow, Float(2), Int(10)))
	}
	if c, ok := Un(Sigmoid, Float(0)).(*FloatImm); !ok || c.Value != 0.5 {
		t.Errorf("sigmoid(0.0) = %v, want 0.5", Un(Sigmoid, Float(0)))
	}
	if got := ExprString(Bin(Pow, Un(Tanh, Float(1)), Float(2))); !strings.HasPrefix(got, "0.58") {
		t.Errorf("pow(tanh(1.0), 2.0) folds to %s, want 0.58...", got)
	}
	f := mustT(t)(Placeholder("F", []Expr{Int(2)}, Float32)).At(Int(0))
	if got := ExprString(Bin(Pow, Un(Erf, f), Float(2))); got != "pow(erf(F[0]), 2.0)" {
		t.Errorf("printed as %s", got)
	}
}
