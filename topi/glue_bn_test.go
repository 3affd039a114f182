package topi

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tide-compiler/tide/te"
)

// The glue constants FusedGlueBatchNorm computes as stages (what a network
// folds at build time) are GlueConstants', channel for channel, with either
// rounding; a channel GlueConstants refuses gets shift -1.
func TestFusedGlueBatchNormMatchesGlueConstants(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	const c = 200
	alpha, mean, variance := make([]float64, c), make([]float64, c), make([]float64, c)
	for k := range alpha {
		alpha[k] = math.Ldexp(0.75+0.5*rng.Float64(), -1-rng.IntN(8)) // wb 1..8
		mean[k] = 2*rng.Float64() - 1
		variance[k] = math.Ldexp(0.5+rng.Float64(), rng.IntN(10)) // sb 0..5
	}
	vec := func(name string, v []float64) (*te.Tensor, *te.Buffer) {
		p, err := te.Placeholder(name, ints(len(v)), te.Float32)
		if err != nil {
			t.Fatal(err)
		}
		b := te.NewBuffer(te.Float32, []int{len(v)})
		for i, x := range v {
			b.Floats[i] = float64(float32(x))
			v[i] = b.Floats[i] // what the network holds
		}
		return p, b
	}
	ap, ab := vec("alpha", alpha)
	mp, mb := vec("mean", mean)
	vp, vb := vec("var", variance)
	acc, err := te.Placeholder("acc", ints(1, c), te.Int32)
	if err != nil {
		t.Fatal(err)
	}
	for _, bits := range []int{1, 2, 3} {
		for _, exact := range []bool{false, true} {
			want, err := GlueConstants(alpha, mean, variance, 1e-5, bits, exact)
			if err != nil {
				t.Fatal(err)
			}
			q, err := FusedGlueBatchNorm("q", acc, ap, mp, vp, 1e-5, 1, bits, exact, true)
			if err != nil {
				t.Fatal(err)
			}
			var cb, shift *te.Tensor
			for _, in := range te.PostOrder([]*te.Tensor{q}) { // the constants may be inputs of the thresholds
				switch in.Tag {
				case TagGlueCB:
					cb = in
				case TagGlueShift:
					shift = in
				}
			}
			got, err := te.Evaluate([]*te.Tensor{cb, shift}, map[*te.Tensor]*te.Buffer{ap: ab, mp: mb, vp: vb}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k := 0; k < c; k++ {
				if got[cb].Ints[k] != int64(want.CB[k]) || got[shift].Ints[k] != int64(want.Shift[k]) {
					t.Fatalf("bits %d exact %v channel %d: cb %d shift %d, want %d %d", bits, exact, k,
						got[cb].Ints[k], got[shift].Ints[k], want.CB[k], want.Shift[k])
				}
			}
		}
	}
	// alpha 1 gives wb = 0, which the fused glue cannot shift by
	ab.Floats[3] = 1
	q, _ := FusedGlueBatchNorm("q", acc, ap, mp, vp, 1e-5, 1, 1, true, true)
	found := false
	for _, in := range te.PostOrder([]*te.Tensor{q}) {
		if in.Tag == TagGlueShift {
			found = true
			got, err := te.Evaluate([]*te.Tensor{in}, map[*te.Tensor]*te.Buffer{ap: ab, mp: mb, vp: vb}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got[in].Ints[3] != -1 {
				t.Errorf("channel 3 with alpha 1: shift %d, want -1 (refused)", got[in].Ints[3])
			}
		}
	}
	if !found {
		t.Fatal("no glue_shift stage among the glue's inputs")
	}
}

// The float glue sequence computes the fused glue's codes exactly.
func TestFloatGlueEqualsFusedGlue(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	const n, c = 40, 16
	acc, _ := te.Placeholder("acc", ints(n, c), te.Int32)
	cb, _ := te.Placeholder("cb", ints(c), te.Int32)
	sh, _ := te.Placeholder("sh", ints(c), te.Int32)
	in := map[*te.Tensor]*te.Buffer{acc: te.NewBuffer(te.Int32, []int{n, c}), cb: te.NewBuffer(te.Int32, []int{c}), sh: te.NewBuffer(te.Int32, []int{c})}
	for i := range in[acc].Ints {
		in[acc].Ints[i] = int64(rng.IntN(20000) - 10000)
	}
	for k := 0; k < c; k++ {
		in[cb].Ints[k] = int64(rng.IntN(2000) - 1000)
		in[sh].Ints[k] = int64(rng.IntN(13))
	}
	for _, bits := range []int{1, 2, 3} {
		fused, err := FusedGlue("f", acc, cb, sh, 1, bits)
		if err != nil {
			t.Fatal(err)
		}
		float, err := FloatGlue("g", acc, cb, sh, 1, bits)
		if err != nil {
			t.Fatal(err)
		}
		got, err := te.Evaluate([]*te.Tensor{fused, float}, in, nil)
		if err != nil {
			t.Fatal(err)
		}
		if m := te.Compare(got[float], got[fused], 0); m.First >= 0 {
			t.Fatalf("bits %d: the float glue differs %s", bits, m.Detail)
		}
	}
}

// The fused glue's codes against its definition in Go, clip((acc + cb) >>
// shift, 0, 2^bits - 1) in int64, for accumulators and constants at the
// limits of their types and next to each threshold, and every shift from 0
// to 63: the threshold form (1 and 2 bits) and the arithmetic one (3).
func TestFusedGlueMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 7))
	for _, accType := range []te.DType{te.Int16, te.Int32} {
		lo, hi := accType.MinInt(), accType.MaxInt()
		const n, c = 64, 64
		acc, _ := te.Placeholder("acc", ints(n, c), accType)
		cb, _ := te.Placeholder("cb", ints(c), te.Int32)
		sh, _ := te.Placeholder("sh", ints(c), te.Int32)
		in := map[*te.Tensor]*te.Buffer{acc: te.NewBuffer(accType, []int{n, c}), cb: te.NewBuffer(te.Int32, []int{c}), sh: te.NewBuffer(te.Int32, []int{c})}
		cbs := []int64{0, 1, -1, 7, -7, math.MaxInt32, math.MinInt32, hi, lo, hi + 1, lo - 1}
		for k := 0; k < c; k++ {
			in[sh].Ints[k] = int64(k % 64)
			if k%3 == 0 {
				in[sh].Ints[k] = int64(rng.IntN(4))
			}
			in[cb].Ints[k] = max(math.MinInt32, min(math.MaxInt32, cbs[rng.IntN(len(cbs))]+int64(rng.IntN(5)-2)))
		}
		for _, bits := range []int{1, 2, 3} {
			// accumulators at the limits and around the thresholds
			for i := 0; i < n; i++ {
				for k := 0; k < c; k++ {
					var a int64
					switch i % 4 {
					case 0:
						a = []int64{lo, hi, lo + 1, hi - 1, 0}[rng.IntN(5)]
					case 1:
						a = lo + rng.Int64N(hi-lo+1)
					default:
						level := int64(1 + rng.IntN(1<<bits))
						s := min(in[sh].Ints[k], 40)
						a = level<<s - in[cb].Ints[k] + int64(rng.IntN(3)-1)
					}
					in[acc].Ints[i*c+k] = max(lo, min(hi, a))
				}
			}
			q, err := FusedGlue("q", acc, cb, sh, 1, bits)
			if err != nil {
				t.Fatal(err)
			}
			got, err := te.Evaluate([]*te.Tensor{q}, in, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got[q].Ints {
				k := i % c
				s := in[acc].Ints[i] + in[cb].Ints[k]
				want := max(0, min(int64(1)<<bits-1, s>>in[sh].Ints[k]))
				if got[q].Ints[i] != want {
					t.Fatalf("%v, %d bits: acc %d cb %d shift %d: code %d, want %d", accType, bits, in[acc].Ints[i], in[cb].Ints[k], in[sh].Ints[k], got[q].Ints[i], want)
				}
			}
		}
	}
}

