package controllers

import (
	"context"
	"errors"
	"sort"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2"

	"kapi/internal/registry"
)

// ObjectUpdater writes an object (a registry.Store).
type ObjectUpdater interface {
	Update(ctx context.Context, ns, name string, sub *registry.Subresource, newObj registry.UpdatedObject, adm registry.Admission, dryRun bool) (runtime.Object, bool, error)
}

// ClusterRoleAggregation keeps the rules of every ClusterRole that has an
// aggregationRule equal to the union of the rules of the ClusterRoles its
// selectors match, as kube-controller-manager's
// clusterrole-aggregation controller does: admin, edit and view gather
// what system:aggregate-to-* and any CRD author's roles labelled
// rbac.authorization.k8s.io/aggregate-to-<role>: "true" grant.
type ClusterRoleAggregation struct {
	roles   *Informer
	changed <-chan struct{}
	store   ObjectUpdater
	// Retry is how soon a failed write is tried again.
	Retry time.Duration
}

// NewClusterRoleAggregation returns the controller over the ClusterRoles
// informer; it writes through store. Call it before the informer runs.
func NewClusterRoleAggregation(roles *Informer, store ObjectUpdater) *ClusterRoleAggregation {
	return &ClusterRoleAggregation{roles: roles, changed: roles.Changed(), store: store, Retry: time.Second}
}

// Run works until ctx ends: after the informer's first list, and after
// every change of a ClusterRole, it brings every aggregated role up to
// date.
func (c *ClusterRoleAggregation) Run(ctx context.Context) {
	select {
	case <-ctx.Done():
		return
	case <-c.roles.Synced():
	}
	var retry <-chan time.Time
	for {
		if !c.syncAll(ctx) {
			retry = time.After(c.Retry)
		}
		select {
		case <-ctx.Done():
			return
		case <-c.changed:
		case <-retry:
		}
	}
}

// syncAll updates every aggregated role; it reports whether all writes
// succeeded.
func (c *ClusterRoleAggregation) syncAll(ctx context.Context) bool {
	all := c.clusterRoles()
	ok := true
	for _, role := range all {
		if role.AggregationRule == nil {
			continue
		}
		rules, err := AggregatedRules(role, all)
		if err != nil {
			klog.ErrorS(err, "clusterrole aggregation: bad selector", "clusterrole", role.Name)
			continue
		}
		if equality.Semantic.DeepEqual(rules, role.Rules) {
			continue
		}
		if err := c.write(ctx, role.Name, rules); err != nil {
			klog.ErrorS(err, "clusterrole aggregation: writing the rules", "clusterrole", role.Name)
			ok = false
		}
	}
	return ok
}

func (c *ClusterRoleAggregation) clusterRoles() []*rbacv1.ClusterRole {
	var out []*rbacv1.ClusterRole
	for _, o := range c.roles.List("") {
		if r, ok := o.(*rbacv1.ClusterRole); ok {
			out = append(out, r)
		}
	}
	return out
}

// write sets the rules of the stored role (whatever else changed in it).
func (c *ClusterRoleAggregation) write(ctx context.Context, name string, rules []rbacv1.PolicyRule) error {
	_, _, err := c.store.Update(ctx, "", name, nil, func(_ context.Context, old runtime.Object) (runtime.Object, error) {
		role, ok := old.(*rbacv1.ClusterRole)
		if !ok {
			return nil, apierrors.NewNotFound(rbacv1.Resource("clusterroles"), name)
		}
		role.Rules = rules
		return role, nil
	}, nil, false)
	if apierrors.IsNotFound(err) {
		return nil // deleted meanwhile
	}
	return err
}

// AggregatedRules is the union of the rules of the ClusterRoles other than
// role that role's selectors match: selector by selector, the matched
// roles by name, each rule once.
func AggregatedRules(role *rbacv1.ClusterRole, all []*rbacv1.ClusterRole) ([]rbacv1.PolicyRule, error) {
	rules := []rbacv1.PolicyRule{}
	for i := range role.AggregationRule.ClusterRoleSelectors {
		sel, err := metav1.LabelSelectorAsSelector(&role.AggregationRule.ClusterRoleSelectors[i])
		if err != nil {
			return nil, err
		}
		var matched []*rbacv1.ClusterRole
		for _, r := range all {
			if r.Name != role.Name && sel.Matches(labels.Set(r.Labels)) {
				matched = append(matched, r)
			}
		}
		sort.Slice(matched, func(a, b int) bool { return matched[a].Name < matched[b].Name })
		for _, r := range matched {
			for _, rule := range r.Rules {
				if !hasRule(rules, rule) {
					rules = append(rules, rule)
				}
			}
		}
	}
	return rules, nil
}

func hasRule(rules []rbacv1.PolicyRule, r rbacv1.PolicyRule) bool {
	for _, x := range rules {
		if equality.Semantic.DeepEqual(x, r) {
			return true
		}
	}
	return false
}

// WaitSettled waits (up to timeout) until the informer shows every
// aggregated role with its aggregated rules, so that a server starting
// for the first time does not serve an empty admin, edit or view.
func (c *ClusterRoleAggregation) WaitSettled(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for !c.settled() {
		if time.Now().After(deadline) {
			return errors.New("clusterrole aggregation: the aggregated roles did not settle")
		}
		sleep(ctx, 10*time.Millisecond)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

func (c *ClusterRoleAggregation) settled() bool {
	all := c.clusterRoles()
	for _, role := range all {
		if role.AggregationRule == nil {
			continue
		}
		rules, err := AggregatedRules(role, all)
		if err == nil && !equality.Semantic.DeepEqual(rules, role.Rules) {
			return false
		}
	}
	return true
}
