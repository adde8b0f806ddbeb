package controllers

import (
	"strings"
	"testing"
)

// TestLoopEnabled: --controllers as kube-controller-manager reads it.
func TestLoopEnabled(t *testing.T) {
	gc := Loop{Name: "garbage-collector-controller", Aliases: []string{"garbagecollector"}}
	off := Loop{Name: "optional-controller", Off: true}
	cases := []struct {
		list      []string
		gc, other bool
	}{
		{[]string{"*"}, true, false},
		{nil, false, false},
		{[]string{"*", "-garbage-collector-controller"}, false, false},
		{[]string{"-garbagecollector", "*"}, false, false},
		{[]string{"garbagecollector"}, true, false},
		{[]string{"*", "optional-controller"}, true, true},
		{[]string{"-optional-controller", "*"}, true, false},
	}
	for _, c := range cases {
		if got := gc.Enabled(c.list); got != c.gc {
			t.Errorf("%v: garbage collector enabled %v, want %v", c.list, got, c.gc)
		}
		if got := off.Enabled(c.list); got != c.other {
			t.Errorf("%v: off-by-default loop enabled %v, want %v", c.list, got, c.other)
		}
	}
	loops := []Loop{gc, off}
	if err := CheckNames(loops, []string{"*", "-garbagecollector", "optional-controller"}); err != nil {
		t.Fatal(err)
	}
	err := CheckNames(loops, []string{"*", "-nosuch"})
	if err == nil || !strings.Contains(err.Error(), `"-nosuch" is not in the list of known controllers`) {
		t.Fatalf("unknown name: %v", err)
	}
}
