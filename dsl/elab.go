package dsl

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/alecthomas/participle/v2"

	"github.com/tide-compiler/tide/internal/cnames"
	"github.com/tide-compiler/tide/schedule"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/topi"
	"github.com/tide-compiler/tide/tune"
)

// Parse parses and elaborates a .te file. On errors it returns an ErrorList
// with every error found (and a partial program).
func Parse(file string, src []byte) (*Program, error) {
	return ParseWith(file, src, Options{})
}

// Options change how a file elaborates.
type Options struct {
	// Defines gives integer constants of the file other values, like a C
	// compiler's -D: `M = 256` in the file and {"M": 1024} elaborate as
	// `M = 1024`, and constants computed from M follow. A name that is not
	// an integer constant of the file is an error.
	Defines map[string]int64
	// Words give a file's choices (POLARITY = choice(bipolar, unipolar))
	// another of their words, as -D POLARITY=unipolar does.
	Words map[string]string
	// Target, when set, gives every operator call (conv2d, bitserial_conv2d,
	// ...) the operator library's schedule for that target, unless the file
	// has a schedule block for one of the operator's stages.
	Target *topi.Target
	// NetworkSchedule, when set, schedules a network's operators instead
	// of Target's per-operator schedules (package graph fuses them into
	// groups first); keep marks the stages the file schedules itself.
	NetworkSchedule func(p *Program, s *schedule.Schedule, keep func(*te.Tensor) bool) error
	// IgnoreOtherDefines accepts Defines and Words the file does not
	// declare (one command line for a network and its float twin).
	IgnoreOtherDefines bool
	// FloatGlue makes fused_glue and fused_glue_bn the float sequence an
	// unfused network runs (topi.FloatGlue; Riptide's ablation).
	FloatGlue bool
}

// ParseWith is Parse with options.
func ParseWith(file string, src []byte, opts Options) (*Program, error) {
	defines := opts.Defines
	text := string(src)
	el := &elab{
		file:      file,
		errs:      &errorSink{lines: strings.Split(text, "\n")},
		globals:   map[string]*binding{},
		later:     map[string]Pos{},
		prog:      &Program{File: file, Decls: map[*te.Tensor]Pos{}},
		defines:   defines,
		words:     opts.Words,
		target:    opts.Target,
		netSched:  opts.NetworkSchedule,
		floatGlue: opts.FloatGlue,
	}
	el.initDefs()
	var stmts []*Stmt
	for _, c := range splitStatements(text, el.errs, file) {
		var st *Stmt
		var err error
		if !c.bad {
			// Pad with newlines so positions are those of the whole file.
			st, err = stmtParser.ParseString(file, strings.Repeat("\n", c.line-1)+c.text)
			if err != nil && !el.defSyntaxErrors(c) {
				el.syntaxError(err, c)
			}
		}
		if c.bad || err != nil {
			// The statement is lost, but the name it declares is known:
			// its uses stay silent instead of reporting an unknown name.
			if m := assignedName.FindStringSubmatch(c.text); m != nil {
				st = &Stmt{Assign: &Assign{Name: &Name{Pos: Pos{Filename: file, Line: c.line, Column: len(m[1]) + 1}, Name: m[2]}}}
			} else if st = el.lostDefOrCall(c); st == nil {
				continue
			}
		}
		stmts = append(stmts, st)
	}
	for _, st := range stmts {
		if st.Assign != nil {
			if _, dup := el.later[st.Assign.Name.Name]; !dup {
				el.later[st.Assign.Name.Name] = st.Assign.Name.Pos
			}
		}
		if st.Multi != nil {
			addLater(el.later, st.Multi.Targets)
		}
	}
	el.registerDefs(stmts)
	var blocks []*ScheduleBlock
	for _, st := range stmts {
		switch {
		case st.Assign != nil:
			el.assign(st.Assign)
		case st.Multi != nil:
			el.multiAssign(st.Multi)
		case st.Kernel != nil:
			el.kernel(st.Kernel)
		case st.Schedule != nil:
			blocks = append(blocks, st.Schedule) // after all declarations
		}
	}
	el.schedules(blocks)
	el.applySchedules()
	for _, k := range el.prog.Knobs {
		if b := el.knobs[k.Name]; b != nil && !el.used[b] {
			el.prog.UnusedKnobs = append(el.prog.UnusedKnobs, k.Name)
		}
	}
	if err := el.unusedDefines(); err != nil && !opts.IgnoreOtherDefines {
		return el.prog, err
	}
	if el.prog.Kernel == nil && el.kernelPos == nil && len(el.errs.list) == 0 {
		last := len(el.errs.lines)
		if last > 1 && strings.TrimSpace(el.errs.lines[last-1]) == "" {
			last-- // the file ends with a newline
		}
		el.errs.add(Pos{Filename: file, Line: last, Column: 1},
			"no kernel declared; add a line like: kernel NAME(inputs) -> outputs")
	}
	return el.prog, el.errs.err()
}

func (el *elab) syntaxError(err error, c chunk) {
	if el.habitHints(c) {
		return
	}
	var perr participle.Error
	if errors.As(err, &perr) {
		msg := perr.Message()
		msg = strings.ReplaceAll(msg, `"<EOF>"`, "end of statement")
		msg = grammarNames.Replace(msg)
		pos := perr.Position()
		// An error at the end of the statement points just after its last
		// token, not past trailing comments, line ends or the file's end.
		if end := chunkEnd(c, el.file); pos.Line > end.Line || (pos.Line == end.Line && pos.Column > end.Column) {
			pos = end
		}
		el.errs.add(pos, "syntax error: %s", msg)
		return
	}
	el.errs.add(Pos{Filename: el.file, Line: 1, Column: 1}, "syntax error: %v", err)
}

// grammarNames turns participle's rule names into words for users.
var grammarNames = strings.NewReplacer(
	"(expected Postfix)", "(expected an operand)",
	"(expected Unary)", "(expected an operand)",
	"(expected Expr)", "(expected an expression)",
	"(expected Primary)", "(expected an operand)",
	"(expected Arg)", "(expected an argument)",
	"(expected Name)", "(expected a name)",
	"(expected SchedStmt)", "(expected a schedule primitive)",
	"(expected Stmt)", "(expected a statement)",
	"(expected DefStmt)", "(expected a statement)",
	`(expected ")" "{" (DefStmt ";"?)* "}")`, `(expected ")")`,
	`(expected ("," Name)+ "=" Expr)`, "(expected more names, then = and a def call: a, b = f(x))",
	`(expected (("(" Name ("," Name)* ")") | (Name ("," Name)*)))`, "(expected the output names: -> C, or -> C, D, or -> (C, D))",
)

// chunkEnd is the position just after the last token of a statement.
func chunkEnd(c chunk, file string) Pos {
	lines := strings.Split(c.text, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		content := lines[i]
		if j := strings.IndexByte(content, '#'); j >= 0 {
			content = content[:j]
		}
		if content = strings.TrimRight(content, " \t\r"); content != "" {
			return Pos{Filename: file, Line: c.line + i, Column: len(content) + 1}
		}
	}
	return Pos{Filename: file, Line: c.line, Column: 1}
}

type bindKind uint8

const (
	bConst  bindKind = iota // a constant or an expression over symbolic dims
	bSize                   // a symbolic dimension
	bTensor                 // a placeholder or compute
	bRAxis                  // a reduce_axis declaration
	bAxis                   // a lambda parameter (inside a compute)
	bPoison                 // a declaration that failed; uses stay silent
	bWord                   // a choice among words: POLARITY = choice(bipolar, unipolar)
)

