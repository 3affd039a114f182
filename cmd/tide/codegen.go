package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"tide/driver"
	"tide/dsl"
	"tide/llvmgen"
	"tide/lower"
	"tide/te"
	"tide/tensorio"
)

// lowerProgram lowers a program and prints its diagnostics.
func lowerProgram(stderr io.Writer, prog *dsl.Program) (*lower.Func, error) {
	f, diags, err := lower.Lower(prog.Kernel, prog.Schedule, nil)
	if err != nil {
		return nil, userError{err}
	}
	for _, d := range diags {
		fmt.Fprintf(stderr, "%s%s\n", diagPos(prog, d), d)
	}
	return f, nil
}

// loadForTarget parses the target and the file, and lowers the kernel.
func loadForTarget(stderr io.Writer, path, target string) (llvmgen.Target, *dsl.Program, *lower.Func, error) {
	tgt, err := llvmgen.ParseTarget(target)
	if err != nil {
		return llvmgen.Target{}, nil, nil, err
	}
	prog, err := load(path)
	if err != nil {
		return llvmgen.Target{}, nil, nil, err
	}
	f, err := lowerProgram(stderr, prog)
	return tgt, prog, f, err
}

func targetFlags(cmd *cobra.Command, target *string, fast *bool) {
	cmd.Flags().StringVar(target, "target", "host", "x86-64, cortex-a53, host, or llvm -mtriple=... -mcpu=... -mattr=...")
	cmd.Flags().BoolVar(fast, "fast-math", false, "let LLVM reassociate float arithmetic and fuse multiply-adds (results differ in the last bits)")
}

func buildCmd(stdout, stderr io.Writer) *cobra.Command {
	var target, out, header, obj string
	var fast bool
	cmd := &cobra.Command{
		Use:   "build FILE",
		Short: "Generate LLVM IR (.ll) for a kernel, and optionally a C header and an object file",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tgt, prog, f, err := loadForTarget(stderr, args[0], target)
			if err != nil {
				return err
			}
			m, warnings, err := llvmgen.Generate(f, tgt, llvmgen.Options{FastMath: fast})
			if err != nil {
				return userError{err}
			}
			for _, w := range warnings {
				fmt.Fprintf(stderr, "warning: %s\n", w)
			}
			if out == "" {
				out = prog.Kernel.Name + ".ll"
			}
			if err := os.WriteFile(out, []byte(m.String()), 0o644); err != nil {
				return userError{err}
			}
			fmt.Fprintf(stdout, "wrote %s (%s)\n", out, tgt.Triple)
			if header != "" {
				if err := os.WriteFile(header, []byte(llvmgen.Header(f)), 0o644); err != nil {
					return userError{err}
				}
				fmt.Fprintf(stdout, "wrote %s\n", header)
			}
			if obj != "" {
				if err := driver.Compile(tgt, out, obj); err != nil {
					return userError{err}
				}
				fmt.Fprintf(stdout, "wrote %s\n", obj)
			}
			return nil
		},
	}
	targetFlags(cmd, &target, &fast)
	cmd.Flags().StringVarP(&out, "output", "o", "", "the .ll file to write (default KERNEL.ll)")
	cmd.Flags().StringVar(&header, "header", "", "also write a C header to this file")
	cmd.Flags().StringVar(&obj, "obj", "", "also compile an object file with clang -O3")
	return cmd
}

func runCmd(stdout, stderr io.Writer) *cobra.Command {
	var target, inputs, outputs string
	var seed uint64
	var fast bool
	sizes := sizeFlag{}
	cmd := &cobra.Command{
		Use:   "run FILE",
		Short: "Build a kernel for a target, run it (under qemu for cortex-a53 on x86), and compare with the reference evaluator",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tgt, prog, f, err := loadForTarget(stderr, args[0], target)
			if err != nil {
				return err
			}
			sv, in, want, err := reference(prog, sizes, inputs, seed)
			if err != nil {
				return err
			}
			dir, err := os.MkdirTemp("", "tide-run-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			got, warnings, err := driver.RunKernel(tgt, llvmgen.Options{FastMath: fast}, f, in, sv, dir)
			for _, w := range warnings {
				fmt.Fprintf(stderr, "warning: %s\n", w)
			}
			if err != nil {
				return userError{err}
			}
			passed := compareOutputs(stdout, prog, got, want, " on "+tgt.Name)
			if outputs != "" {
				if err := os.MkdirAll(outputs, 0o755); err != nil {
					return userError{err}
				}
				for i, t := range prog.Kernel.Outputs {
					if err := tensorio.WriteNpy(filepath.Join(outputs, t.Name+".npy"), got[i]); err != nil {
						return userError{err}
					}
				}
			}
			if !passed {
				return userError{fmt.Errorf("the generated code differs from the reference evaluator")}
			}
			return nil
		},
	}
	targetFlags(cmd, &target, &fast)
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed for random inputs")
	cmd.Flags().StringVar(&inputs, "inputs", "", "read inputs from `DIR`/NAME.npy")
	cmd.Flags().StringVar(&outputs, "outputs", "", "write the generated code's outputs to `DIR`/NAME.npy")
	cmd.Flags().Var(sizes, "set", "value of a symbolic dimension, `NAME=VALUE` (repeatable)")
	return cmd
}

