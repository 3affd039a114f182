package llvmgen

import (
	"fmt"

	"github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/tide-compiler/tide/internal/cnames"
	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/te"
)

// Generate turns a lowered function into an LLVM module for the target:
// one C-callable function taking a pointer per tensor argument (noalias)
// and an int64 per symbolic dimension, in the kernel's order.
//
// Vector expressions become LLVM vectors: contiguous accesses are vector
// loads and stores (masked under a predicate), other vector indices are
// gathered or scattered lane by lane (lower has warned). Parallel loops are
// outlined and run through the GNU OpenMP ABI (parallel.go).
func Generate(f *lower.Func, t Target, opts Options) (m *ir.Module, warnings []string, err error) {
	if err := cnames.Check(f.Name); err != nil {
		return nil, nil, err
	}
	g := &gen{opts: opts, target: t, m: ir.NewModule(), vars: map[*te.Var]value.Value{}, bufs: map[*lower.Buffer]value.Value{}, declared: map[string]*ir.Func{}}
	g.m.TargetTriple = t.Triple
	// the C signature's order (lower.Func.Signature: as declared)
	var params []*ir.Param
	for _, arg := range f.Signature() {
		if v := arg.Param; v != nil {
			p := ir.NewParam(v.Name, types.I64)
			g.vars[v] = p
			params = append(params, p)
			continue
		}
		a := arg.Buffer
		p := ir.NewParam(a.Name, types.NewPointer(memType(a.DType)))
		// What the C caller guarantees: no overlap, C's alignment of the
		// element type, and (when the shape is constant) the whole tensor.
		// Wider alignment is not assumed: a caller's malloc may not give it.
		p.Attrs = append(p.Attrs, enum.ParamAttrNoAlias, ir.Align(max(1, a.DType.Bytes())))
		if n, ok := constElements(a.Shape); ok && n > 0 {
			p.Attrs = append(p.Attrs, ir.Dereferenceable{N: uint64(n) * uint64(max(1, a.DType.Bytes()))})
		}
		g.bufs[a] = p
		params = append(params, p)
	}
	var workspace *ir.Param
	if f.Workspace != nil {
		// the memory plan's block (network.go): the caller's, at least
		// WorkspaceAlign-aligned
		workspace = ir.NewParam("workspace", types.NewPointer(types.I8))
		workspace.Attrs = append(workspace.Attrs, enum.ParamAttrNoAlias, ir.Align(lower.WorkspaceAlign),
			ir.Dereferenceable{N: uint64(max(1, f.Workspace.Bytes))})
		params = append(params, workspace)
	}
	g.fn = g.m.NewFunc(f.Name, types.Void, params...)
	if t.CPU != "" {
		g.fn.FuncAttrs = append(g.fn.FuncAttrs, ir.AttrPair{Key: "target-cpu", Value: t.CPU})
	}
	if t.Features != "" {
		g.fn.FuncAttrs = append(g.fn.FuncAttrs, ir.AttrPair{Key: "target-features", Value: t.Features})
	}
	if opts.Sanitize {
		// outlined functions copy these attributes
		g.fn.FuncAttrs = append(g.fn.FuncAttrs, enum.FuncAttrSanitizeAddress)
	}
	g.kernel = g.fn
	g.keepHeap = f.Workspace == nil && !opts.Sanitize
	g.entry = g.fn.NewBlock("entry")
	g.b = g.fn.NewBlock("body")
	g.constants(f)
	if f.Workspace != nil {
		g.workspace(f, workspace)
	}
	if opts.Profile {
		g.profile(-1)
	}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(genError)
			if !ok {
				panic(r)
			}
			m, warnings, err = nil, nil, fmt.Errorf("generating %s for %s: %s", f.Name, t.Name, e.msg)
		}
	}()
	g.stmt(f.Body)
	g.b.NewRet(nil)
	g.entry.NewBr(g.fn.Blocks[1])
	if f.Workspace == nil {
		g.releaseFunc(f.Name)
	}
	if opts.FastMath {
		markFastMath(g.m)
	}
	return g.m, g.warnings, nil
}

type genError struct{ msg string }

func fail(format string, args ...any) { panic(genError{fmt.Sprintf(format, args...)}) }

