// Package authorization holds the rows of authorization.k8s.io/v1: the
// access reviews, computed on create and never stored. They answer "may
// this user do that?" (SubjectAccessReview, LocalSubjectAccessReview,
// SelfSubjectAccessReview: `kubectl auth can-i`) and "what may I do
// here?" (SelfSubjectRulesReview: `kubectl auth can-i --list`) from the
// server's own authorizer and rule resolver.
package authorization

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kapi/internal/authz"
	"kapi/internal/registry"
	"kapi/internal/request"
)

const group = "authorization.k8s.io"

// Reviews answers the access reviews.
type Reviews struct {
	// Authorizer is the server's authorizer, --authorization-mode's union.
	Authorizer authz.Authorizer
	// Rules is the union of its authorizers' rule resolvers.
	Rules authz.RuleResolver
}

// Resources returns the rows, answered by az and rules.
func Resources(az authz.Authorizer, rules authz.RuleResolver) []*registry.Resource {
	r := &Reviews{Authorizer: az, Rules: rules}
	row := func(name, kind string, namespaced bool, compute func(context.Context, runtime.Object, registry.ValidateFunc) (runtime.Object, error)) *registry.Resource {
		return &registry.Resource{Group: group, Version: "v1", Name: name, Kind: kind, Namespaced: namespaced,
			Verbs: []string{"create"}, Compute: func(ctx context.Context, obj runtime.Object, _ *metav1.CreateOptions, validate registry.ValidateFunc) (runtime.Object, error) {
				return compute(ctx, obj, validate)
			}}
	}
	return []*registry.Resource{
		row("localsubjectaccessreviews", "LocalSubjectAccessReview", true, r.local),
		row("selfsubjectaccessreviews", "SelfSubjectAccessReview", false, r.self),
		row("selfsubjectrulesreviews", "SelfSubjectRulesReview", false, r.rules),
		row("subjectaccessreviews", "SubjectAccessReview", false, r.subject),
	}
}

// notA is kube-apiserver's answer to a body of another kind.
func notA(kind string, obj runtime.Object) error {
	return apierrors.NewBadRequest(fmt.Sprintf("not a %s: %#v", kind, obj))
}

// subject reviews what spec.user and spec.groups may do.
func (r *Reviews) subject(ctx context.Context, obj runtime.Object, validate registry.ValidateFunc) (runtime.Object, error) {
	sar, ok := obj.(*authorizationv1.SubjectAccessReview)
	if !ok {
		return nil, notA("SubjectAccessReview", obj)
	}
	if errs := validateSubject(sar); len(errs) > 0 {
		return nil, apierrors.NewInvalid(kind("SubjectAccessReview"), "", errs)
	}
	if err := validate.Check(ctx, obj); err != nil {
		return nil, err
	}
	sar.Status = r.review(ctx, specUser(sar.Spec), sar.Spec.ResourceAttributes, sar.Spec.NonResourceAttributes)
	return sar, nil
}

// local is a SubjectAccessReview confined to the namespace of its URL.
func (r *Reviews) local(ctx context.Context, obj runtime.Object, validate registry.ValidateFunc) (runtime.Object, error) {
	sar, ok := obj.(*authorizationv1.LocalSubjectAccessReview)
	if !ok {
		return nil, notA("LocalSubjectAccessReview", obj)
	}
	if errs := validateLocal(sar); len(errs) > 0 {
		return nil, apierrors.NewInvalid(kind("LocalSubjectAccessReview"), "", errs)
	}
	// The handler set metadata.namespace from the URL (a body naming
	// another one is a 400 there), so validation has compared
	// spec.resourceAttributes.namespace with the URL's: a mismatch is 422,
	// as in kube-apiserver.
	if sar.Namespace == "" {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("namespace is required on this type: %v", sar.Namespace))
	}
	if err := validate.Check(ctx, obj); err != nil {
		return nil, err
	}
	sar.Status = r.review(ctx, specUser(sar.Spec), sar.Spec.ResourceAttributes, sar.Spec.NonResourceAttributes)
	return sar, nil
}