func benchCmd(stdout, stderr io.Writer) *cobra.Command {
	var target string
	var fast bool
	var threads, repeat int
	var seed uint64
	var vs string
	sizes := sizeFlag{}
	cmd := &cobra.Command{
		Use:   "bench FILE",
		Short: "Time a kernel on this machine: a warm-up call, then the median of --repeat calls, and GFLOP/s or Gop/s",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tgt, prog, f, err := loadForTarget(stderr, args[0], target)
			if err != nil {
				return err
			}
			if !driver.Native(tgt) {
				return estimate(stdout, tgt, llvmgen.Options{FastMath: fast}, f)
			}
			sv, in, want, err := reference(prog, sizes, "", seed)
			if err != nil {
				return err
			}
			if vs != "" && vs != "openblas" {
				return fmt.Errorf("--vs %s: the baselines are: openblas", vs)
			}
			var m, n, k int
			if vs == "openblas" {
				var ok bool
				if m, n, k, ok = te.MatmulShape(prog.Kernel, sv); !ok {
					return userError{fmt.Errorf("--vs openblas times cblas_sgemm, which computes C[i, j] = sum(A[i, k] * B[k, j]) in float32; kernel %s is not of that form", prog.Kernel.Name)}
				}
			}
			if threads > 0 {
				os.Setenv("OMP_NUM_THREADS", fmt.Sprint(threads))
				os.Setenv("OPENBLAS_NUM_THREADS", fmt.Sprint(threads))
			}
			dir, err := os.MkdirTemp("", "tide-bench-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			times, got, err := driver.BenchKernel(tgt, llvmgen.Options{FastMath: fast}, f, in, sv, dir, repeat)
			if err != nil {
				return userError{err}
			}
			for i, t := range prog.Kernel.Outputs {
				if m := te.Compare(got[i], want[i], checkTol); m.First >= 0 {
					return userError{fmt.Errorf("bench: output %s differs from the reference evaluator %s", t.Name, m.Detail)}
				}
			}
			slices.Sort(times)
			median := times[len(times)/2]
			ops, isFloat, err := te.OpCount(prog.Kernel, sv)
			if err != nil {
				return userError{err}
			}
			unit := "Gop/s"
			if isFloat {
				unit = "GFLOP/s"
			}
			th := os.Getenv("OMP_NUM_THREADS")
			if th == "" {
				th = "default"
			}
			fmt.Fprintf(stdout, "%s on %s, threads %s: median %v of %d runs (min %v), %.3g ops, %.2f %s (results checked against the evaluator)\n",
				prog.Kernel.Name, tgt.Name, th, median, len(times), times[0], ops, ops/median.Seconds()/1e9, unit)
			if vs == "openblas" {
				bt, err := driver.BenchSgemm(tgt, m, n, k, dir, repeat)
				if err != nil {
					return userError{err}
				}
				slices.Sort(bt)
				bm := bt[len(bt)/2]
				fmt.Fprintf(stdout, "openblas cblas_sgemm %dx%dx%d: median %v (min %v), %.2f GFLOP/s; Tide/OpenBLAS speed ratio %.2f (same run)\n",
					m, n, k, bm, bt[0], 2*float64(m)*float64(n)*float64(k)/bm.Seconds()/1e9, bm.Seconds()/median.Seconds())
			}
			return nil
		},
	}
	targetFlags(cmd, &target, &fast)
	cmd.Flags().IntVar(&threads, "threads", 0, "OpenMP threads for parallel loops (default: OMP_NUM_THREADS or all cores)")
	cmd.Flags().IntVar(&repeat, "repeat", 10, "timed runs after one warm-up run")
	cmd.Flags().StringVar(&vs, "vs", "", "also time a baseline on the same shapes: openblas (cblas_sgemm, for a matmul)")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed for random inputs")
	cmd.Flags().Var(sizes, "set", "value of a symbolic dimension, `NAME=VALUE` (repeatable)")
	return cmd
}

// estimate reports llvm-mca's static cycles per iteration of the innermost
// loops, for a target that only runs under emulation here (where wall time
// means nothing).
func estimate(w io.Writer, tgt llvmgen.Target, opts llvmgen.Options, f *lower.Func) error {
	m, _, err := llvmgen.Generate(f, tgt, opts)
	if err != nil {
		return userError{err}
	}
	dir, err := os.MkdirTemp("", "tide-mca-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ll := filepath.Join(dir, "kernel.ll")
	if err := os.WriteFile(ll, []byte(m.String()), 0o644); err != nil {
		return err
	}
	loops, err := driver.EstimateLoops(tgt, ll, dir)
	if err != nil {
		return userError{err}
	}
	slices.SortFunc(loops, func(a, b driver.LoopEstimate) int { return strings.Compare(a.Label, b.Label) })
	fmt.Fprintf(w, "%s on %s runs under emulation here: static estimates from llvm-mca (-mcpu=%s), not measurements\n", f.Name, tgt.Name, tgt.CPU)
	for _, l := range loops {
		fmt.Fprintf(w, "  innermost loop %s: %d instructions, %.2f cycles per iteration\n", l.Label, l.Instructions, l.Cycles)
	}
	return nil
}
