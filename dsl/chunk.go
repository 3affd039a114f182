package dsl

import "strings"

// A statement ends at the end of a line unless a bracket is still open and
// the next line is indented (or starts with a closing bracket): so
// multi-line computes and schedule blocks work, and a forgotten ')' costs one
// statement, not the rest of the file.

type chunk struct {
	line int    // first line, 1-based
	text string // the statement's lines
	bad  bool   // unbalanced brackets, already reported: do not parse
}

type bracket struct {
	ch        byte
	line, col int
}

// splitStatements cuts src into statements, reporting unbalanced brackets.
func splitStatements(src string, errs *errorSink, file string) []chunk {
	lines := strings.Split(src, "\n")
	var chunks []chunk
	var stack []bracket
	start := -1     // first line of the open statement, 0-based
	broken := false // the open statement had an unmatched bracket (already reported)
	flush := func(end int) {
		if start < 0 {
			return
		}
		bad := broken // an unmatched bracket is reported when found
		if !broken && len(stack) > 0 {
			b := stack[len(stack)-1]
			errs.add(Pos{Filename: file, Line: b.line, Column: b.col}, "%q is never closed; it should be closed before the next unindented line", string(b.ch))
			bad = true
		}
		chunks = append(chunks, chunk{line: start + 1, text: strings.Join(lines[start:end], "\n"), bad: bad})
		start, stack, broken = -1, nil, false
	}
	for n, line := range lines {
		content := line
		if i := strings.IndexByte(content, '#'); i >= 0 {
			content = content[:i]
		}
		trimmed := strings.TrimSpace(content)
		if trimmed == "" {
			continue
		}
		indented := line[0] == ' ' || line[0] == '\t'
		closer := strings.ContainsRune(")]}", rune(trimmed[0]))
		if start >= 0 && (len(stack) == 0 || (!indented && !closer)) {
			flush(n)
		}
		if start < 0 {
			start = n
		}
		for col := 0; col < len(content) && !broken; col++ {
			switch c := content[col]; c {
			case '(', '[', '{':
				stack = append(stack, bracket{c, n + 1, col + 1})
			case ')', ']', '}':
				open := map[byte]byte{')': '(', ']': '[', '}': '{'}[c]
				if len(stack) == 0 || stack[len(stack)-1].ch != open {
					errs.add(Pos{Filename: file, Line: n + 1, Column: col + 1}, "unmatched %q", string(c))
					broken, stack = true, nil
					break
				}
				stack = stack[:len(stack)-1]
			}
		}
	}
	flush(len(lines))
	return chunks
}
