package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tide-compiler/tide/driver"
	"github.com/tide-compiler/tide/dsl"
	"github.com/tide-compiler/tide/llvmgen"
	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/tune"
)

// tide tune: search a kernel's knobs (NAME = knob(...) constants) by
// measuring each configuration, as AutoTVM's tuners do. Every candidate is
// built and its outputs checked against the reference evaluator's before
// its time counts; one that fails to build, fails to run or computes
// something else is logged with its status and never chosen.

func tuneCmd(stdout, stderr io.Writer) *cobra.Command {
	var target, logPath, strategy, threads string
	var fast, network bool
	var trials, repeat int
	var budget time.Duration
	var seed uint64
	var nf netFlags
	sizes := sizeFlag{}
	tol := defaultTol
	cmd := &cobra.Command{
		Use:   "tune FILE",
		Short: "Search a kernel's knobs (NAME = knob(...)) by measuring each candidate; the results go to a log that --tuned applies",
		Long: `Search the knobs of a kernel (constants declared NAME = knob(8, 4, 16, ...): the
first value is the default) by measurement, as AutoTVM does. The default
configuration is measured first; then --search picks the next one: model (a
cost model fitted to the measurements so far ranks the untried configurations;
the default), random, or grid. Every candidate is built and its outputs checked
against the reference evaluator's before its time counts; one that fails to
build or run, or computes something else, is logged and never chosen.

On this machine (host, x86-64) a candidate's cost is the fastest of --repeat
calls (interference only slows a call down); on a target that runs only under emulation here (cortex-a53) it is an
ESTIMATE: the innermost loops' iterations and the other blocks' executions counted
under qemu, times llvm-mca's cycles for each.

Each measurement is appended to --log as a JSON line (target, CPU, kernel, its
shapes, knob values, cost, status). A second run with the same log resumes: it
skips what the log has measured. tide build, run, bench and lower apply the best
record with --tuned LOG; records of another target, CPU, kernel or shape are
ignored with a message. -D NAME=VALUE pins a knob: it is not searched.

The operator library's schedules declare knobs too (a convolution's register
block: NAME_rows, NAME_vectors, NAME_pixels), so a file that calls operators is
tunable as it is. A network is tuned group by group, all groups at once: each
round builds the whole network with every group's next candidate, checks its
outputs, and times every group in one profiled run (on cortex-a53, the estimate
per group); each group's measurement is its own record, and --tuned applies the
best record of every group. The file's own knobs (not a group's) are searched
first, by the whole network's time, and the groups are tuned with their best.`,
		Example: `  tide tune examples/matmul.te -D M=1024 -D N=1024 -D K=1024 --target host --fast-math --log matmul.jsonl
  tide bench examples/matmul.te -D M=1024 -D N=1024 -D K=1024 --target host --fast-math --tuned matmul.jsonl
  tide tune examples/networks/resnet18.te --target cortex-a53 --trials 8 --log resnet18.jsonl`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := tol.check(); err != nil {
				return err
			}
			if trials < 1 {
				return fmt.Errorf("--trials %d: want at least 1", trials)
			}
			if repeat < 1 {
				return fmt.Errorf("--repeat %d: want at least 1", repeat)
			}
			if logPath == "" {
				return errors.New("--log FILE is required: the measurements are kept there")
			}
			nf.seed = seed
			if threads != "" {
				n, err := threadCounts(threads)
				if err != nil || len(n) != 1 {
					return fmt.Errorf("--threads %s: want one positive count", threads)
				}
				os.Setenv("OMP_NUM_THREADS", fmt.Sprint(n[0]))
			}
			tgt, err := driver.ParseTarget(target)
			if err != nil {
				return err
			}
			prog, _, err := loadProgram(cmd, args[0], opTarget(tgt), nil)
			if err != nil {
				return err
			}
			if network && !prog.Network {
				return userError{fmt.Errorf("--network: %s declares a kernel, not a network (network NAME(inputs) -> outputs)", args[0])}
			}
			if prog.Network {
				return tuneNetwork(cmd, stdout, stderr, args[0], tgt, &nf, llvmgen.Options{FastMath: fast}, tol, logPath, tune.Strategy(strategy), trials, repeat, budget, seed)
			}
			for _, name := range prog.UnusedKnobs {
				fmt.Fprintf(stderr, "warning: knob %s is declared but nothing reads it: it is left out of the search\n", name)
			}
			space, full, pins := knobSpaces(cmd, prog)
			if len(space) == 0 {
				if len(pins) > 0 {
					return userError{fmt.Errorf("every knob of %s is pinned by -D (%s): nothing to search", args[0], pins)}
				}
				return userError{fmt.Errorf("%s declares no knobs: declare one as NAME = knob(8, 4, 16) (the first value is the default) and use NAME in a schedule, e.g. split(i, factor=NAME)", args[0])}
			}
			search, err := tune.NewSearch(space, tune.Strategy(strategy), seed)
			if err != nil {
				return err
			}
			sv, in, err := kernelInputs(prog, sizes, "", seed, true)
			if err != nil {
				return err
			}
			want, err := evalKernel(stderr, prog.Kernel, in, sv)
			if err != nil {
				return userError{fmt.Errorf("the reference evaluator fails on these inputs: %w", err)}
			}
			w := workloadOf(cmd, prog, tgt)
			recs, warns, err := tune.ReadLog(logPath)
			if err != nil {
				return userError{err}
			}
			for _, m := range warns {
				fmt.Fprintln(stderr, "warning:", m)
			}
			best, resumed := resume(search, recs, w, full, pins)
			fmt.Fprintf(stdout, "tuning %s on %s (%s): %d knob(s), %d configuration(s), search %s, %d trial(s)",
				prog.Kernel.Name, tgt.Name, w.CPU, len(space), search.Size(), strategy, trials)
			if len(pins) > 0 {
				fmt.Fprintf(stdout, "; pinned by -D: %s", pins)
			}
			fmt.Fprintln(stdout)
			if resumed > 0 {
				fmt.Fprintf(stdout, "resuming: %s already holds %d measurement(s) of this workload\n", logPath, resumed)
			}
			unit := costUnit(stdout, tgt)
			dir, remove, err := tempDir("tide-tune-")
			if err != nil {
				return err
			}
			defer remove()
			m := &measurer{cmd: cmd, path: args[0], prog: prog, tgt: tgt, opts: llvmgen.Options{FastMath: fast},
				in: in, want: want, tol: tol, sizes: sv, dir: dir, repeat: repeat}
			if unit == tune.Seconds {
				// a warm-up, not logged: a session's first run is often
				// slower (the clock ramping up, cold caches and page
				// tables), which would make the default look slow
				m.measure(withPins(space.Default(), pins))
			}
			start := time.Now()
			bar := newBar(stderr, "tuning")
			defer bar.finish()
			measured := 0
			for measured < trials && (budget == 0 || time.Since(start) < budget) {
				cfg, ok := search.Next()
				if !ok {
					fmt.Fprintf(stdout, "every configuration has been measured\n")
					break
				}
				rec := m.measure(cfg)
				rec.Config = withPins(cfg, pins)
				rec.Target, rec.CPU, rec.Kernel, rec.Workload, rec.Build, rec.Unit, rec.When = w.Target, w.CPU, w.Kernel, w.Shapes, w.Build, unit, tune.Now()
				rec.Threads = os.Getenv("OMP_NUM_THREADS")
				if err := tune.Append(logPath, rec); err != nil {
					return userError{fmt.Errorf("writing the log: %w", err)}
				}
				recs = append(recs, rec)
				measured++
				bar.set(int64(measured), int64(trials))
				cost := 0.0
				line := fmt.Sprintf("[%d/%d] %s: ", measured, trials, cfg)
				if rec.Status == tune.OK {
					cost = rec.Cost
					line += formatCost(rec.Cost, unit)
					if best == nil || rec.Cost < best.Cost {
						r := rec
						best = &r
						line += " (best so far)"
					}
				} else {
					line += fmt.Sprintf("%s: %s", rec.Status, firstLine(rec.Error))
				}
				search.Tell(cfg, cost)
				bar.clear() // the line goes where the bar was drawn
				fmt.Fprintln(stdout, line)
			}
			bar.finish()
			if best == nil {
				return userError{fmt.Errorf("no configuration worked; see the statuses above and in %s", logPath)}
			}
			fmt.Fprintf(stdout, "best: %s, %s", best.Config, formatCost(best.Cost, unit))
			def := withPins(space.Default(), pins)
			if d := costOf(recs, w, def); d > 0 && best.Cost < d {
				fmt.Fprintf(stdout, ", %.2fx the default's speed (%s)", d/best.Cost, formatCost(d, unit))
			}
			fmt.Fprintln(stdout)
			if unit == tune.Seconds && best.Config.String() != def.String() {
				// measurements taken minutes apart drift: the best and the
				// default again, alternately, in one run
				b, d := alternate(m.cost, best.Config, def, 3)
				if b > 0 && d > 0 {
					fmt.Fprintf(stdout, "confirmed in one run (fastest of 3 alternate measurements each): best %s, default %s: %.2fx\n", formatCost(b, unit), formatCost(d, unit), d/b)
					if b >= d {
						fmt.Fprintln(stdout, "the default was as fast in that run: the search's gain was the machine's drift, and the default is as good a choice")
					}
				}
			}
			fmt.Fprintf(stdout, "apply it with: --tuned %s (tide build, run, bench, lower)\n", logPath)
			return nil
		},
	}
	targetFlags(cmd, &target, &fast)
	cmd.Flags().StringVar(&logPath, "log", "", "the tuning log, JSON lines (`FILE`): measurements are appended, and a run resumes from what it holds")
	cmd.Flags().IntVar(&trials, "trials", 32, "how many configurations to measure in this run")
	cmd.Flags().DurationVar(&budget, "timeout", 0, "stop starting new measurements after this long, e.g. 2m (default: no limit)")
	cmd.Flags().StringVar(&strategy, "search", string(tune.Model), "search strategy: model, random or grid")
	cmd.Flags().IntVar(&repeat, "repeat", 5, "timed calls per candidate after one warm-up call (a kernel's cost is the fastest, a network group's the mean)")
	cmd.Flags().StringVar(&threads, "threads", "", "OpenMP threads for parallel loops while measuring (default: OMP_NUM_THREADS or all cores)")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed for the inputs and the search")
	cmd.Flags().Var(sizes, "set", "value of a symbolic dimension, `NAME=VALUE` (repeatable)")
	toleranceFlags(cmd, &tol)
	cmd.Flags().BoolVar(&network, "network", false, "say that FILE is a network and tune every group (a network file is tuned so anyway; this makes a kernel file an error)")
	addNetFlags(cmd, &nf)
	return cmd
}

