module example.com/tide-library

go 1.26

require github.com/tide-compiler/tide v0.0.0

require (
	github.com/alecthomas/participle/v2 v2.1.4 // indirect
	github.com/llir/llvm v0.3.6 // indirect
	github.com/mewmew/float v0.0.0-20201204173432-505706aa38fa // indirect
	github.com/pkg/errors v0.9.1 // indirect
	golang.org/x/mod v0.32.0 // indirect
	golang.org/x/sync v0.19.0 // indirect
	golang.org/x/tools v0.41.0 // indirect
	gonum.org/v1/gonum v0.17.0 // indirect
)

replace github.com/tide-compiler/tide => ../..
