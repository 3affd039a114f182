package main

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/tide-compiler/tide/dsl"
	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/schedule"
)

// tide lower --html writes one self-contained page (Halide's stmt HTML and
// Compiler Explorer are the models): the .te source, the schedule as
// applied, and the loop IR after every pass, one pass shown at a time. Every
// loop is linked to the source lines of the statements that made and
// annotated it. html/template escapes all text; the page loads nothing.

//go:embed lower.html.tmpl
var lowerHTMLText string

var lowerHTML = template.Must(template.New("lower").Parse(lowerHTMLText))

type htmlPage struct {
	File, Kernel string
	Source       []htmlSrcLine
	Stages       []htmlStage
	Diagnostics  []htmlDiag
	Passes       []htmlPass
	// Shown is the pass visible before the script runs (the last): the
	// script shows the one the selector or the URL's #pass=NAME names.
	Shown string
}

type htmlSrcLine struct {
	N    int
	Text string
	Prim bool // a schedule statement that made or annotated a loop
}

type htmlStage struct {
	Name, Where string
	Loops       []htmlLoop
}

type htmlLoop struct {
	Name, Ann string
	Links     string // the linked source lines, space-separated
}

type htmlDiag struct {
	Links string
	Text  string
}

type htmlPass struct {
	Name, Doc string
	Lines     []htmlIRLine
}

type htmlIRLine struct {
	Text         string // with its indentation
	Open, Close  bool   // opens or closes a loop (a fold)
	Links, Title string // a loop's linked source lines and what they are
}

// passIR is the IR one pass left, captured as lines when the pass ran (the
// function is changed in place by the next).
type passIR struct {
	name  string
	lines []lower.Line
}

// checkWritable fails when path cannot be written, before any work whose
// result would be lost; it leaves no file behind.
func checkWritable(flag, path string) error {
	if fi, err := os.Stat(path); err == nil {
		if fi.IsDir() {
			return userError{fmt.Errorf("%s %s: is a directory", flag, path)}
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return userError{fmt.Errorf("%s %s: cannot write it: %w", flag, path, err)}
		}
		return f.Close()
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tide-write-check-")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the temporary file's name would only confuse
		}
		return userError{fmt.Errorf("%s %s: cannot write there: %w", flag, path, err)}
	}
	f.Close()
	return os.Remove(f.Name())
}

// writeLowerHTML writes the page for prog, whose source is src.
func writeLowerHTML(path string, src []byte, prog *dsl.Program, passes []passIR, diags []lower.Diagnostic) error {
	page := htmlPage{File: prog.File, Kernel: prog.Kernel.Name}
	prims := map[int]bool{}
	for _, m := range []map[*schedule.Axis]dsl.Pos{prog.AxisPos, prog.AnnPos} {
		for _, pos := range m {
			prims[pos.Line] = true
		}
	}
	for i, text := range strings.Split(strings.TrimSuffix(string(src), "\n"), "\n") {
		page.Source = append(page.Source, htmlSrcLine{N: i + 1, Text: text, Prim: prims[i+1]})
	}
	for _, st := range prog.Schedule.Order() {
		hs := htmlStage{Name: st.Name(), Where: "root"}
		switch st.Attach {
		case schedule.Inline:
			hs.Where = "inline"
		case schedule.AtAxis:
			hs.Where = "at " + st.AttachStage.Name() + "." + st.AttachAxis.Name()
		}
		if st.Attach != schedule.Inline {
			for _, ax := range st.Leaf {
				ann := ""
				if ax.Ann != schedule.Serial {
					ann = ax.Ann.String()
				}
				lines, _ := axisSource(prog, ax)
				hs.Loops = append(hs.Loops, htmlLoop{Name: ax.Name(), Ann: ann, Links: lines})
			}
		}
		page.Stages = append(page.Stages, hs)
	}
	// each diagnostic once, as printDiagnostics prints them (a network's
	// groups repeat theirs)
	seen := map[htmlDiag]bool{}
	for _, d := range diags {
		hd := htmlDiag{Text: d.String()}
		if pos, ok := prog.AnnPos[d.Axis]; ok {
			hd.Links = strconv.Itoa(pos.Line)
			hd.Text = fmt.Sprintf("line %d: %s", pos.Line, d)
		}
		if !seen[hd] {
			seen[hd] = true
			page.Diagnostics = append(page.Diagnostics, hd)
		}
	}
	docs := map[string]string{lower.NestPass: "loop nests built from the schedule (inlining, bound inference)"}
	for _, p := range lower.Passes {
		docs[p.Name] = p.Doc
	}
	for _, p := range passes {
		hp := htmlPass{Name: p.name, Doc: docs[p.name]}
		for _, l := range p.lines {
			hl := htmlIRLine{Text: strings.Repeat("  ", l.Depth) + l.Text, Close: l.Close}
			if l.Open != nil {
				hl.Open = true
				hl.Links, hl.Title = axisSource(prog, l.Open.Axis)
			}
			hp.Lines = append(hp.Lines, hl)
		}
		page.Passes = append(page.Passes, hp)
		page.Shown = p.name
	}
	var b bytes.Buffer
	if err := lowerHTML.Execute(&b, page); err != nil {
		return err
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return userError{fmt.Errorf("--html %s: %w", path, err)}
	}
	return nil
}

// axisSource gives the source lines behind a loop (space-separated, for the
// page's script) and a tooltip naming them: the statement that made the
// axis (a split, tile, fuse or cache primitive; for a root axis the
// tensor's declaration) and the one that annotated it. A loop lowering made
// up, or one from the operator library's schedules, has none.
func axisSource(prog *dsl.Program, ax *schedule.Axis) (lines, title string) {
	if ax == nil {
		return "", ""
	}
	var ns []string
	var what []string
	add := func(pos dsl.Pos, ok bool, how string) {
		if !ok || pos.Line <= 0 {
			return
		}
		n := strconv.Itoa(pos.Line)
		if !slices.Contains(ns, n) {
			ns = append(ns, n)
		}
		what = append(what, how+" at line "+n)
	}
	if pos, ok := prog.AxisPos[ax]; ok {
		add(pos, true, "made")
	} else if slices.Contains(ax.Stage().Root, ax) {
		pos, ok := prog.Decls[ax.Stage().Tensor]
		add(pos, ok, "declared")
	}
	pos, ok := prog.AnnPos[ax]
	add(pos, ok, ax.Ann.String())
	return strings.Join(ns, " "), strings.Join(what, ", ")
}
