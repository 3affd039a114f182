package llvmgen_test

import (
	"fmt"
	"strings"

	"github.com/tide-compiler/tide/llvmgen"
	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/schedule"
	"github.com/tide-compiler/tide/te"
)

// Generating LLVM IR for both of Tide's machines from one lowered kernel:
// the vectorized loop becomes 8-lane vector code on x86-64 (AVX2) and on
// cortex-a53 too (LLVM splits it into NEON's 4-lane registers).
func ExampleGenerate() {
	a, _ := te.Placeholder("A", []te.Expr{te.Int(64)}, te.Float32)
	b, _ := te.Compute("B", []te.Expr{te.Int(64)}, func(i []te.Expr) te.Expr {
		return te.Bin(te.Add, a.At(i[0]), te.Float(1))
	}, "i")
	k, _ := te.NewKernel("add_one", []*te.Tensor{a}, []*te.Tensor{b}, nil)
	s := schedule.New(b)
	st := s.Stage(b)
	_, inner, _ := st.Split(st.Axis("i"), 8)
	st.Vectorize(inner)
	f, _, err := lower.Lower(k, s, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, name := range []string{"x86-64", "cortex-a53"} {
		t, _ := llvmgen.ParseTarget(name)
		m, _, err := llvmgen.Generate(f, t, llvmgen.Options{})
		if err != nil {
			fmt.Println(err)
			return
		}
		ir := m.String()
		fmt.Println(name, m.TargetTriple, strings.Contains(ir, "fadd <8 x float>"))
	}
	// Output:
	// x86-64 x86_64-pc-linux-gnu true
	// cortex-a53 aarch64-unknown-linux-gnu true
}