type gen struct {
	opts     Options
	groups   int // groups emitted so far (their profile index)
	target   Target
	m        *ir.Module
	fn       *ir.Func
	entry, b *ir.Block // allocas go to entry; code goes to b
	vars     map[*te.Var]value.Value
	bufs     map[*lower.Buffer]value.Value
	declared map[string]*ir.Func
	nblocks  int
	warnings []string
	// stackBytes is what the function's allocas take so far (see stackLimit)
	stackBytes int64
	// kernel is the entry function; loopDepth counts the serial loops
	// around the statement being emitted; keepHeap says the kernel keeps
	// its heap buffers between calls (heapcache.go: not a network, which
	// has its workspace, nor a sanitized build), in kernelCaches.
	kernel       *ir.Func
	loopDepth    int
	keepHeap     bool
	kernelCaches []*ir.Global
}

// regType is how a value of a dtype lives in registers; memType, in memory
// (bools are i1 in registers and a byte in memory, as in C).
func regType(t te.DType) types.Type {
	if t.Lanes > 1 {
		return types.NewVector(uint64(t.Lanes), regType(t.Element()))
	}
	switch {
	case t.IsBool():
		return types.I1
	case t.IsFloat() && t.Bits == 32:
		return types.Float
	case t.IsFloat():
		return types.Double
	}
	return types.NewInt(uint64(t.Bits))
}

func memType(t te.DType) types.Type {
	if t.IsBool() {
		if t.Lanes > 1 {
			return types.NewVector(uint64(t.Lanes), types.I8)
		}
		return types.I8
	}
	return regType(t)
}

func (g *gen) block(name string) *ir.Block {
	g.nblocks++
	return g.fn.NewBlock(fmt.Sprintf("%s%d", name, g.nblocks))
}

func (g *gen) stmt(s lower.Stmt) {
	switch s := s.(type) {
	case nil:
	case lower.Seq:
		for _, x := range s {
			g.stmt(x)
		}
	case *lower.For:
		if s.Kind == lower.Parallel {
			g.parallel(s)
			return
		}
		g.loop(s)
	case *lower.Store:
		g.store(s)
	case *lower.Prefetch:
		// llvm.prefetch(address, read, keep in all cache levels, data):
		// a hint that never faults (prfm on aarch64, prefetcht0 on x86)
		i8p := types.NewPointer(types.I8)
		fn := g.declare("llvm.prefetch.p0i8", types.Void, i8p, types.I32, types.I32, types.I32)
		at := g.b.NewBitCast(g.address(s.Buffer, s.Index), i8p)
		g.b.NewCall(fn, at, constant.NewInt(types.I32, 0), constant.NewInt(types.I32, 3), constant.NewInt(types.I32, 1))
	case *lower.Allocate:
		g.allocate(s)
	case *lower.IfThenElse:
		cond := g.expr(s.Cond)
		then, join := g.block("then"), g.block("endif")
		els := join
		if s.Else != nil {
			els = g.block("else")
		}
		g.b.NewCondBr(cond, then, els)
		g.b = then
		g.stmt(s.Then)
		g.b.NewBr(join)
		if s.Else != nil {
			g.b = els
			g.stmt(s.Else)
			g.b.NewBr(join)
		}
		g.b = join
	case *lower.LetStmt:
		g.vars[s.Var] = g.expr(s.Value)
		g.stmt(s.Body)
		delete(g.vars, s.Var)
	case *lower.Group:
		g.group(s)
	default:
		fail("unknown statement %T", s)
	}
}

// loop emits for (v = min; v < min+extent; v++) body as a header with a phi.
func (g *gen) loop(s *lower.For) {
	min := g.expr(s.Min)
	end := g.b.NewAdd(min, g.expr(s.Extent))
	pre := g.b
	header, body, exit := g.block("loop"), g.block("body"), g.block("exit")
	pre.NewBr(header)
	iv := header.NewPhi(ir.NewIncoming(min, pre))
	header.NewCondBr(header.NewICmp(enum.IPredSLT, iv, end), body, exit)
	g.b = body
	g.vars[s.Var] = iv
	g.loopDepth++
	g.stmt(s.Body)
	g.loopDepth--
	next := g.b.NewAdd(iv, constant.NewInt(types.I64, 1))
	iv.Incs = append(iv.Incs, ir.NewIncoming(next, g.b))
	g.b.NewBr(header)
	delete(g.vars, s.Var)
	g.b = exit
}

// stackLimit is how many bytes of buffers a function keeps on its stack: a
// thread's stack is a few MiB (8 on Linux by default, an OpenMP worker's
// as much or less), and a kernel's packed weights or whole-layer
// intermediates can be larger. Stack buffers cost nothing per call; heap
// ones cost an allocation and, above glibc's mmap threshold, page faults
// (a 28x28 float conv ran 1.6x slower with its 1 MiB on the heap).
const stackLimit = 1 << 20

