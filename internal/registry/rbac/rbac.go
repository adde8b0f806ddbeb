// Package rbac holds the rows of rbac.authorization.k8s.io, v1.
package rbac

import (
	"fmt"
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
)

const group = "rbac.authorization.k8s.io"

// Resources returns the RBAC rows. Their names need only be path
// segments ("system:controller:..."), and a PUT may create them, as
// bootstrap policy reconcilers expect. Roles print kube-apiserver's
// default table (NAME CREATED AT).
func Resources() []*registry.Resource {
	row := func(name, kind string, namespaced bool, hooks *registry.Hooks, table *registry.TableDef) *registry.Resource {
		return &registry.Resource{Group: group, Version: "v1", Name: name, Kind: kind, Namespaced: namespaced,
			Names: registry.PathSegment, AllowCreateOnUpdate: true, Hooks: hooks, Table: table}
	}
	return []*registry.Resource{
		row("clusterrolebindings", "ClusterRoleBinding", false, clusterRoleBindingHooks, bindingTable(func(obj runtime.Object) (rbacv1.RoleRef, []rbacv1.Subject) {
			b := obj.(*rbacv1.ClusterRoleBinding)
			return b.RoleRef, b.Subjects
		})),
		row("clusterroles", "ClusterRole", false, clusterRoleHooks, nil),
		row("rolebindings", "RoleBinding", true, roleBindingHooks, bindingTable(func(obj runtime.Object) (rbacv1.RoleRef, []rbacv1.Subject) {
			b := obj.(*rbacv1.RoleBinding)
			return b.RoleRef, b.Subjects
		})),
		row("roles", "Role", true, roleHooks, nil),
	}
}

// bindingTable: NAME ROLE AGE, and the subjects by kind in the wide view.
func bindingTable(parts func(runtime.Object) (rbacv1.RoleRef, []rbacv1.Subject)) *registry.TableDef {
	return &registry.TableDef{
		Columns: []metav1.TableColumnDefinition{
			{Name: "Role", Type: "string", Description: rbacv1.RoleBinding{}.SwaggerDoc()["roleRef"]},
			registry.AgeColumn,
			{Name: "Users", Type: "string", Priority: 1, Description: "Users in the roleBinding"},
			{Name: "Groups", Type: "string", Priority: 1, Description: "Groups in the roleBinding"},
			{Name: "ServiceAccounts", Type: "string", Priority: 1, Description: "ServiceAccounts in the roleBinding"},
		},
		Row: func(obj runtime.Object, now time.Time) []interface{} {
			ref, subjects := parts(obj)
			var users, groups, sas []string
			for _, s := range subjects {
				switch s.Kind {
				case rbacv1.UserKind:
					users = append(users, s.Name)
				case rbacv1.GroupKind:
					groups = append(groups, s.Name)
				case rbacv1.ServiceAccountKind:
					sas = append(sas, fmt.Sprintf("%s/%s", s.Namespace, s.Name))
				}
			}
			return []interface{}{ref.Kind + "/" + ref.Name, registry.Age(obj, now),
				strings.Join(users, ", "), strings.Join(groups, ", "), strings.Join(sas, ", ")}
		},
	}
}
