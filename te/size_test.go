package te

import (
	"strings"
	"testing"
)

// Issue 12: a shape whose byte size overflows int64 was accepted and the
// generated code allocated 4 bytes for it. Constant shapes are now bounded
// by MaxTensorBytes, counting the element size.
func TestShapeSizeBounded(t *testing.T) {
	for _, c := range []struct {
		dims  []int64
		dtype DType
		ok    bool
	}{
		{[]int64{4611686018427387905, 4}, Int8, false}, // 2^64 + 4 bytes: wraps to 4
		{[]int64{4294967296, 4294967296}, Int8, false}, // 2^64
		{[]int64{1 << 31, 1 << 31}, Int8, true},        // 2^62: the limit itself
		{[]int64{1 << 31, 1 << 31}, Int16, false},      // 2^63 bytes
		{[]int64{1 << 61}, Float32, false},             // 2^61 elements, 2^63 bytes
		{[]int64{1 << 60}, Float32, true},              // 2^62 bytes
		{[]int64{1 << 60}, Int8, true},
	} {
		shape := make([]Expr, len(c.dims))
		for i, d := range c.dims {
			shape[i] = Int(d)
		}
		_, perr := Placeholder("A", shape, c.dtype)
		one, _ := Placeholder("S", []Expr{Int(1)}, c.dtype)
		_, cerr := Compute("B", shape, func(a []Expr) Expr { return one.At(Int(0)) })
		for what, err := range map[string]error{"placeholder": perr, "compute": cerr} {
			if c.ok && err != nil {
				t.Errorf("%s %v %v: %v", what, c.dims, c.dtype, err)
			}
			if !c.ok && (err == nil || !strings.Contains(err.Error(), "more than 2^62 bytes")) {
				t.Errorf("%s %v %v: got %v, want a size error", what, c.dims, c.dtype, err)
			}
		}
	}
	// a symbolic dimension is sized when it gets a value
	n := SizeVar("n")
	if _, err := Placeholder("A", []Expr{n, Int(1 << 62)}, Int8); err != nil {
		t.Errorf("symbolic: %v", err)
	}
}
