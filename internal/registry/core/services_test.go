package core

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestNormalizeClusterIPs: the cases of kube-apiserver's
// NormalizeClusterIPs on update.
func TestNormalizeClusterIPs(t *testing.T) {
	svc := func(ip string, ips ...string) *corev1.Service {
		return &corev1.Service{Spec: corev1.ServiceSpec{ClusterIP: ip, ClusterIPs: ips}}
	}
	for _, c := range []struct {
		name     string
		old, new *corev1.Service
		want     []string
	}{
		{"old client patches another field", svc("10.0.0.1", "10.0.0.1"), svc("10.0.0.1"), []string{"10.0.0.1"}},
		{"old client changes clusterIP", svc("10.0.0.1", "10.0.0.1"), svc("10.0.0.77", "10.0.0.1"), []string{"10.0.0.77"}},
		{"old client clears clusterIP", svc("10.0.0.1", "10.0.0.1"), svc("", "10.0.0.1"), nil},
		{"new client changes both", svc("10.0.0.1", "10.0.0.1"), svc("10.0.0.77", "10.0.0.78"), []string{"10.0.0.78"}},
		{"new client clears both", svc("10.0.0.1", "10.0.0.1"), svc(""), nil},
		{"dual stack kept", svc("10.0.0.1", "10.0.0.1", "fd00::1"), svc("10.0.0.1"), []string{"10.0.0.1", "fd00::1"}},
		{"clusterIP set, clusterIPs changed", svc("10.0.0.1", "10.0.0.1"), svc("", "10.0.0.2"), []string{"10.0.0.2"}},
	} {
		normalizeClusterIPs(c.new, c.old)
		if !slices.Equal(c.new.Spec.ClusterIPs, c.want) {
			t.Errorf("%s: clusterIPs %v, want %v", c.name, c.new.Spec.ClusterIPs, c.want)
		}
	}
}
