package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tide-compiler/tide/driver"
	"github.com/tide-compiler/tide/dsl"
	"github.com/tide-compiler/tide/graph"
	"github.com/tide-compiler/tide/llvmgen"
	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/schedule"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/tensorio"
	"github.com/tide-compiler/tide/topi"
	"github.com/tide-compiler/tide/tune"
)

// netBuild is what a network file adds to a program: the graph level's
// plan, and the weights baked into the module.
type netBuild struct {
	net     *graph.Network
	plan    *graph.Plan
	weights []*te.Buffer
	stats   graph.Stats
	fn      *graph.Function
}

// netFlags are the flags of every command that builds a network.
type netFlags struct {
	// otherDefines accepts -D names the file does not declare (a float
	// twin has no BITS or POLARITY)
	otherDefines   bool
	without        []string
	seed           uint64
	weights        string
	runtimeWeights bool
}

func addNetFlags(cmd *cobra.Command, nf *netFlags) {
	var names []string
	for _, o := range graph.Optimizations {
		names = append(names, string(o))
	}
	cmd.Flags().StringSliceVar(&nf.without, "without", nil, "for a network: switch optimizations off, a comma-separated `LIST` of "+strings.Join(names, ", "))
	cmd.Flags().StringVar(&nf.weights, "weights", "", "for a network: its weights, an .npz `FILE` (numpy's savez, one array per weight placeholder, by name); default: random with --seed")
	cmd.Flags().BoolVar(&nf.runtimeWeights, "runtime-weights", false, "for a network: take the (packed, folded) weights as arguments at run time instead of holding them in the module")
	if cmd.Flags().Lookup("seed") == nil {
		cmd.Flags().Uint64Var(&nf.seed, "seed", 1, "seed for random inputs and, for a network without a weights file, its weights")
	}
}

// options reads the graph level's options from the flags.
func (nf *netFlags) options() (graph.Options, error) {
	opts := graph.Options{Without: map[graph.Optimization]bool{}, RuntimeWeights: nf.runtimeWeights}
	for _, w := range nf.without {
		known := false
		for _, o := range graph.Optimizations {
			known = known || string(o) == w
		}
		if !known {
			var names []string
			for _, o := range graph.Optimizations {
				names = append(names, string(o))
			}
			return opts, userError{fmt.Errorf("--without %s: no such optimization; the optimizations are %s", w, strings.Join(names, ", "))}
		}
		opts.Without[graph.Optimization(w)] = true
	}
	return opts, nil
}

// loadProgram reads and elaborates a .te file for a target: a kernel gets
// the operator library's schedules, a network the graph level's fusion and
// schedules. nb is nil for a kernel.
func loadProgram(cmd *cobra.Command, path string, target *topi.Target, nf *netFlags) (*dsl.Program, *netBuild, error) {
	return loadWithKnobs(cmd, path, target, nf, nil)
}

// loadWithKnobs is loadProgram with the knobs given values (tide tune's
// candidates, --tuned's record) as -D would give them.
func loadWithKnobs(cmd *cobra.Command, path string, target *topi.Target, nf *netFlags, knobs tune.Config) (*dsl.Program, *netBuild, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, userError{err}
	}
	defines := defineFlag{ints: sizeFlag{}}
	if f := cmd.Flag("define"); f != nil {
		defines = f.Value.(defineFlag)
	}
	if len(knobs) > 0 {
		ints := maps.Clone(defines.ints)
		maps.Copy(ints, knobs)
		defines.ints = ints
	}
	if target != nil {
		// the operator schedules' knobs take their values from -D too
		t := *target
		t.Knobs = &topi.Knobs{Values: tune.Config(defines.ints)}
		target = &t
	}
	opts := graph.Options{}
	if nf != nil {
		if opts, err = nf.options(); err != nil {
			return nil, nil, err
		}
	}
	var nb *netBuild
	netSched := func(p *dsl.Program, s *schedule.Schedule, keep func(*te.Tensor) bool) error {
		net := graph.NetworkOf(p.Kernel, p.Weights)
		plan, err := graph.Partition(net, opts)
		if err != nil {
			return err
		}
		nb = &netBuild{net: net, plan: plan}
		if target == nil {
			return nil
		}
		return plan.Schedule(s, *target, keep)
	}
	prog, err := dsl.ParseWith(path, src, dsl.Options{Defines: defines.ints, Words: defines.words, Target: target,
		NetworkSchedule: netSched, FloatGlue: opts.Without[graph.FusedGlue], IgnoreOtherDefines: nf != nil && nf.otherDefines})
	if err != nil {
		return nil, nil, userError{err}
	}
	return prog, nb, nil
}

