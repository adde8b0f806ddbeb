package server

import (
	"context"
	"errors"
	"fmt"
	"sync"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	// kube-apiserver's own reconciliation of the bootstrap policy (which
	// rules and subjects are missing, when to recreate a binding, the
	// autoupdate opt-out), shared through component-helpers.
	"k8s.io/component-helpers/auth/rbac/reconciliation"

	"kapi/internal/authz/rbac/bootstrap"
	"kapi/internal/registry"
)

// rbacStores are the stores of the four RBAC resources.
type rbacStores struct {
	roles, clusterRoles, roleBindings, clusterRoleBindings *registry.Store
}

func findRBACStores(stores []*registry.Store) rbacStores {
	g := rbacv1.GroupName
	return rbacStores{
		roles:               findStore(stores, g, "v1", "roles"),
		clusterRoles:        findStore(stores, g, "v1", "clusterroles"),
		roleBindings:        findStore(stores, g, "v1", "rolebindings"),
		clusterRoleBindings: findStore(stores, g, "v1", "clusterrolebindings"),
	}
}

// reconcileBootstrapPolicy brings the default roles and bindings into
// storage, as kube-apiserver's rbac/bootstrap-roles start hook does: it
// creates the missing ones and, unless an object is annotated
// rbac.authorization.kubernetes.io/autoupdate: "false", adds the rules,
// aggregation selectors, labels and subjects it lacks (never removing
// any) and recreates a binding whose roleRef differs. Writes go straight
// to the stores, past admission, several at a time (etcd batches them).
func reconcileBootstrapPolicy(ctx context.Context, st rbacStores) error {
	if created, err := createBootstrapPolicy(ctx, st); err != nil || created {
		return err
	}
	var jobs []func() error
	for _, r := range bootstrap.ClusterRoles() {
		r := r
		jobs = append(jobs, func() error {
			return reconcileRole(reconciliation.ClusterRoleRuleOwner{ClusterRole: &r}, ruleOwners{ctx, st.clusterRoles})
		})
	}
	for _, r := range bootstrap.Roles() {
		r := r
		jobs = append(jobs, func() error {
			return reconcileRole(reconciliation.RoleRuleOwner{Role: &r}, ruleOwners{ctx, st.roles})
		})
	}
	for _, b := range bootstrap.ClusterRoleBindings() {
		b := b
		jobs = append(jobs, func() error {
			return reconcileBinding(reconciliation.ClusterRoleBindingAdapter{ClusterRoleBinding: &b}, bindings{ctx, st.clusterRoleBindings})
		})
	}
	for _, b := range bootstrap.RoleBindings() {
		b := b
		jobs = append(jobs, func() error {
			return reconcileBinding(reconciliation.RoleBindingAdapter{RoleBinding: &b}, bindings{ctx, st.roleBindings})
		})
	}
	return runAll(jobs, 8)
}

// conflictRetries is how often a reconcile is tried again when another
// writer (another kapi replica) changed the object in between.
const conflictRetries = 5

func reconcileRole(want reconciliation.RuleOwner, client ruleOwners) error {
	for try := 0; ; try++ {
		_, err := (&reconciliation.ReconcileRoleOptions{Role: want, Client: client, Confirm: true}).Run()
		if apierrors.IsConflict(err) && try < conflictRetries {
			continue
		}
		if err != nil {
			return fmt.Errorf("reconciling %s %s: %w", kindOf(want.GetObject()), want.GetName(), err)
		}
		return nil
	}
}

func reconcileBinding(want reconciliation.RoleBinding, client bindings) error {
	for try := 0; ; try++ {
		_, err := (&reconciliation.ReconcileRoleBindingOptions{RoleBinding: want, Client: client, Confirm: true}).Run()
		if apierrors.IsConflict(err) && try < conflictRetries {
			continue
		}
		if err != nil {
			return fmt.Errorf("reconciling %s %s: %w", kindOf(want.GetObject()), want.GetName(), err)
		}
		return nil
	}
}

