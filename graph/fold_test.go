package graph

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/topi"
)

// foldBitpack computes what the reference evaluator computes for
// topi.Bitpack: every axis arrangement, word width, bit count and a
// channel count that leaves padding bits.
func TestFoldBitpackMatchesTheEvaluator(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, c := range []struct {
		shape          []int64
		bits, pack, at int
		word           te.DType
	}{
		{[]int64{3, 3, 20, 5}, 1, 2, 2, te.UInt8}, // HWIO weights, 20 channels: padding bits
		{[]int64{2, 4, 4, 64}, 2, 3, 3, te.UInt8}, // NHWC activations, 2 bits
		{[]int64{10, 70}, 1, 1, 1, te.UInt64},     // dense weights
		{[]int64{2, 9, 3}, 3, 1, 0, te.UInt16},    // bit axis first
		{[]int64{4, 33, 2}, 2, 1, 3, te.UInt32},   // bit axis last
	} {
		t.Run(fmt.Sprintf("%v/bits=%d/pack=%d/bit=%d/%v", c.shape, c.bits, c.pack, c.at, c.word), func(t *testing.T) {
			var shape []te.Expr
			var dims []int
			for _, d := range c.shape {
				shape = append(shape, te.Const(te.Index, float64(d)))
				dims = append(dims, int(d))
			}
			x, err := te.Placeholder("x", shape, te.UInt8)
			if err != nil {
				t.Fatal(err)
			}
			p, err := topi.Bitpack("p", x, c.bits, c.pack, c.at, c.word)
			if err != nil {
				t.Fatal(err)
			}
			xb := te.NewBuffer(te.UInt8, dims)
			for i := range xb.Ints {
				xb.Ints[i] = int64(rng.IntN(1 << c.bits))
			}
			in := map[*te.Tensor]*te.Buffer{x: xb}
			got, ok := foldBitpack(p, in)
			if !ok {
				t.Fatal("foldBitpack declined a bitpack")
			}
			want, err := te.Evaluate([]*te.Tensor{p}, in, nil)
			if err != nil {
				t.Fatal(err)
			}
			if m := te.Compare(got, want[p], 0); m.First >= 0 {
				t.Fatalf("differs from the evaluator %s", m.Detail)
			}
		})
	}
}