var bindKindNames = [...]string{"constant", "symbolic dimension", "tensor", "reduce axis", "axis", "name", "choice"}

type binding struct {
	kind   bindKind
	pos    Pos
	value  te.Expr // bConst, bSize, bAxis
	tensor *te.Tensor
	raxis  *raxisDecl
	param  *paramInfo // a def's parameter, bound for one call
	byCall bool       // a file name of a tensor a def call made (pos is the call's)
	word   string     // bWord: the chosen word
}

type raxisDecl struct {
	name        string
	min, extent te.Expr
}

type elab struct {
	file      string
	errs      *errorSink
	globals   map[string]*binding
	later     map[string]Pos // every top-level assignment, for "used before declared"
	prog      *Program
	kernelPos *Pos
	declaring string // the name the statement being elaborated declares
	defines   map[string]int64
	// used are the bindings a name has resolved to, and knobs the file's
	// knob bindings: a knob nothing reads is reported (Program.UnusedKnobs)
	used      map[*binding]bool
	knobs     map[string]*binding
	words     map[string]string
	choices   []string // the choices of the file, in order
	defined   []string // the integer constants of the file, in order
	target    *topi.Target
	netSched  func(p *Program, s *schedule.Schedule, keep func(*te.Tensor) bool) error
	floatGlue bool
	defState  // def blocks and their expansion (def.go)
}

// computeCtx is the state of elaborating one compute body.
type computeCtx struct {
	name     string
	locals   map[string]*binding
	root     *Call // the only call that may be a reduction
	raxes    map[*raxisDecl]*te.IterVar
	firstUse map[*te.IterVar]Pos
	order    []*te.IterVar
}

// errReported marks an expression whose error has been reported already.
var errReported = errors.New("error already reported")

var reported = &te.Bad{Err: errReported}

// check reports the error of a Bad expression at pos, once.
func (el *elab) check(pos Pos, e te.Expr) te.Expr {
	if b, ok := e.(*te.Bad); ok {
		if !errors.Is(b.Err, errReported) {
			el.errs.add(pos, "%v", b.Err)
		}
		return reported
	}
	return e
}

func isBad(es ...te.Expr) bool {
	for _, e := range es {
		if _, ok := e.(*te.Bad); ok || e == nil {
			return true
		}
	}
	return false
}

// unaryFuncs are the one-argument functions of expressions: abs,
// popcount and te's float functions, by their names in the language.
var unaryFuncs = func() map[string]te.UnOp {
	m := map[string]te.UnOp{"abs": te.Abs, "popcount": te.Popcount}
	for _, op := range te.FloatFunctions {
		m[op.String()] = op
	}
	return m
}()

// exprFuncs are the functions an expression may call (sorted, for messages).
var exprFuncs = func() []string {
	fs := []string{"sum", "min", "max", "select", "if_then_else", "cast", "floordiv", "floormod", "pow"}
	for name := range unaryFuncs {
		fs = append(fs, name)
	}
	sort.Strings(fs)
	return fs
}()

var builtinFuncs = append([]string{"placeholder", "compute", "reduce_axis", "var", "choice", "knob", "natural_vector_size", "target_has_feature"}, exprFuncs...)

func isBuiltin(name string) bool {
	for _, f := range builtinFuncs {
		if f == name {
			return true
		}
	}
	_, isType := te.ParseDType(name)
	return isType || name == "true" || name == "false"
}

// define binds a top-level name, reporting whether it could.
func (el *elab) define(n *Name, b *binding) bool {
	if isBuiltin(n.Name) {
		el.errs.add(n.Pos, "%s is a built-in name and cannot be redefined", n.Name)
		return false
	}
	if old, ok := el.globals[n.Name]; ok {
		if old.param != nil {
			el.errs.add(n.Pos, "%s is a parameter of %s; choose another name", n.Name, old.param.def)
			return false
		}
		by := ""
		if old.byCall {
			by = ", by the def call there"
		}
		el.errs.add(n.Pos, "%s is already declared at %d:%d%s", n.Name, old.pos.Line, old.pos.Column, by)
		return false
	}
	if d := el.defs[n.Name]; d != nil {
		el.errs.add(n.Pos, "%s is the name of the def at %d:%d; choose another name", n.Name, d.decl.Name.Pos.Line, d.decl.Name.Pos.Column)
		el.globals[n.Name] = &binding{kind: bPoison, pos: n.Pos} // its uses stay silent
		return false
	}
	b.pos = n.Pos
	el.globals[n.Name] = b
	if b.kind == bPoison && el.frame != nil {
		el.lost[el.frame.prefix+n.Name] = true
	}
	return true
}

// asCall returns the call when e is nothing but a call.
func asCall(e *Expr) *Call {
	if e == nil || len(e.Rest) > 0 || len(e.First.Ops) > 0 || len(e.First.Operand.Index) > 0 {
		return nil
	}
	return e.First.Operand.Primary.Call
}

// asName returns the identifier when e is nothing but a name.
func asName(e *Expr) (string, bool) {
	if e == nil || len(e.Rest) > 0 || len(e.First.Ops) > 0 || len(e.First.Operand.Index) > 0 {
		return "", false
	}
	if n := e.First.Operand.Primary.Name; n != nil {
		return *n, true
	}
	return "", false
}

// assignedName finds NAME in a statement "NAME = ..." that failed to parse.
var assignedName = regexp.MustCompile(`^(\s*)([A-Za-z_][A-Za-z0-9_]*)\s*=[^=]`)

func (el *elab) assign(a *Assign) {
	name := a.Name.Name
	if a.Value == nil { // a statement with a syntax error, reported already
		el.define(a.Name, &binding{kind: bPoison})
		return
	}
	el.declaring = name
	defer func() { el.declaring = "" }()
	if call := asCall(a.Value); call != nil {
		if d := el.defs[call.Func.Name]; d != nil {
			el.callDef([]*Name{a.Name}, call, d)
			return
		}
		switch call.Func.Name {
		case "placeholder":
			el.defineTensor(a.Name, el.placeholder(el.tensorName(name), call))
			return
		case "compute":
			el.defineTensor(a.Name, el.compute(el.tensorName(name), call))
			return
		case "reduce_axis":
			el.reduceAxis(a.Name, call)
			return
		case "choice":
			el.choice(a.Name, call)
			return
		case "knob":
			el.knob(a.Name, call)
			return
		case "var":
			if el.frame != nil {
				el.errs.add(call.Pos, "var() declares a symbolic dimension, a kernel argument: declare it at the top level of the file (a def sees the file's symbolic dimensions)")
				el.define(a.Name, &binding{kind: bPoison})
				return
			}
			el.sizeVar(a.Name, call)
			return
		}
		if el.operator(a.Name, call) {
			return
		}
	}
	v := el.expr(a.Value, nil)
	if isBad(v) {
		el.define(a.Name, &binding{kind: bPoison})
		return
	}
	if err := onlyConstants(v); err != "" {
		el.errs.add(a.Value.Pos, "%s must be a constant (an expression over numbers, constants and symbolic dims); %s", name, err)
		el.define(a.Name, &binding{kind: bPoison})
		return
	}
	if c, isInt := v.(*te.IntImm); isInt && el.frame == nil {
		el.defined = append(el.defined, name)
		if d, ok := el.defines[name]; ok {
			v = &te.IntImm{Value: d, T: c.T}
		}
	}
	el.define(a.Name, &binding{kind: bConst, value: v})
}

