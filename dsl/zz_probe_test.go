package dsl
import ("testing"; "os"; "fmt"; "strings"; "tide/te")
func TestProbe(t *testing.T){
	all, _ := os.ReadFile(os.Getenv("PROBE"))
	for n, s := range strings.Split(string(all), "=====\n") {
	fmt.Printf("----- case %d\n", n)
	src := []byte(s)
	func() {
	defer func(){ if r := recover(); r != nil { fmt.Println("PANIC", r) } }()
	p, err := Parse("t.te", src)
	if err != nil { fmt.Println(err); if l, ok := err.(ErrorList); ok { fmt.Println("count", len(l)) } }
	if p != nil { for _, x := range p.Tensors { fmt.Println(x, "body:", te.ExprString(x.Body)) }
	 if p.Kernel != nil { fmt.Printf("kernel %s in=%d out=%d params=%v\n", p.Kernel.Name, len(p.Kernel.Inputs), len(p.Kernel.Outputs), p.Kernel.Params) }
	 for _, s := range p.Schedules { for _, pr := range s.Primitives { fmt.Printf("%s %v ", pr.Name, pr.Targets); for _, a := range pr.Args { fmt.Printf("%+v ", *a) }; fmt.Println() } }
	}
	}()
	}
}
