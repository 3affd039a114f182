package dsl

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tide-compiler/tide/internal/spell"
)

// MaxErrors is how many errors one file reports before it stops listing them.
const MaxErrors = 10

// Error is a user error at a position in a .te file.
type Error struct {
	Pos  Pos
	Msg  string
	Line string // the source line, shown with a caret under Pos.Column
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d:%d: %s", e.Pos.Filename, e.Pos.Line, e.Pos.Column, e.Msg)
	if e.Line != "" {
		b.WriteString("\n    ")
		b.WriteString(e.Line)
		b.WriteString("\n    ")
		// keep tabs so the caret lines up with the source
		for i, r := range e.Line {
			if i >= e.Pos.Column-1 {
				break
			}
			if r == '\t' {
				b.WriteByte('\t')
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteByte('^')
	}
	return b.String()
}

// ErrorList is every error found in a file, in source order.
type ErrorList []*Error

func (l ErrorList) Error() string {
	parts := make([]string, 0, len(l)+1)
	for i, e := range l {
		if i == MaxErrors {
			parts = append(parts, fmt.Sprintf("(%d more errors not shown)", len(l)-MaxErrors))
			break
		}
		parts = append(parts, e.Error())
	}
	return strings.Join(parts, "\n")
}

// errorSink collects errors with their source lines.
type errorSink struct {
	lines []string
	list  ErrorList
	// ctx is set while a def's body is expanded for a call: "in f called
	// at file.te:9:5" (the calls that led there, innermost first). It is
	// appended to each error, and an error a def's body already reported
	// at the same place for an earlier call is not repeated.
	ctx  string
	seen map[string]bool
}

func (s *errorSink) add(pos Pos, format string, args ...any) {
	line := ""
	if pos.Line >= 1 && pos.Line <= len(s.lines) {
		line = strings.TrimRight(s.lines[pos.Line-1], "\r")
	}
	msg := fmt.Sprintf(format, args...)
	if s.ctx != "" {
		key := fmt.Sprintf("%d:%d: %s", pos.Line, pos.Column, msg)
		if s.seen[key] {
			return
		}
		if s.seen == nil {
			s.seen = map[string]bool{}
		}
		s.seen[key] = true
		msg += " (" + s.ctx + ")"
	}
	s.list = append(s.list, &Error{Pos: pos, Msg: msg, Line: line})
}

func (s *errorSink) err() error {
	if len(s.list) == 0 {
		return nil
	}
	sort.SliceStable(s.list, func(i, j int) bool {
		a, b := s.list[i].Pos, s.list[j].Pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	return s.list
}

// suggest returns ` did you mean "x"?` for the candidate closest to name, or "".
func suggest(name string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if c == name {
			continue
		}
		d := spell.Distance(name, c)
		if d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	limit := 1 + len(name)/3
	if best == "" || bestD > limit {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}
