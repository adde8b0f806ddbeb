package controllers

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestServiceNodePorts: the node ports a Service holds, as kube's
// collectServiceNodePorts counts them.
func TestServiceNodePorts(t *testing.T) {
	port := func(n int32, p corev1.Protocol) corev1.ServicePort {
		return corev1.ServicePort{NodePort: n, Protocol: p}
	}
	for _, c := range []struct {
		name  string
		ports []corev1.ServicePort
		hc    int32
		want  []int
	}{
		{"none", []corev1.ServicePort{port(0, corev1.ProtocolTCP)}, 0, nil},
		{"two", []corev1.ServicePort{port(30001, corev1.ProtocolTCP), port(30002, corev1.ProtocolTCP)}, 0, []int{30001, 30002}},
		{"one port, two protocols", []corev1.ServicePort{port(30001, corev1.ProtocolTCP), port(30001, corev1.ProtocolUDP)}, 0, []int{30001}},
		{"one port twice, same protocol", []corev1.ServicePort{port(30001, corev1.ProtocolTCP), port(30001, corev1.ProtocolTCP)}, 0, []int{30001, 30001}},
		{"health check", []corev1.ServicePort{port(30001, corev1.ProtocolTCP)}, 30005, []int{30001, 30005}},
		{"health check on a UDP node port", []corev1.ServicePort{port(30001, corev1.ProtocolUDP)}, 30001, []int{30001}},
	} {
		svc := &corev1.Service{Spec: corev1.ServiceSpec{Ports: c.ports, HealthCheckNodePort: c.hc}}
		if got := serviceNodePorts(svc); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
