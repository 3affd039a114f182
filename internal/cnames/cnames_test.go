package cnames

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for name, want := range map[string]string{
		"main":          "entry point",
		"printf":        "C runtime (libc)",
		"malloc":        "C runtime (libc)",
		"expf":          "C runtime (libm)",
		"GOMP_parallel": "C runtime (libgomp)",
		"int":           "C keyword",
		"FILE":          "C keyword",
		"tide_io":       "Tide's own",
		"__x":           "C reserves",
		"_Foo":          "C reserves",
		// glibc has gnu_get_libc_release, which the kernel's NAME_release
		// would replace
		"gnu_get_libc": "would also define gnu_get_libc_release, a function of the C runtime (libc)",
	} {
		err := Check(name)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error saying %q", name, err, want)
		}
	}
	for _, name := range []string{"matmul", "resnet18", "conv_bn", "io", "save", "argc", "_x", "f"} {
		if err := Check(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
