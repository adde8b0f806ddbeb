package controllers

import (
	"context"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/cel/openapi/resolver"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/kube-openapi/pkg/common"

	"kapi/internal/registry"
)

// PolicyTypeChecking writes each ValidatingAdmissionPolicy's
// status.typeChecking, as kube-controller-manager's
// validatingadmissionpolicy-status-controller does: the warnings of
// k8s.io/apiserver's type checker (an expression that refers to a field
// the matched kinds do not have, a wrong type) for the generation it
// checked, in status.observedGeneration. Type checking only informs: it
// never changes what the policy does.
type PolicyTypeChecking struct {
	env    *Env
	client kubernetes.Interface
	// Definitions are the built-in kinds' OpenAPI definitions; custom
	// resources' schemas are read from the server's OpenAPI v3.
	definitions common.GetOpenAPIDefinitions
}

// NewPolicyTypeChecking returns the loop; it acts as
// kube-system/validatingadmissionpolicy-status-controller.
func NewPolicyTypeChecking(env *Env, definitions common.GetOpenAPIDefinitions) *PolicyTypeChecking {
	return &PolicyTypeChecking{env: env, definitions: definitions,
		client: kubernetes.NewForConfigOrDie(env.ClientFor("validatingadmissionpolicy-status-controller"))}
}

var policiesGVR = schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicies"}

// Run checks the policies whenever they change, until ctx ends.
func (c *PolicyTypeChecking) Run(ctx context.Context) {
	inf := c.env.Informers.For(policiesGVR)
	changed := inf.Changed(ctx)
	if !waitSynced(ctx, inf) {
		return
	}
	// As kube-controller-manager's: the built-in kinds' definitions, then
	// what the server publishes at /openapi/v3 (custom resources).
	schemas := resolver.NewDefinitionsSchemaResolver(c.definitions, registry.Scheme).
		Combine(&resolver.ClientDiscoveryResolver{Discovery: c.client.Discovery()})
	checker := &validating.TypeChecker{SchemaResolver: schemas}
	for {
		checker.RestMapper = restMapper(c.env.Catalogue)
		for _, obj := range inf.List("") {
			p := obj.(*admissionregistrationv1.ValidatingAdmissionPolicy)
			if p.Status.ObservedGeneration == p.Generation && p.Status.TypeChecking != nil {
				continue
			}
			if err := c.write(ctx, checker, p); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				klog.Warningf("type checking ValidatingAdmissionPolicy %s: %v", p.Name, err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-time.After(time.Minute):
		}
	}
}

// write updates the status of the policy the informer holds: a policy
// changed since is a conflict, checked again after the informer sees it.
func (c *PolicyTypeChecking) write(ctx context.Context, checker *validating.TypeChecker, p *admissionregistrationv1.ValidatingAdmissionPolicy) error {
	out := p.DeepCopy()
	out.Status.ObservedGeneration = p.Generation
	out.Status.TypeChecking = &admissionregistrationv1.TypeChecking{ExpressionWarnings: checker.Check(p)}
	if equality.Semantic.DeepEqual(out.Status, p.Status) {
		return nil
	}
	_, err := c.client.AdmissionregistrationV1().ValidatingAdmissionPolicies().UpdateStatus(ctx, out, metav1.UpdateOptions{})
	return err
}

// restMapper maps the catalogue's resources to their kinds and scopes.
func restMapper(cat *registry.Catalogue) meta.RESTMapper {
	m := meta.NewDefaultRESTMapper(nil)
	for _, st := range cat.Snapshot().Stores() {
		scope := meta.RESTScopeRoot
		if st.R.Namespaced {
			scope = meta.RESTScopeNamespace
		}
		m.AddSpecific(st.R.GVK(), st.R.GVR(), st.R.GVR().GroupVersion().WithResource(st.R.SingularName()), scope)
	}
	return m
}
