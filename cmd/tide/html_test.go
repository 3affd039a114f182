package main

import (
	"bytes"
	"context"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// splitProgram is the page's test program: two splits, a reorder and
// annotations on one stage, a second stage left with its root loops, and a
// comment full of markup that the page must show as text.
const splitProgram = `# markup in a comment: </div><script>alert("<&>")</script> <!-- --> &amp;
M = 64
A = placeholder((M, M), float32)
B = compute((M, M), (i, j) => A[i, j] + 1.0)
C = compute((M, M), (i, j) => B[i, j] * 2.0)
kernel k(A) -> C

schedule C {
    io, ii = split(i, factor=8)
    jo, ji = split(j, factor=4)
    reorder(io, jo, ii, ji)
    parallel(io)
    vectorize(ji)
}
`

// loopVar finds the variable of a printed loop, "  parallel (io, 0, 8) {".
var loopVar = regexp.MustCompile(`^\s*\w+ \((\S+),`)

func writeSplitProgram(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "split.te")
	if err := os.WriteFile(path, []byte(splitProgram), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// lowerPage runs tide lower --html on path and returns the page's file.
func lowerPage(t *testing.T, path string) string {
	t.Helper()
	page := filepath.Join(t.TempDir(), "lower.html")
	status, stdout, stderr := tide(t, "lower", path, "--html", page)
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	if stdout != "" {
		t.Errorf("--html also printed the IR:\n%s", stdout)
	}
	return page
}

func parseHTML(t *testing.T, data []byte) *html.Node {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the page does not parse: %v", err)
	}
	return doc
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func hasClass(n *html.Node, class string) bool {
	c, _ := attr(n, "class")
	return slices.Contains(strings.Fields(c), class)
}

// findAll lists the elements under n, in document order, that match.
func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for c := range n.Descendants() {
		if c.Type == html.ElementNode && match(c) {
			out = append(out, c)
		}
	}
	return out
}

func text(n *html.Node) string {
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return b.String()
}

// irSections gives the page's IR sections by pass, and its passes in order.
func irSections(doc *html.Node) (map[string]*html.Node, []string) {
	secs := map[string]*html.Node{}
	var order []string
	for _, s := range findAll(doc, func(n *html.Node) bool { return n.Data == "section" && hasClass(n, "ir") }) {
		name, _ := attr(s, "data-pass")
		secs[name] = s
		order = append(order, name)
	}
	return secs, order
}

// irText is a section's IR as tide lower prints it: its lines, one a line.
func irText(sec *html.Node) string {
	var b strings.Builder
	for _, l := range findAll(sec, func(n *html.Node) bool { return hasClass(n, "l") }) {
		b.WriteString(text(l) + "\n")
	}
	return b.String()
}

func TestLowerHTML(t *testing.T) {
	path := writeSplitProgram(t)
	data, err := os.ReadFile(lowerPage(t, path))
	if err != nil {
		t.Fatal(err)
	}
	doc := parseHTML(t, data)

	// every pass's IR, as --print-after-all prints it
	status, all, stderr := tide(t, "lower", path, "--print-after-all")
	if status != 0 {
		t.Fatalf("--print-after-all: status %d: %s", status, stderr)
	}
	secs, order := irSections(doc)
	var want []string
	for _, part := range strings.Split(all, "// after ")[1:] {
		name, ir, _ := strings.Cut(part, "\n")
		want = append(want, name)
		if sec := secs[name]; sec == nil {
			t.Errorf("no section for pass %s", name)
		} else if got := irText(sec); got+"\n" != ir {
			t.Errorf("pass %s: the page shows\n%s\nwant\n%s", name, got, ir)
		}
	}
	if !slices.Equal(order, want) {
		t.Errorf("the page's passes are %v, want %v", order, want)
	}
	// without the script the last pass is shown, and no other
	for name, sec := range secs {
		if _, hidden := attr(sec, "hidden"); hidden != (name != "final-simplify") {
			t.Errorf("pass %s: hidden %v before the script runs", name, hidden)
		}
	}

	// the source, every character of it, as text: the comment's markup
	// made no element
	var src []string
	for _, l := range findAll(doc, func(n *html.Node) bool { return hasClass(n, "src") }) {
		src = append(src, text(l))
	}
	if got := strings.Join(src, "\n") + "\n"; got != splitProgram {
		t.Errorf("the source pane shows\n%s\nwant\n%s", got, splitProgram)
	}
	if n := len(findAll(doc, func(n *html.Node) bool { return n.Data == "script" })); n != 1 {
		t.Errorf("%d script elements, want the page's own one", n)
	}
	if bytes.Contains(data, []byte(`alert("<&>")`)) || bytes.Contains(data, []byte("http")) {
		t.Errorf("unescaped source or a link to the network in the page")
	}

	// each loop of the nest pass links to the statements that made and
	// annotated it: lines 9 (split i), 10 (split j), 12 (parallel), 13
	// (vectorize); B's loops to its declaration, line 4
	links := map[string]string{}
	for _, h := range findAll(secs["nest"], func(n *html.Node) bool { return hasClass(n, "head") }) {
		m := loopVar.FindStringSubmatch(text(h))
		if m == nil {
			t.Fatalf("a loop head that is no loop: %q", text(h))
		}
		links[m[1]], _ = attr(h, "data-lines")
	}
	wantLinks := map[string]string{"i": "4", "j": "4", "io": "9 12", "jo": "10", "ii": "9", "ji": "10 13"}
	if !maps.Equal(links, wantLinks) {
		t.Errorf("loop links %v, want %v", links, wantLinks)
	}
	// the statements behind loops are marked in the source pane
	for _, n := range []string{"L9", "L10", "L12", "L13"} {
		l := findAll(doc, func(x *html.Node) bool { id, _ := attr(x, "id"); return id == n })
		if len(l) != 1 || !hasClass(l[0], "prim") {
			t.Errorf("source line %s is not marked as a loop's statement", n)
		}
	}
}

func TestLowerHTMLErrors(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.te")
	if err := os.WriteFile(broken, []byte("A = placeholder((4,), float32\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// the path is checked first: before the file is even read
	status, _, stderr := tide(t, "lower", broken, "--html", filepath.Join(dir, "no", "such", "dir", "x.html"))
	if status != 1 || !strings.Contains(stderr, "--html "+filepath.Join(dir, "no", "such", "dir", "x.html")+": cannot write there: no such file or directory") {
		t.Errorf("unwritable --html: status %d, stderr %q", status, stderr)
	}
	status, _, stderr = tide(t, "lower", broken, "--html", dir)
	if status != 1 || !strings.Contains(stderr, ": is a directory") {
		t.Errorf("--html DIR: status %d, stderr %q", status, stderr)
	}
	// a program that does not lower leaves no page behind
	page := filepath.Join(dir, "broken.html")
	if status, _, _ = tide(t, "lower", broken, "--html", page); status != 1 {
		t.Errorf("broken program: status %d", status)
	}
	if _, err := os.Stat(page); err == nil {
		t.Errorf("a broken program left %s", page)
	}
}

// chromium is Debian's headless-capable browser, or the test is skipped
// (the test command installs it and requires it).
func chromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("TIDE_REQUIRE_TOOLS") != "" {
			t.Fatal("chromium is missing (apt-get install chromium)")
		}
		t.Skip("chromium is missing (the test command installs it)")
	}
	return path
}

// runChromium loads url in a headless browser with a profile of its own
// (so that runs in parallel do not share one) and returns what it printed.
func runChromium(t *testing.T, bin, url string, flags ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--user-data-dir=" + t.TempDir()}, flags...)
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", flags, err, stderr.String())
	}
	return out
}