// knobSpaces splits the program's knobs into those to search and those -D
// pins. A record holds every knob's value; it matches when it fits full,
// where each pinned knob has its one value.
func knobSpaces(cmd *cobra.Command, prog *dsl.Program) (search, full tune.Space, pins tune.Config) {
	defines := defineFlag{}
	if f := cmd.Flag("define"); f != nil {
		defines = f.Value.(defineFlag)
	}
	pins = tune.Config{}
	for _, k := range prog.Knobs {
		if slices.Contains(prog.UnusedKnobs, k.Name) {
			continue // nothing reads it: records neither hold nor need it
		}
		if v, ok := defines.ints[k.Name]; ok {
			pins[k.Name] = v
			full = append(full, tune.Knob{Name: k.Name, Values: []int64{v}, Where: k.Where})
			continue
		}
		search = append(search, k)
		full = append(full, k)
	}
	return search, full, pins
}

// workloadOf identifies what a record applies to: the target, the CPU its
// cost was measured on (this machine's for native targets, whose times
// depend on it; the target's own for an estimate), the kernel, its
// signature (types and shapes, and the symbolic dimensions' values: --set,
// else their defaults), and --fast-math, which changes the code. A command
// without --fast-math (lower) matches either.
func workloadOf(cmd *cobra.Command, prog *dsl.Program, tgt llvmgen.Target) tune.Workload {
	w := signatureOf(prog, tgt)
	if len(prog.Sizes) > 0 {
		set := sizeFlag{}
		if f := cmd.Flags().Lookup("set"); f != nil {
			set = f.Value.(sizeFlag)
		}
		var parts []string
		for _, d := range prog.Sizes {
			v, ok := set[d.Var.Name]
			if !ok && d.HasDefault {
				v, ok = d.Default, true
			}
			if ok {
				parts = append(parts, fmt.Sprintf("%s=%d", d.Var.Name, v))
			} else {
				parts = append(parts, d.Var.Name+"=?")
			}
		}
		w.Shapes += " at " + strings.Join(parts, ", ")
	}
	w.Build = tune.AnyBuild
	if fast, err := cmd.Flags().GetBool("fast-math"); err == nil {
		w.Build = ""
		if fast {
			w.Build = "fast-math"
		}
	}
	return w
}

