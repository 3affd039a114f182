package lower

import (
	"fmt"
	"strings"

	"github.com/tide-compiler/tide/te"
)

// AllocStat describes one allocation of a lowered function.
type AllocStat struct {
	Buffer *Buffer
	Bytes  te.Expr  // a constant when the shape is
	Inside []string // the loops it is allocated in, outermost first
}

// Allocations lists every allocation in f with its size and place.
func Allocations(f *Func) []AllocStat {
	var out []AllocStat
	WalkScoped(f.Body, func(s Stmt, around []*For) bool {
		if a, ok := s.(*Allocate); ok {
			bytes := te.Expr(idx(int64(a.Buffer.DType.Bytes())))
			for _, d := range a.Buffer.Shape {
				bytes = bin(te.Mul, bytes, d)
			}
			var loops []string
			for _, l := range around {
				loops = append(loops, l.Var.Name)
			}
			out = append(out, AllocStat{Buffer: a.Buffer, Bytes: SimplifyExpr(bytes), Inside: loops})
		}
		return true
	})
	return out
}

// StatsString reports allocations (with their total when it is a constant)
// and the loops of each kind.
func StatsString(f *Func) string {
	var b strings.Builder
	allocs := Allocations(f)
	fmt.Fprintf(&b, "allocations: %d\n", len(allocs))
	var total int64
	known := true
	for _, a := range allocs {
		where := "at the root"
		if len(a.Inside) > 0 {
			where = "inside loop " + strings.Join(a.Inside, " > ")
		}
		fmt.Fprintf(&b, "  %s: %v%s = %s bytes, %s\n", a.Buffer.Name, a.Buffer.DType, te.ShapeString(a.Buffer.Shape), te.ExprString(a.Bytes), where)
		if n, ok := te.IntValue(a.Bytes); ok {
			total += n
		} else {
			known = false
		}
	}
	if peak, ok := peakBytes(f.Body); ok && known {
		fmt.Fprintf(&b, "intermediate bytes: %d at most live at once (%d allocated in all)\n", peak, total)
	}
	counts := map[ForKind]int{}
	vectorStores := 0
	WalkStmt(f.Body, func(s Stmt) bool {
		switch s := s.(type) {
		case *For:
			counts[s.Kind]++
		case *Store:
			if s.Index.Type().Lanes > 1 {
				vectorStores++
			}
		}
		return true
	})
	fmt.Fprintf(&b, "loops: %d serial, %d parallel; vector stores: %d\n", counts[Serial], counts[Parallel], vectorStores)
	if n := counts[Vectorized] + counts[Unrolled]; n > 0 {
		fmt.Fprintf(&b, "loops left vectorized or unrolled: %d\n", n)
	}
	return b.String()
}

// peakBytes is the most memory the allocations of s hold at one time (the
// allocations of two statements in sequence are not live together); ok is
// false when a size is not a constant.
func peakBytes(s Stmt) (int64, bool) {
	switch s := s.(type) {
	case Seq:
		var m int64
		for _, x := range s {
			p, ok := peakBytes(x)
			if !ok {
				return 0, false
			}
			m = max(m, p)
		}
		return m, true
	case *For:
		return peakBytes(s.Body)
	case *LetStmt:
		return peakBytes(s.Body)
	case *Group:
		return peakBytes(s.Body)
	case *IfThenElse:
		a, okA := peakBytes(s.Then)
		b, okB := peakBytes(s.Else)
		return max(a, b), okA && okB
	case *Allocate:
		n := int64(s.Buffer.DType.Bytes())
		for _, d := range s.Buffer.Shape {
			c, ok := te.IntValue(d)
			if !ok {
				return 0, false
			}
			n *= c
		}
		p, ok := peakBytes(s.Body)
		return n + p, ok
	}
	return 0, true
}
