package dsl

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/alecthomas/participle/v2"

	"github.com/tide-compiler/tide/te"
)

// A def is a block of statements defined once and expanded at each call:
//
//	def block(x, c) {
//	    W = placeholder((3, 3, c, c), float32)
//	    y = conv2d(x, W, padding=1)
//	    return y
//	}
//	b1 = block(x0, 64)
//
// A call elaborates the body again, in a scope of its own: the parameters
// (bound to the call's tensors and integer constants), the file's constants
// and symbolic dimensions, and the names the body assigns. Every tensor the
// call makes is named with the call's prefix, its first target name: b1_W,
// b1_y (and the operator's stages b1_y_pad, ...); a call inside a def adds
// its own prefix to the caller's (b1_inner_W). These names are names of the
// file, for kernel arguments and schedule blocks; the call's targets name
// what the def returns. Errors in the body are reported there and say which
// call expanded it.

// maxExpanded bounds the statements all calls expand together: a few defs
// that each call the previous one twice would otherwise take forever.
const maxExpanded = 10000

type defInfo struct {
	decl   *DefBlock
	broken bool       // it did not parse, or its parameters are wrong: calls stay silent
	ret    *Return    // nil when missing or not last (reported)
	body   []*DefStmt // the statements that elaborate (assignments)
	later  map[string]Pos
}

// frame is one call being expanded.
type frame struct {
	def    *defInfo
	prefix string // of the tensors it makes: "b1_", "b1_inner_"
	root   Pos    // the first target of the outermost call, in the file
	parent *frame
}

// paramInfo marks a def's parameter bound for one call.
type paramInfo struct {
	def string
	arg string // what the call passes, for messages: a tensor's name or the integer
}

type defState struct {
	defs       map[string]*defInfo
	frame      *frame              // the call being expanded; nil at the top level
	top        map[string]*binding // the file's names (globals is the frame's scope inside a call)
	topLater   map[string]Pos
	brokenDefs map[*DefBlock]bool
	// lost and lostPrefixes are names (of the file) a failed call would
	// have made: their uses stay silent
	lost         map[string]bool
	lostPrefixes []string
	expanded     int
	declCtx      map[*te.Tensor]string // the call context of an expanded tensor's declaration
}

func (el *elab) initDefs() {
	el.defs = map[string]*defInfo{}
	el.top = el.globals
	el.topLater = el.later
	el.brokenDefs = map[*DefBlock]bool{}
	el.lost = map[string]bool{}
	el.declCtx = map[*te.Tensor]string{}
}

var (
	lostDef     = regexp.MustCompile(`^(\s*)def\s+([A-Za-z_][A-Za-z0-9_]*)`)
	lostTargets = regexp.MustCompile(`^\s*[A-Za-z_][A-Za-z0-9_]*(\s*,\s*[A-Za-z_][A-Za-z0-9_]*)+\s*=[^=]`)
	identifier  = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)
)

// lostDefOrCall recovers what a def or a call with several targets that
// failed to parse declares, so that its uses stay silent; nil otherwise.
func (el *elab) lostDefOrCall(c chunk) *Stmt {
	if m := lostDef.FindStringSubmatchIndex(c.text); m != nil {
		d := &DefBlock{Name: &Name{Pos: Pos{Filename: el.file, Line: c.line, Column: m[4] + 1}, Name: c.text[m[4]:m[5]]}}
		d.Pos = d.Name.Pos
		el.brokenDefs[d] = true
		return &Stmt{Def: d}
	}
	if m := lostTargets.FindString(c.text); m != "" {
		lhs := m[:strings.IndexByte(m, '=')]
		ma := &MultiAssign{}
		for _, ix := range identifier.FindAllStringIndex(lhs, -1) {
			ma.Targets = append(ma.Targets, &Name{Pos: Pos{Filename: el.file, Line: c.line, Column: ix[0] + 1}, Name: lhs[ix[0]:ix[1]]})
		}
		ma.Pos = ma.Targets[0].Pos
		return &Stmt{Multi: ma}
	}
	return nil
}

func addLater(later map[string]Pos, names []*Name) {
	for _, n := range names {
		if _, dup := later[n.Name]; !dup {
			later[n.Name] = n.Pos
		}
	}
}

