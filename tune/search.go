package tune

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// Strategy is how a search picks the next configuration to measure.
type Strategy string

const (
	// Grid visits the configurations in grid order (Space.At).
	Grid Strategy = "grid"
	// Random visits them in a seeded random order, without repeats.
	Random Strategy = "random"
	// Model measures a few random configurations, then always the one a
	// cost model fitted to every measurement so far predicts fastest
	// (AutoTVM's model-based tuner, with a quadratic regression on the
	// knobs' logarithms instead of XGBoost over loop features), with an
	// occasional random pick so that one bad fit cannot trap the search.
	Model Strategy = "model"
)

// Strategies are the search strategies, for flags and messages.
var Strategies = []Strategy{Model, Random, Grid}

// Search proposes configurations of a space, never one twice, starting
// with the default (so that tuning finds a schedule at least as fast as
// the default one when the default works).
type Search struct {
	space    Space
	size     int64
	strategy Strategy
	rng      *rand.Rand
	tried    map[int64]bool
	next     int64 // grid: the next index to look at
	// the model's training set: the features and log costs of the
	// configurations that worked
	x    [][]float64
	y    []float64
	warm int // random picks before the model is used
}

// NewSearch starts a search of s. Configurations already measured (in a
// log being resumed) are given with Tell before the first Next.
func NewSearch(s Space, strategy Strategy, seed uint64) (*Search, error) {
	size, err := s.Size()
	if err != nil {
		return nil, err
	}
	if !slices.Contains(Strategies, strategy) {
		return nil, fmt.Errorf("unknown search strategy %q (the strategies are model, random, grid)", strategy)
	}
	return &Search{space: s, size: size, strategy: strategy, rng: rand.New(rand.NewPCG(seed, 0x7475)),
		tried: map[int64]bool{}, warm: len(s.features(s.Default()))}, nil
}

// Size is the number of configurations in the space.
func (s *Search) Size() int64 { return s.size }

// Tried is how many distinct configurations were measured.
func (s *Search) Tried() int { return len(s.tried) }

// Tell records a measurement: cost > 0 for a working configuration, 0 for
// one that failed (it is never proposed again, and the model does not
// learn from it). A configuration outside the space is ignored.
func (s *Search) Tell(c Config, cost float64) {
	i, err := s.space.Index(c)
	if err != nil || s.tried[i] {
		return
	}
	s.tried[i] = true
	if cost > 0 {
		s.x = append(s.x, s.space.features(c))
		s.y = append(s.y, math.Log(cost))
	}
}

// Next is the configuration to measure next; false when every one has been
// tried.
func (s *Search) Next() (Config, bool) {
	if int64(len(s.tried)) >= s.size {
		return nil, false
	}
	if !s.tried[0] {
		return s.space.At(0), true
	}
	switch s.strategy {
	case Grid:
		for s.tried[s.next] {
			s.next++
		}
		return s.space.At(s.next), true
	case Model:
		if len(s.y) >= s.warm && s.rng.Float64() >= 0.1 {
			if c, ok := s.predictedBest(); ok {
				return c, true
			}
		}
	}
	return s.space.At(s.randomUntried()), true
}

// randomUntried draws an untried index: by rejection while most are
// untried, else uniformly among the untried ones.
func (s *Search) randomUntried() int64 {
	if int64(len(s.tried))*2 < s.size {
		for {
			if i := s.rng.Int64N(s.size); !s.tried[i] {
				return i
			}
		}
	}
	var free []int64
	for i := int64(0); i < s.size; i++ {
		if !s.tried[i] {
			free = append(free, i)
		}
	}
	return free[s.rng.IntN(len(free))]
}

// rankSample bounds how many untried configurations the model ranks per
// pick: all of a small space, a random sample of a large one.
const rankSample = 4096

// predictedBest fits the model and returns the untried configuration it
// predicts fastest.
func (s *Search) predictedBest() (Config, bool) {
	w, ok := fitRidge(s.x, s.y)
	if !ok {
		return nil, false
	}
	candidates := func(yield func(int64) bool) {
		if s.size <= rankSample {
			for i := int64(0); i < s.size; i++ {
				if !s.tried[i] && !yield(i) {
					return
				}
			}
			return
		}
		for range rankSample {
			if i := s.rng.Int64N(s.size); !s.tried[i] && !yield(i) {
				return
			}
		}
	}
	best, bestCost := int64(-1), math.Inf(1)
	for i := range candidates {
		if p := dot(w, s.space.features(s.space.At(i))); p < bestCost {
			best, bestCost = i, p
		}
	}
	if best < 0 {
		return nil, false
	}
	return s.space.At(best), true
}

// Predict is the model's cost for c, fitted to the measurements so far
// (for tests and for printing); false before there are enough.
func (s *Search) Predict(c Config) (float64, bool) {
	w, ok := fitRidge(s.x, s.y)
	if !ok {
		return 0, false
	}
	return math.Exp(dot(w, s.space.features(c))), true
}

// fitRidge solves the ridge regression (XᵀX + λI) w = Xᵀy. A small λ keeps
// the system solvable with fewer measurements than features and damps
// the quadratic terms the data does not determine.
func fitRidge(x [][]float64, y []float64) ([]float64, bool) {
	if len(x) == 0 {
		return nil, false
	}
	n, p := len(x), len(x[0])
	X := mat.NewDense(n, p, nil)
	for i, row := range x {
		X.SetRow(i, row)
	}
	var a mat.Dense
	a.Mul(X.T(), X)
	for i := 0; i < p; i++ {
		a.Set(i, i, a.At(i, i)+1e-3)
	}
	var b mat.VecDense
	b.MulVec(X.T(), mat.NewVecDense(n, y))
	var w mat.VecDense
	if err := w.SolveVec(&a, &b); err != nil {
		return nil, false
	}
	return w.RawVector().Data, true
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
