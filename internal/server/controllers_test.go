package server

import (
	"slices"
	"testing"
)

// TestLoopsOffByDefault: the loops kube-controller-manager runs only when
// named (kubeadm names the two bootstrap ones) are off under "*" and on
// when named, by either name.
func TestLoopsOffByDefault(t *testing.T) {
	var off []string
	for _, l := range controllerLoops(nil, nil, nil) {
		if !l.Enabled([]string{"*"}) {
			off = append(off, l.Name)
		}
		if l.Off && (!l.Enabled([]string{"*", l.Name}) || (len(l.Aliases) > 0 && !l.Enabled([]string{"*", l.Aliases[0]}))) {
			t.Errorf("%s: not on when named", l.Name)
		}
	}
	if want := []string{"bootstrap-signer-controller", "token-cleaner-controller"}; !slices.Equal(off, want) {
		t.Errorf("off under *: %q, want %q", off, want)
	}
}