// registerDefs records every def of the file (a call may come before its
// def) and checks what does not depend on a call.
func (el *elab) registerDefs(stmts []*Stmt) {
	for _, st := range stmts {
		d := st.Def
		if d == nil {
			continue
		}
		name := d.Name.Name
		info := &defInfo{decl: d, broken: el.brokenDefs[d], later: map[string]Pos{}}
		if info.broken {
			if el.defs[name] == nil && !isBuiltin(name) {
				el.defs[name] = info
			}
			continue
		}
		if isBuiltin(name) {
			el.errs.add(d.Name.Pos, "def %s: %s is a built-in name; name the def differently", name, name)
			continue
		}
		if spec, isOp := ops[name]; isOp {
			el.errs.add(d.Name.Pos, "def %s: %s is an operator, called as %s; name the def differently", name, name, spec.sig)
			continue
		}
		if old := el.defs[name]; old != nil {
			el.errs.add(d.Name.Pos, "def %s is already defined at %d:%d", name, old.decl.Name.Pos.Line, old.decl.Name.Pos.Column)
			continue
		}
		el.defs[name] = info
		seen := map[string]bool{}
		for _, p := range d.Params {
			switch {
			case isBuiltin(p.Name):
				el.errs.add(p.Pos, "parameter %s of %s: %s is a built-in name; choose another name", p.Name, name, p.Name)
				info.broken = true
			case seen[p.Name]:
				el.errs.add(p.Pos, "parameter %s of %s is listed twice", p.Name, name)
				info.broken = true
			}
			seen[p.Name] = true
		}
		misplaced := false
		used := map[string]bool{}
		for i, s := range d.Body {
			switch {
			case s.Return != nil:
				for _, n := range s.Return.Names {
					used[n.Name] = true
				}
				if i != len(d.Body)-1 {
					el.errs.add(s.Pos, "return must be the last statement of %s", name)
					misplaced = true
				} else {
					info.ret = s.Return
				}
			case s.Kernel != nil:
				el.errs.add(s.Pos, "a kernel is declared at the top level of the file, not in a def")
			case s.Schedule != nil:
				el.errs.add(s.Pos, "schedule blocks go at the top level of the file: schedule what a call makes by its prefixed name there (schedule b_%s { ... } after b = %s(...))", s.Schedule.Stage.Name, name)
			case s.Def != nil:
				el.errs.add(s.Pos, "a def cannot be defined inside another; define %s at the top level of the file", s.Def.Name.Name)
			case s.Assign != nil:
				namesIn(s.Assign.Value, used)
				info.body = append(info.body, s)
				addLater(info.later, []*Name{s.Assign.Name})
			case s.Multi != nil:
				namesIn(s.Multi.Value, used)
				info.body = append(info.body, s)
				addLater(info.later, s.Multi.Targets)
			}
		}
		if info.ret == nil && !misplaced {
			el.errs.add(d.Name.Pos, "def %s has no return; end its body with return NAME, ... (what a call gets)", name)
		}
		// like a -D that names no constant: an argument that changes
		// nothing is most likely a mistake
		for _, p := range d.Params {
			if !used[p.Name] && !isBuiltin(p.Name) {
				el.errs.add(p.Pos, "parameter %s of %s is never used; use it or remove it", p.Name, name)
			}
		}
	}
}

// namesIn collects the names an expression uses (not keywords, not called
// functions).
func namesIn(e *Expr, used map[string]bool) {
	if e == nil {
		return
	}
	unaryNames(e.First, used)
	for _, r := range e.Rest {
		unaryNames(r.Operand, used)
	}
}

func unaryNames(u *Unary, used map[string]bool) {
	if u == nil || u.Operand == nil {
		return
	}
	for _, ix := range u.Operand.Index {
		for _, x := range ix.Indices {
			namesIn(x, used)
		}
	}
	p := u.Operand.Primary
	switch {
	case p == nil:
	case p.Name != nil:
		used[*p.Name] = true
	case p.Call != nil:
		for _, a := range p.Call.Args {
			namesIn(a.Value, used)
		}
	case p.Lambda != nil:
		namesIn(p.Lambda.Body, used)
	case p.Paren != nil:
		for _, x := range append(append([]*Expr{}, p.Paren.Elems...), p.Paren.More...) {
			namesIn(x, used)
		}
	case p.List != nil:
		for _, x := range p.List.Elems {
			namesIn(x, used)
		}
	}
}

