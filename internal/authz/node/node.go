// Package node is kube-apiserver's Node authorizer
// (--authorization-mode=Node): a kubelet, user system:node:<name> in group
// system:nodes, may read the objects of the pods bound to it and write
// what a kubelet writes; the NodeRestriction admission plugin then limits
// its writes to its own Node, Lease and pods.
package node

import (
	"context"
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/selection"

	"kapi/internal/authz"
	"kapi/internal/authz/rbac"
	"kapi/internal/authz/rbac/bootstrap"
	"kapi/internal/request"
)

const (
	// UserPrefix and Group are how a kubelet's credentials name it.
	UserPrefix = "system:node:"
	Group      = "system:nodes"
	// LeaseNamespace holds the nodes' Leases.
	LeaseNamespace = "kube-node-lease"
)

// Identity is the node a user is (kube's default NodeIdentifier): a user
// named system:node:<name> in the group system:nodes. ok is false for
// any other user; name may be empty (a node kube cannot name).
func Identity(u *request.User) (name string, ok bool) {
	if u == nil || !strings.HasPrefix(u.Name, UserPrefix) || !u.InGroup(Group) {
		return "", false
	}
	return strings.TrimPrefix(u.Name, UserPrefix), true
}

// Authorizer is kube's NodeAuthorizer over a Graph: secrets, config maps,
// persistent volume claims and volumes, resource claims, volume
// attachments, resource slices, pod certificate requests, service
// accounts and their tokens, and pods only where the graph relates them
// to the node (lists and watches of pods, slices and certificate requests
// by the field selector spec.nodeName=<itself>); its own Node, Lease and
// CSINode by name; the rest by the static rules of kube's system:node
// role. Its denials are no opinion, with kube's reasons, so that RBAC may
// still allow.
type Authorizer struct {
	Graph *Graph
	rules []rbacv1.PolicyRule
}

// New returns the Node authorizer reading g.
func New(g *Graph) *Authorizer {
	return &Authorizer{Graph: g, rules: bootstrap.NodeRules()}
}

type decide func(node string, a authz.Attributes) (authz.Decision, string)

// Authorize implements authz.Authorizer.
func (z *Authorizer) Authorize(_ context.Context, a authz.Attributes) (authz.Decision, string, error) {
	node, ok := Identity(a.User)
	if !ok {
		return authz.NoOpinion, "", nil
	}
	if node == "" {
		return authz.NoOpinion, fmt.Sprintf("unknown node for user %q", a.User.Name), nil
	}
	if a.ResourceRequest {
		var f decide
		switch a.APIGroup + "/" + a.Resource {
		case "/secrets":
			f = z.readNamespaced(secretKind)
		case "/configmaps":
			f = z.readNamespaced(configMapKind)
		case "/persistentvolumeclaims":
			if a.Subresource == "status" {
				f = z.statusUpdate(pvcKind)
			} else {
				f = z.get(pvcKind)
			}
		case "/persistentvolumes":
			f = z.get(pvKind)
		case "resource.k8s.io/resourceclaims":
			f = z.get(resourceClaimKind)
		case "storage.k8s.io/volumeattachments":
			f = z.get(vaKind)
		case "/serviceaccounts":
			f = z.serviceAccount
		case "resource.k8s.io/resourceslices":
			f = z.resourceSlice
		case "certificates.k8s.io/podcertificaterequests":
			f = z.podCertificateRequest
		case "coordination.k8s.io/leases":
			f = lease
		case "storage.k8s.io/csinodes":
			f = csiNode
		case "/nodes":
			f = nodeObject
		case "/pods":
			f = z.pod
		}
		if f != nil {
			d, reason := f(node, a)
			return d, reason, nil
		}
	}
	for i := range z.rules {
		if rbac.RuleAllows(a, &z.rules[i]) {
			return authz.Allow, "", nil
		}
	}
	return authz.NoOpinion, "", nil
}

