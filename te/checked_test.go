package te

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// The checked int64 arithmetic that constant folding and value ranges
// share, against math/big: exact when it says so, and saying so exactly
// when the true result fits an int64.
func TestCheckedArithmeticAgainstBig(t *testing.T) {
	edges := []int64{0, 1, -1, 2, -2, 3, math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1,
		1 << 31, -(1 << 31), 1 << 32, -(1 << 32), 3037000499, -3037000499, 3037000500, -3037000500}
	r := rand.New(rand.NewPCG(1, 2))
	values := append([]int64{}, edges...)
	for range 200 {
		values = append(values, int64(r.Uint64()), r.Int64N(1<<40)-(1<<39))
	}
	ops := []struct {
		name string
		f    func(a, b int64) (int64, bool)
		big  func(z, a, b *big.Int) *big.Int
	}{
		{"+", addChecked, (*big.Int).Add},
		{"-", subChecked, (*big.Int).Sub},
		{"*", mulChecked, (*big.Int).Mul},
	}
	for _, op := range ops {
		for _, a := range values {
			for _, b := range values {
				got, ok := op.f(a, b)
				want := op.big(new(big.Int), big.NewInt(a), big.NewInt(b))
				fits := want.IsInt64()
				if ok != fits || (ok && got != want.Int64()) {
					t.Fatalf("%d %s %d: got %d, exact %v; want %s (fits: %v)", a, op.name, b, got, ok, want, fits)
				}
			}
		}
	}
}
