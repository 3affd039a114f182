package llvmgen

import (
	"fmt"

	"github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/te"
)

// Parallel loops are outlined into a function over a closure and started
// through the GNU OpenMP ABI, GOMP_parallel(fn, data, 0, 0): libgomp (gcc
// -fopenmp) or LLVM's libomp run fn on OMP_NUM_THREADS threads (0 asks for
// the default), and each thread runs a static chunk of the iterations.

// parallel emits a parallel loop.
func (g *gen) parallel(s *lower.For) {
	// the closure: every buffer and variable of the enclosing scope the
	// loop uses (its bounds are evaluated here)
	bufs, vars := g.captures(s.Body)
	min := g.expr(s.Min)
	ext := g.expr(s.Extent)
	var fields []types.Type
	var values []value.Value
	for _, b := range bufs {
		fields = append(fields, g.bufs[b].Type())
		values = append(values, g.bufs[b])
	}
	for _, v := range vars {
		fields = append(fields, types.I64)
		values = append(values, g.vars[v])
	}
	fields = append(fields, types.I64, types.I64)
	values = append(values, min, ext)
	st := types.NewStruct(fields...)
	closure := g.entry.NewAlloca(st)
	for i, v := range values {
		p := g.b.NewGetElementPtr(st, closure, constant.NewInt(types.I32, 0), constant.NewInt(types.I32, int64(i)))
		g.b.NewStore(v, p)
	}

	// the outlined function, and the loop itself: a function of the
	// buffers (noalias, as the caller's are) and variables, so that LLVM
	// knows them apart. Loaded from the closure, the pointers would carry
	// no alias information, and a register tile accumulated in an output
	// buffer (a matmul's C over a block of k) would be loaded and stored
	// at every step instead of kept in registers.
	g.nblocks++
	name := fmt.Sprintf("%s.%s.parallel%d", g.fn.Name(), s.Var.Name, g.nblocks)
	arg := ir.NewParam("closure", types.NewPointer(types.I8))
	fn := g.m.NewFunc(name, types.Void, arg)
	fn.Linkage = enum.LinkageInternal
	start, count := s.Var.Name+".start", s.Var.Name+".count"
	body := g.bufferFunc(name+".body", bufs, vars, start, count)
	for _, f := range []*ir.Func{fn, body} {
		// the caller's target attributes; noinline marks group functions only
		for _, a := range g.fn.FuncAttrs {
			if a != ir.FuncAttribute(enum.FuncAttrNoInline) {
				f.FuncAttrs = append(f.FuncAttrs, a)
			}
		}
	}
	g.inFunc(fn, nil, nil, func() {
		data := g.b.NewBitCast(arg, types.NewPointer(st))
		var args []value.Value
		for i := range fields {
			args = append(args, g.b.NewLoad(fields[i], g.b.NewGetElementPtr(st, data, constant.NewInt(types.I32, 0), constant.NewInt(types.I32, int64(i)))))
		}
		lo, n := args[len(args)-2], args[len(args)-1]
		threads := g.b.NewSExt(g.b.NewCall(g.declare("omp_get_num_threads", types.I32)), types.I64)
		tid := g.b.NewSExt(g.b.NewCall(g.declare("omp_get_thread_num", types.I32)), types.I64)
		// a static schedule: chunk = ceil(n / threads) iterations per thread
		chunk := g.b.NewSDiv(g.b.NewSub(g.b.NewAdd(n, threads), constant.NewInt(types.I64, 1)), threads)
		first := g.b.NewMul(tid, chunk)
		last := g.b.NewAdd(first, chunk)
		last2 := g.b.NewSelect(g.b.NewICmp(enum.IPredSLT, last, n), last, n)
		args = append(args[:len(args)-2], g.b.NewAdd(lo, first), g.b.NewSub(last2, first))
		g.b.NewCall(body, args...)
	})
	g.inFunc(body, bufs, vars, func() {
		startV, countV := &te.Var{Name: start}, &te.Var{Name: count}
		g.vars[startV] = body.Params[len(body.Params)-2]
		g.vars[countV] = body.Params[len(body.Params)-1]
		g.loop(&lower.For{Var: s.Var, Min: startV, Extent: countV, Kind: lower.Serial, Body: s.Body, Axis: s.Axis})
	})

	gomp := g.declare("GOMP_parallel", types.Void,
		types.NewPointer(types.NewFunc(types.Void, types.NewPointer(types.I8))), types.NewPointer(types.I8), types.I32, types.I32)
	g.b.NewCall(gomp, fn, g.b.NewBitCast(closure, types.NewPointer(types.I8)), constant.NewInt(types.I32, 0), constant.NewInt(types.I32, 0))
}

// bufferFunc is a new internal function named name of the buffers bufs
// (noalias: the buffers one piece of code uses never overlap; a network's
// plan gives those live at once disjoint memory), the variables vars and
// then the i64 parameters named extra.
func (g *gen) bufferFunc(name string, bufs []*lower.Buffer, vars []*te.Var, extra ...string) *ir.Func {
	var params []*ir.Param
	used := map[string]bool{}
	param := func(name string, t types.Type) *ir.Param {
		// a variable may share a buffer's name: LLVM wants distinct ones
		unique := name
		for n := 1; used[unique]; n++ {
			unique = fmt.Sprintf("%s.%d", name, n)
		}
		used[unique] = true
		p := ir.NewParam(unique, t)
		params = append(params, p)
		return p
	}
	for _, b := range bufs {
		p := param(b.Name, g.bufs[b].Type())
		p.Attrs = append(p.Attrs, enum.ParamAttrNoAlias)
	}
	for _, v := range vars {
		param(v.Name, types.I64)
	}
	for _, e := range extra {
		param(e, types.I64)
	}
	fn := g.m.NewFunc(name, types.Void, params...)
	fn.Linkage = enum.LinkageInternal
	return fn
}

// inFunc generates emit into fn's body, with bufs and vars bound to fn's
// first parameters, then returns to the caller's function state (the
// module, declarations and warnings are shared).
func (g *gen) inFunc(fn *ir.Func, bufs []*lower.Buffer, vars []*te.Var, emit func()) {
	callerFn, callerEntry, callerB, callerVars, callerBufs, callerStack := g.fn, g.entry, g.b, g.vars, g.bufs, g.stackBytes
	g.fn, g.vars, g.bufs, g.stackBytes = fn, map[*te.Var]value.Value{}, map[*lower.Buffer]value.Value{}, 0
	g.entry = fn.NewBlock("entry")
	g.b = fn.NewBlock("body")
	for i, b := range bufs {
		g.bufs[b] = fn.Params[i]
	}
	for i, v := range vars {
		g.vars[v] = fn.Params[len(bufs)+i]
	}
	emit()
	g.b.NewRet(nil)
	g.entry.NewBr(fn.Blocks[1])
	g.fn, g.entry, g.b, g.vars, g.bufs, g.stackBytes = callerFn, callerEntry, callerB, callerVars, callerBufs, callerStack
}
