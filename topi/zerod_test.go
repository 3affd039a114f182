package topi

import (
	"testing"

	"github.com/tide-compiler/tide/te"
)

// The element-wise operators take a 0-d tensor, and their default
// schedule leaves its one element alone (it looked up the innermost of
// no data axes, and panicked).
func TestScheduleZeroDimensional(t *testing.T) {
	z, _ := te.Placeholder("z", nil, te.Float32)
	relu, err := ReLU("r", z)
	if err != nil {
		t.Fatal(err)
	}
	add, err := Add("a", relu, z)
	if err != nil {
		t.Fatal(err)
	}
	q, err := Quantize("q", add, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, tgt := range []Target{{Name: "x86-64", VectorBits: 256}, {Name: "cortex-a53", VectorBits: 128}} {
		s, err := Schedule(tgt, q)
		if err != nil {
			t.Fatalf("%s: %v", tgt.Name, err)
		}
		for _, st := range s.Stages {
			if len(st.Leaf) != 0 {
				t.Errorf("%s: 0-d stage %s has loops %v", tgt.Name, st.Name(), st.Leaf)
			}
		}
	}
}