func (el *elab) defNames() []string {
	var names []string
	for n := range el.defs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// tensorName is the name of a tensor a statement declares as name: with
// the call's prefix inside a def.
func (el *elab) tensorName(name string) string {
	if el.frame == nil {
		return name
	}
	return el.frame.prefix + name
}

// localName is the inverse of tensorName.
func (el *elab) localName(tensorName string) string {
	if el.frame == nil {
		return tensorName
	}
	return strings.TrimPrefix(tensorName, el.frame.prefix)
}

// visible finds a name without reporting anything.
func (el *elab) visible(name string) (*binding, bool) {
	if b := el.globals[name]; b != nil {
		return b, true
	}
	if el.frame != nil {
		if b := el.top[name]; b != nil && (b.kind == bConst || b.kind == bSize) {
			return b, true
		}
	}
	return nil, false
}

// visibleConstants are the file's names a def's body sees besides its own.
func (el *elab) visibleConstants() []string {
	if el.frame == nil {
		return nil
	}
	var names []string
	for n, b := range el.top {
		if b.kind == bConst || b.kind == bSize {
			names = append(names, n)
		}
	}
	return names
}

func (el *elab) lostName(name string) bool {
	if el.lost[name] {
		return true
	}
	for _, p := range el.lostPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func before(a, b Pos) bool {
	return a.Line < b.Line || (a.Line == b.Line && a.Column < b.Column)
}

// lookupOutside resolves a name that is not in the current scope: inside a
// def, the file's constants (and an error for its other names); at the top
// level, the names a failed call would have made (silently). done reports
// whether the name is settled (b nil: reported).
func (el *elab) lookupOutside(n *Name) (b *binding, done bool) {
	if el.frame == nil {
		if el.lostName(n.Name) {
			return &binding{kind: bPoison}, true
		}
		return nil, false
	}
	if p, ok := el.later[n.Name]; ok && before(n.Pos, p) {
		return nil, false // assigned later in the body: the caller says so
	}
	g := el.top[n.Name]
	if g == nil {
		if p, ok := el.topLater[n.Name]; ok {
			el.errs.add(n.Pos, "%s is declared at %d:%d, after the call; a def sees the file's constants declared before its call", n.Name, p.Line, p.Column)
			return nil, true
		}
		return nil, false
	}
	switch g.kind {
	case bConst, bSize, bPoison:
		return g, true
	case bTensor:
		el.errs.add(n.Pos, "%s is a tensor of the file; pass it as a parameter", n.Name)
	default:
		el.errs.add(n.Pos, "%s is a %s of the file; a def sees its parameters, its own names and the file's constants and symbolic dims (declare it in the def)", n.Name, bindKindNames[g.kind])
	}
	return nil, true
}

// registerExpanded makes a tensor a def call made a name of the file,
// reporting a clash.
func (el *elab) registerExpanded(n *Name, t *te.Tensor) bool {
	if old := el.top[t.Name]; old != nil {
		by := ""
		if old.byCall {
			by = ", by the def call there"
		}
		el.errs.add(n.Pos, "%s makes a tensor named %s, but %s is already declared at %d:%d%s; rename one of them", n.Name, t.Name, t.Name, old.pos.Line, old.pos.Column, by)
		return false
	}
	el.top[t.Name] = &binding{kind: bTensor, tensor: t, pos: el.frame.root, byCall: true}
	el.declCtx[t] = el.errs.ctx
	return true
}

// multiAssign is a, b = f(x): a call of a def that returns several values.
func (el *elab) multiAssign(m *MultiAssign) {
	if m.Value == nil { // a syntax error, reported already
		el.poison(m.Targets)
		return
	}
	call := asCall(m.Value)
	if call == nil {
		el.errs.add(m.Value.Pos, "only a def call assigns several names: %s = NAME(...)", joinNames(m.Targets))
		el.poison(m.Targets)
		return
	}
	fn := call.Func.Name
	if d := el.defs[fn]; d != nil {
		el.callDef(m.Targets, call, d)
		return
	}
	if _, isOp := ops[fn]; isOp || isBuiltin(fn) {
		el.errs.add(call.Pos, "%s makes one value; assign it to one name", fn)
	} else {
		el.errs.add(call.Func.Pos, "unknown def %q%s", fn, suggest(fn, el.defNames()))
	}
	el.poison(m.Targets)
}

func joinNames(ns []*Name) string {
	var s []string
	for _, n := range ns {
		s = append(s, n.Name)
	}
	return strings.Join(s, ", ")
}

// poison declares targets whose statement failed; the tensors a call would
// have made with the first as prefix stay silent too.
func (el *elab) poison(targets []*Name) {
	if len(targets) > 0 {
		el.lostPrefixes = append(el.lostPrefixes, el.tensorName(targets[0].Name)+"_")
	}
	for _, t := range targets {
		el.define(t, &binding{kind: bPoison})
	}
}

// callDef expands a call of d whose results are assigned to targets.
func (el *elab) callDef(targets []*Name, call *Call, d *defInfo) {
	name := d.decl.Name.Name
	if d.broken {
		el.poison(targets)
		return
	}
	for _, t := range targets {
		if _, taken := el.globals[t.Name]; taken || isBuiltin(t.Name) || el.defs[t.Name] != nil {
			el.poison(targets) // reports the name that is taken
			return
		}
	}
	var chain []string
	for f := el.frame; f != nil; f = f.parent {
		chain = append([]string{f.def.decl.Name.Name}, chain...)
		if f.def == d {
			el.errs.add(call.Func.Pos, "%s is recursive (%s -> %s); a def cannot call itself, directly or through other defs", name, strings.Join(chain, " -> "), name)
			el.poison(targets)
			return
		}
	}
	args, ok := el.defArgs(call, d)
	if ok && d.ret != nil && len(d.ret.Names) != len(targets) {
		el.errs.add(targets[0].Pos, "%s returns %d %s (%s), so the call needs %d %s before =, not %d", name,
			len(d.ret.Names), plural(len(d.ret.Names), "value", "values"), joinNames(d.ret.Names),
			len(d.ret.Names), plural(len(d.ret.Names), "name", "names"), len(targets))
		ok = false
	}
	if ok && el.expanded+len(d.body) > maxExpanded {
		if el.expanded <= maxExpanded { // report it once
			el.errs.add(call.Pos, "calling %s here would expand more than %d statements in all; the defs call each other too often", name, maxExpanded)
		}
		el.expanded = maxExpanded + 1
		ok = false
	}
	if !ok {
		el.poison(targets)
		return
	}
	el.expanded += len(d.body)

	// enter the call's scope
	root := targets[0].Pos
	if el.frame != nil {
		root = el.frame.root
	}
	savedGlobals, savedLater, savedDeclaring, savedCtx := el.globals, el.later, el.declaring, el.errs.ctx
	el.frame = &frame{def: d, prefix: el.tensorName(targets[0].Name) + "_", root: root, parent: el.frame}
	el.globals, el.later, el.declaring = map[string]*binding{}, d.later, ""
	el.errs.ctx = fmt.Sprintf("in %s called at %s:%d:%d", name, call.Pos.Filename, call.Pos.Line, call.Pos.Column)
	if savedCtx != "" {
		el.errs.ctx += ", " + savedCtx
	}
	for i, p := range d.decl.Params {
		b := args[i]
		b.pos = p.Pos
		el.globals[p.Name] = b
	}
	for _, s := range d.body {
		switch {
		case s.Assign != nil:
			el.assign(s.Assign)
		case s.Multi != nil:
			el.multiAssign(s.Multi)
		}
	}
	var results []*binding
	if d.ret != nil {
		for _, rn := range d.ret.Names {
			results = append(results, el.result(rn, name))
		}
	}
	el.frame = el.frame.parent
	el.globals, el.later, el.declaring, el.errs.ctx = savedGlobals, savedLater, savedDeclaring, savedCtx

	if results == nil { // no return: reported at the def
		el.poison(targets)
		return
	}
	for i, t := range targets {
		r := results[i]
		el.define(t, &binding{kind: r.kind, value: r.value, tensor: r.tensor})
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// result is what a returned name gives the call: a tensor the body made,
// or a constant.
func (el *elab) result(rn *Name, def string) *binding {
	b := el.lookupGlobal(rn, nil)
	switch {
	case b == nil, b.kind == bPoison:
		return &binding{kind: bPoison}
	case b.kind == bTensor && b.param != nil:
		el.errs.add(rn.Pos, "%s is a parameter of %s; a def returns tensors it makes (or constants)", rn.Name, def)
	case b.kind == bTensor, b.kind == bConst:
		return b
	default:
		el.errs.add(rn.Pos, "%s is a %s; a def returns tensors and constants", rn.Name, bindKindNames[b.kind])
	}
	return &binding{kind: bPoison}
}

// defArgs binds a call's arguments (positional, then keywords named like
// the parameters) to d's parameters.
func (el *elab) defArgs(call *Call, d *defInfo) ([]*binding, bool) {
	name := d.decl.Name.Name
	params := d.decl.Params
	var pnames []string
	for _, p := range params {
		pnames = append(pnames, p.Name)
	}
	sig := fmt.Sprintf("%s(%s)", name, strings.Join(pnames, ", "))
	bound := make([]*binding, len(params))
	given := make([]bool, len(params))
	ok, keywords, positional := true, false, 0
	for _, a := range call.Args {
		i := -1
		if a.Key == nil {
			if keywords {
				el.errs.add(a.Pos, "positional argument after a keyword argument in %s", sig)
				ok = false
				continue
			}
			positional++
			if positional > len(params) {
				continue // counted below
			}
			i = positional - 1
		} else {
			keywords = true
			for j, p := range pnames {
				if p == a.Key.Name {
					i = j
				}
			}
			if i < 0 {
				el.errs.add(a.Key.Pos, "%s has no parameter %q%s; it is called as %s", name, a.Key.Name, suggest(a.Key.Name, pnames), sig)
				ok = false
				continue
			}
			if given[i] {
				el.errs.add(a.Key.Pos, "argument %q is given twice", a.Key.Name)
				ok = false
				continue
			}
		}
		given[i] = true
		bound[i] = el.defArg(a.Value, name, pnames[i])
		if bound[i] == nil {
			ok = false
		}
	}
	if positional > len(params) || (!keywords && positional < len(params)) {
		el.errs.add(call.Pos, "%s takes %d %s, got %d; it is called as %s", name, len(params), plural(len(params), "argument", "arguments"), positional, sig)
		return nil, false
	}
	if !ok {
		return nil, false
	}
	var missing []string
	for i, g := range given {
		if !g {
			missing = append(missing, pnames[i])
		}
	}
	if len(missing) > 0 {
		el.errs.add(call.Pos, "%s is called without %s; it is called as %s", name, strings.Join(missing, ", "), sig)
		return nil, false
	}
	return bound, true
}

// defArg elaborates one argument of a def call: a tensor, or an integer
// constant (an expression over constants and symbolic dims).
func (el *elab) defArg(e *Expr, def, param string) *binding {
	if n, isName := asName(e); isName {
		if b, ok := el.visible(n); ok && (b.kind == bTensor || b.kind == bPoison) {
			if b.kind == bPoison {
				return &binding{kind: bPoison}
			}
			return &binding{kind: bTensor, tensor: b.tensor, param: &paramInfo{def: def, arg: b.tensor.Name}}
		}
	}
	v := el.expr(e, nil)
	if isBad(v) {
		return nil
	}
	if msg := onlyConstants(v); msg != "" {
		el.errs.add(e.Pos, "the argument for %s of %s must be a tensor or an integer constant; %s", param, def, msg)
		return nil
	}
	if !v.Type().IsInteger() {
		el.errs.add(e.Pos, "the argument for %s of %s must be a tensor or an integer constant, not %s", param, def, describe(v))
		return nil
	}
	return &binding{kind: bConst, value: v, param: &paramInfo{def: def, arg: te.ExprString(v)}}
}

var defStmtParser = participle.MustBuild[DefStmt](
	participle.Lexer(teLexer),
	participle.Elide("Comment", "Whitespace"),
	participle.UseLookahead(64),
)

// defSyntaxErrors reports the syntax errors of a def that failed to parse
// statement by statement: parsed whole, a wrong statement only shows as a
// missing "}" where it starts. It reports whether it found any.
func (el *elab) defSyntaxErrors(c chunk) bool {
	if !lostDef.MatchString(c.text) {
		return false
	}
	open := strings.IndexByte(c.text, '{')
	end := strings.LastIndexByte(c.text, '}')
	if open < 0 || end < open || strings.ContainsRune(c.text[:open], '#') {
		return false
	}
	found := false
	// the header, as a def with an empty body
	if _, err := stmtParser.ParseString(el.file, strings.Repeat("\n", c.line-1)+c.text[:open+1]+"}"); err != nil {
		el.syntaxError(err, c)
		found = true
	}
	// the body, with the header and the closing brace blanked out so that
	// positions stay those of the file
	blank := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r == '\n' {
				return r
			}
			return ' '
		}, s)
	}
	body := strings.Repeat("\n", c.line-1) + blank(c.text[:open+1]) + c.text[open+1:end] + blank(c.text[end:])
	lines := strings.Split(body, "\n")
	for _, s := range splitStatements(body, &errorSink{lines: lines}, el.file) {
		if s.bad {
			continue
		}
		if _, err := defStmtParser.ParseString(el.file, strings.Repeat("\n", s.line-1)+s.text); err != nil {
			el.syntaxError(err, s)
			found = true
		}
	}
	return found
}
