// Package cnames says which names a kernel's C function cannot take: C's
// keywords, main, the symbols of the C runtime that Tide's objects link
// with (libc, libm, libgomp), and the names Tide's own harnesses and
// runtime use. A kernel named printf or malloc would replace that function
// in every program its object is linked into.
package cnames

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
)

//go:embed symbols.txt
var symbolsText string

var (
	once    sync.Once
	symbols map[string]string // name -> library
)

// keywords are C17's keywords and the names the harnesses declare at file
// scope besides libc's (FILE is a typedef there).
var keywords = strings.Fields(`auto break case char const continue default do double else enum extern
	float for goto if inline int long register restrict return short signed sizeof static struct
	switch typedef union unsigned void volatile while _Alignas _Alignof _Atomic _Bool _Complex
	_Generic _Imaginary _Noreturn _Static_assert _Thread_local FILE`)

// Check returns an error saying why name cannot be a kernel's C function,
// or nil.
func Check(name string) error {
	once.Do(func() {
		symbols = map[string]string{}
		for _, line := range strings.Split(symbolsText, "\n") {
			if lib, sym, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(line, "#") {
				symbols[sym] = lib
			}
		}
	})
	switch {
	case name == "main":
		return fmt.Errorf("%s is the C program's entry point; a kernel's function cannot take it: choose another name", name)
	case strings.HasPrefix(name, "tide_"):
		return fmt.Errorf("%s: names starting with tide_ are Tide's own (its harnesses and runtime); choose another name", name)
	case strings.HasPrefix(name, "__") || len(name) > 1 && name[0] == '_' && name[1] >= 'A' && name[1] <= 'Z':
		return fmt.Errorf("%s: C reserves names starting with __ or _ and a capital letter; choose another name", name)
	}
	for _, k := range keywords {
		if name == k {
			return fmt.Errorf("%s is a C keyword (or the harness's type); a kernel's function cannot take it: choose another name", name)
		}
	}
	if lib := symbols[name]; lib != "" {
		return fmt.Errorf("%s is a function of the C runtime (%s); a kernel of that name would replace it in every program its object is linked into: choose another name, such as %s_kernel", name, lib, name)
	}
	// the functions a module defines next to its kernel's (llvmgen)
	for _, suffix := range DerivedSuffixes {
		if lib := symbols[name+suffix]; lib != "" {
			return fmt.Errorf("%s: its module would also define %s%s, a function of the C runtime (%s), and replace it in every program the object is linked into: choose another name, such as %s_kernel", name, name, suffix, lib, name)
		}
	}
	return nil
}

// The functions a module defines besides its kernel NAME: NAME_release
// frees a kernel's kept buffers, NAME_workspace_size gives a network's
// workspace size.
const (
	ReleaseSuffix       = "_release"
	WorkspaceSizeSuffix = "_workspace_size"
)

// DerivedSuffixes are all of them.
var DerivedSuffixes = []string{ReleaseSuffix, WorkspaceSizeSuffix}
