// Package bootstrap is the default RBAC policy kube-apiserver 1.37
// creates on start: its ClusterRoles (cluster-admin, admin, edit, view and
// their aggregated parts, the system: roles of discovery, nodes,
// controllers and the scheduler), their ClusterRoleBindings, and the
// Roles and RoleBindings of kube-system and kube-public. It is data; the
// server reconciles it into storage.
package bootstrap

import (
	"sort"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels and annotations every bootstrap object carries. The annotation
// lets a cluster owner opt an object out of reconciliation by setting it
// to "false".
const (
	BootstrapLabel = "kubernetes.io/bootstrapping"
	BootstrapValue = "rbac-defaults"
)

// API groups as the rules name them.
const (
	core          = ""
	apps          = "apps"
	authn         = "authentication.k8s.io"
	authzGroup    = "authorization.k8s.io"
	autoscaling   = "autoscaling"
	batch         = "batch"
	certificates  = "certificates.k8s.io"
	coordination  = "coordination.k8s.io"
	discoveryK8s  = "discovery.k8s.io"
	events        = "events.k8s.io"
	extensions    = "extensions"
	networking    = "networking.k8s.io"
	nodeGroup     = "node.k8s.io"
	policy        = "policy"
	rbacGroup     = "rbac.authorization.k8s.io"
	resourceGroup = "resource.k8s.io"
	storage       = "storage.k8s.io"
	admissionReg  = "admissionregistration.k8s.io"
)

// Verb sets the policy uses.
var (
	read      = []string{"get", "list", "watch"}
	write     = []string{"create", "delete", "deletecollection", "patch", "update"}
	readWrite = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
)

// rule builds a PolicyRule: rule(verbs...).in(groups...).on(resources...),
// or rule(verbs...).urls(paths...).
type ruleBuilder rbacv1.PolicyRule

func rule(verbs ...string) ruleBuilder { return ruleBuilder{Verbs: verbs} }

func (r ruleBuilder) in(groups ...string) ruleBuilder { r.APIGroups = groups; return r }

func (r ruleBuilder) on(resources ...string) rbacv1.PolicyRule {
	r.Resources = resources
	return r.done()
}

func (r ruleBuilder) named(names ...string) ruleBuilder { r.ResourceNames = names; return r }

func (r ruleBuilder) urls(paths ...string) rbacv1.PolicyRule {
	r.NonResourceURLs = paths
	return r.done()
}

// done copies and sorts every list, as kube-apiserver's rule builder
// sorts them, so that the stored objects read the same as
// kube-apiserver's (and no two rules share a list).
func (r ruleBuilder) done() rbacv1.PolicyRule {
	sorted := func(l []string) []string {
		if l == nil {
			return nil
		}
		l = append([]string(nil), l...)
		sort.Strings(l)
		return l
	}
	return rbacv1.PolicyRule{Verbs: sorted(r.Verbs), APIGroups: sorted(r.APIGroups), Resources: sorted(r.Resources),
		ResourceNames: sorted(r.ResourceNames), NonResourceURLs: sorted(r.NonResourceURLs)}
}

// eventsRule is what every component that records events holds.
func eventsRule() rbacv1.PolicyRule {
	return rule("create", "update", "patch").in(core, events).on("events")
}

// meta is the metadata of a bootstrap object.
func meta(name string, labels ...string) metav1.ObjectMeta {
	l := map[string]string{BootstrapLabel: BootstrapValue}
	for i := 0; i+1 < len(labels); i += 2 {
		l[labels[i]] = labels[i+1]
	}
	return metav1.ObjectMeta{Name: name, Labels: l,
		Annotations: map[string]string{rbacv1.AutoUpdateAnnotationKey: "true"}}
}

func clusterRole(name string, rules ...rbacv1.PolicyRule) rbacv1.ClusterRole {
	return rbacv1.ClusterRole{ObjectMeta: meta(name), Rules: rules}
}

// aggregated is a ClusterRole whose rules the aggregation controller
// gathers from the ClusterRoles labelled selectLabel=true.
func aggregated(name, selectLabel string, labels ...string) rbacv1.ClusterRole {
	return rbacv1.ClusterRole{ObjectMeta: meta(name, labels...), AggregationRule: &rbacv1.AggregationRule{
		ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{selectLabel: "true"}}}}}
}

func users(names ...string) []rbacv1.Subject {
	var out []rbacv1.Subject
	for _, n := range names {
		out = append(out, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: n})
	}
	return out
}

func groups(names ...string) []rbacv1.Subject {
	var out []rbacv1.Subject
	for _, n := range names {
		out = append(out, rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: n})
	}
	return out
}

func serviceAccount(namespace, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: name}
}

func clusterBinding(role string, subjects ...rbacv1.Subject) rbacv1.ClusterRoleBinding {
	return rbacv1.ClusterRoleBinding{ObjectMeta: meta(role), Subjects: subjects,
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role}}
}
