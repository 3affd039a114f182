package lower

import (
	"fmt"
	"sort"

	"github.com/tide-compiler/tide/te"
)

// A network (package graph) lowers to one Func whose body is a sequence of
// Groups (the fused groups, in execution order), whose intermediates live
// in one Workspace, and whose weights are Constants.

// Group is a fused group of a network's operators: it becomes an internal
// function of the generated module and a line of a profile.
type Group struct {
	Name string
	Body Stmt
}

func (*Group) stmtNode() {}

// Workspace is a memory plan: buffers that share one caller-provided block
// of memory, each at a byte offset, reused by buffers whose lives do not
// overlap (TVM's storage rewrite over a network's groups).
type Workspace struct {
	Bytes int64
	Slots []Slot
}

// Slot places a buffer in the workspace; it is live from group First to
// group Last (indices into the function's groups, inclusive).
type Slot struct {
	Buffer      *Buffer
	Offset      int64
	Bytes       int64
	First, Last int
}

// WorkspaceAlign is the alignment of every slot (a cache line, and what
// the widest vectors want).
const WorkspaceAlign = 64

// Constant is a buffer whose value is known when the module is built (a
// network's weights, pre-packed and folded): generated code holds it as
// constant data instead of taking it as an argument.
type Constant struct {
	Buffer *Buffer
	Value  *te.Buffer
}

// PlanWorkspace places buffers with the given sizes and live ranges: the
// largest first, each at the lowest aligned offset where it overlaps no
// placed buffer that is live at the same time. Two buffers live at once
// never share a byte.
func PlanWorkspace(slots []Slot) *Workspace {
	order := append([]Slot(nil), slots...)
	sort.SliceStable(order, func(i, j int) bool { return order[i].Bytes > order[j].Bytes })
	var placed []Slot
	var total int64
	for _, s := range order {
		// the byte ranges taken by buffers live at the same time, by offset
		var busy [][2]int64
		for _, p := range placed {
			if p.First <= s.Last && s.First <= p.Last {
				busy = append(busy, [2]int64{p.Offset, p.Offset + p.Bytes})
			}
		}
		sort.Slice(busy, func(i, j int) bool { return busy[i][0] < busy[j][0] })
		off := int64(0)
		for _, b := range busy {
			if off+s.Bytes <= b[0] {
				break
			}
			off = max(off, alignUp(b[1]))
		}
		s.Offset = off
		placed = append(placed, s)
		total = max(total, alignUp(off+s.Bytes))
	}
	// report slots in the order they were given
	at := map[*Buffer]Slot{}
	for _, p := range placed {
		at[p.Buffer] = p
	}
	out := &Workspace{Bytes: total}
	for _, s := range slots {
		out.Slots = append(out.Slots, at[s.Buffer])
	}
	return out
}

func alignUp(n int64) int64 { return (n + WorkspaceAlign - 1) / WorkspaceAlign * WorkspaceAlign }

// CheckWorkspace verifies a plan: every slot aligned, inside the
// workspace, and apart from every slot live at the same time.
func CheckWorkspace(w *Workspace) error {
	for i, a := range w.Slots {
		if a.Offset%WorkspaceAlign != 0 || a.Offset < 0 || a.Offset+a.Bytes > w.Bytes {
			return fmt.Errorf("workspace slot %s at %d (%d bytes) is misaligned or outside the %d-byte workspace", a.Buffer.Name, a.Offset, a.Bytes, w.Bytes)
		}
		for _, b := range w.Slots[i+1:] {
			live := a.First <= b.Last && b.First <= a.Last
			apart := a.Offset+a.Bytes <= b.Offset || b.Offset+b.Bytes <= a.Offset
			if live && !apart {
				return fmt.Errorf("workspace slots %s [%d, %d) and %s [%d, %d) overlap while both are live", a.Buffer.Name, a.Offset, a.Offset+a.Bytes, b.Buffer.Name, b.Offset, b.Offset+b.Bytes)
			}
		}
	}
	return nil
}

// ConstBytes is the size of a buffer with a constant shape.
func ConstBytes(b *Buffer) (int64, bool) {
	n := int64(max(1, b.DType.Bytes()))
	for _, d := range b.Shape {
		c, ok := te.IntValue(d)
		if !ok {
			return 0, false
		}
		n *= c
	}
	return n, true
}
