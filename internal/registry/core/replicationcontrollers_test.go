package core

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestReplicationControllerStatus: a status write is checked as kube's
// ValidateReplicationControllerStatus checks it, with its messages, and
// not against the spec.
func TestReplicationControllerStatus(t *testing.T) {
	for _, c := range []struct {
		status corev1.ReplicationControllerStatus
		want   string
	}{
		{corev1.ReplicationControllerStatus{Replicas: 3, FullyLabeledReplicas: 3, ReadyReplicas: 2, AvailableReplicas: 1, ObservedGeneration: 4}, ""},
		{corev1.ReplicationControllerStatus{Replicas: -1, ObservedGeneration: -2},
			// kube's too: the zeros are above a negative replicas.
			"status.replicas: Invalid value: -1: must be greater than or equal to 0\n" +
				"status.observedGeneration: Invalid value: -2: must be greater than or equal to 0\n" +
				"status.fullyLabeledReplicas: Invalid value: 0: cannot be greater than status.replicas\n" +
				"status.readyReplicas: Invalid value: 0: cannot be greater than status.replicas\n" +
				"status.availableReplicas: Invalid value: 0: cannot be greater than status.replicas"},
		{corev1.ReplicationControllerStatus{Replicas: 1, FullyLabeledReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 3},
			"status.fullyLabeledReplicas: Invalid value: 2: cannot be greater than status.replicas\n" +
				"status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas\n" +
				"status.availableReplicas: Invalid value: 3: cannot be greater than status.replicas\n" +
				"status.availableReplicas: Invalid value: 3: cannot be greater than readyReplicas"},
	} {
		// The spec is not the status write's business: a template-less
		// controller (invalid as a spec) does not matter here.
		rc := &corev1.ReplicationController{Status: c.status}
		var got []string
		for _, e := range replicationControllerStatus.Validate(rc, rc.DeepCopy()) {
			got = append(got, e.Error())
		}
		if g := strings.Join(got, "\n"); g != c.want {
			t.Errorf("%+v:\ngot  %s\nwant %s", c.status, g, c.want)
		}
	}
}