// weightSpecs describe a network's weights for the .npz reader: name,
// dtype, shape, and the operator that reads each.
func weightSpecs(prog *dsl.Program) []tensorio.WeightSpec {
	readers := map[*te.Tensor]*te.Tensor{}
	for _, t := range te.PostOrder(prog.Kernel.Outputs) {
		for _, in := range t.Inputs() {
			if readers[in] == nil {
				readers[in] = t
			}
		}
	}
	var specs []tensorio.WeightSpec
	for _, w := range prog.Weights {
		var shape []int
		for _, d := range w.Shape {
			v, _ := te.IntValue(d) // a network's shapes are constants
			shape = append(shape, int(v))
		}
		layer := "the network"
		r := readers[w]
		for r != nil && topi.OfParameters(r.Tag) && readers[r] != nil {
			r = readers[r] // the operator whose parameters these are
		}
		if r != nil {
			tag := string(r.Tag)
			if tag == "" {
				tag = "compute"
			}
			layer = fmt.Sprintf("%s %s", tag, r.Name)
		}
		specs = append(specs, tensorio.WeightSpec{Name: w.Name, DType: w.DType, Shape: shape, Layer: layer, Range: w.Range})
	}
	return specs
}

// networkWeights are a network's weights: read from the .npz file, or
// seeded random values (each placeholder's declared range).
func networkWeights(prog *dsl.Program, nf *netFlags) ([]*te.Buffer, error) {
	specs := weightSpecs(prog)
	if nf.weights != "" {
		w, err := tensorio.LoadWeights(nf.weights, specs)
		if err != nil {
			return nil, userError{err}
		}
		return w, nil
	}
	return tensorio.RandomWeights(specs, nf.seed), nil
}

// finish turns a lowered network into the network function.
func (nb *netBuild) finish(prog *dsl.Program, f *lower.Func, nf *netFlags) (*lower.Func, error) {
	w, err := networkWeights(prog, nf)
	if err != nil {
		return nil, err
	}
	nb.weights = w
	fn, err := nb.plan.Finish(f, prog.Schedule, w)
	if err != nil {
		return nil, userError{err}
	}
	nb.stats, nb.fn = fn.Stats, fn
	return fn.Func, nil
}

// lowerOptions are the lowering pipeline's options (nb nil: a kernel's).
func (nb *netBuild) lowerOptions() lower.Options {
	if nb == nil {
		return lower.Options{}
	}
	return nb.plan.LowerOptions()
}

// codegen adds to code generation options what the network's ablation
// asks: without vectorization or the fast popcount, clang must not
// vectorize on its own either (nb nil: a kernel's options unchanged).
func (nb *netBuild) codegen(o llvmgen.Options) llvmgen.Options {
	if nb != nil && (nb.plan.Without(graph.Vectorize) || nb.plan.Without(graph.FastPopcount)) {
		o.NoAutoVectorize = true
	}
	return o
}

// inputs are a network's reference inputs: the activations drawn with
// the seed, then the network's weights.
func (nb *netBuild) inputs(all []*te.Buffer) []*te.Buffer {
	n := len(all) - len(nb.weights)
	return append(append([]*te.Buffer(nil), all[:n]...), nb.weights...)
}

// callInputs are what the network function takes as inputs: the
// activations, then (with --runtime-weights) the weights it reads.
func (nb *netBuild) callInputs(activations []*te.Buffer) []*te.Buffer {
	return append(append([]*te.Buffer(nil), activations...), nb.fn.RuntimeValues...)
}

