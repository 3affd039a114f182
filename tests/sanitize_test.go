package tests

// The memory-safety net (issue 12, item 16): generated code runs under
// AddressSanitizer with every input and output allocated to the exact byte
// (the harness's calloc), on x86-64: every example, the golden programs
// and random schedules with tails (TestCodegen and
// TestRandomSchedulesCodegen run an "x86-64+asan" variant). This file
// checks the check: a loop that reads one element past its input must be
// caught.

import (
	"strings"
	"testing"

	"github.com/tide-compiler/tide/driver"
	"github.com/tide-compiler/tide/llvmgen"
	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/te"
)

func TestSanitizerCatchesOneElementOverrun(t *testing.T) {
	tgt, _ := llvmgen.ParseTarget("x86-64")
	requireTools(t, tgt)
	idx := func(v int64) te.Expr { return &te.IntImm{Value: v, T: te.Index} }
	a := &lower.Buffer{Name: "A", DType: te.Float32, Shape: []te.Expr{idx(8)}}
	b := &lower.Buffer{Name: "B", DType: te.Float32, Shape: []te.Expr{idx(8)}}
	i := &te.Var{Name: "i"}
	for _, overrun := range []bool{false, true} {
		// B[i] = A[i + shift]: shift 1 reads A[8], one float past the end
		shift := int64(0)
		if overrun {
			shift = 1
		}
		read := te.Expr(&lower.Load{Buffer: a, Index: &te.Binary{Op: te.Add, A: i, B: idx(shift), T: te.Index}})
		f := &lower.Func{Name: "overrun", Args: []*lower.Buffer{a, b}, Outputs: 1,
			Body: &lower.For{Var: i, Min: idx(0), Extent: idx(8), Kind: lower.Serial, Body: &lower.Store{Buffer: b, Index: i, Value: read}}}
		in := te.NewBuffer(te.Float32, []int{8})
		_, _, err := driver.RunKernel(tgt, llvmgen.Options{Sanitize: true}, f, []*te.Buffer{in}, nil, t.TempDir())
		switch {
		case overrun && (err == nil || !strings.Contains(err.Error(), "heap-buffer-overflow")):
			t.Errorf("a read one element past the input: got %v, want AddressSanitizer's heap-buffer-overflow", err)
		case !overrun && err != nil:
			t.Errorf("the in-bounds loop: %v", err)
		}
	}
}

// A 0-d buffer is one element to the byte too: reading the element after
// a scalar input is caught (issue 13).
func TestSanitizerCatchesZeroDimOverrun(t *testing.T) {
	tgt, _ := llvmgen.ParseTarget("x86-64")
	requireTools(t, tgt)
	idx := func(v int64) te.Expr { return &te.IntImm{Value: v, T: te.Index} }
	a := &lower.Buffer{Name: "alpha", DType: te.Float32}
	b := &lower.Buffer{Name: "B", DType: te.Float32}
	for _, at := range []int64{0, 1} {
		f := &lower.Func{Name: "overrun", Args: []*lower.Buffer{a, b}, Outputs: 1,
			Body: &lower.Store{Buffer: b, Index: idx(0), Value: &lower.Load{Buffer: a, Index: idx(at)}}}
		in := te.NewBuffer(te.Float32, nil)
		_, _, err := driver.RunKernel(tgt, llvmgen.Options{Sanitize: true}, f, []*te.Buffer{in}, nil, t.TempDir())
		switch {
		case at == 1 && (err == nil || !strings.Contains(err.Error(), "heap-buffer-overflow")):
			t.Errorf("a read of alpha[1]: got %v, want AddressSanitizer's heap-buffer-overflow", err)
		case at == 0 && err != nil:
			t.Errorf("the read of alpha[0]: %v", err)
		}
	}
}
