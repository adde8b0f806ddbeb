package server

import (
	"context"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/authz/rbac/bootstrap"
	"kapi/internal/controllers"
	"kapi/internal/registry"
	"kapi/internal/storage"
)

// bootstrapBatch is how many objects one transaction of the first start
// writes: etcd's default --max-txn-ops is 128.
const bootstrapBatch = 128

// createBootstrapPolicy writes the whole bootstrap policy in a few etcd
// transactions when none of it is stored yet (a first start), instead of
// ~130 reads and creates: each object is prepared and validated as a
// create would (a dry run of its store), and the aggregated roles carry
// their aggregated rules already, as the aggregation loop would write
// them a moment later. It reports false, having written nothing it would
// not have, when some object exists already (a restart, or another
// replica was quicker): the reconciliation then does the rest, object by
// object.
func createBootstrapPolicy(ctx context.Context, st rbacStores) (bool, error) {
	type item struct {
		st  *registry.Store
		obj runtime.Object
	}
	var kinds [4][]item
	clusterRoles := bootstrap.ClusterRoles()
	all := make([]*rbacv1.ClusterRole, len(clusterRoles))
	for i := range clusterRoles {
		all[i] = &clusterRoles[i]
	}
	// Aggregated roles aggregate aggregated roles (admin takes edit's
	// rules): until nothing changes.
	for changed := true; changed; {
		changed = false
		for _, r := range all {
			if r.AggregationRule == nil {
				continue
			}
			rules, err := controllers.AggregatedRules(r, all)
			if err != nil {
				return false, err
			}
			if !equality.Semantic.DeepEqual(rules, r.Rules) {
				r.Rules, changed = rules, true
			}
		}
	}
	for _, r := range all {
		kinds[0] = append(kinds[0], item{st.clusterRoles, r})
	}
	for _, b := range bootstrap.ClusterRoleBindings() {
		kinds[1] = append(kinds[1], item{st.clusterRoleBindings, b.DeepCopy()})
	}
	for _, r := range bootstrap.Roles() {
		kinds[2] = append(kinds[2], item{st.roles, r.DeepCopy()})
	}
	for _, b := range bootstrap.RoleBindings() {
		kinds[3] = append(kinds[3], item{st.roleBindings, b.DeepCopy()})
	}
	total := 0
	for _, k := range kinds {
		total += len(k)
	}
	// Every transaction holds objects of every kind, so that each RBAC
	// watch cache is current with the last one without waiting for
	// etcd's progress notification.
	n := (total + bootstrapBatch - 1) / bootstrapBatch
	batches := make([][]storage.Charge, n)
	firsts := make([]item, n)
	for _, k := range kinds {
		for i, it := range k {
			b := i % n
			m, err := meta.Accessor(it.obj)
			if err != nil {
				return false, err
			}
			ns, name := m.GetNamespace(), m.GetName()
			prepared, err := it.st.Create(ctx, ns, it.obj, nil, true)
			if err != nil {
				return false, err
			}
			if conv := it.st.R.Convert; conv != nil {
				if prepared, err = conv.ToStorage(prepared); err != nil {
					return false, err
				}
			}
			pm, _ := meta.Accessor(prepared)
			pm.SetResourceVersion("0") // compared as "not stored yet"
			key := name
			if it.st.R.Namespaced {
				key = ns + "/" + name
			}
			if firsts[b].st == nil {
				pm.SetResourceVersion("")
				firsts[b] = item{it.st, prepared}
				batches[b] = append(batches[b], storage.Charge{Key: key})
				continue
			}
			c, err := it.st.Storage.Charge(key, prepared)
			if err != nil {
				return false, err
			}
			batches[b] = append(batches[b], c)
		}
	}
	for b, charges := range batches {
		first := firsts[b]
		_, err := first.st.Storage.Create(ctx, charges[0].Key, first.obj, charges[1:]...)
		if storage.HasCode(err, storage.CodeAlreadyExists) || storage.HasCode(err, storage.CodeStaleCharge) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
	return true, nil
}