// printNetworkStats prints the groups, what each fuses, and the memory plan.
func printNetworkStats(w io.Writer, nb *netBuild, f *lower.Func) {
	fmt.Fprintf(w, "network %s: %d groups\n", nb.net.Name, len(nb.plan.Groups))
	for i, g := range nb.plan.Groups {
		fmt.Fprintf(w, "  group %d %s: %s\n", i, g.Name, g.Ops())
	}
	for _, a := range nb.plan.Assembled {
		var parts []string
		for i, p := range a.Parts {
			parts = append(parts, fmt.Sprintf("%s at %d", p.Name, a.Offsets[i]))
		}
		fmt.Fprintf(w, "  concatenate %s in place: %s along axis %d (each stored by its group, nothing copied)\n", a.Whole.Name, strings.Join(parts, ", "), a.Axis)
	}
	fmt.Fprintf(w, "weights: %d arrays, %d bytes as constants (%d computed at build time)\n", len(nb.net.Weights), nb.stats.ConstantBytes, len(nb.plan.Folded))
	if ws := f.Workspace; ws != nil {
		fmt.Fprintf(w, "workspace: %d bytes for %d intermediates of %d bytes together (%.1fx less)\n",
			ws.Bytes, len(ws.Slots), nb.stats.Intermediates, float64(nb.stats.Intermediates)/float64(max(1, ws.Bytes)))
		slots := append([]lower.Slot(nil), ws.Slots...)
		sort.SliceStable(slots, func(i, j int) bool { return slots[i].Offset < slots[j].Offset })
		for _, s := range slots {
			fmt.Fprintf(w, "  %-24s %10d bytes at %10d, live in groups %d-%d\n", s.Buffer.Name, s.Bytes, s.Offset, s.First, s.Last)
		}
	}
}

