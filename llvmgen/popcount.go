package llvmgen

import (
	"fmt"
	"math/bits"
	"slices"

	"github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/te"
)

// The popcount of a broadcast byte combined with a vector of bytes, on
// AVX2 and Skylake's AVX-512 (no byte popcount instruction): the inner
// step of a binarized convolution, popcount(broadcast(activation) ^
// weights), one output channel per byte lane.
//
// LLVM counts a vector of bytes with a nibble table: and, shift, and, two
// vpshufb and an add, after the broadcast and the xor: 8 vector
// instructions per 256 binary multiply-adds. But the activation is one
// byte for all lanes, so its nibbles can choose the tables instead: for
// each nibble value a, the table of popcount(a ^ k) over k = 0..15 (one of
// 16 constant vectors, loaded, not computed), indexed by the weights'
// nibbles with vpshufb. The weights' nibbles are the same for every pixel
// of a register block, so LLVM computes them once per step of the block;
// what remains per pixel is two table loads (load ports, not vector ALUs),
// two vpshufb and an add.

// nibbleOps are the bitwise operations a table can stand for, with the
// name of their tables.
var nibbleOps = map[te.BinOp]struct {
	name string
	f    func(a, b int) int
}{
	te.BitXor: {"xor", func(a, b int) int { return a ^ b }},
	te.BitAnd: {"and", func(a, b int) int { return a & b }},
	te.BitOr:  {"or", func(a, b int) int { return a | b }},
}

// bitalgCPUs have AVX-512 BITALG (vpopcntb), for targets named by CPU
// alone.
var bitalgCPUs = []string{"icelake-client", "icelake-server", "tigerlake", "rocketlake", "sapphirerapids",
	"emeraldrapids", "graniterapids", "znver4", "znver5"}

// bwCPUs have AVX-512 BW (vpshufb on 64 bytes) and no BITALG, for
// targets named by CPU alone.
var bwCPUs = []string{"skylake-avx512", "cascadelake", "cooperlake", "cannonlake", "x86-64-v4"}

// byteTableShuffle is the vpshufb intrinsic for lanes bytes when the
// target counts bytes with nibble tables: x86 with AVX2 (32 lanes) or
// AVX-512 BW (64; Skylake's AVX-512 has BW's vpshufb but no byte popcount),
// without AVX-512 BITALG, whose vpopcntb LLVM uses instead. Else "".
func (g *gen) byteTableShuffle(lanes int) string {
	t := g.target
	if t.Arch() != "x86_64" || t.HasFeature("avx512bitalg") || slices.Contains(bitalgCPUs, t.CPU) {
		return ""
	}
	switch {
	case lanes == 32 && t.VectorBits >= 256:
		return "llvm.x86.avx2.pshuf.b"
	case lanes == 64 && t.VectorBits >= 512 && !t.disablesFeature("avx512bw") &&
		(t.HasFeature("avx512bw") || slices.Contains(bwCPUs, t.CPU)):
		// vpshufb on zmm is AVX-512 BW's: with F alone (-mattr=+avx512f,
		// Knights Landing) LLVM cannot select it, and its own ctpop splits
		// the vector in two
		return "llvm.x86.avx512.pshuf.b.512"
	}
	return ""
}

// broadcastPopcount emits x = popcount(op(broadcast(s), w)) over 32 or 64
// byte lanes with the nibble tables, or reports false when x is not of
// that form or the target does not take them.
func (g *gen) broadcastPopcount(x *te.Unary) (value.Value, bool) {
	t := x.X.Type()
	if x.Op != te.Popcount || t.Bits != 8 || !t.IsInteger() {
		return nil, false
	}
	shuffleName := g.byteTableShuffle(t.Lanes)
	b, ok := x.X.(*te.Binary)
	if shuffleName == "" || !ok {
		return nil, false
	}
	if _, known := nibbleOps[b.Op]; !known {
		return nil, false
	}
	s, w := b.A, b.B
	if _, isBroadcast := s.(*lower.Broadcast); !isBroadcast {
		s, w = w, s
	}
	bc, isBroadcast := s.(*lower.Broadcast)
	if !isBroadcast || bc.Value.Type().Lanes != 1 {
		return nil, false
	}
	lanes := t.Lanes
	vt := types.NewVector(uint64(lanes), types.I8)
	table := g.nibbleTable(b.Op, lanes)
	sv := g.expr(bc.Value)
	wv := g.expr(w)
	pick := func(nibble value.Value) value.Value {
		at := g.b.NewGetElementPtr(table.ContentType, table, constant.NewInt(types.I64, 0), g.b.NewZExt(nibble, types.I64))
		v := g.b.NewLoad(vt, at)
		v.Align = ir.Align(lanes)
		return v
	}
	lo := pick(g.b.NewAnd(sv, constant.NewInt(types.I8, 15)))
	hi := pick(g.b.NewLShr(sv, constant.NewInt(types.I8, 4)))
	fifteen := g.splat(constant.NewInt(types.I8, 15), lanes)
	wlo := g.b.NewAnd(wv, fifteen)
	whi := g.b.NewAnd(g.b.NewLShr(wv, g.splat(constant.NewInt(types.I8, 4), lanes)), fifteen)
	shuffle := g.declare(shuffleName, vt, vt, vt)
	return g.b.NewAdd(g.b.NewCall(shuffle, lo, wlo), g.b.NewCall(shuffle, hi, whi)), true
}

// nibbleTable is the module's constant [16 x <lanes x i8>] for op: entry
// a, byte j holds popcount(op(a, j mod 16)) (vpshufb looks up each 128-bit
// part on its own, so every part holds the 16 values).
func (g *gen) nibbleTable(op te.BinOp, lanes int) *ir.Global {
	name := fmt.Sprintf("tide.popcount.nibbles.%s.%d", nibbleOps[op].name, lanes)
	for _, glob := range g.m.Globals {
		if glob.Name() == name {
			return glob
		}
	}
	vt := types.NewVector(uint64(lanes), types.I8)
	rows := make([]constant.Constant, 16)
	for a := range 16 {
		cells := make([]constant.Constant, lanes)
		for j := range lanes {
			cells[j] = constant.NewInt(types.I8, int64(bits.OnesCount8(uint8(nibbleOps[op].f(a, j%16)))))
		}
		rows[a] = constant.NewVector(vt, cells...)
	}
	glob := g.m.NewGlobalDef(name, constant.NewArray(types.NewArray(16, vt), rows...))
	glob.Immutable = true
	glob.Linkage = enum.LinkagePrivate
	glob.Align = ir.Align(lanes)
	return glob
}
