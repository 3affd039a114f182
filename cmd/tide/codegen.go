package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tide-compiler/tide/driver"
	"github.com/tide-compiler/tide/dsl"
	"github.com/tide-compiler/tide/llvmgen"
	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/tensorio"
	"github.com/tide-compiler/tide/topi"
)

// lowerProgram lowers a program and prints its diagnostics.
func lowerProgram(stderr io.Writer, prog *dsl.Program, opts lower.Options) (*lower.Func, error) {
	f, diags, err := lower.LowerWith(prog.Kernel, prog.Schedule, opts, nil)
	if err != nil {
		return nil, userError{err}
	}
	printDiagnostics(stderr, prog, diags)
	return f, nil
}

// printDiagnostics prints one line per distinct diagnostic, with a count:
// a network's operators repeat the same note in every layer of one shape.
func printDiagnostics(stderr io.Writer, prog *dsl.Program, diags []lower.Diagnostic) {
	var lines []string
	count := map[string]int{}
	for _, d := range diags {
		line := fmt.Sprintf("%s%s", diagPos(prog, d), d)
		if count[line] == 0 {
			lines = append(lines, line)
		}
		count[line]++
	}
	for _, line := range lines {
		if n := count[line]; n > 1 {
			line += fmt.Sprintf(" (%d times)", n)
		}
		fmt.Fprintln(stderr, line)
	}
}

// loadForTarget parses the target and the file, and lowers the kernel (for
// a network: the network function, and nb).
func loadForTarget(cmd *cobra.Command, stderr io.Writer, path, target string, nf *netFlags) (tgt llvmgen.Target, prog *dsl.Program, nb *netBuild, f *lower.Func, err error) {
	if tgt, err = driver.ParseTarget(target); err != nil {
		return
	}
	// a network's partition, schedules and lowering take seconds
	defer activity(stderr, "compiling "+filepath.Base(path))()
	if prog, nb, err = loadProgram(cmd, path, opTarget(tgt), nf); err != nil {
		return
	}
	if prog, nb, err = applyTuned(cmd, stderr, path, tgt, prog, nb, nf); err != nil {
		return
	}
	if f, err = lowerProgram(stderr, prog, nb.lowerOptions()); err != nil {
		return
	}
	if nb != nil {
		f, err = nb.finish(prog, f, nf)
	}
	return
}

// opTarget is what the operator library's schedules know of a target.
func opTarget(t llvmgen.Target) *topi.Target {
	return &topi.Target{Name: t.Name, VectorBits: t.VectorBits, Features: t.FeatureNames()}
}

// tunedFlag is --tuned LOG: the best record of a tuning log gives the knobs
// their values (applyTuned).
func tunedFlag(cmd *cobra.Command) {
	cmd.Flags().String("tuned", "", "give the knobs the values of the fastest working record in this tide tune `LOG` for the target, CPU, kernel and shapes")
}

func targetFlags(cmd *cobra.Command, target *string, fast *bool) {
	cmd.Flags().StringVar(target, "target", "host", "x86-64 (AVX2, FMA), cortex-a53, host (this machine, all its features), or llvm -mtriple=... -mcpu=... -mattr=...")
	cmd.Flags().BoolVar(fast, "fast-math", false, "let LLVM reassociate float arithmetic and fuse multiply-adds, and make float min/max a compare-select that keeps no NaN or zero sign (results differ in the last bits)")
}

func buildCmd(stdout, stderr io.Writer) *cobra.Command {
	var target, out, header, obj string
	var fast bool
	var nf netFlags
	cmd := &cobra.Command{
		Use:   "build FILE",
		Short: "Generate LLVM IR (.ll) for a kernel, and optionally a C header and an object file",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tgt, prog, nb, f, err := loadForTarget(cmd, stderr, args[0], target, &nf)
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
				if err := os.WriteFile(header, []byte(llvmgen.Header(f, tgt)), 0o644); err != nil {
					return userError{err}
				}
				fmt.Fprintf(stdout, "wrote %s\n", header)
			}
			if obj != "" {
				// the module's groups compile in parallel (driver.CompileModule)
				dir, remove, err := tempDir("tide-build-")
				if err != nil {
					return err
				}
				defer remove()
				var flags []string
				if nb.codegen(llvmgen.Options{}).NoAutoVectorize {
					flags = []string{"-fno-vectorize", "-fno-slp-vectorize"}
				}
				if err := driver.CompileModule(tgt, m, dir, obj, flags...); err != nil {
					return userError{err}
				}
				fmt.Fprintf(stdout, "wrote %s\n", obj)
			}
			return nil
		},
	}
	targetFlags(cmd, &target, &fast)
	tunedFlag(cmd)
	cmd.Flags().StringVarP(&out, "output", "o", "", "the .ll file to write (default KERNEL.ll)")
	cmd.Flags().StringVar(&header, "header", "", "also write a C header to this file")
	cmd.Flags().StringVar(&obj, "obj", "", "also compile an object file with clang -O3")
	addNetFlags(cmd, &nf)
	return cmd
}

