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

// A network's function (lower/network.go) has three more parts: weights
// as constant data, one workspace for its intermediates, and its fused
// groups as internal functions.

// constants emits each constant buffer as a private global, 64-byte
// aligned (vector loads of weights), and binds the buffer to it.
func (g *gen) constants(f *lower.Func) {
	for _, c := range f.Constants {
		data := c.Value.Memory()
		if len(data) == 0 {
			data = []byte{0}
		}
		glob := g.m.NewGlobalDef(fmt.Sprintf("%s.%s", f.Name, c.Buffer.Name), constant.NewCharArray(data))
		glob.Immutable = true
		glob.Linkage = enum.LinkagePrivate
		glob.UnnamedAddr = enum.UnnamedAddrUnnamedAddr
		glob.Align = ir.Align(lower.WorkspaceAlign)
		g.bufs[c.Buffer] = g.b.NewBitCast(glob, types.NewPointer(memType(c.Buffer.DType)))
	}
}

// workspace binds each planned buffer to its offset in the workspace, and
// emits NAME_workspace_size(), which a caller asks before allocating it.
func (g *gen) workspace(f *lower.Func, base value.Value) {
	for _, s := range f.Workspace.Slots {
		p := g.b.NewGetElementPtr(types.I8, base, constant.NewInt(types.I64, s.Offset))
		g.bufs[s.Buffer] = g.b.NewBitCast(p, types.NewPointer(memType(s.Buffer.DType)))
	}
	size := g.m.NewFunc(f.Name+cnames.WorkspaceSizeSuffix, types.I64)
	size.NewBlock("entry").NewRet(constant.NewInt(types.I64, f.Workspace.Bytes))
}

// captures lists the buffers and variables of the enclosing scope that s
// uses, in first-use order.
func (g *gen) captures(s lower.Stmt) (bufs []*lower.Buffer, vars []*te.Var) {
	for _, b := range lower.StmtBuffers(s) {
		if _, ok := g.bufs[b]; ok {
			bufs = append(bufs, b)
		}
	}
	seen := map[*te.Var]bool{}
	lower.WalkStmt(s, func(x lower.Stmt) bool {
		lower.StmtExprs(x, func(e te.Expr) {
			te.Walk(e, func(y te.Expr) bool {
				if v, ok := y.(*te.Var); ok && !seen[v] {
					if _, bound := g.vars[v]; bound {
						seen[v] = true
						vars = append(vars, v)
					}
				}
				return true
			})
		})
		return true
	})
	return bufs, vars
}

// group emits a fused group as an internal function taking the buffers
// and variables it uses, and calls it. The buffers a group uses are live
// at once, so the plan gave them disjoint memory: noalias holds. noinline
// keeps the group a unit of code (and of a profile).
func (g *gen) group(s *lower.Group) {
	bufs, vars := g.captures(s.Body)
	var args []value.Value
	for _, b := range bufs {
		args = append(args, g.bufs[b])
	}
	for _, v := range vars {
		args = append(args, g.vars[v])
	}
	fn := g.bufferFunc(fmt.Sprintf("%s.%s", g.fn.Name(), s.Name), bufs, vars)
	fn.FuncAttrs = append(append([]ir.FuncAttribute{}, g.fn.FuncAttrs...), enum.FuncAttrNoInline)
	g.inFunc(fn, bufs, vars, func() { g.stmt(s.Body) })
	g.b.NewCall(fn, args...)
	if g.opts.Profile {
		g.profile(g.groups)
	}
	g.groups++
}

// profile calls the caller's tide_profile(i).
func (g *gen) profile(i int) {
	g.b.NewCall(g.declare("tide_profile", types.Void, types.I32), constant.NewInt(types.I32, int64(i)))
}
