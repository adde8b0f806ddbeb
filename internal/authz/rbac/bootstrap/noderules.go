package bootstrap

import rbacv1 "k8s.io/api/rbac/v1"

// NodeRules are the rules of the system:node role, which kube's Node
// authorizer applies to every node for what it does not subdivide.
func NodeRules() []rbacv1.PolicyRule { return nodeRules() }
