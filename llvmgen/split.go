package llvmgen

import (
	"slices"

	"github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/enum"
)

// Split divides a network's module into at most n modules that clang can
// compile in parallel: the group functions (internal, noinline, see
// network.go), each with the parallel loops it outlines, are dealt to the
// parts by size; they become hidden external symbols, declared in the
// module that calls them. The first module keeps the entry function, the
// constants and everything else. A module without groups stays whole.
func Split(m *ir.Module, n int) []*ir.Module {
	var groups []*ir.Func
	for _, f := range m.Funcs {
		if f.Linkage == enum.LinkageInternal && slices.Contains(f.FuncAttrs, ir.FuncAttribute(enum.FuncAttrNoInline)) {
			groups = append(groups, f)
		}
	}
	if n < 2 || len(groups) < 2 {
		return []*ir.Module{m}
	}
	// a group's outlined parallel loops are named after it
	owned := map[*ir.Func][]*ir.Func{}
	moved := map[*ir.Func]bool{}
	for _, g := range groups {
		for _, f := range m.Funcs {
			if f != g && len(f.Blocks) > 0 && hasPrefix(f.Name(), g.Name()+".") {
				owned[g] = append(owned[g], f)
			}
		}
	}
	size := func(fs ...*ir.Func) int {
		s := 0
		for _, f := range fs {
			for _, b := range f.Blocks {
				s += len(b.Insts)
			}
		}
		return s
	}
	// the largest groups first, each to the lightest part; the main module
	// starts with the weight of what it keeps
	slices.SortStableFunc(groups, func(a, b *ir.Func) int {
		return size(append([]*ir.Func{b}, owned[b]...)...) - size(append([]*ir.Func{a}, owned[a]...)...)
	})
	parts := make([]*ir.Module, n)
	load := make([]int, n)
	load[0] = size(m.Funcs...) / 8 // the entry and constants: cheap to compile
	for i := 1; i < n; i++ {
		parts[i] = ir.NewModule()
		parts[i].TargetTriple = m.TargetTriple
		parts[i].DataLayout = m.DataLayout
	}
	for _, g := range groups {
		fs := append([]*ir.Func{g}, owned[g]...)
		i := slices.Index(load, slices.Min(load))
		load[i] += size(fs...)
		if i == 0 {
			continue
		}
		for _, f := range fs {
			moved[f] = true
		}
		g.Linkage = enum.LinkageNone
		g.Visibility = enum.VisibilityHidden
		parts[i].Funcs = append(parts[i].Funcs, fs...)
	}
	// the main module declares what moved out; each part declares what its
	// functions call (libgomp, intrinsics, other groups are not called)
	// and holds its own copy of the constant tables they read (private:
	// the network's weights are arguments, only popcount.go's tables are
	// read as globals)
	var keep []*ir.Func
	for _, f := range m.Funcs {
		if moved[f] {
			keep = append(keep, declaration(f))
		} else {
			keep = append(keep, f)
		}
	}
	m.Funcs = keep
	for _, p := range parts[1:] {
		declared := map[string]bool{}
		for _, f := range p.Funcs {
			declared[f.Name()] = true
		}
		for _, f := range p.Funcs {
			for _, b := range f.Blocks {
				for _, inst := range b.Insts {
					if gep, ok := inst.(*ir.InstGetElementPtr); ok {
						if glob, ok := gep.Src.(*ir.Global); ok && !slices.Contains(p.Globals, glob) {
							p.Globals = append(p.Globals, glob)
						}
					}
					call, ok := inst.(*ir.InstCall)
					if !ok {
						continue
					}
					for _, v := range append([]interface{}{call.Callee}, argValues(call)...) {
						if callee, ok := v.(*ir.Func); ok && !declared[callee.Name()] {
							declared[callee.Name()] = true
							p.Funcs = append(p.Funcs, declaration(callee))
						}
					}
				}
			}
		}
	}
	var out []*ir.Module
	for i, p := range parts {
		if i == 0 {
			out = append(out, m)
		} else if len(p.Funcs) > 0 {
			out = append(out, p)
		}
	}
	return out
}

// declaration is a body-less copy of f's signature.
func declaration(f *ir.Func) *ir.Func {
	var params []*ir.Param
	for _, p := range f.Params {
		q := ir.NewParam(p.Name(), p.Typ)
		q.Attrs = p.Attrs
		params = append(params, q)
	}
	d := ir.NewFunc(f.Name(), f.Sig.RetType, params...)
	d.Sig.Variadic = f.Sig.Variadic
	d.ReturnAttrs = f.ReturnAttrs
	if f.Linkage != enum.LinkageInternal {
		d.Visibility = f.Visibility
	}
	return d
}

// argValues are a call's arguments (a function passed to GOMP_parallel is
// one).
func argValues(c *ir.InstCall) []interface{} {
	var out []interface{}
	for _, a := range c.Args {
		out = append(out, a)
	}
	return out
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }
