package lower

import (
	"testing"

	"github.com/tide-compiler/tide/te"
)

// A hand-built vector loop: C[ramp(4*i, 1, 4)] = A[ramp(4*i, 1, 4)] * 2 + broadcast(i, 4),
// for i in a parallel loop, checked lane by lane against plain Go.
func TestRunVectorNodes(t *testing.T) {
	n := 5
	A := &Buffer{Name: "A", DType: te.Int32, Shape: []te.Expr{te.Const(te.Index, float64(4*n))}}
	C := &Buffer{Name: "C", DType: te.Int32, Shape: A.Shape}
	i := &te.Var{Name: "i"}
	base := te.Bin(te.Mul, i, te.Int(4))
	idx := &Ramp{Base: base, Stride: te.Const(te.Index, 1), Lanes: 4}
	two := &Broadcast{Value: te.Const(te.Int32, 2), Lanes: 4}
	iv := &Broadcast{Value: te.CastTo(te.Int32, i), Lanes: 4}
	val := &te.Binary{Op: te.Add, T: te.Int32.WithLanes(4),
		A: &te.Binary{Op: te.Mul, T: te.Int32.WithLanes(4), A: &Load{Buffer: A, Index: idx}, B: two}, B: iv}
	f := &Func{Name: "vec", Args: []*Buffer{A, C}, Outputs: 1,
		Body: &For{Var: i, Min: te.Const(te.Index, 0), Extent: te.Const(te.Index, float64(n)), Kind: Parallel,
			Body: &Store{Buffer: C, Index: idx, Value: val}}}
	a := te.NewBuffer(te.Int32, []int{4 * n})
	for j := range a.Ints {
		a.Ints[j] = int64(j*7 - 30)
	}
	out, err := Run(f, []*te.Buffer{a}, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, f)
	}
	for j, got := range out[0].Ints {
		if want := a.Ints[j]*2 + int64(j/4); got != want {
			t.Fatalf("C[%d] = %d, want %d\n%s", j, got, want, f)
		}
	}
}

// Out-of-bounds stores are errors, not panics.
func TestRunOutOfBounds(t *testing.T) {
	C := &Buffer{Name: "C", DType: te.Float32, Shape: []te.Expr{te.Const(te.Index, 3)}}
	i := &te.Var{Name: "i"}
	f := &Func{Name: "oob", Args: []*Buffer{C}, Outputs: 1,
		Body: &For{Var: i, Min: te.Const(te.Index, 0), Extent: te.Const(te.Index, 4),
			Body: &Store{Buffer: C, Index: i, Value: te.Const(te.Float32, 1)}}}
	if _, err := Run(f, nil, nil); !te.IsUndefined(err) {
		t.Fatalf("got %v, want an out-of-bounds error", err)
	}
}
