package lower_test

import (
	"fmt"

	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/schedule"
	"github.com/tide-compiler/tide/te"
)

// Lowering a scheduled kernel, watching one pass, and running the loop IR
// in the interpreter against the reference evaluator.
func ExampleLower() {
	a, _ := te.Placeholder("A", []te.Expr{te.Int(8)}, te.Int32)
	b, _ := te.Compute("B", []te.Expr{te.Int(8)}, func(i []te.Expr) te.Expr {
		return te.Bin(te.Mul, a.At(i[0]), te.Int(3))
	}, "i")
	k, _ := te.NewKernel("triple", []*te.Tensor{a}, []*te.Tensor{b}, nil)
	s := schedule.New(b)
	st := s.Stage(b)
	_, inner, _ := st.Split(st.Axis("i"), 4)
	st.Vectorize(inner)

	f, _, err := lower.Lower(k, s, func(pass string, f *lower.Func) {
		if pass == "nest" {
			fmt.Printf("after %s:\n%s", pass, f)
		}
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("after every pass (%v):\n%s", f.Passes, f)

	in := te.NewBuffer(te.Int32, []int{8})
	copy(in.Ints, []int64{1, 2, 3, 4, 5, 6, 7, 8})
	got, _ := lower.Run(f, []*te.Buffer{in}, nil)
	want, _ := te.EvalKernel(k, []*te.Buffer{in}, nil)
	fmt.Println(got[0].Ints, te.Compare(got[0], want[0], 0).First < 0)
	// Output:
	// after nest:
	// func triple(A: int32(8,), B: int32(8,)) {
	//   for (i.outer, 0, 2) {
	//     vectorized (i.inner, 0, 4) {
	//       B[i.outer * 4 + i.inner] = A[i.outer * 4 + i.inner] * 3
	//     }
	//   }
	// }
	// after every pass ([nest simplify partition vectorize unroll accumulate final-simplify]):
	// func triple(A: int32(8,), B: int32(8,)) {
	//   for (i.outer, 0, 2) {
	//     B[ramp(i.outer * 4, 1, 4)] = A[ramp(i.outer * 4, 1, 4)] * broadcast(3, 4)
	//   }
	// }
	// [3 6 9 12 15 18 21 24] true
}