// signatureOf is workloadOf's target, CPU, kernel and signature.
func signatureOf(prog *dsl.Program, tgt llvmgen.Target) tune.Workload {
	cpu := tgt.CPU
	if driver.Native(tgt) {
		if host, err := driver.HostTarget(); err == nil {
			cpu = host.CPU
		}
	}
	sig := func(ts []*te.Tensor) string {
		var parts []string
		for _, t := range ts {
			parts = append(parts, fmt.Sprintf("%s:%v%s", t.Name, t.DType, te.ShapeString(t.Shape)))
		}
		return strings.Join(parts, " ")
	}
	k := prog.Kernel
	return tune.Workload{Target: tgt.Name, CPU: cpu, Kernel: k.Name, Shapes: sig(k.Inputs) + " -> " + sig(k.Outputs)}
}

// measurer builds, checks and times one configuration.
type measurer struct {
	cmd    *cobra.Command
	path   string
	prog   *dsl.Program
	tgt    llvmgen.Target
	opts   llvmgen.Options
	in     []*te.Buffer
	want   []*te.Buffer
	tol    tolerance // what a float output is held to
	sizes  map[*te.Var]int64
	dir    string
	repeat int
}

func (m *measurer) measure(cfg tune.Config) tune.Record {
	rec := tune.Record{Config: cfg}
	fail := func(st tune.Status, err error) tune.Record {
		rec.Status, rec.Error = st, err.Error()
		return rec
	}
	prog, _, err := loadWithKnobs(m.cmd, m.path, opTarget(m.tgt), nil, cfg)
	if err != nil {
		return fail(tune.BuildError, err)
	}
	// the program is elaborated anew: its symbolic dimensions are new
	// variables, which take the values of the first's by name
	sizes := map[*te.Var]int64{}
	for _, d := range prog.Sizes {
		for v, x := range m.sizes {
			if v.Name == d.Var.Name {
				sizes[d.Var] = x
			}
		}
	}
	if sig := signatureOf(prog, m.tgt).Shapes; sig != signatureOf(m.prog, m.tgt).Shapes {
		return fail(tune.Wrong, fmt.Errorf("the knobs change the kernel's signature to %s: a knob may change the schedule, not the computation", sig))
	}
	f, err := lowerProgram(io.Discard, prog, lower.Options{})
	if err != nil {
		return fail(tune.BuildError, err)
	}
	var got []*te.Buffer
	if driver.Native(m.tgt) {
		times, outs, err := driver.BenchKernel(m.tgt, m.opts, f, m.in, sizes, m.dir, m.repeat)
		if err != nil {
			return fail(tune.RunError, err)
		}
		// the fastest call: interference on a shared machine only slows
		// calls down, so the minimum is the steadiest figure to rank by
		got, rec.Cost = outs, slices.Min(times).Seconds()
	} else {
		loops, outs, err := driver.EstimateKernel(m.tgt, m.opts, f, m.in, sizes, m.dir)
		if err != nil {
			return fail(tune.RunError, err)
		}
		for _, l := range loops {
			rec.Cost += l.TotalCycles()
		}
		got = outs
		if rec.Cost <= 0 {
			return fail(tune.RunError, errors.New("the estimate counted no innermost loop iterations"))
		}
	}
	for i, t := range prog.Kernel.Outputs {
		if c := te.CompareWithin(got[i], m.want[i], m.tol.rtol, m.tol.atol); c.First >= 0 {
			return fail(tune.Wrong, fmt.Errorf("output %s differs from the reference evaluator's %s", t.Name, c.Detail))
		}
	}
	rec.Status = tune.OK
	return rec
}

