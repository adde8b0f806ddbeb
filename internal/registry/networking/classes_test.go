package networking

import (
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/utils/ptr"

	"kapi/internal/registry/fieldtest"
)

// TestIngressClassParameters: kube's SetDefaults_IngressClass (scope
// Cluster) and validateIngressClassParametersReference.
func TestIngressClassParameters(t *testing.T) {
	class := func(p *networkingv1.IngressClassParametersReference) *networkingv1.IngressClass {
		return &networkingv1.IngressClass{Spec: networkingv1.IngressClassSpec{Controller: "example.com/ingress", Parameters: p}}
	}
	ic := class(&networkingv1.IngressClassParametersReference{Kind: "Params", Name: "p"})
	ingressClassHooks.PrepareCreate(ic)
	if s := ic.Spec.Parameters.Scope; s == nil || *s != networkingv1.IngressClassParametersReferenceScopeCluster {
		t.Errorf("scope %v, want Cluster", s)
	}
	if errs := ingressClassHooks.Validate(ic, nil); len(errs) > 0 {
		t.Errorf("valid parameters: %v", errs)
	}
	ns, cluster := networkingv1.IngressClassParametersReferenceScopeNamespace, networkingv1.IngressClassParametersReferenceScopeCluster
	for _, c := range []struct {
		name string
		p    networkingv1.IngressClassParametersReference
		want string
	}{
		{"no kind or name", networkingv1.IngressClassParametersReference{Scope: &cluster},
			"spec.parameters.kind: Required value; spec.parameters.name: Required value"},
		{"bad kind, group", networkingv1.IngressClassParametersReference{APIGroup: ptr.To("Bad_Group"), Kind: "a/b", Name: "p", Scope: &cluster},
			"spec.parameters.apiGroup: Invalid value; spec.parameters.kind: Invalid value"},
		{"odd scope", networkingv1.IngressClassParametersReference{Kind: "K", Name: "p", Scope: ptr.To("Everywhere")},
			"spec.parameters.scope: Unsupported value"},
		{"namespace scope without one", networkingv1.IngressClassParametersReference{Kind: "K", Name: "p", Scope: &ns},
			"spec.parameters.namespace: Required value"},
		{"namespace scope, bad one", networkingv1.IngressClassParametersReference{Kind: "K", Name: "p", Scope: &ns, Namespace: ptr.To("Not_A_NS")},
			"spec.parameters.namespace: Invalid value"},
		{"namespace scope", networkingv1.IngressClassParametersReference{Kind: "K", Name: "p", Scope: &ns, Namespace: ptr.To("team")}, ""},
		{"cluster scope with namespace", networkingv1.IngressClassParametersReference{Kind: "K", Name: "p", Scope: &cluster, Namespace: ptr.To("team")},
			"spec.parameters.namespace: Forbidden"},
		{"no scope (not defaulted)", networkingv1.IngressClassParametersReference{Kind: "K", Name: "p"}, "spec.parameters.scope: Required value"},
	} {
		if got := fieldtest.Paths(ingressClassHooks.Validate(class(&c.p), nil)); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