// allocate reserves a buffer: on the stack, in the entry block, when its
// size is a constant and the function's stack buffers stay within
// stackLimit (in the entry block, a loop does not grow the stack); else on
// the heap, 64-byte aligned: kept for the next call when the kernel
// allocates it outside its loops (heapcache.go), else freed after its body.
func (g *gen) allocate(s *lower.Allocate) {
	size := te.Expr(&te.IntImm{Value: 1, T: te.Index})
	for _, d := range s.Buffer.Shape {
		size = &te.Binary{Op: te.Mul, A: size, B: d, T: te.Index}
	}
	size = lower.SimplifyExpr(size)
	et := memType(s.Buffer.DType)
	elemBytes := int64(max(1, s.Buffer.DType.Bytes()))
	if c, ok := size.(*te.IntImm); ok && g.stackBytes+c.Value*elemBytes <= stackLimit {
		g.stackBytes += c.Value * elemBytes
		a := g.entry.NewAlloca(et)
		a.NElems = constant.NewInt(types.I64, c.Value)
		if s.Buffer.Align > 0 {
			a.Align = ir.Align(s.Buffer.Align)
		}
		g.bufs[s.Buffer] = a
		g.stmt(s.Body)
		delete(g.bufs, s.Buffer)
		return
	}
	bytes := g.b.NewMul(g.expr(size), constant.NewInt(types.I64, elemBytes))
	// aligned_alloc wants a size that is a multiple of the alignment
	rounded := g.b.NewAnd(g.b.NewAdd(bytes, constant.NewInt(types.I64, 63)), constant.NewInt(types.I64, -64))
	if g.keepHeap && g.fn == g.kernel && g.loopDepth == 0 {
		cache, block := g.takeCached(rounded)
		g.bufs[s.Buffer] = g.b.NewBitCast(g.b.NewGetElementPtr(types.I8, block, constant.NewInt(types.I64, heapHeader)), types.NewPointer(et))
		g.stmt(s.Body)
		g.putCached(cache, block)
		delete(g.bufs, s.Buffer)
		return
	}
	raw := g.alignedAlloc(rounded)
	g.bufs[s.Buffer] = g.b.NewBitCast(raw, types.NewPointer(et))
	g.stmt(s.Body)
	g.b.NewCall(g.declareFree(), raw)
	delete(g.bufs, s.Buffer)
}

// alignedAlloc returns bytes (a multiple of 64) of fresh 64-byte aligned
// heap memory.
func (g *gen) alignedAlloc(bytes value.Value) value.Value {
	alloc := g.declare("aligned_alloc", types.NewPointer(types.I8), types.I64, types.I64)
	if len(alloc.ReturnAttrs) == 0 {
		// fresh memory: tells LLVM it aliases no other pointer
		alloc.ReturnAttrs = append(alloc.ReturnAttrs, enum.ReturnAttrNoAlias)
	}
	raw := g.b.NewCall(alloc, constant.NewInt(types.I64, 64), bytes)
	// the C function has no error return: a failed allocation aborts the
	// program rather than writing through a null pointer
	failed, ok := g.block("alloc.failed"), g.block("alloc.ok")
	g.b.NewCondBr(g.b.NewICmp(enum.IPredEQ, raw, constant.NewNull(types.NewPointer(types.I8))), failed, ok)
	abort := g.declare("abort", types.Void)
	if len(abort.FuncAttrs) == 0 {
		abort.FuncAttrs = append(abort.FuncAttrs, enum.FuncAttrNoReturn)
	}
	failed.NewCall(abort)
	failed.NewUnreachable()
	g.b = ok
	return raw
}

func (g *gen) declareFree() *ir.Func {
	return g.declare("free", types.Void, types.NewPointer(types.I8))
}

// declare returns a declared external function (libc or an intrinsic).
func (g *gen) declare(name string, ret types.Type, params ...types.Type) *ir.Func {
	if f, ok := g.declared[name]; ok {
		return f
	}
	var ps []*ir.Param
	for _, p := range params {
		ps = append(ps, ir.NewParam("", p))
	}
	f := g.m.NewFunc(name, ret, ps...)
	g.declared[name] = f
	return f
}

func (g *gen) address(b *lower.Buffer, index te.Expr) value.Value {
	ptr, ok := g.bufs[b]
	if !ok {
		fail("buffer %s is used outside its allocation", b.Name)
	}
	return g.b.NewGetElementPtr(memType(b.DType), ptr, g.expr(index))
}

// constElements is the number of elements of a constant shape.
func constElements(shape []te.Expr) (int64, bool) {
	n := int64(1)
	for _, d := range shape {
		v, ok := te.IntValue(d)
		if !ok {
			return 0, false
		}
		n *= v
	}
	return n, true
}
