package registry

import (
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestGCFinalizers follows kube's deletionFinalizersForGarbageCollection:
// the options first, then the object's own finalizers, then the kind's
// default; a kind without the collector keeps none of its finalizers.
func TestGCFinalizers(t *testing.T) {
	orphan, fg := metav1.FinalizerOrphanDependents, metav1.FinalizerDeleteDependents
	policy := func(p metav1.DeletionPropagation) *metav1.DeleteOptions {
		return &metav1.DeleteOptions{PropagationPolicy: &p}
	}
	legacy := func(o bool) *metav1.DeleteOptions { return &metav1.DeleteOptions{OrphanDependents: &o} } //nolint:staticcheck
	none := &metav1.DeleteOptions{}
	for _, c := range []struct {
		name    string
		current []string
		opts    *metav1.DeleteOptions
		policy  GCPolicy
		want    []string
		changed bool
	}{
		{"background by default", nil, none, GCBackground, nil, false},
		{"orphan by default", []string{"x/y"}, none, GCOrphan, []string{"x/y", orphan}, true},
		{"an explicit background beats an orphaning default", nil, policy(metav1.DeletePropagationBackground), GCOrphan, nil, false},
		{"an explicit orphan", nil, policy(metav1.DeletePropagationOrphan), GCBackground, []string{orphan}, true},
		{"foreground replaces orphan", []string{orphan}, policy(metav1.DeletePropagationForeground), GCOrphan, []string{fg}, true},
		{"legacy orphanDependents=false", []string{orphan}, legacy(false), GCOrphan, nil, true},
		{"legacy orphanDependents=true", nil, legacy(true), GCBackground, []string{orphan}, true},
		{"the object's foreground finalizer beats the default", []string{fg}, none, GCOrphan, []string{fg}, false},
		{"the object's orphan finalizer beats the default", []string{orphan}, none, GCBackground, []string{orphan}, false},
		{"unsupported ignores the options", nil, policy(metav1.DeletePropagationOrphan), GCUnsupported, nil, false},
		{"unsupported drops the collector's finalizers", []string{"x/y", fg}, none, GCUnsupported, []string{"x/y"}, true},
	} {
		got, changed := gcFinalizers(c.current, c.opts, c.policy)
		if !slices.Equal(got, c.want) || changed != c.changed {
			t.Errorf("%s: %v %v, want %v %v", c.name, got, changed, c.want, c.changed)
		}
	}
}
