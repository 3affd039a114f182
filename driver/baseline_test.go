package driver

import (
	"errors"
	"testing"

	"github.com/tide-compiler/tide/llvmgen"
	"github.com/tide-compiler/tide/te"
)

// A baseline of C sources of its own (compiled with their flags, declared
// by Decls) runs without a library; one whose harness prints SkipMarker is
// a *SkipError with the reason, not a failure.
func TestBaselineSourcesAndSkip(t *testing.T) {
	tgt, err := llvmgen.ParseTarget("x86-64")
	if err != nil {
		t.Fatal(err)
	}
	if !Native(tgt) {
		t.Skip("baselines are timed natively only, and this machine is not x86-64")
	}
	requireTools(t, GCC)
	twice := Baseline{
		Name:    "twice",
		Decls:   "void twice(const float *x, float *y, int n);",
		Sources: []CSource{{Name: "twice.c", Text: "#ifndef FACTOR\n#error no -D FACTOR\n#endif\nvoid twice(const float *x, float *y, int n) { for (int i = 0; i < n; i++) y[i] = FACTOR * x[i]; }\n", Flags: []string{"-O3", "-DFACTOR=2"}}},
		Call:    "twice(in0, out0, 3);",
	}
	x := te.NewBuffer(te.Float32, []int{3})
	x.Floats = []float64{1, -2, 3.5}
	_, outs, err := BenchBaseline(tgt, twice, []*te.Buffer{x}, []te.DType{te.Float32}, [][]int{{3}}, t.TempDir(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := outs[0].Floats; got[0] != 2 || got[1] != -4 || got[2] != 7 {
		t.Errorf("twice: %v", got)
	}
	twice.Setup = `printf("` + SkipMarker + `this CPU lacks a feature\n"); return 0;`
	_, _, err = BenchBaseline(tgt, twice, []*te.Buffer{x}, []te.DType{te.Float32}, [][]int{{3}}, t.TempDir(), 1)
	var skip *SkipError
	if !errors.As(err, &skip) || skip.Reason != "this CPU lacks a feature" || err.Error() != "twice: skipped: this CPU lacks a feature" {
		t.Errorf("skipped: %v", err)
	}
}
