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
	"github.com/tide-compiler/tide/graph"
	"github.com/tide-compiler/tide/llvmgen"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/tune"
)

// A network is tuned group by group, all groups at once: every round
// builds the whole network with each group's next candidate, checks its
// outputs against the reference evaluator, and times every group in one
// profiled run (on cortex-a53: the estimate, per group). Groups are
// separate functions that run one after another, so a group's time
// depends on its own knobs (and, a little, on what the cache holds); a
// round measures one candidate of every group, and the rounds needed are
// those of the largest group's search, not the product of the groups'.

// groupTuner is one group's search.
type groupTuner struct {
	group    *graph.Group
	space    tune.Space // its knobs less the pinned ones
	full     tune.Space // with the pinned ones at their values
	search   *tune.Search
	workload tune.Workload
	best     *tune.Record
	def      float64 // the default's cost, once measured
}

// groupWorkload identifies a group's computation: what it fuses, its
// anchor's inputs and attributes (polarity, window...), and its output.
func groupWorkload(g *graph.Group) string {
	sig := func(t *te.Tensor) string { return fmt.Sprintf("%v%s", t.DType, te.ShapeString(t.Shape)) }
	parts := []string{g.Ops()}
	if g.Anchor != nil {
		var ins []string
		for _, in := range g.Anchor.Inputs() {
			ins = append(ins, sig(in))
		}
		parts = append(parts, strings.Join(ins, ", "), fmt.Sprintf("%+v", g.Anchor.Attrs))
	}
	return strings.Join(append(parts, "-> "+sig(g.Output)), "; ")
}

// groupTuners makes a search for each group with knobs.
func groupTuners(cmd *cobra.Command, prog *dsl.Program, nb *netBuild, tgt llvmgen.Target, strategy tune.Strategy, seed uint64) ([]*groupTuner, error) {
	_, full, pins := knobSpaces(cmd, prog)
	w := workloadOf(cmd, prog, tgt)
	var out []*groupTuner
	for i, g := range nb.plan.Groups {
		gt := &groupTuner{group: g, workload: tune.Workload{Target: w.Target, CPU: w.CPU, Kernel: w.Kernel + "/" + g.Name, Shapes: groupWorkload(g), Build: w.Build}}
		for _, k := range full {
			if k.Group != g.Name {
				continue
			}
			gt.full = append(gt.full, k)
			if _, pinned := pins[k.Name]; !pinned {
				gt.space = append(gt.space, k)
			}
		}
		if len(gt.space) == 0 {
			continue
		}
		s, err := tune.NewSearch(gt.space, strategy, seed+uint64(i))
		if err != nil {
			return nil, err
		}
		gt.search = s
		out = append(out, gt)
	}
	return out, nil
}

// tuneFileKnobs searches a network file's own knobs by the time of the
// whole network (the groups at their defaults); its records are the
// network's (kernel NET, the network's signature). It returns the best
// record, nil when none worked.
func tuneFileKnobs(cmd *cobra.Command, stdout io.Writer, prog *dsl.Program, tgt llvmgen.Target, logPath string, recs []tune.Record,
	space, full tune.Space, pins tune.Config, unit string, strategy tune.Strategy, seed uint64, trials int, inBudget func() bool,
	run func(tune.Config) (*networkRun, tune.Status, error)) (*tune.Record, error) {
	search, err := tune.NewSearch(space, strategy, seed)
	if err != nil {
		return nil, err
	}
	w := workloadOf(cmd, prog, tgt)
	best, _ := resume(search, recs, w, full, pins)
	var names []string
	for _, k := range space {
		names = append(names, k.Name)
	}
	fmt.Fprintf(stdout, "tuning network %s's own knobs (%s) by the whole network's time, the groups at their defaults: %d configuration(s)\n",
		prog.Kernel.Name, strings.Join(names, ", "), search.Size())
	for n := 1; n <= trials && inBudget(); n++ {
		c, ok := search.Next()
		if !ok {
			break
		}
		cfg := withPins(c, pins)
		r, status, err := run(cfg)
		rec := tune.Record{Target: w.Target, CPU: w.CPU, Kernel: w.Kernel, Workload: w.Shapes, Build: w.Build, Threads: os.Getenv("OMP_NUM_THREADS"),
			Config: onlyKnobs(cfg, full), Unit: unit, Status: status, When: tune.Now()}
		line := fmt.Sprintf("  %s: ", rec.Config)
		if err != nil {
			rec.Error = err.Error()
			line += fmt.Sprintf("%s: %s", status, firstLine(rec.Error))
		} else {
			rec.Cost = r.total
			line += formatCost(r.total, unit) + " per inference"
			if best == nil || rec.Cost < best.Cost {
				b := rec
				best = &b
			}
		}
		if err := tune.Append(logPath, rec); err != nil {
			return nil, userError{fmt.Errorf("writing the log: %w", err)}
		}
		search.Tell(c, rec.Cost)
		fmt.Fprintln(stdout, line)
	}
	if best == nil {
		return nil, nil
	}
	def := onlyKnobs(withPins(space.Default(), pins), full)
	if best.Config.String() != def.String() && unit == tune.Seconds {
		// timings drift between processes: the best against the default,
		// alternately, before the groups are tuned with it
		b, d := alternate(func(cfg tune.Config) float64 {
			if r, _, err := run(withPins(cfg, pins)); err == nil {
				return r.total
			}
			return 0
		}, best.Config, def, 3)
		fmt.Fprintf(stdout, "  confirmed in one run: %s %s, the default %s %s\n", best.Config, formatCost(b, unit), def, formatCost(d, unit))
		if d > 0 && b >= d {
			fmt.Fprintf(stdout, "  the default was as fast: the groups are tuned with the default\n")
			return nil, nil
		}
	}
	fmt.Fprintf(stdout, "  best: %s (%s); the groups are tuned with it\n", best.Config, formatCost(best.Cost, unit))
	return best, nil
}