func kindOf(obj runtime.Object) string { return fmt.Sprintf("%T", obj) }

// runAll runs jobs, n at a time, and joins their errors.
func runAll(jobs []func() error, n int) error {
	sem := make(chan struct{}, n)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, job := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := job(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// ruleOwners reads and writes Roles or ClusterRoles for reconciliation.
type ruleOwners struct {
	ctx context.Context
	st  *registry.Store
}

func (c ruleOwners) Get(namespace, name string) (reconciliation.RuleOwner, error) {
	obj, err := c.st.Get(c.ctx, namespace, name, nil)
	if err != nil {
		return nil, err
	}
	return ruleOwner(obj)
}

func (c ruleOwners) Create(in reconciliation.RuleOwner) (reconciliation.RuleOwner, error) {
	obj, err := c.st.Create(c.ctx, in.GetNamespace(), in.GetObject(), nil, false)
	if err != nil {
		return nil, err
	}
	return ruleOwner(obj)
}

func (c ruleOwners) Update(in reconciliation.RuleOwner) (reconciliation.RuleOwner, error) {
	obj, err := replace(c.ctx, c.st, in.GetNamespace(), in.GetName(), in.GetObject())
	if err != nil {
		return nil, err
	}
	return ruleOwner(obj)
}

func ruleOwner(obj runtime.Object) (reconciliation.RuleOwner, error) {
	switch o := obj.(type) {
	case *rbacv1.ClusterRole:
		return reconciliation.ClusterRoleRuleOwner{ClusterRole: o}, nil
	case *rbacv1.Role:
		return reconciliation.RoleRuleOwner{Role: o}, nil
	}
	return nil, fmt.Errorf("not a role: %T", obj)
}

// bindings reads and writes RoleBindings or ClusterRoleBindings for
// reconciliation.
type bindings struct {
	ctx context.Context
	st  *registry.Store
}

func (c bindings) Get(namespace, name string) (reconciliation.RoleBinding, error) {
	obj, err := c.st.Get(c.ctx, namespace, name, nil)
	if err != nil {
		return nil, err
	}
	return binding(obj)
}

func (c bindings) Create(in reconciliation.RoleBinding) (reconciliation.RoleBinding, error) {
	obj, err := c.st.Create(c.ctx, in.GetNamespace(), in.GetObject(), nil, false)
	if err != nil {
		return nil, err
	}
	return binding(obj)
}

func (c bindings) Update(in reconciliation.RoleBinding) (reconciliation.RoleBinding, error) {
	obj, err := replace(c.ctx, c.st, in.GetNamespace(), in.GetName(), in.GetObject())
	if err != nil {
		return nil, err
	}
	return binding(obj)
}

// Delete removes a binding whose roleRef must change (roleRef is
// immutable), if it is still the one with uid.
func (c bindings) Delete(namespace, name string, uid types.UID) error {
	_, _, err := c.st.Delete(c.ctx, namespace, name, &metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}, nil, false)
	return err
}

func binding(obj runtime.Object) (reconciliation.RoleBinding, error) {
	switch o := obj.(type) {
	case *rbacv1.ClusterRoleBinding:
		return reconciliation.ClusterRoleBindingAdapter{ClusterRoleBinding: o}, nil
	case *rbacv1.RoleBinding:
		return reconciliation.RoleBindingAdapter{RoleBinding: o}, nil
	}
	return nil, fmt.Errorf("not a binding: %T", obj)
}

// replace writes want over the stored object if it is still at want's
// resourceVersion (a Conflict otherwise); it never creates.
func replace(ctx context.Context, st *registry.Store, ns, name string, want runtime.Object) (runtime.Object, error) {
	out, _, err := st.Update(ctx, ns, name, nil, func(_ context.Context, old runtime.Object) (runtime.Object, error) {
		if old == nil {
			return nil, apierrors.NewNotFound(st.GroupResource(), name)
		}
		return want.DeepCopyObject(), nil
	}, nil, false)
	return out, err
}
