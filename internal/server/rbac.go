package server

import (
	"context"
	"fmt"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"

	"kapi/internal/admission"
	"kapi/internal/authz"
	"kapi/internal/authz/rbac"
	"kapi/internal/controllers"
	"kapi/internal/registry"
	"kapi/internal/registry/authorization"
	"kapi/internal/registry/builtin"
	"kapi/internal/request"
)

// rbacSyncTimeout bounds the wait for the RBAC caches at start.
const rbacSyncTimeout = 30 * time.Second

// addRBACStorage reconciles the bootstrap policy, starts the RBAC caches
// and the aggregation loop (waiting until they are filled, so that Start
// returns ready), and adds the escalation check and the access reviews. It
// returns the RBAC authorizer for the modes that name it.
func (s *Server) addRBACStorage(ctx context.Context, p *authzParts, union *authz.Swappable, stores []*registry.Store) (*rbac.Authorizer, error) {
	st := findRBACStores(stores)
	if err := reconcileBootstrapPolicy(ctx, st); err != nil {
		return nil, fmt.Errorf("RBAC bootstrap policy: %w", err)
	}
	cache := newRBACCache(st)
	// The aggregated roles are settled once here, written as the
	// bootstrap policy is; afterwards the clusterrole-aggregation
	// loop keeps them, on the replica that leads.
	aggregation := controllers.NewClusterRoleAggregation(cache.clusterRoles, controllers.StoreRules(st.clusterRoles))
	for _, inf := range cache.informers() {
		s.runNow(ctx, inf.Run)
	}
	settleCtx, settled := context.WithCancel(ctx)
	defer settled()
	s.runNow(settleCtx, aggregation.Run)
	if err := cache.waitForSync(ctx, rbacSyncTimeout); err != nil {
		return nil, err
	}
	if err := aggregation.WaitSettled(ctx, rbacSyncTimeout); err != nil {
		return nil, err
	}

	az := rbac.New(cache)
	whole := wholeUnion{union}
	p.admission = append(p.admission, admission.RBACEscalation{Authorizer: whole, Held: az, Roles: az})
	p.rows = append(p.rows, builtin.Typed(authorization.Resources(whole, whole)...)...)
	return az, nil
}

// runNow runs f in the background until ctx ends, as a controller that
// Stop waits for.
func (s *Server) runNow(ctx context.Context, f func(context.Context)) {
	s.controllers.Add(1)
	go func() {
		defer s.controllers.Done()
		f(ctx)
	}()
}

// wholeUnion is the server's authorizer, read when asked (a reloaded
// --authorization-config replaces it), and the rule resolvers of its
// parts (RBAC's, AlwaysAllow's), in order.
type wholeUnion struct{ u *authz.Swappable }

func (w wholeUnion) Authorize(ctx context.Context, a authz.Attributes) (authz.Decision, string, error) {
	return w.u.Authorize(ctx, a)
}

func (w wholeUnion) RulesFor(ctx context.Context, user *request.User, namespace string) ([]authz.ResourceRule, []authz.NonResourceRule, bool, error) {
	var rules authz.UnionRules
	for _, a := range w.u.Load() {
		if i, ok := a.(authz.Instrumented); ok {
			a = i.Unwrap()
		}
		if r, ok := a.(authz.RuleResolver); ok {
			rules = append(rules, r)
		}
	}
	return rules.RulesFor(ctx, user, namespace)
}

// rbacCache is rbac.Source over one informer per RBAC resource.
type rbacCache struct {
	roles, clusterRoles, roleBindings, clusterRoleBindings *controllers.Informer
}

func newRBACCache(st rbacStores) *rbacCache {
	return &rbacCache{
		roles:               controllers.NewInformer(st.roles),
		clusterRoles:        controllers.NewInformer(st.clusterRoles),
		roleBindings:        controllers.NewInformer(st.roleBindings),
		clusterRoleBindings: controllers.NewInformer(st.clusterRoleBindings),
	}
}

func (c *rbacCache) informers() []*controllers.Informer {
	return []*controllers.Informer{c.roles, c.clusterRoles, c.roleBindings, c.clusterRoleBindings}
}

// waitForSync waits until every informer has listed once.
func (c *rbacCache) waitForSync(ctx context.Context, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for _, inf := range c.informers() {
		select {
		case <-inf.Synced():
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return fmt.Errorf("RBAC: the caches did not fill within %s", timeout)
		}
	}
	return nil
}

func (c *rbacCache) GetRole(namespace, name string) (*rbacv1.Role, bool) {
	o, _ := c.roles.Get(namespace, name)
	r, ok := o.(*rbacv1.Role)
	return r, ok
}

func (c *rbacCache) GetClusterRole(name string) (*rbacv1.ClusterRole, bool) {
	o, _ := c.clusterRoles.Get("", name)
	r, ok := o.(*rbacv1.ClusterRole)
	return r, ok
}

func (c *rbacCache) ListRoleBindings(namespace string) []*rbacv1.RoleBinding {
	var out []*rbacv1.RoleBinding
	for _, o := range c.roleBindings.List(namespace) {
		if b, ok := o.(*rbacv1.RoleBinding); ok {
			out = append(out, b)
		}
	}
	return out
}

func (c *rbacCache) ListClusterRoleBindings() []*rbacv1.ClusterRoleBinding {
	var out []*rbacv1.ClusterRoleBinding
	for _, o := range c.clusterRoleBindings.List("") {
		if b, ok := o.(*rbacv1.ClusterRoleBinding); ok {
			out = append(out, b)
		}
	}
	return out
}
