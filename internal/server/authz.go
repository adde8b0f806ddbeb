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

// newAuthz builds the union of the modes, in order, after the
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
	for _, mode := range cfg.AuthorizationModes {
		switch mode {
		case "AlwaysAllow":
			union = append(union, authz.AlwaysAllow{})
		case "RBAC":
			union = append(union, rbacAuthorizer)
		case "Webhook":
			if cfg.AuthorizationWebhookConfigFile == "" {
				return nil, fmt.Errorf("authorization-mode Webhook's authorization config file not passed")
			}
			w, err := authz.NewWebhook(cfg.AuthorizationWebhookConfigFile, cfg.AuthorizationWebhookVersion,
				cfg.AuthorizationWebhookCacheAuthorizedTTL, cfg.AuthorizationWebhookCacheUnauthorizedTTL)
			if err != nil {
				return nil, err
			}
			union = append(union, w)
		default:
			return nil, fmt.Errorf("--authorization-mode: unknown mode %q (RBAC, AlwaysAllow, Webhook)", mode)
		}
	}
	p.authorizer = union
	return p, nil
}