// weightsCmd writes a network's weights as an .npz file: the seeded random
// weights a build uses without --weights, in the layout --weights reads (a
// template to fill with trained values).
func weightsCmd(stdout io.Writer) *cobra.Command {
	var out string
	var seed uint64
	cmd := &cobra.Command{
		Use:   "weights NETWORK -o FILE.npz",
		Short: "Write a network's weights (seeded random) as an .npz file that --weights reads",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			prog, err := load(cmd, args[0], nil)
			if err != nil {
				return err
			}
			if !prog.Network {
				return userError{fmt.Errorf("%s declares a kernel, not a network; only a network has weights", args[0])}
			}
			specs := weightSpecs(prog)
			if err := tensorio.SaveWeights(out, specs, tensorio.RandomWeights(specs, seed)); err != nil {
				return userError{err}
			}
			fmt.Fprintf(stdout, "wrote %s: %d arrays\n", out, len(specs))
			for _, s := range specs {
				fmt.Fprintf(stdout, "  %-16s %v%v  read by %s\n", s.Name, s.DType, s.Shape, s.Layer)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "the .npz file to write")
	cmd.MarkFlagRequired("output")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed for the random weights (as other commands' --seed)")
	return cmd
}

// printProfile prints the time of each group per call and the shares of
// convolution groups (with whatever is fused into them), glue groups
// (element-wise, quantization and packing on their own) and the rest
// (pooling, dense layers, the head).
func printProfile(w io.Writer, nb *netBuild, times []time.Duration, plotFile string) error {
	var total time.Duration
	for _, t := range times {
		total += t
	}
	share := map[string]time.Duration{}
	fmt.Fprintf(w, "profile (time per call of each group, mean of the timed calls):\n")
	for i, g := range nb.plan.Groups {
		kind := "rest"
		switch {
		case g.Anchor != nil && topi.IsConv(g.Anchor):
			kind = "convolution"
		case g.Anchor == nil:
			kind = "glue"
		}
		share[kind] += times[i]
		fmt.Fprintf(w, "  %3d %-14s %-11s %10v %5.1f%%  %s\n", i, g.Name, kind, times[i], 100*times[i].Seconds()/total.Seconds(), g.Ops())
	}
	fmt.Fprintf(w, "groups together: %v; convolution groups %.1f%%, glue groups %.1f%%, the rest %.1f%%\n", total,
		100*share["convolution"].Seconds()/total.Seconds(), 100*share["glue"].Seconds()/total.Seconds(), 100*share["rest"].Seconds()/total.Seconds())
	if plotFile == "" {
		return nil
	}
	var bars []bar
	for i, g := range nb.plan.Groups {
		bars = append(bars, bar{g.Name, times[i].Seconds() * 1e3})
	}
	if err := plotBars(plotFile, "Time per fused group: "+nb.net.Name, "ms per inference", bars); err != nil {
		return userError{err}
	}
	fmt.Fprintf(w, "wrote %s\n", plotFile)
	return nil
}

// groupCycles sums the estimated cycles of a network's loops by the group
// whose function holds them (NAME.GROUP, or NAME.GROUP.v.parallelN;
// "(entry)" for the entry's own), and in all.
func groupCycles(f *lower.Func, loops []driver.CountedLoop) (byGroup map[string]float64, total float64) {
	byGroup = map[string]float64{}
	for _, l := range loops {
		c := l.TotalCycles()
		group := "(entry)"
		if rest, ok := strings.CutPrefix(l.Function, f.Name+"."); ok {
			group, _, _ = strings.Cut(rest, ".")
		}
		byGroup[group] += c
		total += c
	}
	return byGroup, total
}

// estimateNetwork prints the estimate of one inference on an emulated
// AArch64 target: the cycles of each group's code (iterations and executions
// counted under qemu, cycles per iteration from llvm-mca), labelled as an
// estimate.
func estimateNetwork(w io.Writer, tgt llvmgen.Target, opts llvmgen.Options, nb *netBuild, f *lower.Func, in []*te.Buffer) error {
	dir, remove, err := tempDir("tide-estimate-")
	if err != nil {
		return err
	}
	defer remove()
	loops, _, err := driver.EstimateNetwork(tgt, opts, f, in, dir)
	if err != nil {
		return userError{err}
	}
	cycles, total := groupCycles(f, loops)
	var straight []driver.CountedLoop
	var bits float64
	for _, l := range loops {
		bits += float64(l.Iterations) * float64(l.Work.PopcountBits)
		if l.Straight {
			straight = append(straight, l)
		}
	}
	outside, outsideTotal := groupCycles(f, straight)
	fmt.Fprintf(w, "%s on %s runs under emulation here: an ESTIMATE, not a measurement: the innermost loops' iterations and the other basic blocks' executions in one inference (counted under qemu, one thread) times llvm-mca's cycles for each (-mcpu=%s); cache misses and calls into the C library are not counted\n", f.Name, tgt.Name, tgt.CPU)
	for i, g := range nb.plan.Groups {
		fmt.Fprintf(w, "  %3d %-16s %14.0f cycles %5.1f%%  (%3.0f%% outside innermost loops)\n", i, g.Name, cycles[g.Name], 100*cycles[g.Name]/max(1, total), 100*outside[g.Name]/max(1, cycles[g.Name]))
	}
	fmt.Fprintf(w, "outside innermost loops: %.3g cycles, %.1f%% of all\n", outsideTotal, 100*outsideTotal/max(1, total))
	// a Pi 3B has 4 cores: the ideal split leaves out memory and imbalance
	fmt.Fprintf(w, "estimated: %.3g cycles in all, %.1f ms on one core at %.1f GHz (%.1f ms on %d cores if they split the parallel loops ideally)", total, total/piGHz/1e6, piGHz, idealCycles(loops, piCores)/piGHz/1e6, piCores)
	if bits > 0 {
		fmt.Fprintf(w, "; %.1f popcount bits (binary MACs) per cycle over the whole network", bits/total)
	}
	fmt.Fprintln(w)
	return nil
}

// bracket is one core's time of an estimate, as " (1 core: T)", or
// nothing for a measurement.
func bracket(oneCore time.Duration) string {
	if oneCore == 0 {
		return ""
	}
	return fmt.Sprintf(" (1 core: %v)", oneCore)
}

// estimatesNote says what the estimates of --ablation and --speedups are.
func estimatesNote(tgt llvmgen.Target) string {
	return fmt.Sprintf("ESTIMATES, not measurements: llvm-mca's cycles (-mcpu=%s) times the code's executions counted under qemu, at %.1f GHz, on %d cores that share the parallel loops ideally (one core's in brackets); cache misses, memory bandwidth and calls into the C library are not counted", tgt.CPU, piGHz, piCores)
}

// piGHz is a Raspberry Pi 3B's Cortex-A53 clock, which turns an estimate's
// cycles into time.
const piGHz = 1.2

// estimatedTime is one inference of r on an emulated target: the
// estimate's cycles (see estimateNetwork) at piGHz, on one core and on
// piCores cores that share the parallel loops ideally.
func (r *runnable) estimatedTime(o llvmgen.Options) (oneCore, allCores time.Duration, err error) {
	dir, remove, err := tempDir("tide-estimate-")
	if err != nil {
		return 0, 0, err
	}
	defer remove()
	loops, _, err := driver.EstimateNetwork(r.tgt, r.nb.codegen(o), r.f, r.in, dir)
	if err != nil {
		return 0, 0, userError{err}
	}
	_, cycles := groupCycles(r.f, loops)
	ns := func(c float64) time.Duration { return time.Duration(c / piGHz).Round(100 * time.Nanosecond) }
	return ns(cycles), ns(idealCycles(loops, piCores)), nil
}

// piCores is a Raspberry Pi 3B's cores.
const piCores = 4

// idealCycles is the cycles of loops on cores cores that share every
// parallel region's iterations perfectly (its function is NAME.GROUP.AXIS.
// parallelN): the rest runs on one. It leaves out memory bandwidth,
// imbalance and the threads' start.
func idealCycles(loops []driver.CountedLoop, cores int) float64 {
	var total float64
	for _, l := range loops {
		c := l.TotalCycles()
		if strings.Contains(l.Function, ".parallel") {
			c /= float64(cores)
		}
		total += c
	}
	return total
}

// ablate benchmarks a network with each optimization removed, then the
// ladder from an unoptimized build adding one at a time in Riptide's
// order, each against the full build and, when the file has a float twin
// next to it (NAME_float.te), as a speedup over it, all in one run. On an
// emulated target (cortex-a53 here: Riptide's own ablation ran on one)
// each build's time is its estimate instead (see estimatedTime).
func ablate(cmd *cobra.Command, w io.Writer, path, target string, nf netFlags, fast bool, repeat int, plotFile string) error {
	// the ladder's order is Riptide's; fused glue is removed on its own
	riptide := []graph.Optimization{graph.Tiling, graph.Vectorize, graph.Parallel, graph.FastPopcount, graph.BitpackFusion}
	opts := llvmgen.Options{FastMath: fast}
	tgt, err := driver.ParseTarget(target)
	if err != nil {
		return err
	}
	estimated := !driver.Native(tgt)
	measure, what := fmt.Sprintf("median of %d inferences each", repeat), "median"
	if estimated {
		// Riptide's ablation ran on a Pi's 4 cores: the parallel loops
		// shared ideally, and one core's time beside it
		measure, what = estimatesNote(tgt), "estimate"
	}
	// time1 is a build's time, and an estimate's on one core (0 for a
	// measurement); a measured build's outputs come too
	time1 := func(r *runnable) (t, oneCore time.Duration, outs []*te.Buffer, err error) {
		if estimated {
			oneCore, t, err = r.estimatedTime(opts)
			return t, oneCore, nil, err
		}
		times, outs, err := r.benchOutputs(opts, repeat)
		if err != nil {
			return 0, 0, nil, err
		}
		return medianOf(times), 0, outs, nil
	}
	var float time.Duration
	if _, err := os.Stat(floatTwinPath(path)); err == nil {
		twin, err := loadFloatTwin(cmd, io.Discard, path, target, nf)
		if err != nil {
			return err
		}
		floatOne := time.Duration(0)
		if float, floatOne, _, err = time1(twin); err != nil {
			return err
		}
		fmt.Fprintf(w, "float twin %s: %s %v%s\n", twin.path, what, float, bracket(floatOne))
	}
	fmt.Fprintf(w, "ablation of %s on %s (%s):\n", path, target, measure)
	var bars []bar
	var full []*te.Buffer // the full build's outputs, which every variant must equal
	row := func(label string, without []graph.Optimization) error {
		v := nf
		v.without = nil
		for _, o := range without {
			v.without = append(v.without, string(o))
		}
		r, err := loadRunnable(cmd, io.Discard, path, target, v)
		if err != nil {
			return err
		}
		t, oneCore, outs, err := time1(r)
		if err != nil {
			return err
		}
		if full == nil {
			full = outs
		} else if err := sameBuildOutputs(outs, full); err != nil {
			return userError{fmt.Errorf("%s computes another output than the full build (a bug in Tide): %w", label, err)}
		}
		line := fmt.Sprintf("  %-28s %s %12v%s", label, what, t, bracket(oneCore))
		value := t.Seconds() * 1e3
		if float > 0 {
			value = float.Seconds() / t.Seconds()
			line += fmt.Sprintf("   %6.2fx the float twin's speed", value)
		}
		fmt.Fprintln(w, line)
		bars = append(bars, bar{label, value})
		return nil
	}
	if err := row("all optimizations", nil); err != nil {
		return err
	}
	for _, o := range append([]graph.Optimization{graph.FusedGlue}, riptide...) {
		if err := row("without "+string(o), []graph.Optimization{o}); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "ladder (Riptide's order):\n")
	for i := range len(riptide) + 1 {
		label := "unoptimized"
		if i > 0 {
			label = "+ " + string(riptide[i-1])
		}
		if err := row(label, riptide[i:]); err != nil {
			return err
		}
	}
	if plotFile == "" {
		return nil
	}
	ylabel := "ms per inference"
	if float > 0 {
		ylabel = "speedup over the float twin"
	}
	title := "Ablation: " + filepath.Base(path) + " on " + target
	if estimated {
		title += fmt.Sprintf(" (estimates, %d cores)", piCores)
	}
	if err := plotBars(plotFile, title, ylabel, bars); err != nil {
		return userError{err}
	}
	fmt.Fprintf(w, "wrote %s\n", plotFile)
	return nil
}

// runnable is a network (or kernel) built for a target with its call
// inputs: what a benchmark times.
type runnable struct {
	path string
	tgt  llvmgen.Target
	nb   *netBuild
	f    *lower.Func
	in   []*te.Buffer
}

// loadRunnable builds a file for a target with the flags' options and
// draws its inputs with the flags' seed.
func loadRunnable(cmd *cobra.Command, stderr io.Writer, path, target string, nf netFlags) (*runnable, error) {
	tgt, prog, nb, f, err := loadForTarget(cmd, stderr, path, target, &nf)
	if err != nil {
		return nil, err
	}
	_, in, err := kernelInputs(prog, sizeFlag{}, "", nf.seed, false)
	if err != nil {
		return nil, err
	}
	if nb != nil {
		in = nb.callInputs(in[:len(in)-len(nb.weights)])
	}
	return &runnable{path: path, tgt: tgt, nb: nb, f: f, in: in}, nil
}

// bench times r: repeat calls after a warm-up.
func (r *runnable) bench(o llvmgen.Options, repeat int) ([]time.Duration, error) {
	times, _, err := r.benchOutputs(o, repeat)
	return times, err
}

// benchOutputs times r and returns its outputs too.
func (r *runnable) benchOutputs(o llvmgen.Options, repeat int) ([]time.Duration, []*te.Buffer, error) {
	dir, remove, err := tempDir("tide-bench-")
	if err != nil {
		return nil, nil, err
	}
	defer remove()
	times, outs, err := driver.BenchKernel(r.tgt, r.nb.codegen(o), r.f, r.in, nil, dir, repeat)
	if err != nil {
		return nil, nil, userError{err}
	}
	return times, outs, nil
}

// networkBaselines are the float baselines of a network's --vs: its float
// twin compiled by Tide (tide-float) and the same twin run by oneDNN
// (onednn), on the same input and weights. The twin also runs when only
// onednn is asked for: oneDNN's output is checked against it.
type networkBaselines struct {
	twin      *runnable
	tideFloat bool
	onednn    *driver.OneDNNNetwork
}

// sameBuildOutputs compares the outputs of two builds of one network that
// differ in their optimizations: integers exactly, floats as
// sameNetworkOutput (another summation order: vectors, blocks).
func sameBuildOutputs(got, want []*te.Buffer) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d outputs against %d", len(got), len(want))
	}
	for i := range got {
		if got[i].DType.IsFloat() {
			if err := sameNetworkOutput(got[i], want[i]); err != nil {
				return err
			}
			continue
		}
		if m := te.Compare(got[i], want[i], 0); m.First >= 0 {
			return fmt.Errorf("%s", m.Detail)
		}
	}
	return nil
}

