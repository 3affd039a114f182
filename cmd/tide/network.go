package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"tide/dsl"
	"tide/graph"
	"tide/lower"
	"tide/schedule"
	"tide/te"
	"tide/tensorio"
	"tide/topi"
)

// netBuild is what a network file adds to a program: the graph level's
// plan, and the weights baked into the module.
type netBuild struct {
	net     *graph.Network
	plan    *graph.Plan
	weights []*te.Buffer
	stats   graph.Stats
}

// netFlags are the flags of every command that builds a network.
type netFlags struct {
	without []string
	seed    uint64
}

func addNetFlags(cmd *cobra.Command, nf *netFlags) {
	var names []string
	for _, o := range graph.Optimizations {
		names = append(names, string(o))
	}
	cmd.Flags().StringSliceVar(&nf.without, "without", nil, "for a network: switch optimizations off ("+strings.Join(names, ", ")+")")
	if cmd.Flags().Lookup("seed") == nil {
		cmd.Flags().Uint64Var(&nf.seed, "seed", 1, "seed for random inputs and, for a network without a weights file, its weights")
	}
}

// options reads the graph level's options from the flags.
func (nf *netFlags) options() (graph.Options, error) {
	opts := graph.Options{Without: map[graph.Optimization]bool{}}
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
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, userError{err}
	}
	var defines sizeFlag
	if f := cmd.Flag("define"); f != nil {
		defines = f.Value.(sizeFlag)
	}
	opts := graph.Options{}
	if nf != nil {
		if opts, err = nf.options(); err != nil {
			return nil, nil, err
		}
	}
	var nb *netBuild
	netSched := func(p *dsl.Program, s *schedule.Schedule, keep func(*te.Tensor) bool) error {
		k := p.Kernel
		net := &graph.Network{Name: k.Name, Inputs: k.Inputs[:len(k.Inputs)-len(p.Weights)], Weights: p.Weights, Outputs: k.Outputs}
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
	prog, err := dsl.ParseWith(path, src, dsl.Options{Defines: defines, Target: target, NetworkSchedule: netSched})
	if err != nil {
		return nil, nil, userError{err}
	}
	return prog, nb, nil
}

// networkWeights are the weights of a network: seeded random values drawn
// as random inputs are (each placeholder's declared range).
func networkWeights(prog *dsl.Program, seed uint64) ([]*te.Buffer, error) {
	all, _, err := tensorio.Inputs(prog.Kernel, nil, "", seed)
	if err != nil {
		return nil, userError{err}
	}
	return all[len(all)-len(prog.Weights):], nil
}

// finish turns a lowered network into the network function.
func (nb *netBuild) finish(prog *dsl.Program, f *lower.Func, seed uint64) (*lower.Func, error) {
	w, err := networkWeights(prog, seed)
	if err != nil {
		return nil, err
	}
	nb.weights = w
	nf, stats, err := nb.plan.Finish(f, w)
	if err != nil {
		return nil, userError{err}
	}
	nb.stats = stats
	return nf, nil
}

// networkInputs are a network's reference inputs: the activations drawn
// with the seed, then the weights baked into the module.
func (nb *netBuild) inputs(all []*te.Buffer) []*te.Buffer {
	n := len(all) - len(nb.weights)
	return append(append([]*te.Buffer(nil), all[:n]...), nb.weights...)
}

// printNetworkStats prints the groups, what each fuses, and the memory plan.
func printNetworkStats(w io.Writer, nb *netBuild, f *lower.Func) {
	fmt.Fprintf(w, "network %s: %d groups\n", nb.net.Name, len(nb.plan.Groups))
	for i, g := range nb.plan.Groups {
		fmt.Fprintf(w, "  group %d %s: %s\n", i, g.Name, g.Ops())
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