// groupResult is what one round says of one group's candidate.
type groupResult struct {
	status tune.Status
	err    error
	cost   float64
}

// networkRun is one build and profiled run of a network with knob values.
type networkRun struct {
	total  float64            // seconds per inference, or estimated cycles
	groups map[string]float64 // each group's, by name
}

// fileKnobs are a network file's own knobs (not a group's), those nothing
// reads and those -D pins left out: a network-level search times the
// whole network for them, before the groups are tuned (the groups'
// shapes may depend on them: WORD, the packing word's bits).
func fileKnobs(cmd *cobra.Command, prog *dsl.Program) (space, full tune.Space) {
	search, all, _ := knobSpaces(cmd, prog)
	for _, k := range all {
		if k.Group != "" {
			continue
		}
		full = append(full, k)
		if slices.ContainsFunc(search, func(s tune.Knob) bool { return s.Name == k.Name }) {
			space = append(space, k)
		}
	}
	return space, full
}

// tuneNetwork searches a network's own knobs by its whole time, then every
// group's knobs at once.
func tuneNetwork(cmd *cobra.Command, stdout, stderr io.Writer, path string, tgt llvmgen.Target, nf *netFlags, opts llvmgen.Options, tol tolerance,
	logPath string, strategy tune.Strategy, trials, repeat int, budget time.Duration, seed uint64) error {
	prog, nb, err := loadProgram(cmd, path, opTarget(tgt), nf)
	if err != nil {
		return err
	}
	_, _, pins := knobSpaces(cmd, prog)
	// the reference: the evaluator's outputs for the seeded input (the
	// knobs do not change them)
	f, err := lowerProgram(io.Discard, prog, nb.lowerOptions())
	if err != nil {
		return err
	}
	if _, err = nb.finish(prog, f, nf); err != nil {
		return err
	}
	_, in, want, err := reference(stderr, prog, nb, sizeFlag{}, "", seed)
	if err != nil {
		return err
	}
	recs, warns, err := tune.ReadLog(logPath)
	if err != nil {
		return userError{err}
	}
	for _, m := range warns {
		fmt.Fprintln(stderr, "warning:", m)
	}
	unit := costUnit(stdout, tgt)
	dir, remove, err := tempDir("tide-tune-")
	if err != nil {
		return err
	}
	defer remove()
	run := func(cfg tune.Config) (*networkRun, tune.Status, error) {
		return runNetwork(cmd, path, tgt, nf, opts, tol, cfg, in, want, dir, repeat)
	}
	start := time.Now()
	inBudget := func() bool { return budget == 0 || time.Since(start) < budget }
	// the file's own knobs first, by the whole network's time
	base := maps.Clone(pins)
	if space, full := fileKnobs(cmd, prog); len(space) > 0 {
		best, err := tuneFileKnobs(cmd, stdout, prog, tgt, logPath, recs, space, full, pins, unit, strategy, seed, trials, inBudget, run)
		if err != nil {
			return err
		}
		if best != nil {
			maps.Copy(base, best.Config)
			if prog, nb, err = loadWithKnobs(cmd, path, opTarget(tgt), nf, base); err != nil {
				return err
			}
		}
	}
	tuners, err := groupTuners(cmd, prog, nb, tgt, strategy, seed)
	if err != nil {
		return err
	}
	if len(tuners) == 0 {
		fmt.Fprintf(stdout, "no group of network %s has a knob to search (each is pinned by -D, or the schedules have none under these --without switches)\n", prog.Kernel.Name)
		return nil
	}
	resumed := 0
	for _, gt := range tuners {
		var n int
		gt.best, n = resume(gt.search, recs, gt.workload, gt.full, pins)
		gt.def = costOf(recs, gt.workload, onlyKnobs(withPins(gt.space.Default(), pins), gt.full))
		resumed += n
	}
	largest := int64(0)
	for _, gt := range tuners {
		largest = max(largest, gt.search.Size())
	}
	fmt.Fprintf(stdout, "tuning network %s on %s (%s): %d group(s) with knobs, the largest with %d configuration(s); search %s, %d round(s), one build of the whole network each\n",
		prog.Kernel.Name, tgt.Name, tuners[0].workload.CPU, len(tuners), largest, strategy, trials)
	if resumed > 0 {
		fmt.Fprintf(stdout, "resuming: %s already holds %d group measurement(s) of this network\n", logPath, resumed)
	}
	bestConfig := func() tune.Config {
		cfg := maps.Clone(base)
		for _, gt := range tuners {
			if gt.best != nil {
				maps.Copy(cfg, gt.best.Config)
			}
		}
		return cfg
	}
	for round := 1; round <= trials && inBudget(); round++ {
		cfg := bestConfig()
		proposed := map[*groupTuner]tune.Config{}
		for _, gt := range tuners {
			if c, ok := gt.search.Next(); ok {
				proposed[gt] = withPins(c, pins)
				maps.Copy(cfg, c)
			}
		}
		if len(proposed) == 0 {
			fmt.Fprintln(stdout, "every configuration of every group has been measured")
			break
		}
		r, status, err := run(cfg)
		results := map[*groupTuner]groupResult{}
		switch {
		case err == nil:
			for gt := range proposed {
				results[gt] = groupResult{status: status, cost: r.groups[gt.group.Name]}
			}
		case len(proposed) == 1:
			for gt := range proposed {
				results[gt] = groupResult{status: status, err: err}
			}
		default:
			// the groups' best so far first: when it fails too, no
			// candidate is to blame (a float network built with
			// --fast-math may miss the default tolerance), and building
			// each group's candidate alone would fail every one of them
			if _, st0, err0 := run(bestConfig()); err0 != nil {
				return userError{fmt.Errorf("round %d: the network fails with every group at its best so far (the defaults, or the log's): %s: %w; no candidate can be measured against it%s",
					round, st0, err0, toleranceHint(st0, opts))}
			}
			// which candidate failed: each alone, the other groups at
			// their best, so that no group is blamed for another's
			for gt, c := range proposed {
				alone := bestConfig()
				maps.Copy(alone, c)
				r1, st1, err1 := run(alone)
				res := groupResult{status: st1, err: err1}
				if err1 == nil {
					res.cost = r1.groups[gt.group.Name]
				}
				results[gt] = res
			}
		}
		improved := 0
		for _, gt := range tuners {
			c, ok := proposed[gt]
			if !ok {
				continue
			}
			res := results[gt]
			rec := tune.Record{Target: gt.workload.Target, CPU: gt.workload.CPU, Kernel: gt.workload.Kernel, Workload: gt.workload.Shapes,
				Build: gt.workload.Build, Threads: os.Getenv("OMP_NUM_THREADS"), Config: onlyKnobs(c, gt.full), Unit: unit, Status: res.status, When: tune.Now()}
			cost := 0.0
			if res.err != nil {
				rec.Error = res.err.Error()
			} else {
				rec.Cost = res.cost
				if rec.Cost <= 0 {
					rec.Status, rec.Error = tune.RunError, "the profile has no time for this group"
				}
			}
			if rec.Status == tune.OK {
				cost = rec.Cost
				if rec.Config.String() == onlyKnobs(withPins(gt.space.Default(), pins), gt.full).String() {
					gt.def = cost
				}
				if gt.best == nil || cost < gt.best.Cost {
					if gt.best != nil {
						improved++
					}
					r := rec
					gt.best = &r
				}
			}
			if err := tune.Append(logPath, rec); err != nil {
				return userError{fmt.Errorf("writing the log: %w", err)}
			}
			gt.search.Tell(withoutPins(c, pins), cost)
		}
		if err != nil {
			fmt.Fprintf(stdout, "[%d/%d] %d group(s) tried new knobs: %s: %s", round, trials, len(proposed), status, firstLine(err.Error()))
			if len(proposed) > 1 {
				fmt.Fprintf(stdout, " (each group's candidate then built alone: see the log for which failed)")
			}
			fmt.Fprintln(stdout)
			continue
		}
		fmt.Fprintf(stdout, "[%d/%d] %d group(s) tried new knobs: %s per inference; %d group(s) improved on their best\n",
			round, trials, len(proposed), formatCost(r.total, unit), improved)
	}
	// the result: each group's best against its default, then the whole
	// network with every best against the default, in one run
	fmt.Fprintf(stdout, "best knobs per group (against the group's default):\n")
	for _, gt := range tuners {
		if gt.best == nil {
			fmt.Fprintf(stdout, "  %-16s no working configuration\n", gt.group.Name)
			continue
		}
		ratio := ""
		if gt.def > 0 {
			ratio = fmt.Sprintf(", %.2fx the default's speed", gt.def/gt.best.Cost)
		}
		fmt.Fprintf(stdout, "  %-16s %s: %s%s\n", gt.group.Name, gt.best.Config, formatCost(gt.best.Cost, unit), ratio)
	}
	def, _, err := run(pins) // every knob at its default
	if err != nil {
		return userError{fmt.Errorf("the default network: %w", err)}
	}
	tuned, _, err := run(bestConfig())
	if err != nil {
		return userError{fmt.Errorf("the tuned network: %w", err)}
	}
	fmt.Fprintf(stdout, "network %s: default %s, tuned %s per inference: %.2fx (same run, outputs checked against the reference evaluator)\n",
		prog.Kernel.Name, formatCost(def.total, unit), formatCost(tuned.total, unit), def.total/tuned.total)
	fmt.Fprintf(stdout, "apply it with: --tuned %s (tide build, run, bench, lower)\n", logPath)
	return nil
}

