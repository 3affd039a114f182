// Package tune searches schedule knobs by measurement, as AutoTVM does:
// a Space of knobs with candidate values (a .te file's NAME = knob(...)
// constants, or knobs an operator schedule declares from Go), a search
// that proposes configurations (grid, random, or ranked by a cost model
// learned from the measurements so far), and an append-only JSON-lines log
// of every measurement, from which the best configuration of a kernel on a
// target is applied later.
//
// The package measures nothing itself: the caller builds, checks and times
// each configuration (cmd/tide's tune command does, against the reference
// evaluator), so that it stays free of compilers and targets.
package tune

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Knob is a schedule parameter and its candidate values; the first value is
// the default (what a build without tuning uses).
type Knob struct {
	Name   string
	Values []int64
	// Where it is declared, for messages ("matmul.te:4:1").
	Where string
	// Group is the network group whose schedule asked for it, "" for a
	// kernel's: a network is tuned group by group.
	Group string `json:",omitempty"`
}

// Space is the knobs of a kernel, in declaration order.
type Space []Knob

// Config gives each knob of a space a value.
type Config map[string]int64

// maxSpace bounds the configurations a space may have: the search keeps
// per-configuration state only for those it visits, but grid order and
// the model's ranking enumerate indices, which must fit an int64.
const maxSpace = 1 << 40

// Size is the number of configurations; it fails for a space too large to
// index.
func (s Space) Size() (int64, error) {
	n := int64(1)
	for _, k := range s {
		if len(k.Values) == 0 {
			return 0, fmt.Errorf("knob %s has no candidate values", k.Name)
		}
		if n > maxSpace/int64(len(k.Values)) {
			return 0, fmt.Errorf("the knobs have more than %d configurations; give fewer candidates or pin some with -D NAME=VALUE", int64(maxSpace))
		}
		n *= int64(len(k.Values))
	}
	return n, nil
}

// At is the i-th configuration in grid order (the last knob varies
// fastest); 0 is the default.
func (s Space) At(i int64) Config {
	c := Config{}
	for k := len(s) - 1; k >= 0; k-- {
		n := int64(len(s[k].Values))
		c[s[k].Name] = s[k].Values[i%n]
		i /= n
	}
	return c
}

// Index is the grid position of c, which must be a configuration of s.
func (s Space) Index(c Config) (int64, error) {
	if err := s.Check(c); err != nil {
		return 0, err
	}
	var i int64
	for _, k := range s {
		i = i*int64(len(k.Values)) + int64(slices.Index(k.Values, c[k.Name]))
	}
	return i, nil
}

// Default is every knob at its first value.
func (s Space) Default() Config { return s.At(0) }

// Check reports whether c gives every knob of s one of its candidates and
// names no other knob.
func (s Space) Check(c Config) error {
	for _, k := range s {
		v, ok := c[k.Name]
		if !ok {
			return fmt.Errorf("no value for knob %s", k.Name)
		}
		if !slices.Contains(k.Values, v) {
			return fmt.Errorf("%s=%d is not a candidate of knob %s (%s)", k.Name, v, k.Name, formatValues(k.Values))
		}
	}
	for name := range c {
		if !slices.ContainsFunc(s, func(k Knob) bool { return k.Name == name }) {
			return fmt.Errorf("%s is not a knob here (the knobs are %s)", name, s.names())
		}
	}
	return nil
}

func (s Space) names() string {
	var n []string
	for _, k := range s {
		n = append(n, k.Name)
	}
	if len(n) == 0 {
		return "none"
	}
	return strings.Join(n, ", ")
}

func formatValues(v []int64) string {
	var s []string
	for _, x := range v {
		s = append(s, strconv.FormatInt(x, 10))
	}
	return strings.Join(s, ", ")
}

// String prints c as NAME=VALUE pairs in name order, as -D flags take them.
func (c Config) String() string {
	names := make([]string, 0, len(c))
	for n := range c {
		names = append(names, n)
	}
	slices.Sort(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s=%d", n, c[n]))
	}
	if len(parts) == 0 {
		return "(no knobs)"
	}
	return strings.Join(parts, " ")
}

// features are what the cost model sees of a configuration: each knob's
// log2 (tile sizes and unroll depths act multiplicatively; a knob with a
// value below 1, such as a choice by index, is taken as it is), its
// square, and the products of pairs (a tile's area, a split against an
// unroll).
func (s Space) features(c Config) []float64 {
	x := make([]float64, len(s))
	for i, k := range s {
		x[i] = float64(c[k.Name])
		if slices.Min(k.Values) >= 1 {
			x[i] = math.Log2(x[i])
		}
	}
	f := []float64{1}
	f = append(f, x...)
	for i := range x {
		for j := i; j < len(x); j++ {
			f = append(f, x[i]*x[j])
		}
	}
	return f
}
