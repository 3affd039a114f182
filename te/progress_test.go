package te

import (
	"sync"
	"testing"
)

// EvalOptions.Progress reports work that grows to the total: elements times
// reduction points over every compute.
func TestEvalProgress(t *testing.T) {
	a, err := Placeholder("A", []Expr{Int(300), Int(40)}, Float32)
	if err != nil {
		t.Fatal(err)
	}
	k := ReduceAxis("k", Int(0), Int(40))
	s, err := Compute("S", []Expr{Int(300)}, func(x []Expr) Expr {
		return ReduceOf(Sum, a.At(x[0], k.Var), k)
	}, "i")
	if err != nil {
		t.Fatal(err)
	}
	in := map[*Tensor]*Buffer{a: NewBuffer(Float32, []int{300, 40})}
	var mu sync.Mutex
	var last, total int64
	calls := 0
	_, err = EvaluateWith([]*Tensor{s}, in, nil, EvalOptions{Progress: func(done, all int64) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		last, total = max(last, done), all
	}})
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 || total != 300*40 || last != total {
		t.Fatalf("%d reports, last %d of %d; want the last at %d", calls, last, total, 300*40)
	}
}
