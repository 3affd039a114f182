// Command library uses Tide as a library from another Go module: it parses
// a .te program, lowers it with its schedule, generates LLVM IR for
// x86-64, and checks the loop IR against the reference evaluator in the
// loop-IR interpreter.
//
//	cd examples/library && go run .
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/tide-compiler/tide/dsl"
	"github.com/tide-compiler/tide/llvmgen"
	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/te"
)

const source = `A = placeholder((64,), float32)
B = compute((64,), (i) => max(A[i] * 2.0, 0.0))
kernel double_relu(A) -> B
schedule B {
    io, ii = split(i, factor=8)
    vectorize(ii)
}
`

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	p, err := dsl.Parse("double_relu.te", []byte(source))
	if err != nil {
		return err
	}
	f, _, err := lower.Lower(p.Kernel, p.Schedule, nil)
	if err != nil {
		return err
	}
	fmt.Print(f)

	// the loop IR in the interpreter against the reference evaluator
	a := te.NewBuffer(te.Float32, []int{64})
	for i := range a.Floats {
		a.Floats[i] = float64(i%7) - 3
	}
	want, err := te.EvalKernel(p.Kernel, []*te.Buffer{a}, nil)
	if err != nil {
		return err
	}
	got, err := lower.Run(f, []*te.Buffer{a}, nil)
	if err != nil {
		return err
	}
	if m := te.Compare(got[0], want[0], 0); m.First >= 0 {
		return fmt.Errorf("the loop IR disagrees with the evaluator: %s", m.Detail)
	}
	fmt.Println("loop IR equals the reference evaluator")

	target, err := llvmgen.ParseTarget("x86-64")
	if err != nil {
		return err
	}
	m, _, err := llvmgen.Generate(f, target, llvmgen.Options{})
	if err != nil {
		return err
	}
	for _, line := range strings.Split(m.String(), "\n") {
		if strings.HasPrefix(line, "define ") {
			fmt.Println(line)
		}
	}
	return nil
}