// sameNetworkOutput compares two float implementations' outputs of one
// network: elementwise within 2e-3 of each value, with a floor at 2e-4 of
// the largest (folded batch norms and other summation orders over twenty
// layers; a softmax's outputs are all small, so a tolerance relative to 1
// would accept anything).
func sameNetworkOutput(got, want *te.Buffer) error {
	if got.Len() != want.Len() {
		return fmt.Errorf("%v against %v", got.Shape, want.Shape)
	}
	largest := 0.0
	for _, w := range want.Floats {
		largest = max(largest, math.Abs(w))
	}
	for i, w := range want.Floats {
		if g := got.Floats[i]; !(math.Abs(g-w) <= 2e-3*math.Abs(w)+2e-4*largest) {
			return fmt.Errorf("at %s: %g against %g (largest %g)", te.IndexString(want.Shape, i), g, w, largest)
		}
	}
	return nil
}

// implSummary counts oneDNN's implementations ("NAME IMPL" lines): which
// kernels the baseline ran.
func implSummary(impls []string) string {
	count := map[string]int{}
	var order []string
	for _, line := range impls {
		_, impl, _ := strings.Cut(line, " ")
		if count[impl] == 0 {
			order = append(order, impl)
		}
		count[impl]++
	}
	var out []string
	for _, impl := range order {
		out = append(out, fmt.Sprintf("%d %s", count[impl], impl))
	}
	return strings.Join(out, ", ")
}

