package server

import (
	"context"
	"fmt"

	"k8s.io/apiserver/pkg/apis/apiserver"

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
	whole := &authz.Swappable{}
	rbacAuthorizer, err := s.addRBACStorage(ctx, p, whole, stores)
	if err != nil {
		return nil, err
	}
	conf, data, err := authorizationConfiguration(cfg)
	if err != nil {
		return nil, err
	}
	b := &authzBuilder{}
	for _, a := range conf.Authorizers {
		switch a.Type {
		case "RBAC":
			b.rbac = rbacAuthorizer
		case "Node":
			// Its graph outlives reloads of the file, as kube's.
			if b.node, err = s.newNodeAuthorizer(ctx, stores); err != nil {
				return nil, err
			}
		case "ABAC":
			// Read once, at start, as kube reads it.
			if b.abac, err = authz.LoadABAC(cfg.AuthorizationPolicyFile); err != nil {
				return nil, err
			}
		}
	}
	u, err := b.union(conf)
	if err != nil {
		return nil, err
	}
	whole.Store(u)
	if cfg.AuthorizationConfig != "" {
		r := newAuthzReload(cfg.APIServerID, cfg.AuthorizationConfig, data, conf, b, whole)
		if cfg.AuthorizationConfigReloadInterval > 0 {
			r.interval = cfg.AuthorizationConfigReloadInterval
		}
		s.runNow(ctx, r.run)
	}
	p.authorizer = whole
	return p, nil
}

// authzBuilder makes the union of a configuration's authorizers, with the
// Node, RBAC and ABAC authorizers made at start (a reload may not add
// them).
type authzBuilder struct {
	rbac authz.Authorizer
	node authz.Authorizer
	abac authz.Authorizer
}

// union is the system:masters shortcut, then each configured authorizer,
// whose decisions are counted by its type and name as kube-apiserver's.
func (b *authzBuilder) union(conf *apiserver.AuthorizationConfiguration) (authz.Union, error) {
	union := authz.Union{authz.Privileged{}}
	for _, a := range conf.Authorizers {
		var az authz.Authorizer
		switch a.Type {
		case "AlwaysAllow":
			az = authz.AlwaysAllow{}
		case "AlwaysDeny":
			az = authz.AlwaysDeny{}
		case "RBAC", "Node", "ABAC":
			switch a.Type {
			case "RBAC":
				az = b.rbac
			case "Node":
				az = b.node
			case "ABAC":
				az = b.abac
			}
			if az == nil {
				return nil, fmt.Errorf("authorizer type %s is not allowed if it was not enabled at initial server startup", a.Type)
			}
		case "Webhook":
			w, err := authz.NewWebhook(a.Name, a.Webhook)
			if err != nil {
				return nil, err
			}
			az = w
		default:
			return nil, fmt.Errorf("authorization mode %s: not implemented in kapi", a.Type)
		}
		union = append(union, authz.Instrumented{Type: string(a.Type), Name: a.Name, Authorizer: az})
	}
	return union, nil
}
