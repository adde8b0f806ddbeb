package controllers

import (
	"context"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/cel/openapi/resolver"
	"k8s.io/klog/v2"
	"k8s.io/kube-openapi/pkg/common"

	"kapi/internal/registry"
)

// PolicyTypeChecking writes each ValidatingAdmissionPolicy's
// status.typeChecking, as kube-apiserver's policy controller does: the
// warnings of k8s.io/apiserver's type checker (an expression that refers
// to a field the matched kinds do not have, a wrong type) for the
// generation it checked, in status.observedGeneration. Type checking
// only informs: it never changes what the policy does.
type PolicyTypeChecking struct {
	Policies *registry.Store
	Informer *Informer
	// Changed is the informer's Changed channel, taken before it runs.
	Changed <-chan struct{}
	// Catalogue maps the policy's resources to kinds; Definitions are the
	// built-in kinds' OpenAPI definitions (custom resources are not
	// checked, as their schemas are not among them).
	Catalogue   *registry.Catalogue
	Definitions common.GetOpenAPIDefinitions
}

// Run checks the policies whenever they change, until ctx ends.
func (c *PolicyTypeChecking) Run(ctx context.Context) {
	select {
	case <-c.Informer.Synced():
	case <-ctx.Done():
		return
	}
	checker := &validating.TypeChecker{SchemaResolver: resolver.NewDefinitionsSchemaResolver(c.Definitions, registry.Scheme)}
	for {
		checker.RestMapper = restMapper(c.Catalogue)
		for _, obj := range c.Informer.List("") {
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
		case <-c.Changed:
		case <-time.After(time.Minute):
		}
	}
}

func (c *PolicyTypeChecking) write(ctx context.Context, checker *validating.TypeChecker, p *admissionregistrationv1.ValidatingAdmissionPolicy) error {
	warnings := checker.Check(p)
	status := c.Policies.R.Sub("status")
	_, _, err := c.Policies.Update(ctx, "", p.Name, status, func(_ context.Context, old runtime.Object) (runtime.Object, error) {
		cur := old.(*admissionregistrationv1.ValidatingAdmissionPolicy)
		if cur.Generation != p.Generation {
			return nil, apierrors.NewConflict(c.Policies.GroupResource(), p.Name, errGenerationMoved)
		}
		out := cur.DeepCopy()
		out.Status.ObservedGeneration = p.Generation
		out.Status.TypeChecking = &admissionregistrationv1.TypeChecking{ExpressionWarnings: warnings}
		if equality.Semantic.DeepEqual(out.Status, cur.Status) {
			return cur, nil
		}
		return out, nil
	}, nil, false)
	return err
}

type generationMoved struct{}

func (generationMoved) Error() string { return "the policy changed while it was checked" }

var errGenerationMoved = generationMoved{}

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
