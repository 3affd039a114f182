package tests

import (
	"os/exec"
	"strings"
	"testing"
)

// Tide is importable: examples/library is a module of its own that imports
// github.com/tide-compiler/tide (replaced by this checkout), lowers a
// program, checks it in the interpreter and generates LLVM IR.
func TestLibraryFromAnotherModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds another module")
	}
	cmd := exec.Command("go", "run", ".")
	cmd.Dir = "../examples/library"
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run in examples/library: %v\n%s", err, out)
	}
	for _, want := range []string{
		"B[ramp(io * 8, 1, 8)] = max(A[ramp(io * 8, 1, 8)] * broadcast(2.0, 8), broadcast(0.0, 8))",
		"loop IR equals the reference evaluator",
		"define void @double_relu(float* noalias",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}