// loadNetworkBaselines reads a network's --vs list for self, the network
// being timed. A float network without a twin is its own oneDNN baseline.
func loadNetworkBaselines(cmd *cobra.Command, stderr io.Writer, self *runnable, target string, nf netFlags, vs string) (*networkBaselines, error) {
	b := &networkBaselines{}
	wantOneDNN := false
	for _, name := range strings.Split(vs, ",") {
		switch strings.TrimSpace(name) {
		case "tide-float":
			b.tideFloat = true
		case "onednn":
			wantOneDNN = true
		default:
			return nil, userError{fmt.Errorf("--vs %s: a network's baselines are tide-float (its float twin NAME_float.te compiled by Tide) and onednn (the same float twin run by oneDNN's primitives)", name)}
		}
	}
	b.twin = self
	if _, err := os.Stat(floatTwinPath(self.path)); err == nil || b.tideFloat {
		twin, err := loadFloatTwin(cmd, stderr, self.path, target, nf)
		if err != nil {
			return nil, err
		}
		b.twin = twin
	}
	if wantOneDNN {
		net := b.twin.nb.net
		n, err := driver.TranslateOneDNN(net.Name, net.Inputs, net.Weights, b.twin.nb.weights, net.Outputs)
		if err != nil {
			if b.twin == self {
				return nil, userError{fmt.Errorf("--vs onednn runs a float network, or a binarized one's float twin %s (there is none): %w", floatTwinPath(self.path), err)}
			}
			return nil, userError{err}
		}
		b.onednn = n
	}
	return b, nil
}