func withPins(c, pins tune.Config) tune.Config {
	out := maps.Clone(c)
	maps.Copy(out, pins)
	return out
}

func withoutPins(c, pins tune.Config) tune.Config {
	out := maps.Clone(c)
	for k := range pins {
		delete(out, k)
	}
	return out
}

// alternate measures two configurations alternately, rounds times each,
// with cost (0 for a failed run), and returns the fastest cost of each (0
// when every run of one failed): measurements taken minutes apart drift,
// alternate ones in one run compare.
func alternate(cost func(tune.Config) float64, a, b tune.Config, rounds int) (costA, costB float64) {
	fastest := func(cur, c float64) float64 {
		if c > 0 && (cur == 0 || c < cur) {
			return c
		}
		return cur
	}
	for range rounds {
		costA = fastest(costA, cost(a))
		costB = fastest(costB, cost(b))
	}
	return costA, costB
}

// cost is the measured cost of a configuration, 0 when it failed.
func (m *measurer) cost(cfg tune.Config) float64 {
	if r := m.measure(cfg); r.Status == tune.OK {
		return r.Cost
	}
	return 0
}

// resume tells a search what the log already holds of workload w (whose
// records fit full) and returns the fastest working record and how many
// were taken. A run error is tried again: it may have been the machine's,
// not the configuration's.
func resume(search *tune.Search, recs []tune.Record, w tune.Workload, full tune.Space, pins tune.Config) (best *tune.Record, n int) {
	for i, r := range recs {
		if !w.Matches(r) || full.Check(r.Config) != nil || r.Status == tune.RunError {
			continue
		}
		cost := 0.0
		if r.Status == tune.OK {
			cost = r.Cost
			if best == nil || r.Cost < best.Cost {
				best = &recs[i]
			}
		}
		search.Tell(withoutPins(r.Config, pins), cost)
		n++
	}
	return best, n
}

