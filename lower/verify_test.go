package lower

import (
	"strings"
	"testing"

	"github.com/tide-compiler/tide/te"
)

// Each broken invariant is caught and named; a well-formed function passes.
func TestVerifyCatchesBrokenIR(t *testing.T) {
	a := &Buffer{Name: "A", DType: te.Float32, Shape: []te.Expr{idx(16)}}
	tmp := &Buffer{Name: "T", DType: te.Float32, Shape: []te.Expr{idx(16)}}
	i, j := &te.Var{Name: "i"}, &te.Var{Name: "j"}
	ramp := &Ramp{Base: idx(0), Stride: idx(1), Lanes: 4}
	loop := func(v *te.Var, kind ForKind, body Stmt) Stmt {
		return &For{Var: v, Min: idx(0), Extent: idx(16), Kind: kind, Body: body}
	}
	store := func(b *Buffer, index te.Expr, value te.Expr) Stmt {
		return &Store{Buffer: b, Index: index, Value: value}
	}
	one := &te.FloatImm{Value: 1, T: te.Float32}
	X, _ := te.Placeholder("X", []te.Expr{idx(16)}, te.Float32)
	cases := []struct {
		name string
		ran  []string // the passes run
		body Stmt
		want string // "" for valid
	}{
		{"valid", nil, loop(i, Serial, store(a, i, one)), ""},
		{"valid allocation", nil, &Allocate{Buffer: tmp, Body: loop(i, Serial, store(tmp, i, &Load{Buffer: a, Index: i}))}, ""},
		{"variable out of scope", nil, loop(i, Serial, store(a, j, one)), "j is used outside the loop or let that binds it"},
		{"variable bound twice", nil, loop(i, Serial, loop(i, Serial, store(a, i, one))), "i is bound again inside its own loop or let"},
		{"buffer not allocated", nil, loop(i, Serial, store(tmp, i, one)), "store to T outside its allocation"},
		{"load after the allocation ends", nil, Seq{&Allocate{Buffer: tmp, Body: store(tmp, idx(0), one)}, store(a, idx(0), &Load{Buffer: tmp, Index: idx(0)})}, "load from T outside its allocation"},
		{"store lanes", nil, store(a, ramp, one), "index of 4 lanes and a value of 1"},
		{"operand lanes", nil, store(a, ramp, &te.Binary{Op: te.Add, A: &Load{Buffer: a, Index: ramp}, B: one, T: te.Float32.WithLanes(4)}), "operands of 4 and 1 lanes"},
		{"vector condition", nil, &IfThenElse{Cond: &te.Binary{Op: te.LT, A: ramp, B: &Broadcast{Value: idx(3), Lanes: 4}, T: te.Bool.WithLanes(4)}, Then: store(a, idx(0), one)}, "a condition is a vector of 4 lanes"},
		{"vectorized loop after vectorize", []string{"nest", "vectorize"}, loop(i, Vectorized, store(a, i, one)), "loop i is still vectorized after the vectorize pass"},
		{"vectorized loop before vectorize", []string{"nest", "partition"}, loop(i, Vectorized, store(a, i, one)), ""},
		{"unrolled loop after unroll", []string{"nest", "unroll", "final-simplify"}, loop(i, Unrolled, store(a, i, one)), "loop i is still unrolled after the unroll pass"},
		{"tensor read left", nil, store(a, idx(0), X.At(idx(0))), "a tensor read survived lowering"},
	}
	for _, c := range cases {
		f := &Func{Name: "f", Args: []*Buffer{a}, Outputs: 1, Body: c.body, Passes: c.ran}
		err := Verify(f)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}

// The pass table's order constraints hold (checked at init too).
func TestPassOrder(t *testing.T) {
	if err := checkPassOrder(Passes); err != nil {
		t.Fatal(err)
	}
	swapped := append([]Pass(nil), Passes...)
	for i, p := range swapped {
		if p.Name == "vectorize" {
			swapped[i], swapped[i-1] = swapped[i-1], swapped[i]
			break
		}
	}
	if err := checkPassOrder(swapped); err == nil || !strings.Contains(err.Error(), "vectorize must run after partition") {
		t.Errorf("vectorize before partition: got %v", err)
	}
}

// MutateStmt reaches allocation shapes: substituting a variable in an
// allocation's shape gives a new buffer that the loads and stores inside
// use, and leaves the old buffer (shared by identity) unchanged.
func TestMutateStmtReachesAllocationShapes(t *testing.T) {
	n := &te.Var{Name: "n"}
	out := &Buffer{Name: "B", DType: te.Int32, Shape: []te.Expr{idx(4)}}
	tmp := &Buffer{Name: "T", DType: te.Int32, Shape: []te.Expr{bin(te.Add, n, idx(1))}}
	body := &Allocate{Buffer: tmp, Body: Seq{
		&Store{Buffer: tmp, Index: n, Value: idx(7)},
		&Store{Buffer: out, Index: idx(0), Value: &Load{Buffer: tmp, Index: n}},
	}}
	got := substStmt(body, map[*te.Var]te.Expr{n: idx(3)})
	a := got.(*Allocate)
	if te.ExprString(SimplifyExpr(a.Buffer.Shape[0])) != "4" || a.Buffer == tmp {
		t.Fatalf("shape %s, new buffer %v", te.ExprString(a.Buffer.Shape[0]), a.Buffer != tmp)
	}
	if te.ExprString(tmp.Shape[0]) != "n + 1" {
		t.Errorf("the original buffer changed: %s", te.ExprString(tmp.Shape[0]))
	}
	seq := a.Body.(Seq)
	if seq[0].(*Store).Buffer != a.Buffer || seq[1].(*Store).Value.(*Load).Buffer != a.Buffer {
		t.Errorf("the store or load inside still uses the old buffer")
	}
	f := &Func{Name: "f", Args: []*Buffer{out}, Outputs: 1, Body: got}
	if err := Verify(f); err != nil {
		t.Error(err)
	}
}
