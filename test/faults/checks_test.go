package faults

import (
	"testing"

	"github.com/anishathalye/porcupine"
	"k8s.io/apimachinery/pkg/watch"
)

// TestChecks: the suite's checks find what they look for: a lost write, a
// refused write that happened, a contradicting answer, a watch with a gap,
// a duplicate or an event out of order, a history that is not
// linearizable.
func TestChecks(t *testing.T) {
	create := func(v string, o outcome) objOp { return objOp{kind: opCreate, value: v, outcome: o} }
	update := func(v string, o outcome) objOp { return objOp{kind: opUpdate, value: v, outcome: o} }
	del := func(o outcome) objOp { return objOp{kind: opDelete, outcome: o} }
	present := func(v string) objState { return objState{present: true, value: v} }
	for _, c := range []struct {
		name           string
		ops            []objOp
		final          objState
		strict, loose  bool
		contradictions int
	}{
		{"acknowledged create there", []objOp{create("1", acked)}, present("1"), true, true, 0},
		{"acknowledged create lost", []objOp{create("1", acked)}, objState{}, false, false, 0},
		{"acknowledged update lost", []objOp{create("1", acked), update("2", acked)}, present("1"), false, false, 0},
		{"acknowledged delete lost", []objOp{create("1", acked), del(acked)}, present("1"), false, false, 0},
		{"unknown create either way", []objOp{create("1", unknown)}, objState{}, true, true, 0},
		{"unknown create happened", []objOp{create("1", unknown)}, present("1"), true, true, 0},
		{"refused update happened", []objOp{create("1", acked), update("2", refused)}, present("2"), false, true, 0},
		{"update after an unknown create", []objOp{create("1", unknown), update("2", acked)}, present("2"), true, true, 0},
		{"404 after an unknown create", []objOp{create("1", unknown), {kind: opUpdate, value: "2", outcome: refused, notFound: true}}, objState{}, true, true, 0},
		{"404 after an acknowledged create", []objOp{create("1", acked), {kind: opDelete, outcome: refused, notFound: true}}, present("1"), true, true, 1},
		{"create acknowledged twice", []objOp{create("1", acked), create("2", acked)}, present("2"), true, true, 1},
		{"unknown create after a 404", []objOp{create("1", unknown), {kind: opUpdate, value: "2", outcome: refused, notFound: true}, update("3", acked)}, present("3"), true, true, 0},
		{"unknown create after a delete", []objOp{create("1", unknown), del(unknown)}, present("1"), true, true, 0},
		{"unknown update after a delete", []objOp{create("1", acked), update("2", unknown), del(acked)}, objState{}, true, true, 0},
		{"acknowledged delete before an unknown update", []objOp{create("1", acked), update("2", unknown), del(acked)}, present("2"), false, false, 0},
	} {
		strict, n := possible(c.ops, true)
		loose, _ := possible(c.ops, false)
		if strict[c.final] != c.strict || loose[c.final] != c.loose || n != c.contradictions {
			t.Errorf("%s: %v after %s: strictly %v, loosely %v, %d contradictions; want %v, %v, %d",
				c.name, c.final, describe(c.ops), strict[c.final], loose[c.final], n, c.strict, c.loose, c.contradictions)
		}
	}

	a, b, d := seen{"a", 5, watch.Added}, seen{"b", 6, watch.Added}, seen{"a", 7, watch.Deleted}
	for _, c := range []struct {
		name      string
		got, want []seen
		ok        bool
	}{
		{"same", []seen{a, b, d}, []seen{a, b, d}, true},
		{"gap", []seen{a, d}, []seen{a, b, d}, false},
		{"tail missing", []seen{a, b}, []seen{a, b, d}, false},
		{"duplicate", []seen{a, b, b, d}, []seen{a, b, d}, false},
		{"out of order", []seen{b, a, d}, []seen{a, b, d}, false},
		{"another type", []seen{a, {"b", 6, watch.Modified}, d}, []seen{a, b, d}, false},
	} {
		if diff := diffEvents(c.got, c.want); (diff == "") != c.ok {
			t.Errorf("%s: diffEvents says %q", c.name, diff)
		}
	}

	if got := stateAt([]seen{a, b, d}, 6); len(got) != 2 || got["a"] != 5 || got["b"] != 6 {
		t.Errorf("state at 6: %v", got)
	}
	if got := stateAt([]seen{a, b, d}, 7); len(got) != 1 || got["b"] != 6 {
		t.Errorf("state at 7: %v", got)
	}

	// Two clients: one sets 1 from 0, acknowledged; the other reads 0
	// after that returned: a stale read.
	stale := []porcupine.Operation{
		{ClientId: 0, Input: registerInput{cas: true, expect: "0", next: "1"}, Output: registerOutput{outcome: acked}, Call: 0, Return: 10},
		{ClientId: 1, Input: registerInput{}, Output: registerOutput{value: "0"}, Call: 20, Return: 30},
	}
	if porcupine.CheckOperations(registerModel("0"), stale) {
		t.Error("a stale read passed as linearizable")
	}
	// The same write of unknown outcome may not have happened yet.
	stale[0].Output, stale[0].Return = registerOutput{outcome: unknown}, 1<<62
	if !porcupine.CheckOperations(registerModel("0"), stale) {
		t.Error("a write of unknown outcome was taken as done")
	}
}