// baselineRun is one baseline's timed calls: its short name (tide-float,
// onednn) and the line bench prints for it.
type baselineRun struct {
	short, name string
	times       []time.Duration
}

// measure times the baselines, checking that their outputs agree.
func (b *networkBaselines) measure(fast bool, repeat int) ([]baselineRun, error) {
	twinTimes, twinOut, err := b.twin.benchOutputs(llvmgen.Options{FastMath: fast}, repeat)
	if err != nil {
		return nil, err
	}
	var runs []baselineRun
	if b.tideFloat {
		runs = append(runs, baselineRun{"tide-float", "tide-float " + b.twin.path, twinTimes})
	}
	if b.onednn == nil {
		return runs, nil
	}
	dir, remove, err := tempDir("tide-onednn-")
	if err != nil {
		return nil, err
	}
	defer remove()
	times, out, impls, err := b.onednn.Bench(b.twin.tgt, b.twin.in[0], dir, repeat)
	if err != nil {
		return nil, userError{err}
	}
	if err := sameNetworkOutput(out, twinOut[0]); err != nil {
		return nil, userError{fmt.Errorf("bench: oneDNN's %s and Tide's disagree %v", b.onednn.Name, err)}
	}
	name := fmt.Sprintf("onednn %s (%d layers: %s", b.twin.path, len(impls), implSummary(impls))
	if isa := driver.OneDNNMaxISA(b.twin.tgt); isa != "" {
		name += ", ONEDNN_MAX_CPU_ISA=" + isa
	}
	return append(runs, baselineRun{"onednn", name + "; output checked against Tide's float build)", times}), nil
}

// run times the baselines in one run with the binarized network (whose
// median is tide) and prints each one's line and Tide's speed ratio over
// it.
func (b *networkBaselines) run(w io.Writer, label string, tide time.Duration, fast bool, repeat int) error {
	runs, err := b.measure(fast, repeat)
	if err != nil {
		return err
	}
	for _, r := range runs {
		m := medianOf(r.times)
		fmt.Fprintf(w, "%s, threads %s: median %v (min %v); Tide/baseline speed ratio %.2f (same run)\n",
			r.name, label, m, slices.Min(r.times), m.Seconds()/tide.Seconds())
	}
	return nil
}

