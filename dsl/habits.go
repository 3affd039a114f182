package dsl

import (
	"regexp"
	"strings"

	"github.com/tide-compiler/tide/te"
)

// Habits from TVM's Python front end that do not parse in Tide. When a
// statement fails to parse, each habit found in it is reported at its
// place with Tide's spelling, instead of the lexer's or parser's generic
// complaint: the statement fails because of it (a quote or a ':' is not a
// token of the language), so the hint names the real cause.
type habit struct {
	pattern *regexp.Regexp
	// message says what to write instead; match is the matched text and
	// groups its submatches
	message func(match string, groups []string) string
}

var habits = []habit{
	{regexp.MustCompile(`"([^"\n]*)"|'([^'\n]*)'`), func(match string, g []string) string {
		word := g[0] + g[1]
		if _, ok := te.ParseDType(word); ok {
			return "dtypes are names, not strings: write " + word + " without quotes"
		}
		return "Tide has no strings: write " + match + " as a name, without quotes"
	}},
	// TVM's 0-d compute takes lambda: with no parameters
	{regexp.MustCompile(`\blambda(?:\s+([A-Za-z_][A-Za-z0-9_]*(?:\s*,\s*[A-Za-z_][A-Za-z0-9_]*)*))?\s*:`), func(_ string, g []string) string {
		params := commaSpacing.ReplaceAllString(g[0], ", ")
		if params == "" {
			return "Tide writes a lambda as () => body, not Python's lambda: body"
		}
		return "Tide writes a lambda as (" + params + ") => body, not Python's lambda " + params + ": body"
	}},
	{regexp.MustCompile(`\b(?:te|tvm|tir|topi)\.(?:[A-Za-z_][A-Za-z0-9_]*\.)*([A-Za-z_][A-Za-z0-9_]*)`), func(match string, g []string) string {
		return "Tide's names have no module prefix: write " + g[0] + ", not " + match
	}},
	{regexp.MustCompile(`\*\*`), func(string, []string) string {
		return "Tide writes Python's a ** b as pow(a, b) (on floats)"
	}},
}

var commaSpacing = regexp.MustCompile(`\s*,\s*`)

// habitHints reports every habit in a statement that failed to parse, and
// whether there was one.
func (el *elab) habitHints(c chunk) bool {
	found := false
	for n, line := range strings.Split(c.text, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		for _, h := range habits {
			for _, m := range h.pattern.FindAllStringSubmatchIndex(line, -1) {
				groups := make([]string, 0, len(m)/2-1)
				for g := 2; g < len(m); g += 2 {
					if m[g] >= 0 {
						groups = append(groups, line[m[g]:m[g+1]])
					} else {
						groups = append(groups, "")
					}
				}
				pos := Pos{Filename: el.file, Line: c.line + n, Column: m[0] + 1}
				el.errs.add(pos, "%s", h.message(line[m[0]:m[1]], groups))
				found = true
			}
		}
	}
	return found
}