// browse loads the page at #fragment and returns the document after its
// script ran.
func browse(t *testing.T, bin, page, fragment string) *html.Node {
	t.Helper()
	u := url.URL{Scheme: "file", Path: page, Fragment: fragment}
	return parseHTML(t, runChromium(t, bin, u.String(), "--dump-dom"))
}

// shownPasses returns the passes a document shows, with the IR of the first.
func shownPasses(doc *html.Node) (shown []string, ir string) {
	secs, order := irSections(doc)
	for _, n := range order {
		if _, hidden := attr(secs[n], "hidden"); !hidden {
			shown = append(shown, n)
		}
	}
	if len(shown) > 0 {
		ir = irText(secs[shown[0]])
	}
	return shown, ir
}

func TestLowerHTMLInBrowser(t *testing.T) {
	bin := chromium(t)
	path := writeSplitProgram(t)
	page := lowerPage(t, path)
	_, want, _ := tide(t, "lower", path, "--print-after", "vectorize")
	want = strings.TrimPrefix(want, "// after vectorize\n")

	shown, ir := shownPasses(browse(t, bin, page, "pass=vectorize"))
	if !slices.Equal(shown, []string{"vectorize"}) {
		t.Fatalf("#pass=vectorize shows %v", shown)
	}
	if ir+"\n" != want || !strings.Contains(ir, "ramp(") {
		t.Errorf("the browser shows\n%s\nwant\n%s", ir, want)
	}

	// #line=9 lights the split of i and the loops it made, as hovering it
	// does: io and ii, in the IR shown and in the schedule pane
	doc := browse(t, bin, page, "pass=nest&line=9")
	var lit []string
	for _, n := range findAll(doc, func(n *html.Node) bool { return hasClass(n, "hl") }) {
		id, _ := attr(n, "id")
		switch {
		case hasClass(n, "src"):
			lit = append(lit, id)
		case hasClass(n, "axis"):
			lit = append(lit, "axis "+strings.Fields(text(n))[0])
		case hasClass(n, "head"):
			lit = append(lit, "loop "+loopVar.FindStringSubmatch(text(n))[1])
		default:
			lit = append(lit, "?"+text(n))
		}
	}
	if want := []string{"L9", "axis io", "axis ii", "loop io", "loop ii"}; !slices.Equal(lit, want) {
		t.Errorf("#line=9 lights %q, want %q", lit, want)
	}

	// the check above depends on the script: without it, the page shows
	// its last pass
	data, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	noScript := filepath.Join(t.TempDir(), "noscript.html")
	broken := regexp.MustCompile(`(?s)<script>.*</script>`).ReplaceAll(data, []byte("<script></script>"))
	if err := os.WriteFile(noScript, broken, 0o644); err != nil {
		t.Fatal(err)
	}
	if shown, _ := shownPasses(browse(t, bin, noScript, "pass=vectorize")); !slices.Equal(shown, []string{"final-simplify"}) {
		t.Errorf("without its script the page shows %v, want the last pass", shown)
	}

	// a screenshot of the page at that pass: a PNG, not blank
	shot := filepath.Join(t.ArtifactDir(), "lower_html.png")
	u := url.URL{Scheme: "file", Path: page, Fragment: "pass=vectorize"}
	runChromium(t, bin, u.String(), "--hide-scrollbars", "--window-size=1400,800", "--screenshot="+shot)
	img := readPNG(t, shot)
	colors := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, a := img.At(x, y).RGBA()
			colors[[4]uint32{r, g, bl, a}] = true
		}
	}
	if b.Dx() != 1400 || b.Dy() != 800 || len(colors) < 10 {
		t.Errorf("screenshot %v with %d colors: blank?", b, len(colors))
	}
	t.Logf("screenshot: %s", shot)
}
