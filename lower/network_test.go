package lower

import (
	"math/rand/v2"
	"testing"

	"github.com/tide-compiler/tide/te"
)

// The memory plan never gives two buffers that are live at once a shared
// byte (checked byte by byte, independently of CheckWorkspace), aligns
// every slot, and reuses memory: never more than the sum of the sizes.
func TestPlanWorkspaceNeverOverlapsLiveBuffers(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := 0; trial < 300; trial++ {
		n := 1 + rng.IntN(12)
		groups := 1 + rng.IntN(10)
		var slots []Slot
		var sum int64
		for i := 0; i < n; i++ {
			first := rng.IntN(groups)
			last := first + rng.IntN(groups-first)
			bytes := int64(1 + rng.IntN(5000))
			sum += (bytes + WorkspaceAlign - 1) / WorkspaceAlign * WorkspaceAlign
			slots = append(slots, Slot{Buffer: &Buffer{Name: string(rune('a' + i)), DType: te.UInt8}, Bytes: bytes, First: first, Last: last})
		}
		w := PlanWorkspace(slots)
		if w.Bytes > sum {
			t.Fatalf("trial %d: workspace %d bytes, more than the %d of all slots", trial, w.Bytes, sum)
		}
		for g := 0; g < groups; g++ {
			owner := make([]int, w.Bytes)
			for i, s := range w.Slots {
				if s.Offset%WorkspaceAlign != 0 || s.Offset+s.Bytes > w.Bytes {
					t.Fatalf("trial %d: slot %d at %d (%d bytes) in %d", trial, i, s.Offset, s.Bytes, w.Bytes)
				}
				if g < s.First || g > s.Last {
					continue
				}
				for b := s.Offset; b < s.Offset+s.Bytes; b++ {
					if owner[b] != 0 {
						t.Fatalf("trial %d, group %d: slots %d and %d share byte %d", trial, g, owner[b]-1, i, b)
					}
					owner[b] = i + 1
				}
			}
		}
		if err := CheckWorkspace(w); err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
	}
	// CheckWorkspace catches an overlap
	a, b := &Buffer{Name: "a", DType: te.UInt8}, &Buffer{Name: "b", DType: te.UInt8}
	bad := &Workspace{Bytes: 128, Slots: []Slot{{Buffer: a, Bytes: 100, First: 0, Last: 1}, {Buffer: b, Offset: 64, Bytes: 64, First: 1, Last: 2}}}
	if CheckWorkspace(bad) == nil {
		t.Fatal("CheckWorkspace accepted overlapping live slots")
	}
}
