package te

import (
	"hash/maphash"
	"math"
)

// Equal reports whether two expressions are the same tree: the same
// operators, types and constants (floats bit for bit), the same variables,
// tensors and reduction axes by identity. It is Halide's IREquality and
// TVM's deep_equal: passes compare and key expressions with it, never by
// their printed form (two different variables may print alike).
func Equal(a, b Expr) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil {
		return false
	}
	switch x := a.(type) {
	case *IntImm:
		y, ok := b.(*IntImm)
		return ok && x.Value == y.Value && x.T == y.T
	case *FloatImm:
		y, ok := b.(*FloatImm)
		return ok && math.Float64bits(x.Value) == math.Float64bits(y.Value) && x.T == y.T
	case *Var:
		return false // identity, checked above
	case *Binary:
		y, ok := b.(*Binary)
		return ok && x.Op == y.Op && x.T == y.T && Equal(x.A, y.A) && Equal(x.B, y.B)
	case *Unary:
		y, ok := b.(*Unary)
		return ok && x.Op == y.Op && Equal(x.X, y.X)
	case *Cast:
		y, ok := b.(*Cast)
		return ok && x.T == y.T && Equal(x.X, y.X)
	case *Select:
		y, ok := b.(*Select)
		return ok && x.Lazy == y.Lazy && Equal(x.Cond, y.Cond) && Equal(x.True, y.True) && Equal(x.False, y.False)
	case *Read:
		y, ok := b.(*Read)
		return ok && x.Tensor == y.Tensor && equalLists(x.Indices, y.Indices)
	case *Reduce:
		y, ok := b.(*Reduce)
		if !ok || x.Op != y.Op || len(x.Axes) != len(y.Axes) {
			return false
		}
		for i := range x.Axes {
			if x.Axes[i] != y.Axes[i] {
				return false
			}
		}
		return Equal(x.Body, y.Body)
	case Composite:
		return x.SameHead(b) && equalLists(x.Children(), b.(Composite).Children())
	}
	return false // *Bad and unknown nodes: identity only
}

func equalLists(a, b []Expr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// hashSeed is fixed for the process, so hashes agree across one run (they
// are not stable across runs, and nothing stores them).
var hashSeed = maphash.MakeSeed()

// Hash is a hash consistent with Equal: equal expressions hash alike, so
// the two key a hash map of expressions.
func Hash(e Expr) uint64 {
	var h maphash.Hash
	h.SetSeed(hashSeed)
	hashInto(&h, e)
	return h.Sum64()
}

func hashInto(h *maphash.Hash, e Expr) {
	word := func(v uint64) {
		var b [8]byte
		for i := range b {
			b[i] = byte(v >> (8 * i))
		}
		h.Write(b[:])
	}
	dtype := func(t DType) { word(uint64(t.Kind) | uint64(t.Bits)<<8 | uint64(t.Lanes)<<24) }
	switch x := e.(type) {
	case nil:
		word(0)
	case *IntImm:
		word(1)
		word(uint64(x.Value))
		dtype(x.T)
	case *FloatImm:
		word(2)
		word(math.Float64bits(x.Value))
	case *Var:
		word(3)
		h.WriteString(x.Name) // identity decides equality; the name spreads the hash
	case *Binary:
		word(4)
		word(uint64(x.Op))
		hashInto(h, x.A)
		hashInto(h, x.B)
	case *Unary:
		word(5)
		word(uint64(x.Op))
		hashInto(h, x.X)
	case *Cast:
		word(6)
		dtype(x.T)
		hashInto(h, x.X)
	case *Select:
		word(7)
		hashInto(h, x.Cond)
		hashInto(h, x.True)
		hashInto(h, x.False)
	case *Read:
		word(8)
		h.WriteString(x.Tensor.Name)
		for _, i := range x.Indices {
			hashInto(h, i)
		}
	case *Reduce:
		word(9)
		word(uint64(x.Op))
		hashInto(h, x.Body)
	case Composite:
		word(10)
		word(x.HeadHash())
		for _, c := range x.Children() {
			hashInto(h, c)
		}
	default:
		word(11)
	}
}