// choice declares NAME = choice(w1, w2, ...): a word, w1 unless -D NAME=w
// picks another, for an operator's keyword (polarity=NAME).
func (el *elab) choice(n *Name, call *Call) {
	var words []string
	for _, a := range call.Args {
		w, ok := asName(a.Value)
		if a.Key != nil || !ok {
			el.refuse(n, a.Pos, "choice lists words, e.g. choice(bipolar, unipolar): the first is the default")
			return
		}
		words = append(words, w)
	}
	if len(words) == 0 {
		el.refuse(n, call.Pos, "choice lists one or more words, e.g. choice(bipolar, unipolar): the first is the default")
		return
	}
	if el.frame != nil {
		el.refuse(n, call.Pos, "a choice is declared at the top level of the file (a def sees it there)")
		return
	}
	word := words[0]
	el.choices = append(el.choices, n.Name)
	if w, ok := el.words[n.Name]; ok {
		if !slices.Contains(words, w) {
			el.refuse(n, call.Pos, "-D %s=%s: %s is one of %s", n.Name, w, n.Name, strings.Join(words, ", "))
			return
		}
		word = w
	}
	el.define(n, &binding{kind: bWord, word: word})
}

// refuse reports an error at pos and declares n as failed, so that its
// uses stay silent.
func (el *elab) refuse(n *Name, pos Pos, format string, args ...any) {
	el.errs.add(pos, format, args...)
	el.define(n, &binding{kind: bPoison})
}

// knob declares NAME = knob(v1, v2, ...): an integer constant, v1 unless
// -D NAME=v gives another, whose candidates tide tune searches (AutoTVM's
// define_knob). -D may give a value outside the list: it pins the knob.
func (el *elab) knob(n *Name, call *Call) {
	var values []int64
	for _, a := range call.Args {
		if a.Key != nil {
			el.refuse(n, a.Pos, "knob lists integer candidates, e.g. knob(8, 4, 16, 32): the first is the default")
			return
		}
		v, ok := el.constInt(a.Value, "a knob's candidate")
		if !ok {
			el.define(n, &binding{kind: bPoison})
			return
		}
		if !slices.Contains(values, v) {
			// a computed default may equal a listed value: kept once
			values = append(values, v)
		}
	}
	if len(values) == 0 {
		el.refuse(n, call.Pos, "knob lists one or more integer candidates, e.g. knob(8, 4, 16, 32): the first is the default")
		return
	}
	if el.frame != nil {
		el.refuse(n, call.Pos, "a knob is declared at the top level of the file (a def sees it there)")
		return
	}
	v := values[0]
	if d, ok := el.defines[n.Name]; ok {
		v = d
	}
	el.defined = append(el.defined, n.Name)
	where := fmt.Sprintf("%s:%d:%d", n.Pos.Filename, n.Pos.Line, n.Pos.Column)
	el.prog.Knobs = append(el.prog.Knobs, tune.Knob{Name: n.Name, Values: values, Where: where})
	if el.prog.KnobValues == nil {
		el.prog.KnobValues = tune.Config{}
	}
	el.prog.KnobValues[n.Name] = v
	b := &binding{kind: bConst, value: te.Int(v)}
	if el.knobs == nil {
		el.knobs = map[string]*binding{}
	}
	el.knobs[n.Name] = b
	el.define(n, b)
}

// use records that a name resolved to b.
func (el *elab) use(b *binding) {
	if b == nil {
		return
	}
	if el.used == nil {
		el.used = map[*binding]bool{}
	}
	el.used[b] = true
}

// fileBinding is name's binding of kind among the file's top-level names
// (a def's body sees them too), or nil.
func (el *elab) fileBinding(name string, kind bindKind) *binding {
	b := el.globals[name]
	if b == nil && el.frame != nil {
		b = el.top[name]
	}
	if b == nil || b.kind != kind {
		return nil
	}
	return b
}

// intConstant is the value of name when it is an integer constant of the
// file.
func (el *elab) intConstant(name string) (int64, bool) {
	b := el.fileBinding(name, bConst)
	if b == nil {
		return 0, false
	}
	c, ok := b.value.(*te.IntImm)
	if !ok || c.T.IsBool() {
		return 0, false
	}
	el.use(b)
	return c.Value, true
}

// wordConstant is the word a choice named name holds, if it is one (the
// file's, also seen from a def's body).
func (el *elab) wordConstant(name string) (string, bool) {
	if b := el.fileBinding(name, bWord); b != nil {
		return b.word, true
	}
	return "", false
}

