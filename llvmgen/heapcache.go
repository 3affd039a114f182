package llvmgen

import (
	"fmt"

	"github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/tide-compiler/tide/internal/cnames"
)

// A kernel's heap buffers outside its loops (packed weights, a packed
// operand: too large for the stack) are kept between calls, one block per
// allocation site, as TVM's workspace pool and oneDNN's scratchpad keep
// theirs. Allocated and freed at every call, a few MiB went back to the
// system at each free and were page-faulted in again at the next call:
// a 1024³ matmul's median swung from 15 to 22 ms. Networks have their
// workspace instead (network.go).
//
// The cache is a word holding the block's address, or 0. A call takes the
// block with an atomic exchange, so calls running at once each get their
// own: one takes the cached block, the others allocate. At the end a call
// puts its block back, and frees the one it displaces, so a site keeps at
// most one block. The block's first heapHeader bytes hold its size, so a
// later call with larger (symbolic) shapes replaces a block too small.
// KERNEL_release() frees the cached blocks. Sanitized builds allocate at
// every call, so that AddressSanitizer sees each buffer's own bounds.

// heapHeader is the bytes before a cached block's data: its size, padded
// to keep the data 64-byte aligned.
const heapHeader = 64

// takeCached returns a new cache word and a block of at least bytes of
// data after its header: the cached block if it is large enough, else a
// fresh one.
func (g *gen) takeCached(bytes value.Value) (cache *ir.Global, block value.Value) {
	cache = g.m.NewGlobalDef(fmt.Sprintf("%s.heap%d", g.kernel.Name(), len(g.kernelCaches)), constant.NewInt(types.I64, 0))
	cache.Linkage = enum.LinkageInternal
	cache.Align = ir.Align(8)
	g.kernelCaches = append(g.kernelCaches, cache)
	i8p := types.NewPointer(types.I8)
	word := g.b.NewAtomicRMW(enum.AtomicOpXChg, cache, constant.NewInt(types.I64, 0), enum.AtomicOrderingAcquireRelease)
	cached := g.b.NewIntToPtr(word, i8p)
	check, tooSmall, fresh, ready := g.block("cache.check"), g.block("cache.small"), g.block("cache.alloc"), g.block("cache.ready")
	g.b.NewCondBr(g.b.NewICmp(enum.IPredEQ, word, constant.NewInt(types.I64, 0)), fresh, check)
	size := check.NewLoad(types.I64, check.NewBitCast(cached, types.NewPointer(types.I64)))
	check.NewCondBr(check.NewICmp(enum.IPredUGE, size, bytes), ready, tooSmall)
	tooSmall.NewCall(g.declareFree(), cached)
	tooSmall.NewBr(fresh)
	g.b = fresh
	raw := g.alignedAlloc(g.b.NewAdd(bytes, constant.NewInt(types.I64, heapHeader)))
	g.b.NewStore(bytes, g.b.NewBitCast(raw, types.NewPointer(types.I64)))
	g.b.NewBr(ready)
	block = ready.NewPhi(ir.NewIncoming(cached, check), ir.NewIncoming(raw, g.b))
	g.b = ready
	return cache, block
}

// putCached puts a call's block back in its cache and frees the block it
// displaces (another call's, cached while this one ran).
func (g *gen) putCached(cache *ir.Global, block value.Value) {
	old := g.b.NewAtomicRMW(enum.AtomicOpXChg, cache, g.b.NewPtrToInt(block, types.I64), enum.AtomicOrderingAcquireRelease)
	g.b = g.freeUnlessZero(g.b, old, g.block("cache.free"), g.block("cache.done"))
}

// freeUnlessZero ends b with the free of the block whose address word
// holds, in free, unless word is 0; both go on to done, which it returns.
func (g *gen) freeUnlessZero(b *ir.Block, word value.Value, free, done *ir.Block) *ir.Block {
	b.NewCondBr(b.NewICmp(enum.IPredEQ, word, constant.NewInt(types.I64, 0)), done, free)
	free.NewCall(g.declareFree(), free.NewIntToPtr(word, types.NewPointer(types.I8)))
	free.NewBr(done)
	return done
}

// releaseFunc emits NAME_release(), which frees the kernel's cached blocks.
// Safe at any time: a running call's block is not in its cache.
func (g *gen) releaseFunc(kernel string) {
	fn := g.m.NewFunc(kernel+cnames.ReleaseSuffix, types.Void)
	b := fn.NewBlock("entry")
	for i, cache := range g.kernelCaches {
		old := b.NewAtomicRMW(enum.AtomicOpXChg, cache, constant.NewInt(types.I64, 0), enum.AtomicOrderingAcquireRelease)
		b = g.freeUnlessZero(b, old, fn.NewBlock(fmt.Sprintf("free%d", i)), fn.NewBlock(fmt.Sprintf("next%d", i)))
	}
	b.NewRet(nil)
}