// costOf is the cost of configuration c of workload w in the records, 0 if
// no working record has it.
func costOf(recs []tune.Record, w tune.Workload, c tune.Config) float64 {
	for _, r := range recs {
		if r.Status == tune.OK && w.Matches(r) && r.Config.String() == c.String() {
			return r.Cost
		}
	}
	return 0
}

// costUnit is what a candidate's cost is on tgt: seconds measured here, or
// the cycles of the estimate on a target that only runs under emulation,
// which it says on w.
func costUnit(w io.Writer, tgt llvmgen.Target) string {
	if driver.Native(tgt) {
		return tune.Seconds
	}
	fmt.Fprintf(w, "%s runs under emulation here: each cost is an ESTIMATE (innermost loops' iterations and the other blocks' executions counted under qemu, times llvm-mca's cycles for each), not a measurement\n", tgt.Name)
	return tune.Cycles
}

func formatCost(c float64, unit string) string {
	if unit == tune.Cycles {
		return fmt.Sprintf("%.4g cycles (estimate)", c)
	}
	return time.Duration(c * 1e9).String()
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// applyTuned reloads the program with the best record of --tuned LOG for
// this target, CPU, kernel and signature, if the flag is set. Knobs pinned
// with -D keep their values: only records that agree with them apply.
func applyTuned(cmd *cobra.Command, stderr io.Writer, path string, tgt llvmgen.Target, prog *dsl.Program, nb *netBuild, nf *netFlags) (*dsl.Program, *netBuild, error) {
	f := cmd.Flags().Lookup("tuned")
	if f == nil || f.Value.String() == "" {
		return prog, nb, nil
	}
	logPath := f.Value.String()
	if len(prog.Knobs) == 0 {
		return nil, nil, userError{fmt.Errorf("--tuned %s: %s declares no knobs to apply it to", logPath, path)}
	}
	if _, err := os.Stat(logPath); err != nil {
		return nil, nil, userError{fmt.Errorf("--tuned: %w", err)}
	}
	recs, warns, err := tune.ReadLog(logPath)
	if err != nil {
		return nil, nil, userError{fmt.Errorf("--tuned: %w", err)}
	}
	for _, m := range warns {
		fmt.Fprintln(stderr, "warning:", m)
	}
	if prog.Network {
		return applyTunedNetwork(cmd, stderr, path, logPath, recs, tgt, prog, nb, nf)
	}
	_, full, _ := knobSpaces(cmd, prog)
	w := workloadOf(cmd, prog, tgt)
	best, notes := tune.Select(recs, w, full)
	for _, n := range notes {
		fmt.Fprintf(stderr, "--tuned %s: %s\n", logPath, n)
	}
	if best == nil {
		fmt.Fprintf(stderr, "warning: --tuned %s has no working record of %s on %s (%s) with these shapes; the knobs keep their defaults\n", logPath, w.Kernel, w.Target, w.CPU)
		return prog, nb, nil
	}
	fmt.Fprintf(stderr, "--tuned %s: applying %s (%s when tuned)\n", logPath, best.Config, formatCost(best.Cost, best.Unit))
	return loadWithKnobs(cmd, path, opTarget(tgt), nf, best.Config)
}