// unusedDefines reports the names in defines that are not integer constants
// of the file (a misspelling would otherwise change nothing, silently).
func (el *elab) unusedDefines() error {
	var bad []string
	for name := range el.words {
		if !slices.Contains(el.choices, name) {
			return fmt.Errorf("-D %s=%s: %s has no choice of that name (its choices are: %s)", name, el.words[name], el.file, strings.Join(append(el.choices, "none")[:max(1, len(el.choices))], ", "))
		}
	}
	for name := range el.defines {
		if b := el.globals[name]; b != nil && b.kind == bSize {
			return fmt.Errorf("-D %s: %s is a symbolic dimension of %s, a kernel argument: give its value with --set %s=VALUE", name, name, el.file, name)
		}
		if slices.Contains(el.choices, name) {
			return fmt.Errorf("-D %s=%d: %s is a choice of words, not a number", name, el.defines[name], name)
		}
		if !slices.Contains(el.defined, name) {
			bad = append(bad, name)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return fmt.Errorf("-D %s: %s has no integer constant of that name (its integer constants are: %s)",
		strings.Join(bad, ", "), el.file, strings.Join(append(el.defined, "none")[:max(1, len(el.defined))], ", "))
}

func onlyConstants(e te.Expr) string {
	msg := ""
	te.Walk(e, func(x te.Expr) bool {
		switch x := x.(type) {
		case *te.Read:
			msg = "it reads " + x.Tensor.Name
		case *te.Var:
			if !x.IsSize() {
				msg = "it uses axis " + x.Name
			}
		}
		return msg == ""
	})
	return msg
}

func (el *elab) defineTensor(n *Name, t *te.Tensor) {
	if t == nil {
		el.define(n, &binding{kind: bPoison})
		return
	}
	if !el.define(n, &binding{kind: bTensor, tensor: t}) {
		return
	}
	if el.frame != nil && !el.registerExpanded(n, t) {
		el.globals[n.Name] = &binding{kind: bPoison, pos: n.Pos}
		return
	}
	el.prog.Tensors = append(el.prog.Tensors, t)
	el.prog.Decls[t] = n.Pos
}

// callArgs sorts a call's arguments into positional and keyword ones,
// reporting keywords not in allowed and a wrong number of positionals.
type callArgs struct {
	pos []*Arg
	kw  map[string]*Arg
}

func (el *elab) args(call *Call, signature string, minPos, maxPos int, allowed ...string) (callArgs, bool) {
	ca := callArgs{kw: map[string]*Arg{}}
	ok := true
	for _, a := range call.Args {
		if a.Key == nil {
			if len(ca.kw) > 0 {
				el.errs.add(a.Pos, "positional argument after a keyword argument in %s", signature)
				ok = false
			}
			ca.pos = append(ca.pos, a)
			continue
		}
		k := a.Key.Name
		known := false
		for _, al := range allowed {
			known = known || al == k
		}
		if !known {
			el.errs.add(a.Key.Pos, "%s has no argument %q%s; it is called as %s", call.Func.Name, k, suggest(k, allowed), signature)
			ok = false
		} else if ca.kw[k] != nil {
			el.errs.add(a.Key.Pos, "argument %q is given twice", k)
			ok = false
		}
		ca.kw[k] = a
	}
	if len(ca.pos) < minPos || len(ca.pos) > maxPos {
		want := fmt.Sprint(minPos)
		if maxPos != minPos {
			want = fmt.Sprintf("%d to %d", minPos, maxPos)
		}
		el.errs.add(call.Pos, "%s takes %s positional arguments, got %d; it is called as %s", call.Func.Name, want, len(ca.pos), signature)
		ok = false
	}
	return ca, ok
}

func (el *elab) sizeVar(n *Name, call *Call) {
	ca, ok := el.args(call, "var() or var(default=N)", 0, 0, "default")
	if !ok {
		el.define(n, &binding{kind: bPoison})
		return
	}
	decl := &SizeDecl{Var: te.SizeVar(n.Name), Pos: n.Pos}
	if d := ca.kw["default"]; d != nil {
		v, ok := el.constInt(d.Value, "the default of "+n.Name)
		if !ok {
			el.define(n, &binding{kind: bPoison})
			return
		}
		if v <= 0 {
			el.errs.add(d.Value.Pos, "the default of %s must be positive, got %d", n.Name, v)
		}
		decl.Default, decl.HasDefault = v, true
	}
	el.prog.Sizes = append(el.prog.Sizes, decl)
	el.define(n, &binding{kind: bSize, value: decl.Var})
}

// constInt elaborates e as an integer constant.
func (el *elab) constInt(e *Expr, what string) (int64, bool) {
	v := el.expr(e, nil)
	if isBad(v) {
		return 0, false
	}
	c, ok := v.(*te.IntImm)
	if !ok || c.T.IsBool() {
		el.errs.add(e.Pos, "%s must be an integer constant, not %s", what, describe(v))
		return 0, false
	}
	return c.Value, true
}

func describe(e te.Expr) string {
	switch e := e.(type) {
	case *te.IntImm, *te.FloatImm:
		return fmt.Sprintf("%s (%v)", te.ExprString(e), e.Type())
	}
	return fmt.Sprintf("%s (an expression of type %v)", te.ExprString(e), e.Type())
}

func (el *elab) reduceAxis(n *Name, call *Call) {
	const sig = "reduce_axis(lo, hi) for lo <= k < hi"
	var lo, hi *Expr
	if len(call.Args) == 1 && call.Args[0].Key == nil {
		if p := call.Args[0].Value.First.Operand.Primary.Paren; p != nil && len(p.More) == 1 {
			lo, hi = p.Elems[0], p.More[0] // reduce_axis((lo, hi)), as in TVM
		}
	}
	if lo == nil {
		ca, ok := el.args(call, sig, 2, 2)
		if !ok {
			el.define(n, &binding{kind: bPoison})
			return
		}
		lo, hi = ca.pos[0].Value, ca.pos[1].Value
	}
	l, h := el.indexExpr(lo), el.indexExpr(hi)
	if isBad(l, h) {
		el.define(n, &binding{kind: bPoison})
		return
	}
	ext := te.Bin(te.Sub, h, l)
	if c, ok := ext.(*te.IntImm); ok && c.Value <= 0 {
		el.refuse(n, call.Pos, "reduce_axis %s is empty: %s..%s; it needs lo < hi", n.Name, te.ExprString(l), te.ExprString(h))
		return
	}
	el.define(n, &binding{kind: bRAxis, raxis: &raxisDecl{name: n.Name, min: l, extent: ext}})
}

// indexExpr elaborates a shape or range bound: an integer over constants and symbolic dims.
func (el *elab) indexExpr(e *Expr) te.Expr {
	v := el.expr(e, nil)
	if isBad(v) {
		return reported
	}
	if !v.Type().IsInteger() {
		el.errs.add(e.Pos, "a dimension must be an integer, not %s", describe(v))
		return reported
	}
	return el.check(e.Pos, te.CastTo(te.Index, v))
}

// shape elaborates (d0, d1, ...) or a single dimension, or a list
// [d0, d1, ...] (TVM takes either); () and [] are the shape of a 0-d
// tensor, one element.
func (el *elab) shape(e *Expr) ([]te.Expr, bool) {
	var elems []*Expr
	whole := len(e.Rest) == 0 && len(e.First.Ops) == 0 && len(e.First.Operand.Index) == 0
	if p := e.First.Operand.Primary.Paren; p != nil && whole {
		elems = append(append(elems, p.Elems...), p.More...)
	} else if l := e.First.Operand.Primary.List; l != nil && whole {
		elems = l.Elems
	} else {
		elems = []*Expr{e}
	}
	out := make([]te.Expr, len(elems))
	ok := true
	for i, x := range elems {
		out[i] = el.indexExpr(x)
		if isBad(out[i]) {
			ok = false
			continue
		}
		if c, isC := out[i].(*te.IntImm); isC && c.Value <= 0 {
			el.errs.add(x.Pos, "dimension %d is %d; dimensions must be positive", i, c.Value)
			ok = false
		}
	}
	return out, ok
}

// naturalVectorSize is natural_vector_size(dtype), Halide's
// Target::natural_vector_size: how many elements of the type fill a vector
// register of the target, so that a knob's default can follow the target
// (LANES = knob(natural_vector_size(float32), 4, 8, 16)). Without a target
// (tide check, tide eval) it is the x86-64 preset's 256-bit registers'.
func (el *elab) naturalVectorSize(c *Call) te.Expr {
	ca, ok := el.args(c, "natural_vector_size(dtype)", 1, 1)
	if !ok {
		return reported
	}
	t, ok := el.dtype(ca.pos[0].Value)
	if !ok {
		return reported
	}
	bits := 256
	if el.target != nil {
		bits = el.target.VectorBits
	}
	return te.Int(int64(max(1, bits/max(8, t.Bits))))
}

// targetHasFeature is target_has_feature(name), Halide's
// Target::has_feature: 1 when the target has the instruction set
// extension (LLVM's name, e.g. avx512vpopcntdq), else 0, so that a knob's
// default can follow it. Without a target it is 0.
func (el *elab) targetHasFeature(c *Call) te.Expr {
	ca, ok := el.args(c, "target_has_feature(name), e.g. target_has_feature(avx512vpopcntdq)", 1, 1)
	if !ok {
		return reported
	}
	name, isName := asName(ca.pos[0].Value)
	if !isName {
		el.errs.add(ca.pos[0].Value.Pos, "target_has_feature takes a feature's name as LLVM spells it, e.g. avx512vpopcntdq or neon")
		return reported
	}
	if el.target != nil && slices.Contains(el.target.Features, name) {
		return te.Int(1)
	}
	return te.Int(0)
}

func (el *elab) dtype(e *Expr) (te.DType, bool) {
	name, ok := asName(e)
	if !ok {
		el.errs.add(e.Pos, "expected a dtype (one of %s)", strings.Join(te.DTypeNames(), ", "))
		return te.Invalid, false
	}
	if _, isType := te.ParseDType(name); !isType {
		if w, isChoice := el.wordConstant(name); isChoice {
			// a choice of the file: ACC = choice(int16, int32)
			t, ok := te.ParseDType(w)
			if !ok {
				el.errs.add(e.Pos, "%s is %s here, but a dtype is one of %s", name, w, strings.Join(te.DTypeNames(), ", "))
			}
			return t, ok
		}
		if bits, isConst := el.intConstant(name); isConst {
			// a constant of the file gives a signed integer type by its
			// bits, as word= takes a word's: ACC = knob(16, 32), cast(ACC, x)
			t, ok := te.ParseDType(fmt.Sprintf("int%d", bits))
			if !ok {
				el.errs.add(e.Pos, "%s is %d here: a constant where a dtype goes gives an integer type by its bits, 8, 16, 32 or 64", name, bits)
			}
			return t, ok
		}
	}
	t, ok := te.ParseDType(name)
	if !ok {
		el.errs.add(e.Pos, "unknown dtype %q%s (dtypes: %s)", name, suggest(name, te.DTypeNames()), strings.Join(te.DTypeNames(), ", "))
	}
	return t, ok
}

func (el *elab) placeholder(name string, call *Call) *te.Tensor {
	const sig = "placeholder(shape, dtype) or placeholder(shape, dtype, range=(lo, hi))"
	ca, ok := el.args(call, sig, 2, 2, "range")
	if !ok {
		return nil
	}
	shape, okS := el.shape(ca.pos[0].Value)
	dt, okT := el.dtype(ca.pos[1].Value)
	if !okS || !okT {
		return nil
	}
	t, err := te.Placeholder(name, shape, dt)
	if err != nil {
		el.errs.add(call.Pos, "%v", err)
		return nil
	}
	if r := ca.kw["range"]; r != nil {
		p := r.Value.First.Operand.Primary.Paren
		if p == nil || len(p.More) != 1 || len(r.Value.Rest) > 0 || len(r.Value.First.Ops) > 0 {
			el.errs.add(r.Value.Pos, "range= takes a pair (lo, hi) of inclusive bounds")
			return nil
		}
		lo, okL := el.constNumber(p.Elems[0])
		hi, okH := el.constNumber(p.More[0])
		if !okL || !okH {
			return nil
		}
		if err := t.SetRange(lo, hi); err != nil {
			el.errs.add(r.Value.Pos, "%v", err)
			return nil
		}
	}
	return t
}

func (el *elab) constNumber(e *Expr) (float64, bool) {
	v := el.expr(e, nil)
	switch c := v.(type) {
	case *te.IntImm:
		if !c.T.IsBool() {
			return float64(c.Value), true
		}
	case *te.FloatImm:
		return c.Value, true
	}
	if !isBad(v) {
		el.errs.add(e.Pos, "expected a number, not %s", describe(v))
	}
	return 0, false
}

func (el *elab) compute(name string, call *Call) *te.Tensor {
	const sig = "compute(shape, (i, j, ...) => expression)"
	ca, ok := el.args(call, sig, 2, 2)
	if !ok {
		return nil
	}
	shape, ok := el.shape(ca.pos[0].Value)
	if !ok {
		return nil
	}
	lamExpr := ca.pos[1].Value
	var lam *Lambda
	if len(lamExpr.Rest) == 0 && len(lamExpr.First.Ops) == 0 && len(lamExpr.First.Operand.Index) == 0 {
		lam = lamExpr.First.Operand.Primary.Lambda
	}
	if lam == nil {
		el.errs.add(lamExpr.Pos, "the second argument of compute must be a lambda: (i, j) => expression")
		return nil
	}
	if len(shape) == 0 && len(lam.Params) > 0 {
		el.errs.add(lam.Pos, "compute %s is 0-d (one element), so its lambda takes no parameters: () => expression", name)
		return nil
	}
	if len(lam.Params) != len(shape) {
		el.errs.add(lam.Pos, "compute %s has %d dimensions but the lambda takes %d; give it one parameter per dimension", name, len(shape), len(lam.Params))
		return nil
	}
	ctx := &computeCtx{name: name, locals: map[string]*binding{}, root: asCall(lam.Body),
		raxes: map[*raxisDecl]*te.IterVar{}, firstUse: map[*te.IterVar]Pos{}}
	names := make([]string, len(lam.Params))
	for i, p := range lam.Params {
		names[i] = p.Name
		if old, ok := el.visible(p.Name); ok || isBuiltin(p.Name) {
			where := "a built-in name"
			if ok {
				where = fmt.Sprintf("the %s declared at %d:%d", bindKindNames[old.kind], old.pos.Line, old.pos.Column)
			}
			el.errs.add(p.Pos, "lambda parameter %s would hide %s; choose another name", p.Name, where)
			return nil
		}
		if ctx.locals[p.Name] != nil {
			el.errs.add(p.Pos, "lambda parameter %s is listed twice", p.Name)
			return nil
		}
		ctx.locals[p.Name] = &binding{kind: bAxis, pos: p.Pos}
	}
	t, err := te.Compute(name, shape, func(axes []te.Expr) te.Expr {
		for i, p := range lam.Params {
			ctx.locals[p.Name].value = axes[i]
		}
		body := el.expr(lam.Body, ctx)
		if isBad(body) {
			return reported
		}
		reducedOver := map[*te.IterVar]bool{}
		if r, ok := body.(*te.Reduce); ok {
			for _, iv := range r.Axes {
				reducedOver[iv] = true
			}
		}
		for _, iv := range ctx.order {
			if !reducedOver[iv] {
				el.errs.add(ctx.firstUse[iv], "reduce axis %s is used but not reduced over; list it in axis= of the sum, min or max that forms the body", iv.Var.Name)
				return reported
			}
		}
		return body
	}, names...)
	if err != nil {
		if !errors.Is(err, errReported) {
			el.errs.add(call.Pos, "%v", err)
		}
		return nil
	}
	return t
}

func (el *elab) kernel(k *KernelDecl) {
	if el.kernelPos != nil {
		el.errs.add(k.Pos, "a file declares one kernel; the first is at %d:%d", el.kernelPos.Line, el.kernelPos.Column)
		return
	}
	el.kernelPos = &k.Pos
	if err := cnames.Check(k.Name.Name); err != nil {
		el.errs.add(k.Name.Pos, "%v", err)
	}
	var inputs, outputs []*te.Tensor
	var params []*te.Var
	var paramPos []int // each declared param's place among the inputs
	ok := true
	for _, a := range k.Args {
		b := el.lookupGlobal(a, nil)
		switch {
		case b == nil:
			ok = false
		case b.kind == bTensor && b.tensor.IsPlaceholder():
			inputs = append(inputs, b.tensor)
		case b.kind == bTensor:
			el.errs.add(a.Pos, "%s is computed, so it is an output: list it after ->", a.Name)
			ok = false
		case b.kind == bSize:
			params = append(params, b.value.(*te.Var))
			paramPos = append(paramPos, len(inputs))
		case b.kind == bPoison:
			ok = false
		default:
			el.errs.add(a.Pos, "%s is a %s; kernel arguments are placeholders and symbolic dims", a.Name, bindKindNames[b.kind])
			ok = false
		}
	}
	for _, o := range k.Outputs {
		b := el.lookupGlobal(o, nil)
		switch {
		case b == nil || b.kind == bPoison:
			ok = false
		case b.kind == bTensor && !b.tensor.IsPlaceholder():
			outputs = append(outputs, b.tensor)
		default:
			el.errs.add(o.Pos, "%s is a %s; kernel outputs are computed tensors", o.Name, describeBinding(b))
			ok = false
		}
	}
	if !ok {
		return
	}
	if k.Kind == "network" {
		if len(params) > 0 {
			el.errs.add(k.Pos, "network %s: a network's shapes are constants (give them another value with -D), not symbolic dimensions", k.Name.Name)
			return
		}
		listed := map[*te.Tensor]bool{}
		for _, t := range inputs {
			listed[t] = true
		}
		used := map[*te.Tensor]bool{}
		for _, t := range te.PostOrder(outputs) {
			used[t] = true
		}
		for _, t := range el.prog.Tensors {
			if t.IsPlaceholder() && used[t] && !listed[t] {
				el.prog.Weights = append(el.prog.Weights, t)
			}
		}
		el.prog.Network = true
		inputs = append(inputs, el.prog.Weights...)
	}
	kern, err := te.NewKernel(k.Name.Name, inputs, outputs, params)
	if err != nil {
		el.errs.add(k.Pos, "%v", err)
		return
	}
	// the C signature follows the declaration: kernel f(A, n) -> B is
	// f(A, n, B); params the declaration leaves out follow the inputs
	copy(kern.ParamPos, paramPos)
	el.prog.Kernel = kern
}

func describeBinding(b *binding) string {
	if b.kind == bTensor && b.tensor.IsPlaceholder() {
		return "placeholder"
	}
	return bindKindNames[b.kind]
}

// lookupGlobal resolves a top-level name, reporting unknown ones.
func (el *elab) lookupGlobal(n *Name, ctx *computeCtx) *binding {
	if ctx != nil {
		if b := ctx.locals[n.Name]; b != nil {
			return b
		}
	}
	if b := el.globals[n.Name]; b != nil {
		el.use(b)
		return b
	}
	if b, done := el.lookupOutside(n); done {
		el.use(b)
		return b
	}
	if n.Name == el.declaring {
		el.errs.add(n.Pos, "%s is used in its own declaration; a compute cannot read its own result (accumulate with sum, min or max instead)", n.Name)
		return nil
	}
	if p, ok := el.later[n.Name]; ok && (p.Line > n.Pos.Line || (p.Line == n.Pos.Line && p.Column > n.Pos.Column)) {
		el.errs.add(n.Pos, "%s is used before its declaration at %d:%d", n.Name, p.Line, p.Column)
		return nil
	}
	var cands []string
	for name := range el.globals {
		cands = append(cands, name)
	}
	cands = append(cands, el.visibleConstants()...)
	if ctx != nil {
		for name := range ctx.locals {
			cands = append(cands, name)
		}
	}
	sort.Strings(cands)
	el.errs.add(n.Pos, "unknown name %q%s", n.Name, suggest(n.Name, append(cands, builtinFuncs...)))
	return nil
}

// schedules checks schedule blocks: the stage, the primitive names and the
// names their arguments refer to.
func (el *elab) schedules(blocks []*ScheduleBlock) {
	made := map[string]bool{} // stages that cache_write and cache_read create
	for _, blk := range blocks {
		for _, st := range blk.Body {
			if spec := primitiveSpec(st.Prim.Name); spec != nil && spec.makesStage {
				for _, t := range st.Targets {
					made[t.Name] = true
				}
			}
		}
	}
	staged := map[*te.Tensor]bool{}
	for _, blk := range blocks {
		if made[blk.Stage.Name] && el.globals[blk.Stage.Name] == nil {
			sched := &Schedule{Pos: blk.Pos, StageName: blk.Stage.Name}
			local := map[string]bool{}
			for _, st := range blk.Body {
				if p := el.primitive(st, local, blk.Stage.Name); p != nil {
					sched.Primitives = append(sched.Primitives, p)
				}
			}
			el.prog.Schedules = append(el.prog.Schedules, sched)
			continue
		}
		b := el.lookupGlobal(blk.Stage, nil)
		if b == nil || b.kind == bPoison {
			continue
		}
		if b.kind != bTensor || b.tensor.IsPlaceholder() {
			el.errs.add(blk.Stage.Pos, "schedule %s: only computed tensors have a schedule; %s is a %s", blk.Stage.Name, blk.Stage.Name, describeBinding(b))
			continue
		}
		stage := b.tensor
		if staged[stage] {
			el.errs.add(blk.Stage.Pos, "%s already has a schedule block; put all its primitives in one", stage.Name)
			continue
		}
		staged[stage] = true
		sched := &Schedule{Pos: blk.Pos, Stage: stage, StageName: stage.Name}
		local := map[string]bool{}
		for _, iv := range append(append([]*te.IterVar{}, stage.Axis...), stage.ReduceAxis...) {
			local[iv.Var.Name] = true
		}
		for _, st := range blk.Body {
			if p := el.primitive(st, local, stage.Name); p != nil {
				sched.Primitives = append(sched.Primitives, p)
			}
		}
		el.prog.Schedules = append(el.prog.Schedules, sched)
	}
}

func (el *elab) primitive(st *SchedStmt, local map[string]bool, stageName string) *Primitive {
	name := st.Prim.Name
	if primitiveSpec(name) == nil {
		names := PrimitiveNames()
		el.errs.add(st.Prim.Pos, "unknown schedule primitive %q%s; the primitives are %s", name, suggest(name, names), strings.Join(names, ", "))
		return nil
	}
	p := &Primitive{Pos: st.Pos, Name: name, Targets: st.Targets}
	ok := true
	for _, a := range st.Args {
		arg := &PrimArg{Pos: a.Pos}
		if a.Key != nil {
			arg.Key = a.Key.Name
		}
		if n, isName := asName(a.Value); isName {
			// which axis or stage a name means is the schedule's business
			// (dsl/apply.go): it depends on the primitive and the stage
			g := el.globals[n]
			el.use(g)
			if g != nil && g.kind == bConst {
				if c, isInt := g.value.(*te.IntImm); isInt {
					arg.Value = c.Value
					p.Args = append(p.Args, arg)
					continue
				}
			}
			arg.Name, arg.IsName = n, true
			p.Args = append(p.Args, arg)
			continue
		}
		v, isInt := el.constInt(a.Value, name+"'s argument")
		if !isInt {
			ok = false
			continue
		}
		arg.Value = v
		p.Args = append(p.Args, arg)
	}
	for _, t := range st.Targets {
		if local[t.Name] {
			el.errs.add(t.Pos, "%s is already an axis of %s; choose a new name", t.Name, stageName)
			ok = false
		}
		local[t.Name] = true
	}
	if !ok {
		return nil
	}
	return p
}

// Expressions.

type opInfo struct {
	op   te.BinOp
	prec int
}

// Python's precedence, with C's spelling of the logical operators.
var binaryOps = map[string]opInfo{
	"||": {te.Or, 1}, "&&": {te.And, 2},
	"==": {te.EQ, 4}, "!=": {te.NE, 4}, "<": {te.LT, 4}, "<=": {te.LE, 4}, ">": {te.GT, 4}, ">=": {te.GE, 4},
	"|": {te.BitOr, 5}, "^": {te.BitXor, 6}, "&": {te.BitAnd, 7},
	"<<": {te.Shl, 8}, ">>": {te.Shr, 8},
	"+": {te.Add, 9}, "-": {te.Sub, 9},
	"*": {te.Mul, 10}, "/": {te.Div, 10}, "%": {te.Mod, 10},
	"//": {te.FloorDiv, 10}, // Python's floor division, TVM's habit: floordiv(a, b)
}

// expr elaborates an expression; ctx is nil outside compute bodies.
func (el *elab) expr(e *Expr, ctx *computeCtx) te.Expr {
	operands := []te.Expr{el.unary(e.First, ctx)}
	ops := make([]*OpOperand, 0, len(e.Rest))
	bad := false
	for _, r := range e.Rest {
		if _, ok := binaryOps[r.Op]; !ok {
			el.errs.add(r.Pos, "%q is not a binary operator", r.Op)
			bad = true
		}
		ops = append(ops, r)
		operands = append(operands, el.unary(r.Operand, ctx))
	}
	if bad {
		return reported
	}
	i := 0
	var climb func(minPrec int) te.Expr
	climb = func(minPrec int) te.Expr {
		lhs := operands[i]
		for i < len(ops) {
			info := binaryOps[ops[i].Op]
			if info.prec < minPrec {
				break
			}
			opTok := ops[i]
			i++
			rhs := climb(info.prec + 1)
			if info.prec == 4 && i < len(ops) && binaryOps[ops[i].Op].prec == 4 {
				el.errs.add(ops[i].Pos, "comparisons cannot be chained; write a < b && b < c")
				return reported
			}
			if isBad(lhs, rhs) {
				lhs = reported
				continue
			}
			lhs = el.check(opTok.Pos, te.Bin(info.op, lhs, rhs))
		}
		return lhs
	}
	return climb(0)
}

func (el *elab) unary(u *Unary, ctx *computeCtx) te.Expr {
	x := el.postfix(u.Operand, ctx)
	for i := len(u.Ops) - 1; i >= 0; i-- {
		if isBad(x) {
			return reported
		}
		op := map[string]te.UnOp{"-": te.Neg, "!": te.Not, "~": te.BitNot}[u.Ops[i]]
		x = el.check(u.Pos, te.Un(op, x))
	}
	return x
}

func (el *elab) postfix(p *Postfix, ctx *computeCtx) te.Expr {
	pr := p.Primary
	if len(p.Index) == 0 {
		return el.primary(pr, ctx)
	}
	if pr.Name == nil {
		el.errs.add(p.Index[0].Pos, "only tensors can be indexed")
		return reported
	}
	b := el.lookupGlobal(&Name{Pos: pr.Pos, Name: *pr.Name}, ctx)
	if b == nil || b.kind == bPoison {
		return reported
	}
	if b.kind != bTensor {
		if b.param != nil {
			el.errs.add(p.Index[0].Pos, "parameter %s is the integer %s in this call, not a tensor; only tensors can be indexed", *pr.Name, b.param.arg)
			return reported
		}
		el.errs.add(p.Index[0].Pos, "%s is a %s, not a tensor; only tensors can be indexed", *pr.Name, bindKindNames[b.kind])
		return reported
	}
	if len(p.Index) > 1 {
		el.errs.add(p.Index[1].Pos, "index %s with one pair of brackets: %s[i, j]", *pr.Name, *pr.Name)
		return reported
	}
	if ctx == nil {
		el.errs.add(pr.Pos, "tensor elements can only be read inside a compute")
		return reported
	}
	indices := p.Index[0].Indices
	if len(indices) == 1 {
		// A[()] is A[], and A[(i, j)] is A[i, j], as in Python: TVM
		// reads a 0-d tensor as A[()]
		x := indices[0]
		if t := x.First.Operand.Primary.Paren; t != nil && (t.Empty || len(t.More) > 0 || t.Comma) &&
			len(x.Rest) == 0 && len(x.First.Ops) == 0 && len(x.First.Operand.Index) == 0 {
			indices = append(append([]*Expr{}, t.Elems...), t.More...)
		}
	}
	idx := make([]te.Expr, len(indices))
	for i, x := range indices {
		idx[i] = el.expr(x, ctx)
		if isBad(idx[i]) {
			return reported
		}
	}
	return el.check(p.Index[0].Pos, b.tensor.At(idx...))
}

func (el *elab) primary(p *Primary, ctx *computeCtx) te.Expr {
	switch {
	case p.Float != nil:
		v, err := strconv.ParseFloat(*p.Float, 64)
		if err != nil || math.IsInf(v, 0) {
			el.errs.add(p.Pos, "float literal %s is out of range", *p.Float)
			return reported
		}
		return te.Float(v)
	case p.Int != nil:
		lit := *p.Int
		if len(lit) > 1 && lit[0] == '0' && (lit[1] == '_' || (lit[1] >= '0' && lit[1] <= '9')) {
			el.errs.add(p.Pos, "integer literal %s has a leading zero; octal is not supported (write %s, or 0x/0b for hex/binary)", lit, strings.TrimLeft(lit, "0_"))
			return reported
		}
		v, err := strconv.ParseInt(lit, 0, 64)
		if errors.Is(err, strconv.ErrRange) {
			el.errs.add(p.Pos, "integer literal %s does not fit in 64 bits", lit)
			return reported
		}
		if err != nil {
			el.errs.add(p.Pos, "malformed integer literal %s (underscores go between digits: 1_000, 0xFF_FF)", lit)
			return reported
		}
		return te.Int(v)
	case p.Call != nil:
		return el.call(p.Call, ctx)
	case p.Lambda != nil:
		el.errs.add(p.Pos, "a lambda can only be the second argument of compute")
		return reported
	case p.List != nil:
		el.errs.add(p.Pos, "a list [...] can only be a shape or the axis= of a reduction")
		return reported
	case p.Paren != nil:
		if p.Paren.Empty || len(p.Paren.More) > 0 || p.Paren.Comma {
			el.errs.add(p.Pos, "a tuple can only be a shape, a range or a tensor's indices (A[()] reads a 0-d tensor)")
			return reported
		}
		return el.expr(p.Paren.Elems[0], ctx)
	}
	return el.name(&Name{Pos: p.Pos, Name: *p.Name}, ctx)
}

func (el *elab) name(n *Name, ctx *computeCtx) te.Expr {
	switch n.Name {
	case "true":
		return te.BoolConst(true)
	case "false":
		return te.BoolConst(false)
	}
	if _, isType := te.ParseDType(n.Name); isType {
		el.errs.add(n.Pos, "%s is a dtype, not a value; to convert write cast(%s, x)", n.Name, n.Name)
		return reported
	}
	for _, f := range builtinFuncs {
		if f == n.Name {
			el.errs.add(n.Pos, "%s is a function; call it: %s(...)", n.Name, n.Name)
			return reported
		}
	}
	b := el.lookupGlobal(n, ctx)
	if b == nil {
		return reported
	}
	switch b.kind {
	case bConst, bSize, bAxis:
		return b.value
	case bTensor:
		if b.param != nil {
			el.errs.add(n.Pos, "parameter %s is the tensor %s in this call; index it (%s[...]) or pass an integer constant for it", n.Name, b.param.arg, n.Name)
			return reported
		}
		if b.tensor.Ndim() == 0 {
			el.errs.add(n.Pos, "tensor %s must be indexed: %s is 0-d, so read it as %s[]", n.Name, n.Name, n.Name)
			return reported
		}
		el.errs.add(n.Pos, "tensor %s must be indexed: %s[...]", n.Name, n.Name)
	case bRAxis:
		if ctx == nil {
			el.errs.add(n.Pos, "reduce axis %s can only be used inside a compute", n.Name)
			return reported
		}
		return ctx.reduceVar(b.raxis, n.Pos).Var
	}
	return reported
}

// reduceVar gives the compute its own IterVar for a reduce_axis declaration,
// so one declaration can serve several computes.
func (ctx *computeCtx) reduceVar(d *raxisDecl, pos Pos) *te.IterVar {
	iv := ctx.raxes[d]
	if iv == nil {
		iv = te.ReduceAxis(d.name, d.min, d.extent)
		ctx.raxes[d] = iv
		ctx.firstUse[iv] = pos
		ctx.order = append(ctx.order, iv)
	}
	return iv
}

func (el *elab) call(c *Call, ctx *computeCtx) te.Expr {
	fn := c.Func.Name
	switch fn {
	case "placeholder", "compute", "reduce_axis", "var":
		el.errs.add(c.Pos, "%s(...) declares something: write NAME = %s(...) on a line of its own", fn, fn)
		return reported
	case "sum", "min", "max":
		if _, hasAxis := keyword(c, "axis"); hasAxis || fn == "sum" {
			return el.reduction(c, ctx)
		}
		return el.binaryCall(c, ctx, map[string]te.BinOp{"min": te.Min, "max": te.Max}[fn])
	case "natural_vector_size":
		return el.naturalVectorSize(c)
	case "target_has_feature":
		return el.targetHasFeature(c)
	case "floordiv":
		return el.binaryCall(c, ctx, te.FloorDiv)
	case "floormod":
		return el.binaryCall(c, ctx, te.FloorMod)
	case "pow":
		return el.binaryCall(c, ctx, te.Pow)
	case "select", "if_then_else":
		ca, ok := el.args(c, fn+"(cond, a, b)", 3, 3)
		if !ok {
			return reported
		}
		cond, a, b := el.expr(ca.pos[0].Value, ctx), el.expr(ca.pos[1].Value, ctx), el.expr(ca.pos[2].Value, ctx)
		if isBad(cond, a, b) {
			return reported
		}
		if fn == "select" {
			return el.check(c.Pos, te.SelectOf(cond, a, b))
		}
		return el.check(c.Pos, te.IfThenElse(cond, a, b))
	case "cast":
		ca, ok := el.args(c, "cast(dtype, x)", 2, 2)
		if !ok {
			return reported
		}
		t, okT := el.dtype(ca.pos[0].Value)
		x := el.expr(ca.pos[1].Value, ctx)
		if !okT || isBad(x) {
			return reported
		}
		return el.check(c.Pos, te.CastTo(t, x))
	}
	if op, ok := unaryFuncs[fn]; ok {
		ca, ok := el.args(c, fn+"(x)", 1, 1)
		if !ok {
			return reported
		}
		x := el.expr(ca.pos[0].Value, ctx)
		if isBad(x) {
			return reported
		}
		return el.check(c.Pos, te.Un(op, x))
	}
	if d := el.defs[fn]; d != nil {
		el.errs.add(c.Pos, "%s is a def; call it as a statement of its own: NAME = %s(...)", fn, fn)
		return reported
	}
	if b := el.globals[fn]; b != nil {
		if b.kind == bTensor {
			// TVM also reads a tensor by calling it, A(i, j) or A() for
			// a 0-d one; Tide reads elements with brackets only
			el.errs.add(c.Func.Pos, "%s is a tensor, not a function; read its elements with brackets: %s", fn, readSyntax(fn, b.tensor))
			return reported
		}
		el.errs.add(c.Func.Pos, "%s is a %s, not a function", fn, bindKindNames[b.kind])
		return reported
	}
	known := ""
	if ctx != nil { // in a compute's body, where only these can be called
		known = " (the functions are " + strings.Join(exprFuncs, ", ") + ")"
	}
	el.errs.add(c.Func.Pos, "unknown function %q%s%s", fn, suggest(fn, append(el.defNames(), builtinFuncs...)), known)
	return reported
}

func keyword(c *Call, key string) (*Arg, bool) {
	for _, a := range c.Args {
		if a.Key != nil && a.Key.Name == key {
			return a, true
		}
	}
	return nil, false
}

func (el *elab) binaryCall(c *Call, ctx *computeCtx, op te.BinOp) te.Expr {
	ca, ok := el.args(c, c.Func.Name+"(a, b)", 2, 2)
	if !ok {
		return reported
	}
	a, b := el.expr(ca.pos[0].Value, ctx), el.expr(ca.pos[1].Value, ctx)
	if isBad(a, b) {
		return reported
	}
	return el.check(c.Pos, te.Bin(op, a, b))
}

func (el *elab) reduction(c *Call, ctx *computeCtx) te.Expr {
	fn := c.Func.Name
	sig := fn + "(expression, axis=k) or " + fn + "(expression, axis=[k, l]), optionally with where=condition"
	ca, ok := el.args(c, sig, 1, 1, "axis", "where")
	if !ok {
		return reported
	}
	axisArg := ca.kw["axis"]
	if axisArg == nil {
		el.errs.add(c.Pos, "%s needs the axes it reduces over: %s", fn, sig)
		return reported
	}
	if ctx == nil || ctx.root != c {
		el.errs.add(c.Pos, "%s(..., axis=...) must be the whole body of a compute; compute the reduction in a stage of its own and use that", fn)
		return reported
	}
	var axisExprs []*Expr
	if l := axisArg.Value.First.Operand.Primary.List; l != nil && len(axisArg.Value.Rest) == 0 {
		axisExprs = l.Elems
	} else {
		axisExprs = []*Expr{axisArg.Value}
	}
	var axes []*te.IterVar
	for _, ae := range axisExprs {
		n, isName := asName(ae)
		var b *binding
		if isName {
			b = el.lookupGlobal(&Name{Pos: ae.Pos, Name: n}, ctx)
			if b == nil || b.kind == bPoison {
				return reported
			}
		}
		if b == nil || b.kind != bRAxis {
			el.errs.add(ae.Pos, "axis= takes reduce axes declared with reduce_axis (k = reduce_axis(0, K))")
			return reported
		}
		axes = append(axes, ctx.reduceVar(b.raxis, ae.Pos))
	}
	body := el.expr(ca.pos[0].Value, ctx)
	if isBad(body) {
		return reported
	}
	op := map[string]te.ReduceOp{"sum": te.Sum, "min": te.ReduceMin, "max": te.ReduceMax}[fn]
	if w := ca.kw["where"]; w != nil {
		cond := el.expr(w.Value, ctx)
		if isBad(cond) {
			return reported
		}
		if !cond.Type().IsBool() {
			el.errs.add(w.Value.Pos, "where= takes a bool condition, not %s; compare, e.g. where=k <= i", describe(cond))
			return reported
		}
		return el.check(c.Pos, te.ReduceWhere(op, body, cond, axes...))
	}
	return el.check(c.Pos, te.ReduceOf(op, body, axes...))
}

// readSyntax is how t's elements are read, for messages: A[i, j], or A[]
// for a 0-d tensor.
func readSyntax(name string, t *te.Tensor) string {
	if t.Ndim() == 0 {
		return name + "[] (it is 0-d)"
	}
	return name + "[...]"
}