// onlyKnobs is c restricted to the knobs of s.
func onlyKnobs(c tune.Config, s tune.Space) tune.Config {
	out := tune.Config{}
	for _, k := range s {
		if v, ok := c[k.Name]; ok {
			out[k.Name] = v
		}
	}
	return out
}

// runNetwork builds a network with the given knob values, runs it once
// profiled (or estimated), and checks its outputs.
func runNetwork(cmd *cobra.Command, path string, tgt llvmgen.Target, nf *netFlags, opts llvmgen.Options, tol tolerance, cfg tune.Config,
	in, want []*te.Buffer, dir string, repeat int) (*networkRun, tune.Status, error) {
	prog, nb, err := loadWithKnobs(cmd, path, opTarget(tgt), nf, cfg)
	if err != nil {
		return nil, tune.BuildError, err
	}
	f, err := lowerProgram(io.Discard, prog, nb.lowerOptions())
	if err != nil {
		return nil, tune.BuildError, err
	}
	if f, err = nb.finish(prog, f, nf); err != nil {
		return nil, tune.BuildError, err
	}
	r := &networkRun{groups: map[string]float64{}}
	var got []*te.Buffer
	if driver.Native(tgt) {
		times, groups, outs, err := driver.ProfileKernel(tgt, nb.codegen(opts), f, nb.callInputs(in), dir, repeat)
		if err != nil {
			return nil, tune.RunError, err
		}
		for i, g := range nb.plan.Groups {
			r.groups[g.Name] = groups[i].Seconds()
		}
		r.total, got = medianOf(times).Seconds(), outs
	} else {
		loops, outs, err := driver.EstimateNetwork(tgt, nb.codegen(opts), f, nb.callInputs(in), dir)
		if err != nil {
			return nil, tune.RunError, err
		}
		r.groups, r.total = groupCycles(f, loops)
		got = outs
	}
	for i, t := range prog.Kernel.Outputs {
		if m := te.CompareWithin(got[i], want[i], tol.rtol, tol.atol); m.First >= 0 {
			return nil, tune.Wrong, fmt.Errorf("output %s differs from the reference evaluator's %s", t.Name, m.Detail)
		}
	}
	if r.total <= 0 {
		return nil, tune.RunError, errors.New("no time was measured")
	}
	return r, tune.OK, nil
}

