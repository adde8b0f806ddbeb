package authz

import (
	"context"

	"kapi/internal/metrics"
)

// decisions is kube-apiserver's apiserver_authorization_decisions_total
// (k8s.io/apiserver/pkg/authorization/metrics): the terminal decisions of
// each configured authorizer, by its type ("RBAC", "Node", "Webhook",
// "AlwaysAllow", ...) and name ("rbac", or the --authorization-config
// name). A NoOpinion is not terminal and not counted; nor is the
// system:masters shortcut, which kube-apiserver does not instrument: a
// request the union answers counts once, for the authorizer that decided.
var decisions = metrics.Counter("apiserver_authorization_decisions_total",
	"[ALPHA] Total number of terminal decisions made by an authorizer split by authorizer type, name, and decision.",
	"type", "name", "decision")

// Instrumented is an authorizer of the union whose decisions are counted,
// as kube-apiserver wraps each configured authorizer.
type Instrumented struct {
	Type, Name string
	Authorizer Authorizer
}

// Authorize implements Authorizer.
func (i Instrumented) Authorize(ctx context.Context, a Attributes) (Decision, string, error) {
	d, reason, err := i.Authorizer.Authorize(ctx, a)
	switch d {
	case Allow:
		decisions.WithLabelValues(i.Type, i.Name, "allowed").Inc()
	case Deny:
		decisions.WithLabelValues(i.Type, i.Name, "denied").Inc()
	}
	return d, reason, err
}

// Unwrap is the authorizer counted (for its rule resolver).
func (i Instrumented) Unwrap() Authorizer { return i.Authorizer }
