package dsl

import (
	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// The grammar of one statement of a .te file. A file is split into statements
// first (see chunk.go), so that a syntax error in one does not hide errors in
// the others. Expressions are parsed as flat operator chains; precedence is
// applied by the elaborator (see precedence in elab.go), which keeps the
// grammar small.

var teLexer = lexer.MustSimple([]lexer.SimpleRule{
	{Name: "Comment", Pattern: `#[^\n]*`},
	{Name: "Whitespace", Pattern: `[ \t\r\n]+`},
	{Name: "Float", Pattern: `(\d+\.\d*|\.\d+)([eE][-+]?\d+)?|\d+[eE][-+]?\d+`},
	{Name: "Int", Pattern: `0[xX][0-9a-fA-F_]+|0[bB][01_]+|\d+`},
	{Name: "Keyword", Pattern: `\b(kernel|network|schedule)\b`},
	{Name: "Ident", Pattern: `[A-Za-z_][A-Za-z0-9_]*`},
	{Name: "Arrow", Pattern: `=>|->`},
	{Name: "Op", Pattern: `<<|>>|<=|>=|==|!=|&&|\|\||//|[-+*/%<>!~&|^]`},
	{Name: "Punct", Pattern: `[=(),\[\]{};]`},
})

type Pos = lexer.Position

// Stmt is one top-level statement.
type Stmt struct {
	Pos      Pos
	Kernel   *KernelDecl    `parser:"  @@"`
	Schedule *ScheduleBlock `parser:"| @@"`
	Assign   *Assign        `parser:"| @@"`
	Def      *DefBlock      `parser:"| @@"`
	Multi    *MultiAssign   `parser:"| @@"`
}

// Assign is NAME = expression.
type Assign struct {
	Pos   Pos
	Name  *Name `parser:"@@ '='"`
	Value *Expr `parser:"@@"`
}

// DefBlock is def NAME(params) { statements; return names }: a block of
// statements defined once and expanded at each call (see def.go). def and
// return are not keywords: they only mean something where a name cannot be.
type DefBlock struct {
	Pos    Pos
	Name   *Name      `parser:"'def' @@"`
	Params []*Name    `parser:"'(' (@@ (',' @@)*)? ')' '{'"`
	Body   []*DefStmt `parser:"(@@ ';'?)* '}'"`
}

// DefStmt is one statement of a def body. Kernel declarations, schedule
// blocks and defs parse here only to be refused with a clear error.
type DefStmt struct {
	Pos      Pos
	Return   *Return        `parser:"  @@"`
	Kernel   *KernelDecl    `parser:"| @@"`
	Schedule *ScheduleBlock `parser:"| @@"`
	Def      *DefBlock      `parser:"| @@"`
	Assign   *Assign        `parser:"| @@"`
	Multi    *MultiAssign   `parser:"| @@"`
}

// Return is return NAME, ...: what a def gives its call.
type Return struct {
	Pos   Pos
	Names []*Name `parser:"'return' @@ (',' @@)*"`
}

// MultiAssign is NAME, NAME, ... = call: a def call with several results.
type MultiAssign struct {
	Pos     Pos
	Targets []*Name `parser:"@@ (',' @@)+ '='"`
	Value   *Expr   `parser:"@@"`
}

// KernelDecl is kernel NAME(args) -> outputs, or network NAME(inputs) ->
// outputs: a network's other placeholders are its weights. Several outputs
// may be written with or without parentheses: -> (C, D) or -> C, D.
type KernelDecl struct {
	Pos     Pos
	Kind    string  `parser:"@('kernel' | 'network')"`
	Name    *Name   `parser:"@@"`
	Args    []*Name `parser:"'(' (@@ (',' @@)*)? ')'"`
	Outputs []*Name `parser:"'->' ( '(' @@ (',' @@)* ')' | @@ (',' @@)* )"`
}

// ScheduleBlock is schedule STAGE { primitives }.
type ScheduleBlock struct {
	Pos   Pos
	Stage *Name        `parser:"'schedule' @@ '{'"`
	Body  []*SchedStmt `parser:"(@@ ';'?)* '}'"`
}

// SchedStmt is [targets =] primitive(args).
type SchedStmt struct {
	Pos     Pos
	Targets []*Name `parser:"(@@ (',' @@)* '=')?"`
	Prim    *Name   `parser:"@@"`
	Args    []*Arg  `parser:"'(' (@@ (',' @@)*)? ')'"`
}

// Name is an identifier with its position.
type Name struct {
	Pos  Pos
	Name string `parser:"@Ident"`
}

// Arg is a call argument, optionally with a keyword (axis=k).
type Arg struct {
	Pos   Pos
	Key   *Name `parser:"(@@ '=')?"`
	Value *Expr `parser:"@@"`
}

// Expr is an operator chain: First (Op Operand)*.
type Expr struct {
	Pos   Pos
	First *Unary       `parser:"@@"`
	Rest  []*OpOperand `parser:"@@*"`
}

type OpOperand struct {
	Pos     Pos
	Op      string `parser:"@Op"`
	Operand *Unary `parser:"@@"`
}

// Unary is prefix operators applied to a postfix expression.
type Unary struct {
	Pos     Pos
	Ops     []string `parser:"@('-' | '!' | '~')*"`
	Operand *Postfix `parser:"@@"`
}

// Postfix is a primary followed by index brackets: A[i, j].
type Postfix struct {
	Pos     Pos
	Primary *Primary `parser:"@@"`
	Index   []*Index `parser:"@@*"`
}

// Index is [i, j, ...]; a 0-d tensor is read with no indices, A[].
type Index struct {
	Pos     Pos
	Indices []*Expr `parser:"'[' (@@ (',' @@)*)? ']'"`
}

// Primary is a literal, a call, a name, a parenthesized expression or tuple,
// a list, or a lambda ((i, j) => body, or i => body).
type Primary struct {
	Pos    Pos
	Float  *string `parser:"  @Float"`
	Int    *string `parser:"| @Int"`
	Call   *Call   `parser:"| @@"`
	Lambda *Lambda `parser:"| @@"`
	Paren  *Paren  `parser:"| @@"`
	List   *List   `parser:"| @@"`
	Name   *string `parser:"| @Ident"`
}

type Call struct {
	Pos  Pos
	Func *Name  `parser:"@@ '('"`
	Args []*Arg `parser:"(@@ (',' @@)*)? ')'"`
}

// Lambda is (params) => body or param => body.
type Lambda struct {
	Pos    Pos
	Params []*Name `parser:"( '(' (@@ (',' @@)*)? ')' | @@ ) '=>'"`
	Body   *Expr   `parser:"@@"`
}

// Paren is (e) or a tuple (e1, e2, ...) or (e,), or the empty tuple (),
// Python's shape of a 0-d tensor (Empty; Elems is then empty too).
type Paren struct {
	Pos   Pos
	Empty bool    `parser:"  @( '(' ')' )"`
	Elems []*Expr `parser:"| '(' @@ "`
	More  []*Expr `parser:"  (',' @@)*"`
	Comma bool    `parser:"  @','? ')'"`
}

type List struct {
	Pos   Pos
	Elems []*Expr `parser:"'[' (@@ (',' @@)*)? ']'"`
}

var stmtParser = participle.MustBuild[Stmt](
	participle.Lexer(teLexer),
	participle.Elide("Comment", "Whitespace"),
	participle.UseLookahead(64),
)
