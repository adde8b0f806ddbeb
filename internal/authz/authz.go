// Package authz decides whether a user may do what a request asks:
// authorizers (RBAC, AlwaysAllow) in a union, as --authorization-mode
// lists them.
package authz

import (
	"context"

	"kapi/internal/request"
)

// Attributes is what an authorizer decides on: kube-apiserver's
// authorizer.Attributes.
type Attributes struct {
	User            *request.User
	Verb            string
	ResourceRequest bool
	// For resource requests.
	APIGroup, APIVersion, Resource, Subresource, Namespace, Name string
	// FieldSelector and LabelSelector are a list's, watch's or
	// deletecollection's selectors as sent (the Node authorizer lets a
	// node list the pods of spec.nodeName=itself; a webhook is sent them).
	FieldSelector, LabelSelector string
	// For non-resource requests.
	Path string
}

// Decision is an authorizer's answer.
type Decision int

const (
	// NoOpinion lets the next authorizer decide; if none does, deny.
	NoOpinion Decision = iota
	Allow
	Deny
)

// Authorizer decides one request; reason explains it (kube-apiserver puts
// it in denials and in audit annotations).
type Authorizer interface {
	Authorize(ctx context.Context, a Attributes) (d Decision, reason string, err error)
}

// Union asks each authorizer in order; the first Allow or Deny wins.
type Union []Authorizer

// Authorize implements Authorizer.
func (u Union) Authorize(ctx context.Context, a Attributes) (Decision, string, error) {
	var reasons []string
	for _, az := range u {
		d, reason, err := az.Authorize(ctx, a)
		if err != nil {
			return Deny, reason, err
		}
		if d != NoOpinion {
			return d, reason, nil
		}
		if reason != "" {
			reasons = append(reasons, reason)
		}
	}
	if len(reasons) > 0 {
		return NoOpinion, reasons[0], nil
	}
	return NoOpinion, "", nil
}

// AlwaysAllow allows everything (--authorization-mode=AlwaysAllow).
type AlwaysAllow struct{}

// Authorize implements Authorizer.
func (AlwaysAllow) Authorize(context.Context, Attributes) (Decision, string, error) {
	return Allow, "", nil
}

// Privileged allows members of system:masters everything, before any
// other authorizer is asked, as kube-apiserver does.
type Privileged struct{}

// Authorize implements Authorizer.
func (Privileged) Authorize(_ context.Context, a Attributes) (Decision, string, error) {
	if a.User != nil && a.User.InGroup(request.SystemPrivileged) {
		return Allow, "", nil
	}
	return NoOpinion, "", nil
}

// RuleResolver lists the rules a user holds in a namespace (all
// namespaces for ""), for SelfSubjectRulesReview and for the escalation
// check.
type RuleResolver interface {
	RulesFor(ctx context.Context, user *request.User, namespace string) (resourceRules []ResourceRule, nonResourceRules []NonResourceRule, incomplete bool, err error)
}

// ResourceRule is one allowed combination (authorization.k8s.io/v1
// ResourceRule).
type ResourceRule struct {
	Verbs, APIGroups, Resources, ResourceNames []string
}

// NonResourceRule is one allowed non-resource combination.
type NonResourceRule struct {
	Verbs, NonResourceURLs []string
}

// AlwaysDeny has no opinion on anything, with kube's reason
// (--authorization-mode=AlwaysDeny): what no other mode allows is
// refused.
type AlwaysDeny struct{}

// Authorize implements Authorizer.
func (AlwaysDeny) Authorize(context.Context, Attributes) (Decision, string, error) {
	return NoOpinion, "Everything is forbidden.", nil
}
