package server

import (
	"context"
	"fmt"

	"kapi/internal/admission"
	"kapi/internal/authz"
	"kapi/internal/registry"
)

// authzParts are the authorizer of --authorization-mode and what comes
// with RBAC: its admission plugin (escalation), its computed resources
// (access reviews) and its control loops (cache, aggregation).
type authzParts struct {
	authorizer authz.Authorizer
	// admission checks what only the authorizer can: RBAC escalation,
	// which kube-apiserver's RBAC strategies run whatever the admission
	// plugins.
	admission   []admission.Validator
	rows        []*registry.Resource
	controllers []func(context.Context)
}

// newAuthz builds the union of the authorizers, in the order of
// --authorization-config or --authorization-mode, after the
// system:masters shortcut kube-apiserver always has. The RBAC storage
// side (bootstrap policy, caches, aggregation, escalation checks, access
// reviews) is there whatever the modes, as in kube-apiserver; the RBAC
// authorizer only where --authorization-mode names it.
func (s *Server) newAuthz(ctx context.Context, cfg Config, stores []*registry.Store) (*authzParts, error) {
	p := &authzParts{}
	union := authz.Union{authz.Privileged{}}
	rbacAuthorizer, err := s.addRBACStorage(ctx, p, &union, stores)
	if err != nil {
		return nil, err
	}
	conf, err := authorizationConfiguration(cfg)
	if err != nil {
		return nil, err
	}
	for _, a := range conf.Authorizers {
		switch a.Type {
		case "AlwaysAllow":
			union = append(union, authz.AlwaysAllow{})
		case "AlwaysDeny":
			union = append(union, authz.AlwaysDeny{})
		case "RBAC":
			union = append(union, rbacAuthorizer)
		case "Node":
			n, err := s.newNodeAuthorizer(ctx, stores)
			if err != nil {
				return nil, err
			}
			union = append(union, n)
		case "Webhook":
			w, err := authz.NewWebhook(a.Name, a.Webhook)
			if err != nil {
				return nil, err
			}
			union = append(union, w)
		default:
			return nil, fmt.Errorf("authorization mode %s: not implemented in kapi", a.Type)
		}
	}
	p.authorizer = union
	return p, nil
}
