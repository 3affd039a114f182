package schedule_test

import (
	"fmt"

	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/schedule"
	"github.com/tide-compiler/tide/te"
)

// A schedule built from Go: split a loop whose extent 20 is not a multiple
// of the factor, vectorize the inner loop, and lower. The main loop keeps
// full vectors; the last 4 elements run in a scalar tail loop, which a
// note reports.
func Example() {
	a, _ := te.Placeholder("A", []te.Expr{te.Int(20)}, te.Float32)
	b, _ := te.Compute("B", []te.Expr{te.Int(20)}, func(i []te.Expr) te.Expr {
		return te.Bin(te.Mul, a.At(i[0]), te.Float(2))
	}, "i")
	k, _ := te.NewKernel("double", []*te.Tensor{a}, []*te.Tensor{b}, nil)

	s := schedule.New(b)
	st := s.Stage(b)
	io, ii, _ := st.Split(st.Axis("i"), 8)
	io.SetName("io")
	ii.SetName("ii")
	if err := st.Vectorize(ii); err != nil {
		fmt.Println(err)
	}
	f, diags, err := lower.Lower(k, s, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(f)
	for _, d := range diags {
		fmt.Println(d)
	}
	// Output:
	// func double(A: float32(20,), B: float32(20,)) {
	//   for (io, 0, 2) {
	//     B[ramp(io * 8, 1, 8)] = A[ramp(io * 8, 1, 8)] * broadcast(2.0, 8)
	//   }
	//   for (ii, 0, 4) {
	//     B[ii + 16] = A[ii + 16] * 2.0
	//   }
	// }
	// note: vectorize(ii): runs as a scalar loop: this is the tail of a split that does not divide its extent (ii + 16 < 20)
}

// Misuses are errors that say what would be legal.
func ExampleStage_Split_twice() {
	a, _ := te.Placeholder("A", []te.Expr{te.Int(16)}, te.Int32)
	b, _ := te.Compute("B", []te.Expr{te.Int(16)}, func(i []te.Expr) te.Expr { return a.At(i[0]) }, "i")
	st := schedule.New(b).Stage(b)
	i := st.Axis("i")
	if _, _, err := st.Split(i, 4); err != nil {
		fmt.Println(err)
	}
	if _, _, err := st.Split(i, 2); err != nil {
		fmt.Println(err)
	}
	// Output:
	// split: i was already split into i.outer and i.inner; use those (the loops of B are i.outer, i.inner)
}