// RulesFor implements authz.RuleResolver: a node's rules depend on the
// graph, and are not listed (kube's answer).
func (z *Authorizer) RulesFor(_ context.Context, u *request.User, _ string) ([]authz.ResourceRule, []authz.NonResourceRule, bool, error) {
	if _, ok := Identity(u); ok {
		return nil, nil, true, fmt.Errorf("node authorizer does not support user rule resolution")
	}
	return nil, nil, false, nil
}

func (z *Authorizer) related(node string, k kind, a authz.Attributes) (authz.Decision, string) {
	if a.Name == "" {
		return authz.NoOpinion, "No Object name found"
	}
	if !z.Graph.reaches(node, k, a.Namespace, a.Name) {
		return authz.NoOpinion, fmt.Sprintf("no relationship found between node '%s' and this object", node)
	}
	return authz.Allow, ""
}

// readNamespaced: get, list and watch of one named object in a namespace.
func (z *Authorizer) readNamespaced(k kind) decide {
	return func(node string, a authz.Attributes) (authz.Decision, string) {
		switch {
		case a.Verb != "get" && a.Verb != "list" && a.Verb != "watch":
			return authz.NoOpinion, "can only read resources of this type"
		case a.Subresource != "":
			return authz.NoOpinion, "cannot read subresource"
		case a.Namespace == "":
			return authz.NoOpinion, "can only read namespaced object of this type"
		}
		return z.related(node, k, a)
	}
}

func (z *Authorizer) get(k kind) decide {
	return func(node string, a authz.Attributes) (authz.Decision, string) {
		switch {
		case a.Verb != "get":
			return authz.NoOpinion, "can only get individual resources of this type"
		case a.Subresource != "":
			return authz.NoOpinion, "cannot get subresource"
		}
		return z.related(node, k, a)
	}
}

func (z *Authorizer) statusUpdate(k kind) decide {
	return func(node string, a authz.Attributes) (authz.Decision, string) {
		if a.Verb != "update" && a.Verb != "patch" {
			return authz.NoOpinion, "can only get/update/patch this type"
		}
		return z.related(node, k, a)
	}
}

// serviceAccount: a node reads the service accounts of its pods (kube's
// KubeletServiceAccountTokenForCredentialProviders and
// PodCertificateRequest, both on) and asks their tokens.
func (z *Authorizer) serviceAccount(node string, a authz.Attributes) (authz.Decision, string) {
	if a.Verb == "get" && a.Subresource == "" {
		return z.readNamespaced(serviceAccountKind)(node, a)
	}
	switch {
	case a.Verb != "create" || a.Name == "":
		return authz.NoOpinion, "can only create tokens for individual service accounts"
	case a.Subresource != "token":
		return authz.NoOpinion, "can only create token subresource of serviceaccount"
	}
	return z.related(node, serviceAccountKind, a)
}

func lease(node string, a authz.Attributes) (authz.Decision, string) {
	switch a.Verb {
	case "get", "create", "update", "patch", "delete":
	default:
		return authz.NoOpinion, "can only get, create, update, patch, or delete a node lease"
	}
	if a.Namespace != LeaseNamespace {
		return authz.NoOpinion, fmt.Sprintf("can only access leases in the %q system namespace", LeaseNamespace)
	}
	// A create's name is in its body: NodeRestriction checks it.
	if a.Verb != "create" && a.Name != node {
		return authz.NoOpinion, "can only access node lease with the same name as the requesting node"
	}
	return authz.Allow, ""
}

func csiNode(node string, a authz.Attributes) (authz.Decision, string) {
	switch a.Verb {
	case "get", "create", "update", "patch", "delete":
	default:
		return authz.NoOpinion, "can only get, create, update, patch, or delete a CSINode"
	}
	if a.Subresource != "" {
		return authz.NoOpinion, "cannot authorize CSINode subresources"
	}
	if a.Verb != "create" && a.Name != node {
		return authz.NoOpinion, "can only access CSINode with the same name as the requesting node"
	}
	return authz.Allow, ""
}