// tunedNetworkConfig is --tuned for a network: each group's best record.
func tunedNetworkConfig(cmd *cobra.Command, stderr io.Writer, logPath string, recs []tune.Record, prog *dsl.Program, nb *netBuild, tgt llvmgen.Target) (tune.Config, []string, error) {
	tuners, err := groupTuners(cmd, prog, nb, tgt, tune.Grid, 0)
	if err != nil {
		return nil, nil, userError{fmt.Errorf("--tuned %s: %w", logPath, err)}
	}
	if len(tuners) == 0 {
		return tune.Config{}, nil, nil
	}
	cfg := tune.Config{}
	var applied, missing []string
	for _, gt := range tuners {
		best, _ := tune.Select(recs, gt.workload, gt.full)
		if best == nil {
			missing = append(missing, gt.group.Name)
			continue
		}
		maps.Copy(cfg, best.Config)
		applied = append(applied, gt.group.Name)
	}
	slices.Sort(missing)
	if len(applied) > 0 {
		fmt.Fprintf(stderr, "--tuned %s: applying the best records of %d group(s): %s\n", logPath, len(applied), cfg)
	}
	if len(missing) > 0 {
		fmt.Fprintf(stderr, "warning: --tuned %s has no working record for %d group(s) of %s on %s (%s) with these shapes (%s); they keep their defaults\n",
			logPath, len(missing), prog.Kernel.Name, tgt.Name, tuners[0].workload.CPU, strings.Join(missing, ", "))
	}
	return cfg, missing, nil
}

