package core

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"kapi/internal/registry"
)

// serviceHooks default a Service as kube-apiserver's defaulters do for the
// fields every client reads back: type ClusterIP, sessionAffinity None,
// internalTrafficPolicy Cluster, and each port's protocol (TCP) and
// targetPort (the port). ClusterIP allocation comes with its own issue.
var serviceHooks = &registry.Hooks{
	PrepareForCreate: func(obj runtime.Object) { defaultService(obj.(*corev1.Service)) },
	PrepareForUpdate: func(obj, _ runtime.Object) { defaultService(obj.(*corev1.Service)) },
}

func defaultService(svc *corev1.Service) {
	s := &svc.Spec
	if s.Type == "" {
		s.Type = corev1.ServiceTypeClusterIP
	}
	if s.SessionAffinity == "" {
		s.SessionAffinity = corev1.ServiceAffinityNone
	}
	if s.Type != corev1.ServiceTypeExternalName && s.InternalTrafficPolicy == nil {
		p := corev1.ServiceInternalTrafficPolicyCluster
		s.InternalTrafficPolicy = &p
	}
	for i := range s.Ports {
		p := &s.Ports[i]
		if p.Protocol == "" {
			p.Protocol = corev1.ProtocolTCP
		}
		if p.TargetPort == (intstr.IntOrString{}) {
			p.TargetPort = intstr.FromInt32(p.Port)
		}
	}
}
