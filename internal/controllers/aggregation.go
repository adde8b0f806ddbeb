package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
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
	roles *Informer
	write RulesWriter
	// Retry is how soon a failed write is tried again.
	Retry time.Duration
}

// RulesWriter sets the rules of the ClusterRole name.
type RulesWriter func(ctx context.Context, name string, rules []rbacv1.PolicyRule) error

// NewClusterRoleAggregation returns the controller over the ClusterRoles
// informer; it writes with write.
func NewClusterRoleAggregation(roles *Informer, write RulesWriter) *ClusterRoleAggregation {
	return &ClusterRoleAggregation{roles: roles, write: write, Retry: time.Second}
}

// NewAggregationLoop is the aggregation as a loop of the Manager: it
// writes through the front door as kube-system/clusterrole-aggregation-controller.
// (The server settles the bootstrap roles once at start with StoreRules,
// so that a new server never serves an empty admin, edit or view.)
func NewAggregationLoop(env *Env) *ClusterRoleAggregation {
	client := kubernetes.NewForConfigOrDie(env.ClientFor("clusterrole-aggregation-controller"))
	return NewClusterRoleAggregation(env.Informers.For(clusterRolesGVR), func(ctx context.Context, name string, rules []rbacv1.PolicyRule) error {
		// As kube's loop: an apply of the rules alone would need the
		// field manager's view; a JSON merge patch of them is the
		// same write for the roles this loop owns.
		patch, err := json.Marshal(map[string]any{"rules": rules})
		if err != nil {
			return err
		}
		_, err = client.RbacV1().ClusterRoles().Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
		if apierrors.IsNotFound(err) {
			return nil // deleted meanwhile
		}
		return err
	})
}

var clusterRolesGVR = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}

// StoreRules writes the rules straight to store, past admission: for the
// bootstrap, as the RBAC bootstrap policy itself is written.
func StoreRules(store ObjectUpdater) RulesWriter {
	return func(ctx context.Context, name string, rules []rbacv1.PolicyRule) error {
		_, _, err := store.Update(ctx, "", name, nil, func(_ context.Context, old runtime.Object) (runtime.Object, error) {
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
}

// Run works until ctx ends: after the informer's first list, and after
// every change of a ClusterRole, it brings every aggregated role up to
// date.
func (c *ClusterRoleAggregation) Run(ctx context.Context) {
	changed := c.roles.Changed(ctx)
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
		case <-changed:
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
