package rbac

import (
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"

	"kapi/internal/request"
)

// visitor sees each rule the user holds, with the binding that grants it,
// or an error resolving a binding; it returns false to stop.
type visitor func(source fmt.Stringer, rule *rbacv1.PolicyRule, err error) bool

// visit walks the rules of the ClusterRoleBindings, then (for a
// namespace) of the namespace's RoleBindings, that name the user, as
// kube-apiserver's rule resolver does.
func (r *Authorizer) visit(user *request.User, namespace string, v visitor) {
	if user == nil {
		return
	}
	for _, b := range r.src.ListClusterRoleBindings() {
		i, ok := appliesTo(user, b.Subjects, "")
		if !ok {
			continue
		}
		rules, err := r.RoleRefRules(b.RoleRef, "")
		if err != nil {
			if !v(nil, nil, err) {
				return
			}
			continue
		}
		src := clusterBindingSource{b, &b.Subjects[i]}
		for j := range rules {
			if !v(src, &rules[j], nil) {
				return
			}
		}
	}
	if namespace == "" {
		return
	}
	for _, b := range r.src.ListRoleBindings(namespace) {
		i, ok := appliesTo(user, b.Subjects, namespace)
		if !ok {
			continue
		}
		rules, err := r.RoleRefRules(b.RoleRef, namespace)
		if err != nil {
			if !v(nil, nil, err) {
				return
			}
			continue
		}
		src := bindingSource{b, &b.Subjects[i]}
		for j := range rules {
			if !v(src, &rules[j], nil) {
				return
			}
		}
	}
}

// appliesTo returns the first subject that names the user.
func appliesTo(user *request.User, subjects []rbacv1.Subject, namespace string) (int, bool) {
	for i, s := range subjects {
		if subjectMatches(user, s, namespace) {
			return i, true
		}
	}
	return 0, false
}

// subjectMatches: a User by name, a Group by membership, a ServiceAccount
// by its user name system:serviceaccount:<ns>:<name>, its namespace
// defaulting to the RoleBinding's.
func subjectMatches(user *request.User, s rbacv1.Subject, namespace string) bool {
	switch s.Kind {
	case rbacv1.UserKind:
		return user.Name == s.Name
	case rbacv1.GroupKind:
		return user.InGroup(s.Name)
	case rbacv1.ServiceAccountKind:
		ns := namespace
		if s.Namespace != "" {
			ns = s.Namespace
		}
		return ns != "" && user.Name == "system:serviceaccount:"+ns+":"+s.Name
	}
	return false
}

// describeSubject words a subject as kube-apiserver's reasons do; a
// service account is name/namespace.
func describeSubject(s *rbacv1.Subject, bindingNamespace string) string {
	if s.Kind == rbacv1.ServiceAccountKind {
		ns := s.Namespace
		if ns == "" {
			ns = bindingNamespace
		}
		return fmt.Sprintf("%s %q", s.Kind, s.Name+"/"+ns)
	}
	return fmt.Sprintf("%s %q", s.Kind, s.Name)
}

type clusterBindingSource struct {
	b *rbacv1.ClusterRoleBinding
	s *rbacv1.Subject
}

// String: ClusterRoleBinding "admins" of ClusterRole "cluster-admin" to Group "ops".
func (d clusterBindingSource) String() string {
	return fmt.Sprintf("ClusterRoleBinding %q of %s %q to %s", d.b.Name, d.b.RoleRef.Kind, d.b.RoleRef.Name, describeSubject(d.s, ""))
}

type bindingSource struct {
	b *rbacv1.RoleBinding
	s *rbacv1.Subject
}

// String: RoleBinding "read/dev" of ClusterRole "view" to User "bob".
func (d bindingSource) String() string {
	return fmt.Sprintf("RoleBinding %q of %s %q to %s", d.b.Name+"/"+d.b.Namespace, d.b.RoleRef.Kind, d.b.RoleRef.Name, describeSubject(d.s, d.b.Namespace))
}
