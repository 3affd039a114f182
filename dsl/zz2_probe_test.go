package dsl
import ("testing"; "fmt"; "tide/te")
func TestProbe2(t *testing.T){
	for _, s := range []string{"A = placeholder((4,), float32)\nk = reduce_axis(5, 2)\nB = compute((1,), (i) => sum(A[k], axis=k))\nkernel f(A) -> B\n",
	"n = var()\nA = placeholder((n,), float32)\nk = reduce_axis(1, n)\nB = compute((1,), (i) => sum(A[k], axis=k))\nkernel f(A) -> B\n"} {
	p, err := Parse("t.te", []byte(s))
	fmt.Println(err)
	B := p.Tensor("B")
	iv := B.ReduceAxis[0]
	fmt.Printf("min=%s (%T) extent=%s (%T)\n", te.ExprString(iv.Min), iv.Min, te.ExprString(iv.Extent), iv.Extent)
	}
}
