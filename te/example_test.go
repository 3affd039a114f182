package te_test

import (
	"fmt"

	"github.com/tide-compiler/tide/te"
)

// Building C = A·B from Go and evaluating it with the reference evaluator.
func Example() {
	n := te.SizeVar("n")
	A, _ := te.Placeholder("A", []te.Expr{n, te.Int(3)}, te.Int32)
	B, _ := te.Placeholder("B", []te.Expr{te.Int(3), te.Int(2)}, te.Int32)
	k := te.ReduceAxis("k", te.Int(0), te.Int(3))
	C, err := te.Compute("C", []te.Expr{n, te.Int(2)}, func(ax []te.Expr) te.Expr {
		i, j := ax[0], ax[1]
		return te.ReduceOf(te.Sum, te.MulOf(A.At(i, k.Var), B.At(k.Var, j)), k)
	}, "i", "j")
	if err != nil {
		fmt.Println(err)
		return
	}
	kern, _ := te.NewKernel("matmul", []*te.Tensor{A, B}, []*te.Tensor{C}, nil)

	a := te.NewBuffer(te.Int32, []int{2, 3})
	copy(a.Ints, []int64{1, 2, 3, 4, 5, 6})
	b := te.NewBuffer(te.Int32, []int{3, 2})
	copy(b.Ints, []int64{1, 0, 0, 1, 1, 1})
	out, err := te.EvalKernel(kern, []*te.Buffer{a, b}, map[*te.Var]int64{n: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(C.DType, te.ShapeString(C.Shape), te.ExprString(C.Body))
	fmt.Println(out[0].Ints)

	// Type errors are Go errors, never panics.
	_, err = te.Compute("D", []te.Expr{n}, func(ax []te.Expr) te.Expr {
		return te.AddOf(A.At(ax[0], te.Int(0)), te.Float(0.5))
	})
	fmt.Println(err)
	// Output:
	// int32 (n, 2) sum(A[i, k] * B[k, j], axis=k)
	// [4 5 10 11]
	// compute D: in '+': float constant 0.5 cannot be used as int32; to compute in floating point, convert the int32 operand: cast(float32, x)
}