func runCmd(stdout, stderr io.Writer) *cobra.Command {
	var target, inputs, outputs string
	tol := defaultTol
	var seed uint64
	var fast, sanitize bool
	var nf netFlags
	sizes := sizeFlag{}
	cmd := &cobra.Command{
		Use:   "run FILE",
		Short: "Build a kernel for a target, run it (under qemu for cortex-a53 on x86), and compare with the reference evaluator",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := tol.check(); err != nil {
				return err
			}
			nf.seed = seed
			tgt, prog, nb, f, err := loadForTarget(cmd, stderr, args[0], target, &nf)
			if err != nil {
				return err
			}
			if err := writableDir(outputs); err != nil {
				return err
			}
			sv, in, want, err := reference(stderr, prog, nb, sizes, inputs, seed)
			if err != nil {
				return err
			}
			dir, remove, err := tempDir("tide-run-")
			if err != nil {
				return err
			}
			defer remove()
			if sanitize && !driver.Native(tgt) {
				return userError{fmt.Errorf("--sanitize runs AddressSanitizer natively; %s runs under emulation here", tgt.Name)}
			}
			if nb != nil {
				in = nb.callInputs(in)
			}
			stop := activity(stderr, "building and running on "+tgt.Name)
			got, warnings, err := driver.RunKernel(tgt, nb.codegen(llvmgen.Options{FastMath: fast, Sanitize: sanitize}), f, in, sv, dir)
			stop()
			for _, w := range warnings {
				fmt.Fprintf(stderr, "warning: %s\n", w)
			}
			if err != nil {
				return userError{err}
			}
			passed := compareOutputs(stdout, prog, got, want, " on "+tgt.Name, tol)
			if nb != nil && passed && driver.Native(tgt) && !sanitize {
				// a network's time per inference, as the main job reports it
				times, _, err := driver.BenchKernel(tgt, nb.codegen(llvmgen.Options{FastMath: fast}), f, in, sv, dir, 5)
				if err != nil {
					return userError{err}
				}
				where := "in the module"
				if nf.runtimeWeights {
					where = "passed as arguments"
				}
				fmt.Fprintf(stdout, "%s on %s: %v per inference (median of %d after a warm-up; min %v); workspace %d bytes, weights %d bytes %s\n",
					prog.Kernel.Name, tgt.Name, medianOf(times), len(times), slices.Min(times), f.Workspace.Bytes, nb.stats.ConstantBytes, where)
			}
			if outputs != "" {
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
	tunedFlag(cmd)
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed for random inputs")
	cmd.Flags().StringVar(&inputs, "inputs", "", "read inputs from `DIR`/NAME.npy")
	cmd.Flags().StringVar(&outputs, "outputs", "", "write the generated code's outputs to `DIR`/NAME.npy")
	cmd.Flags().Var(sizes, "set", "value of a symbolic dimension, `NAME=VALUE` (repeatable)")
	cmd.Flags().BoolVar(&sanitize, "sanitize", false, "build with AddressSanitizer (clang -fsanitize=address; native targets): an out-of-bounds access fails the run")
	toleranceFlags(cmd, &tol)
	addNetFlags(cmd, &nf)
	return cmd
}

func benchCmd(stdout, stderr io.Writer) *cobra.Command {
	var target, threads, vs string
	var fast bool
	var repeat int
	var seed uint64
	var nf netFlags
	var profile, ablation, speedupTable bool
	var plotFile string
	sizes := sizeFlag{}
	cmd := &cobra.Command{
		Use:   "bench FILE",
		Short: "Time a kernel on this machine: a warm-up call, then the median of --repeat calls, and GFLOP/s or Gop/s",
		Long: `Time a kernel on this machine: a warm-up call, then the median of --repeat calls,
and GFLOP/s (float) or Gop/s (integer and bit operations), counted from the compute
declaration. The kernel's outputs are checked: against a baseline's when --vs
names one that computes the same thing (an independent implementation, and much
faster than the evaluator on large shapes), else against the reference evaluator.

--vs times baselines in the same run: openblas (cblas_sgemm for a kernel with
sgemm's signature; im2col + sgemm for a conv2d), onednn (oneDNN's convolution),
and, for a binarized convolution (bitserial_conv2d, NHWC), float convolutions of
the same shape on float data: openblas, onednn and tide (Tide's own conv2d with
its default schedule), whose outputs must agree with each other. xnor-avx2
and xnor-avx512 are hand-written C references for a binarized convolution
(NHWC, bipolar, 1-bit activations and weights, stride 1 or 2, pad_value=zero):
bench/xnor_avx2.c (64-bit words, vpshufb popcounts) and bench/xnor_avx512.c
(vpopcntd; skipped on a CPU without AVX-512 VPOPCNTDQ). They run on the
kernel's own packed inputs, must equal its output exactly, repack the weights
before the timed calls and run on OpenMP over output rows (--threads sets
their threads too). For a network, --vs tide-float,onednn times its float twin NAME_float.te compiled by Tide and
run by oneDNN's primitives (checked against each other); --speedups times the
network at 1 and 2 bits, bipolar and unipolar, against both.

--threads 1,2 times each thread count in the same run and prints the speedup over
the first. Under emulation (cortex-a53 here) wall time means nothing: bench
reports an estimate instead, llvm-mca's cycles for each innermost loop and
basic block times its executions counted under qemu; --ablation and
--speedups compare such estimates (on one core, and on a Pi's 4 cores
sharing the parallel loops ideally), against the float twin alone.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			counts, err := threadCounts(threads)
			if err != nil {
				return err
			}
			nf.seed = seed
			if ablation {
				return ablate(cmd, stdout, args[0], target, nf, fast, repeat, plotFile)
			}
			if speedupTable {
				if len(counts) == 1 && counts[0] > 0 {
					os.Setenv("OMP_NUM_THREADS", fmt.Sprint(counts[0]))
				}
				return speedups(cmd, stdout, args[0], target, nf, fast, repeat, plotFile)
			}
			tgt, prog, nb, f, err := loadForTarget(cmd, stderr, args[0], target, &nf)
			if err != nil {
				return err
			}
			if !driver.Native(tgt) && nb != nil {
				_, in, err := kernelInputs(prog, sizes, "", seed, false)
				if err != nil {
					return err
				}
				return estimateNetwork(stdout, tgt, nb.codegen(llvmgen.Options{FastMath: fast}), nb, f, nb.callInputs(in[:len(in)-len(nb.weights)]))
			}
			if !driver.Native(tgt) {
				return estimate(stdout, tgt, llvmgen.Options{FastMath: fast}, prog, f)
			}
			sv, in, err := kernelInputs(prog, sizes, "", seed, false)
			if err != nil {
				return err
			}
			var netBase *networkBaselines
			if nb != nil {
				if vs != "" {
					self := &runnable{path: args[0], tgt: tgt, nb: nb, f: f, in: nb.callInputs(in[:len(in)-len(nb.weights)])}
					if netBase, err = loadNetworkBaselines(cmd, stderr, self, target, nf, vs); err != nil {
						return err
					}
				}
				vs = "" // the operator baselines below are not a network's
				in = nb.callInputs(in[:len(in)-len(nb.weights)])
				// a whole network at its real size is beyond the evaluator
				fmt.Fprintf(stdout, "(bench does not check a network's outputs: tide run does, against the reference evaluator)\n")
			}
			comps, err := comparisons(vs, prog, sv, in, tgt, llvmgen.Options{FastMath: fast}, seed)
			if err != nil {
				return userError{err}
			}
			bitMACs, err := binaryMACs(prog.Kernel)
			if err != nil {
				return err
			}
			ops, isFloat, err := te.OpCount(prog.Kernel, sv)
			if err != nil {
				return userError{err}
			}
			unit := "Gop/s"
			if isFloat {
				unit = "GFLOP/s"
			}
			dir, remove, err := tempDir("tide-bench-")
			if err != nil {
				return err
			}
			defer remove()
			var want []*te.Buffer // the evaluator's outputs, when there is no baseline
			var first time.Duration
			for i, th := range counts {
				label := "default"
				if th > 0 {
					label = fmt.Sprint(th)
					os.Setenv("OMP_NUM_THREADS", label)
					os.Setenv("OPENBLAS_NUM_THREADS", label)
				}
				times, got, err := driver.BenchKernel(tgt, nb.codegen(llvmgen.Options{FastMath: fast}), f, in, sv, dir, repeat)
				if err != nil {
					return userError{err}
				}
				median := medianOf(times)
				// each baseline's line, and what the outputs were checked against
				var lines []string
				var checked string
				var floatRef *te.Buffer // the first float baseline's output, for a binarized kernel
				var floatRefName string
				for _, c := range comps {
					bt, bout, err := c.run(dir, repeat)
					var skip *driver.SkipError
					if errors.As(err, &skip) {
						lines = append(lines, fmt.Sprintf("%s, threads %s: skipped: %s\n", c.name, label, skip.Reason))
						continue
					}
					if err != nil {
						return userError{err}
					}
					switch {
					case c.sameAsKernel:
						if err := sameOutputs(prog, got, []*te.Buffer{bout}, "the baseline ("+c.name+")"); err != nil {
							return err
						}
						checked = c.name
					case floatRef == nil:
						floatRef, floatRefName = bout, c.name
					default:
						if m := te.Compare(bout, floatRef, convTol); m.First >= 0 {
							return userError{fmt.Errorf("bench: %s and %s disagree %s", c.name, floatRefName, m.Detail)}
						}
					}
					bm := medianOf(bt)
					rate := fmt.Sprintf("%.2f %s", ops/bm.Seconds()/1e9, unit)
					if c.flops > 0 {
						rate = fmt.Sprintf("%.2f GFLOP/s", c.flops/bm.Seconds()/1e9)
					}
					lines = append(lines, fmt.Sprintf("%s, threads %s: median %v (min %v), %s; Tide/baseline speed ratio %.2f (same run)\n",
						c.name, label, bm, bt[0], rate, bm.Seconds()/median.Seconds()))
				}
				if checked == "" && nb != nil {
					checked = "nothing" // said above
				}
				if checked == "" {
					checked = "the reference evaluator"
					if want == nil {
						if err := fitsMemory("the reference evaluator", te.PostOrder(prog.Kernel.Outputs), sv); err != nil {
							return err
						}
						if want, err = evalKernel(stderr, prog.Kernel, in, sv); err != nil {
							return userError{fmt.Errorf("the reference evaluator fails on these inputs: %w", err)}
						}
					}
					if err := sameOutputs(prog, got, want, checked); err != nil {
						return err
					}
				}
				speedup := ""
				if i == 0 {
					first = median
				} else {
					speedup = fmt.Sprintf(", %.2fx the speed with %s", first.Seconds()/median.Seconds(), plural(counts[0], "thread"))
				}
				if bitMACs > 0 {
					speedup = fmt.Sprintf(", %.0f G binary MACs/s%s", bitMACs/median.Seconds()/1e9, speedup)
				}
				if nb != nil {
					// a network's rate in ops would mix float and bit operations:
					// its time per inference is the figure
					fmt.Fprintf(stdout, "%s on %s, threads %s: median %v per inference of %d runs (min %v)%s\n",
						prog.Kernel.Name, tgt.Name, label, median, len(times), slices.Min(times), speedup)
				} else {
					fmt.Fprintf(stdout, "%s on %s, threads %s: median %v of %d runs (min %v), %.3g ops, %.2f %s%s (outputs checked against %s)\n",
						prog.Kernel.Name, tgt.Name, label, median, len(times), times[0], ops, ops/median.Seconds()/1e9, unit, speedup, checked)
				}
				fmt.Fprint(stdout, strings.Join(lines, ""))
				if netBase != nil {
					if err := netBase.run(stdout, label, median, fast, repeat); err != nil {
						return err
					}
				}
				if profile {
					if nb == nil {
						return userError{fmt.Errorf("--profile times a network's groups; %s is a kernel", args[0])}
					}
					_, groups, _, err := driver.ProfileKernel(tgt, nb.codegen(llvmgen.Options{FastMath: fast}), f, in, dir, repeat)
					if err != nil {
						return userError{err}
					}
					if err := printProfile(stdout, nb, groups, plotFile); err != nil {
						return err
					}
				}
			}
			return nil
		},
	}
	targetFlags(cmd, &target, &fast)
	tunedFlag(cmd)
	cmd.Flags().StringVar(&threads, "threads", "", "OpenMP threads for parallel loops, or a list like 1,2 to time each (default: OMP_NUM_THREADS or all cores)")
	cmd.Flags().IntVar(&repeat, "repeat", 10, "timed runs after one warm-up run")
	cmd.Flags().StringVar(&vs, "vs", "", "also time baselines in the same run, comma-separated: "+baselineNames)
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed for random inputs and a network's weights")
	cmd.Flags().StringVar(&plotFile, "plot", "", "with --ablation, --speedups or --profile: also draw the bars into `FILE.svg` or FILE.png (gonum/plot)")
	cmd.Flags().BoolVar(&ablation, "ablation", false, "for a network: Riptide's ablation, each optimization removed in turn and added in turn from an unoptimized build, against the float twin NAME_float.te when there is one (on cortex-a53: estimates); a measured build's outputs must equal the full build's")
	cmd.Flags().BoolVar(&speedupTable, "speedups", false, "for a binarized network: Riptide's speedup table, the network at 1 and 2 bits, bipolar and unipolar (-D BITS, -D POLARITY), against its float twin compiled by Tide and run by oneDNN, in one run (on cortex-a53: estimates, against the Tide-compiled twin)")
	cmd.Flags().BoolVar(&profile, "profile", false, "for a network: also time each fused group (as TVM's debug executor) and the share of convolutions, glue and the rest")
	cmd.Flags().Var(sizes, "set", "value of a symbolic dimension, `NAME=VALUE` (repeatable)")
	addNetFlags(cmd, &nf)
	return cmd
}

// threadCounts parses --threads: empty (the default count), N, or N,M,...
func threadCounts(s string) ([]int, error) {
	if s == "" {
		return []int{0}, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--threads %s: want a positive count or a list like 1,2", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func medianOf(times []time.Duration) time.Duration {
	slices.Sort(times)
	return times[len(times)/2]
}

// sameOutputs compares a kernel's outputs with another computation's.
func sameOutputs(prog *dsl.Program, got, want []*te.Buffer, what string) error {
	for i, t := range prog.Kernel.Outputs {
		if m := te.Compare(got[i], want[i], checkTol); m.First >= 0 {
			return userError{fmt.Errorf("bench: output %s differs from %s %s", t.Name, what, m.Detail)}
		}
	}
	return nil
}

// estimate reports llvm-mca's static cycles per iteration of the innermost
// loops, for a target that only runs under emulation here (where wall time
// means nothing).
func estimate(w io.Writer, tgt llvmgen.Target, opts llvmgen.Options, prog *dsl.Program, f *lower.Func) error {
	m, _, err := llvmgen.Generate(f, tgt, opts)
	if err != nil {
		return userError{err}
	}
	dir, remove, err := tempDir("tide-mca-")
	if err != nil {
		return err
	}
	defer remove()
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
		fmt.Fprintf(w, "  innermost loop %s: %d instructions, %.2f cycles per iteration (%.2f if only execution ports limited it)", l.Label, l.Instructions, l.Cycles, l.Throughput)
		if l.Work.Flops > 0 {
			fmt.Fprintf(w, "; %d flops per iteration, %.2f flops/cycle", l.Work.Flops, float64(l.Work.Flops)/l.Cycles)
		}
		if l.Work.PopcountBits > 0 {
			fmt.Fprintf(w, "; %d popcounts of %d bits in all per iteration, %.2f popcount bits (binary MACs) per cycle", l.Work.PopcountInsns, l.Work.PopcountBits, float64(l.Work.PopcountBits)/l.Cycles)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "  (work per iteration is counted from the loop's instructions: vector lanes, a fused multiply-add as 2 flops)\n")
	return nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