// applyTunedNetwork is applyTuned for a network: its own knobs first (the
// groups' shapes may depend on them), then each group's best record.
func applyTunedNetwork(cmd *cobra.Command, stderr io.Writer, path, logPath string, recs []tune.Record, tgt llvmgen.Target,
	prog *dsl.Program, nb *netBuild, nf *netFlags) (*dsl.Program, *netBuild, error) {
	base, prog, nb, err := tunedOwnKnobs(cmd, stderr, path, logPath, recs, tgt, prog, nb, nf)
	if err != nil {
		return nil, nil, err
	}
	cfg, _, err := tunedNetworkConfig(cmd, stderr, logPath, recs, prog, nb, tgt)
	if err != nil {
		return nil, nil, err
	}
	maps.Copy(cfg, base)
	if len(cfg) == 0 {
		return prog, nb, nil
	}
	return loadWithKnobs(cmd, path, opTarget(tgt), nf, cfg)
}

// tunedOwnKnobs chooses the network's own knobs from its records (not its
// groups'), and the program built with them. The groups' records say
// which own knobs they were tuned with: the tuner tunes them with the
// default when its confirmation finds the default as fast as the best, and
// then the default stays.
func tunedOwnKnobs(cmd *cobra.Command, stderr io.Writer, path, logPath string, recs []tune.Record, tgt llvmgen.Target,
	prog *dsl.Program, nb *netBuild, nf *netFlags) (tune.Config, *dsl.Program, *netBuild, error) {
	_, full := fileKnobs(cmd, prog)
	if len(full) == 0 {
		return tune.Config{}, prog, nb, nil
	}
	w := workloadOf(cmd, prog, tgt)
	netRecs := slices.DeleteFunc(slices.Clone(recs), func(r tune.Record) bool { return strings.HasPrefix(r.Kernel, w.Kernel+"/") })
	best, notes := tune.Select(netRecs, w, full)
	for _, n := range notes {
		fmt.Fprintf(stderr, "--tuned %s: %s\n", logPath, n)
	}
	if best == nil {
		return tune.Config{}, prog, nb, nil
	}
	p, b, err := loadWithKnobs(cmd, path, opTarget(tgt), nf, best.Config)
	if err != nil {
		return nil, nil, nil, err
	}
	_, missing, err := tunedNetworkConfig(cmd, io.Discard, logPath, recs, p, b, tgt)
	if err != nil {
		return nil, nil, nil, err
	}
	var missingDefault []string
	if len(missing) > 0 {
		if _, missingDefault, err = tunedNetworkConfig(cmd, io.Discard, logPath, recs, prog, nb, tgt); err != nil {
			return nil, nil, nil, err
		}
	}
	if len(missing) == 0 || len(missingDefault) > 0 {
		fmt.Fprintf(stderr, "--tuned %s: applying the network's %s (%s when tuned)\n", logPath, best.Config, formatCost(best.Cost, best.Unit))
		return best.Config, p, b, nil
	}
	fmt.Fprintf(stderr, "--tuned %s: the network's %s (%s when tuned) has no records for %d group(s); the groups were tuned with the network's default knobs, which stay\n",
		logPath, best.Config, formatCost(best.Cost, best.Unit), len(missing))
	return tune.Config{}, prog, nb, nil
}

// toleranceHint is advice for a wrong output of a --fast-math build.
func toleranceHint(st tune.Status, opts llvmgen.Options) string {
	if st == tune.Wrong && opts.FastMath {
		return " (with --fast-math, float results drift from the evaluator's: loosen --rtol, e.g. --rtol 1e-3)"
	}
	return ""
}
