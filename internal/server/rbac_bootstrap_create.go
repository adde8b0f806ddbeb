package server

import (
	"context"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	"kapi/internal/authz/rbac/bootstrap"
	"kapi/internal/controllers"
)

// createBootstrapPolicy writes the whole bootstrap policy in a few etcd
// transactions when none of it is stored yet (a first start), instead of
// ~130 reads and creates (createAllNew), the aggregated roles carrying
// their aggregated rules already, as the aggregation loop would write
// them a moment later. It reports false, having written nothing it would
// not have, when some object exists already (a restart, or another
// replica was quicker): the reconciliation then does the rest, object by
// object.
func createBootstrapPolicy(ctx context.Context, st rbacStores) (bool, error) {
	var kinds [4][]newObject
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
		kinds[0] = append(kinds[0], newObject{st: st.clusterRoles, obj: r})
	}
	for _, b := range bootstrap.ClusterRoleBindings() {
		kinds[1] = append(kinds[1], newObject{st: st.clusterRoleBindings, obj: b.DeepCopy()})
	}
	for _, r := range bootstrap.Roles() {
		kinds[2] = append(kinds[2], newObject{st: st.roles, obj: r.DeepCopy()})
	}
	for _, b := range bootstrap.RoleBindings() {
		kinds[3] = append(kinds[3], newObject{st: st.roleBindings, obj: b.DeepCopy()})
	}
	return createAllNew(ctx, kinds[:]...)
}
