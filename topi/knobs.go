package topi

import (
	"slices"

	"github.com/tide-compiler/tide/schedule"
	"github.com/tide-compiler/tide/tune"
)

// Knobs are the tunable choices of the library's schedules, as the knobs
// of TOPI's AutoTVM templates: a schedule asks for each choice by a name
// local to its operator, with its default and other candidates, and gets
// the default unless Values gives another. Every knob asked for is listed
// in Declared, which is what tide tune searches.
type Knobs struct {
	Values   tune.Config
	Declared tune.Space
}

// knob is the value of the choice name of the operator whose stage is st:
// Values' when it has one, else def. Its full name is the operator's scope
// (Target.Scope: a network's group; else the stage's name) and name,
// joined by an underscore, so that it can be given as -D NAME=VALUE.
// Candidates outside [1, limit] are dropped (a block cannot be taller than
// its row); the default is always kept, first.
func (t Target) knob(st *schedule.Stage, name string, def, limit int64, candidates ...int64) int64 {
	if t.Knobs == nil {
		return def
	}
	scope := t.Scope
	if scope == "" {
		scope = st.Tensor.Name
	}
	full := scope + "_" + name
	values := []int64{def}
	for _, c := range candidates {
		if c >= 1 && c <= limit && !slices.Contains(values, c) {
			values = append(values, c)
		}
	}
	if !slices.ContainsFunc(t.Knobs.Declared, func(k tune.Knob) bool { return k.Name == full }) {
		t.Knobs.Declared = append(t.Knobs.Declared, tune.Knob{Name: full, Values: values, Group: t.Scope, Where: string(st.Tensor.Tag) + " schedule"})
	}
	if v, ok := t.Knobs.Values[full]; ok {
		return v
	}
	return def
}