// self reviews the requesting user.
func (r *Reviews) self(ctx context.Context, obj runtime.Object, validate registry.ValidateFunc) (runtime.Object, error) {
	sar, ok := obj.(*authorizationv1.SelfSubjectAccessReview)
	if !ok {
		return nil, notA("SelfSubjectAccessReview", obj)
	}
	if errs := validateSelf(sar); len(errs) > 0 {
		return nil, apierrors.NewInvalid(kind("SelfSubjectAccessReview"), "", errs)
	}
	user := request.UserFrom(ctx)
	if user == nil {
		return nil, apierrors.NewBadRequest("no user present on request")
	}
	if err := validate.Check(ctx, obj); err != nil {
		return nil, err
	}
	sar.Status = r.review(ctx, user, sar.Spec.ResourceAttributes, sar.Spec.NonResourceAttributes)
	return sar, nil
}

// review asks the authorizer and words its answer as a status: allowed,
// denied (an explicit deny, not a lack of permission), the reason, and
// the evaluation error with what was ignored of the selectors.
func (r *Reviews) review(ctx context.Context, user *request.User, ra *authorizationv1.ResourceAttributes, nra *authorizationv1.NonResourceAttributes) authorizationv1.SubjectAccessReviewStatus {
	a := authz.Attributes{User: user}
	var ignored []string
	if ra != nil {
		a.ResourceRequest = true
		a.Verb, a.Namespace, a.APIGroup, a.Resource, a.Subresource, a.Name = ra.Verb, ra.Namespace, ra.Group, ra.Resource, ra.Subresource, ra.Name
		a.APIVersion = ra.Version
		if a.APIVersion == "" {
			a.APIVersion = "*"
		}
		ignored = selectorErrors(ra)
		a.FieldSelector, a.LabelSelector = selectorStrings(ra)
	} else if nra != nil {
		a.Verb, a.Path = nra.Verb, nra.Path
	}
	d, reason, err := r.Authorizer.Authorize(ctx, a)
	return authorizationv1.SubjectAccessReviewStatus{Allowed: d == authz.Allow, Denied: d == authz.Deny, Reason: reason,
		EvaluationError: evaluationError(err, ignored)}
}

// rules lists what the requesting user may do in spec.namespace.
func (r *Reviews) rules(ctx context.Context, obj runtime.Object, validate registry.ValidateFunc) (runtime.Object, error) {
	srr, ok := obj.(*authorizationv1.SelfSubjectRulesReview)
	if !ok {
		return nil, notA("SelfSubjectRulesReview", obj)
	}
	user := request.UserFrom(ctx)
	if user == nil {
		return nil, apierrors.NewBadRequest("no user present on request")
	}
	if srr.Spec.Namespace == "" {
		return nil, apierrors.NewBadRequest("no namespace on request")
	}
	if err := validate.Check(ctx, obj); err != nil {
		return nil, err
	}
	rr, nr, incomplete, err := r.Rules.RulesFor(ctx, user, srr.Spec.Namespace)
	// kube-apiserver answers with the status alone, spec and metadata empty.
	out := &authorizationv1.SelfSubjectRulesReview{Status: authorizationv1.SubjectRulesReviewStatus{
		ResourceRules:    make([]authorizationv1.ResourceRule, len(rr)),
		NonResourceRules: make([]authorizationv1.NonResourceRule, len(nr)),
		Incomplete:       incomplete,
	}}
	for i, x := range rr {
		out.Status.ResourceRules[i] = authorizationv1.ResourceRule{Verbs: x.Verbs, APIGroups: x.APIGroups, Resources: x.Resources, ResourceNames: x.ResourceNames}
	}
	for i, x := range nr {
		out.Status.NonResourceRules[i] = authorizationv1.NonResourceRule{Verbs: x.Verbs, NonResourceURLs: x.NonResourceURLs}
	}
	if err != nil {
		out.Status.EvaluationError = err.Error()
	}
	return out, nil
}

// specUser is the user a SubjectAccessReview asks about.
func specUser(spec authorizationv1.SubjectAccessReviewSpec) *request.User {
	u := &request.User{Name: spec.User, UID: spec.UID, Groups: spec.Groups}
	if spec.Extra != nil {
		u.Extra = map[string][]string{}
		for k, v := range spec.Extra {
			u.Extra[k] = []string(v)
		}
	}
	return u
}

func kind(k string) schema.GroupKind { return schema.GroupKind{Group: group, Kind: k} }
