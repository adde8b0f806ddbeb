package core

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
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

// TestServiceDefaults: kube's SetDefaults_Service for session affinity,
// external traffic policy and load balancers' ingress, and the session
// affinity's validation.
func TestServiceDefaults(t *testing.T) {
	svc := func(mut func(*corev1.ServiceSpec)) *corev1.Service {
		s := &corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromString("")}}}}
		mut(&s.Spec)
		defaultService(s)
		return s
	}
	s := svc(func(s *corev1.ServiceSpec) { s.SessionAffinity = corev1.ServiceAffinityClientIP })
	if c := s.Spec.SessionAffinityConfig; c == nil || c.ClientIP == nil || *c.ClientIP.TimeoutSeconds != 10800 {
		t.Errorf("ClientIP's config: %+v", c)
	}
	if s.Spec.Ports[0].TargetPort != intstr.FromInt32(80) {
		t.Errorf("an empty targetPort: %v", s.Spec.Ports[0].TargetPort)
	}
	s = svc(func(s *corev1.ServiceSpec) {
		s.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{}}
		s.ExternalIPs = []string{"192.0.2.1"}
	})
	if s.Spec.SessionAffinityConfig != nil || s.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyCluster {
		t.Errorf("None's config %+v; a ClusterIP service with external IPs: %q", s.Spec.SessionAffinityConfig, s.Spec.ExternalTrafficPolicy)
	}
	s = svc(func(s *corev1.ServiceSpec) { s.Type = corev1.ServiceTypeLoadBalancer })
	s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.2"}, {Hostname: "lb.example.com"}}
	defaultService(s)
	if in := s.Status.LoadBalancer.Ingress; in[0].IPMode == nil || *in[0].IPMode != corev1.LoadBalancerIPModeVIP || in[1].IPMode != nil {
		t.Errorf("ingress: %+v", in)
	}

	long := int32(86401)
	for _, c := range []struct {
		spec corev1.ServiceSpec
		want string
	}{
		{corev1.ServiceSpec{SessionAffinity: corev1.ServiceAffinityClientIP,
			SessionAffinityConfig: &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: &long}}},
			"spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 86401: must be greater than 0 and less than 86400"},
		{corev1.ServiceSpec{SessionAffinity: corev1.ServiceAffinityClientIP, SessionAffinityConfig: &corev1.SessionAffinityConfig{}},
			"spec.sessionAffinityConfig.clientIP: Required value: when session affinity type is ClientIP"},
		{corev1.ServiceSpec{SessionAffinity: corev1.ServiceAffinityNone, SessionAffinityConfig: &corev1.SessionAffinityConfig{}},
			"spec.sessionAffinityConfig: Forbidden: must not be set when session affinity is None"},
	} {
		errs := validateSessionAffinityConfig(&c.spec)
		if len(errs) != 1 || errs[0].Error() != c.want {
			t.Errorf("%+v: %v, want %q", c.spec, errs, c.want)
		}
	}
}