// Accumulators with a known bound (here [-12, 12], from the compute that
// makes them) are compared in their own type, with the thresholds clamped
// to the bound: the codes still match the definition for every
// accumulator and for constants far outside the bound.
func TestFusedGlueNarrowsToTheAccumulatorsRange(t *testing.T) {
	const n, c = 256, 64
	u, _ := te.Placeholder("u", ints(n), te.UInt8)
	acc, err := te.Compute("acc", ints(n, c), func(a []te.Expr) te.Expr {
		return te.SubOf(te.MulOf(te.CastTo(te.Int16, te.Un(te.Popcount, u.At(a[0]))), te.Const(te.Int16, 3)), te.Const(te.Int16, 12))
	})
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := te.Placeholder("cb", ints(c), te.Int32)
	sh, _ := te.Placeholder("sh", ints(c), te.Int32)
	in := map[*te.Tensor]*te.Buffer{u: te.NewBuffer(te.UInt8, []int{n}), cb: te.NewBuffer(te.Int32, []int{c}), sh: te.NewBuffer(te.Int32, []int{c})}
	for i := range n {
		in[u].Ints[i] = int64(i)
	}
	cbs := []int64{math.MinInt32, -100, -13, -12, -11, -1, 0, 1, 11, 12, 13, 14, 100, math.MaxInt32}
	for k := range c {
		in[cb].Ints[k] = cbs[k%len(cbs)]
		in[sh].Ints[k] = int64(k % 5)
		if k >= 56 {
			in[sh].Ints[k] = int64(30 + k%34)
		}
	}
	for _, bits := range []int{1, 2} {
		q, err := FusedGlue("q", acc, cb, sh, 1, bits)
		if err != nil {
			t.Fatal(err)
		}
		th := slices.IndexFunc(q.Inputs(), func(x *te.Tensor) bool { return x.Tag == TagGlueThreshold })
		if th < 0 || q.Inputs()[th].DType != te.Int16 {
			t.Errorf("%d bits: the glue's inputs %v, want int16 thresholds (the accumulators' type: their range fits it)", bits, q.Inputs())
		}
		got, err := te.Evaluate([]*te.Tensor{q, acc}, in, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range got[q].Ints {
			k := i % c
			a := got[acc].Ints[i]
			want := max(0, min(int64(1)<<bits-1, (a+in[cb].Ints[k])>>in[sh].Ints[k]))
			if v != want {
				t.Fatalf("%d bits: acc %d cb %d shift %d: code %d, want %d", bits, a, in[cb].Ints[k], in[sh].Ints[k], v, want)
			}
		}
	}
}

// Accumulators computed through a uint64 subtraction that wraps: IntRange
// gives [-1, 0] (the interval [-5, 250] kept as if uint64 were signed, then
// shifted), while u < 5 gives 15. The thresholds clamped to hi + 1 = 1 are
// reached by 15, and the code is 3 where (15 - 20) >> 0 clips to 0.
func TestFusedGlueAccumulatorsThroughUint64(t *testing.T) {
	const n = 256
	u, _ := te.Placeholder("u", ints(n), te.UInt8)
	acc, err := te.Compute("acc", ints(n, 1), func(a []te.Expr) te.Expr {
		d := te.SubOf(te.CastTo(te.UInt64, u.At(a[0])), te.Const(te.UInt64, 5))
		return te.CastTo(te.Int32, te.Bin(te.Shr, d, te.Const(te.UInt64, 60)))
	})
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := te.Placeholder("cb", ints(1), te.Int32)
	sh, _ := te.Placeholder("sh", ints(1), te.Int32)
	in := map[*te.Tensor]*te.Buffer{u: te.NewBuffer(te.UInt8, []int{n}), cb: te.NewBuffer(te.Int32, []int{1}), sh: te.NewBuffer(te.Int32, []int{1})}
	for i := range n {
		in[u].Ints[i] = int64(i)
	}
	in[cb].Ints[0] = -20
	q, err := FusedGlue("q", acc, cb, sh, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	got, err := te.Evaluate([]*te.Tensor{q, acc}, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got[q].Ints {
		a := got[acc].Ints[i]
		want := max(0, min(3, a-20))
		if v != want {
			lo, hi := te.IntRange(acc)
			t.Fatalf("acc %d (IntRange [%d, %d]) cb -20 shift 0: code %d, want %d", a, lo, hi, v, want)
		}
	}
}