// speedups times the network at 1 and 2 bits with bipolar and unipolar
// activations (-D BITS, -D POLARITY) against its float baselines, Tide's
// float twin and oneDNN's, all in one run: Riptide's speedup table.
func speedups(cmd *cobra.Command, w io.Writer, path, target string, nf netFlags, fast bool, repeat int, plotFile string) error {
	define := cmd.Flag("define")
	if define == nil {
		return fmt.Errorf("bench has no -D flag")
	}
	var labels []string
	var variants []*runnable
	for _, bits := range []string{"1", "2"} {
		for _, polarity := range []string{"bipolar", "unipolar"} {
			if err := define.Value.Set("BITS=" + bits); err != nil {
				return err
			}
			if err := define.Value.Set("POLARITY=" + polarity); err != nil {
				return err
			}
			r, err := loadRunnable(cmd, io.Discard, path, target, nf)
			if err != nil {
				return fmt.Errorf("--speedups builds %s with -D BITS=%s -D POLARITY=%s: %w", path, bits, polarity, err)
			}
			labels, variants = append(labels, bits+"-bit "+polarity), append(variants, r)
		}
	}
	if !driver.Native(variants[0].tgt) {
		return estimatedSpeedups(cmd, w, path, target, nf, fast, labels, variants, plotFile)
	}
	base, err := loadNetworkBaselines(cmd, io.Discard, variants[0], target, nf, "tide-float,onednn")
	if err != nil {
		return err
	}
	runs, err := base.measure(fast, repeat)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "speedups of %s on %s over its float baselines (median of %d inferences each, one run):\n", path, target, repeat)
	for _, r := range runs {
		fmt.Fprintf(w, "  %-10s median %v (min %v): %s\n", r.short, medianOf(r.times), slices.Min(r.times), r.name)
	}
	series := make([][]float64, len(runs))
	for i, v := range variants {
		times, err := v.bench(llvmgen.Options{FastMath: fast}, repeat)
		if err != nil {
			return err
		}
		m := medianOf(times)
		line := fmt.Sprintf("  %-18s median %10v", labels[i], m)
		for j, r := range runs {
			ratio := medianOf(r.times).Seconds() / m.Seconds()
			series[j] = append(series[j], ratio)
			line += fmt.Sprintf("   %6.2fx %s", ratio, r.short)
		}
		fmt.Fprintln(w, line)
	}
	if plotFile == "" {
		return nil
	}
	var names []string
	for _, r := range runs {
		names = append(names, "over "+r.short)
	}
	if err := plotGroupedBars(plotFile, "Speedup over float: "+filepath.Base(path)+" on "+target, "speedup (same run)", labels, names, series); err != nil {
		return userError{err}
	}
	fmt.Fprintf(w, "wrote %s\n", plotFile)
	return nil
}

// estimatedSpeedups is --speedups on an emulated target: each variant's
// estimate against the float twin's (oneDNN does not run there), on a
// Pi's cores sharing the parallel loops ideally and on one core.
func estimatedSpeedups(cmd *cobra.Command, w io.Writer, path, target string, nf netFlags, fast bool, labels []string, variants []*runnable, plotFile string) error {
	opts := llvmgen.Options{FastMath: fast}
	twin, err := loadFloatTwin(cmd, io.Discard, path, target, nf)
	if err != nil {
		return err
	}
	floatOne, floatAll, err := twin.estimatedTime(opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "speedups of %s on %s over its float twin compiled by Tide (%s):\n", path, target, estimatesNote(twin.tgt))
	fmt.Fprintf(w, "  %-18s estimate %10v (1 core: %v): %s\n", "float twin", floatAll, floatOne, twin.path)
	series := make([][]float64, 2)
	for i, v := range variants {
		one, all, err := v.estimatedTime(opts)
		if err != nil {
			return err
		}
		ratioAll, ratioOne := floatAll.Seconds()/all.Seconds(), floatOne.Seconds()/one.Seconds()
		series[0], series[1] = append(series[0], ratioAll), append(series[1], ratioOne)
		fmt.Fprintf(w, "  %-18s estimate %10v (1 core: %v)   %6.2fx tide-float (1 core: %.2fx)\n", labels[i], all, one, ratioAll, ratioOne)
	}
	if plotFile == "" {
		return nil
	}
	names := []string{fmt.Sprintf("over tide-float, %d cores", piCores), "over tide-float, 1 core"}
	if err := plotGroupedBars(plotFile, "Speedup over float: "+filepath.Base(path)+" on "+target+" (estimates)", "speedup (estimated)", labels, names, series); err != nil {
		return userError{err}
	}
	fmt.Fprintf(w, "wrote %s\n", plotFile)
	return nil
}

// floatTwinPath is where a network's float twin is: NAME_float.te next to
// NAME.te.
func floatTwinPath(path string) string { return strings.TrimSuffix(path, ".te") + "_float.te" }

// loadFloatTwin builds a network's float twin for the same target: the
// baseline of --vs tide-float and of --ablation.
func loadFloatTwin(cmd *cobra.Command, stderr io.Writer, path, target string, nf netFlags) (*runnable, error) {
	twin := floatTwinPath(path)
	if _, err := os.Stat(twin); err != nil {
		return nil, userError{fmt.Errorf("--vs tide-float: no float twin %s next to %s", twin, path)}
	}
	nf.without, nf.otherDefines, nf.weights = nil, true, "" // -D BITS and POLARITY, and the weights, are the binary network's
	return loadRunnable(cmd, stderr, twin, target, nf)
}