// nodeObject: a node reads its own Node by name (before it exists too);
// it may create and write any, NodeRestriction keeping it to its own.
func nodeObject(node string, a authz.Attributes) (authz.Decision, string) {
	switch a.Subresource {
	case "":
		switch a.Verb {
		case "create", "update", "patch":
			return authz.Allow, ""
		case "get", "list", "watch":
			switch a.Name {
			case node:
				return authz.Allow, ""
			case "":
				return authz.NoOpinion, fmt.Sprintf("node '%s' cannot read all nodes, only its own Node object", node)
			}
			return authz.NoOpinion, fmt.Sprintf("node '%s' cannot read '%s', only its own Node object", node, a.Name)
		}
	case "status":
		if a.Verb == "update" || a.Verb == "patch" {
			return authz.Allow, ""
		}
	}
	return authz.NoOpinion, ""
}

// pod: a node gets the pods bound to it, lists and watches them with the
// field selector spec.nodeName=<itself>, creates and deletes (mirror
// pods), writes their status and evicts them (NodeRestriction keeping all
// of it to its own pods).
func (z *Authorizer) pod(node string, a authz.Attributes) (authz.Decision, string) {
	switch a.Subresource {
	case "":
		switch a.Verb {
		case "get":
			return z.get(podKind)(node, a)
		case "list", "watch":
			if selectsNode(a.FieldSelector, node) {
				return authz.Allow, ""
			}
			if a.Name != "" {
				return z.related(node, podKind, a)
			}
			return authz.NoOpinion, "can only list/watch pods with spec.nodeName field selector"
		case "create", "delete":
			return authz.Allow, ""
		}
	case "status":
		if a.Verb == "update" || a.Verb == "patch" {
			return authz.Allow, ""
		}
	case "eviction":
		if a.Verb == "create" {
			return authz.Allow, ""
		}
	}
	return authz.NoOpinion, ""
}

// selectsNode reports whether the field selector requires
// spec.nodeName=node.
func selectsNode(selector, node string) bool {
	if selector == "" {
		return false
	}
	sel, err := fields.ParseSelector(selector)
	if err != nil {
		return false
	}
	for _, r := range sel.Requirements() {
		if r.Field == "spec.nodeName" && (r.Operator == selection.Equals || r.Operator == selection.DoubleEquals) && r.Value == node {
			return true
		}
	}
	return false
}

// resourceSlice: a node creates slices (NodeRestriction checks their
// node), reads and writes those of its node, lists and watches and
// deletes collections with the field selector spec.nodeName=<itself>.
func (z *Authorizer) resourceSlice(node string, a authz.Attributes) (authz.Decision, string) {
	if a.Subresource != "" {
		return authz.NoOpinion, "cannot authorize ResourceSlice subresources"
	}
	switch a.Verb {
	case "create":
		return authz.Allow, ""
	case "get", "update", "patch", "delete":
		return z.related(node, sliceKind, a)
	case "watch", "list", "deletecollection":
		if selectsNode(a.FieldSelector, node) {
			return authz.Allow, ""
		}
		return authz.NoOpinion, "can only list/watch/deletecollection resourceslices with nodeName field selector"
	}
	return authz.NoOpinion, "only the following verbs are allowed for a ResourceSlice: get, watch, list, create, update, patch, delete, deletecollection"
}

// podCertificateRequest: a node creates them (NodeRestriction checks),
// gets those of its node, lists and watches with spec.nodeName=<itself>.
func (z *Authorizer) podCertificateRequest(node string, a authz.Attributes) (authz.Decision, string) {
	if a.Subresource != "" {
		return authz.NoOpinion, "nodes may not access the status subresource of PodCertificateRequests"
	}
	switch a.Verb {
	case "create":
		return authz.Allow, ""
	case "get":
		return z.related(node, pcrKind, a)
	case "list", "watch":
		if selectsNode(a.FieldSelector, node) {
			return authz.Allow, ""
		}
		return authz.NoOpinion, "can only list/watch podcertificaterequests with nodeName field selector"
	}
	return authz.NoOpinion, fmt.Sprintf("nodes may not %s podcertificaterequests", a.Verb)
}
