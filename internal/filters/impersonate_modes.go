package filters

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/apiserver/pkg/authentication/user"

	"kapi/internal/authn"
	"kapi/internal/authz"
	"kapi/internal/request"
)

// authenticationGroup is the API group of the identities that constrained
// impersonation checks (users, groups, nodes, serviceaccounts), and of
// uids and userextras in every mode.
const authenticationGroup = "authentication.k8s.io"

// impersonated is the user an impersonation gives the request, and the
// verb of the constrained mode that allowed it ("" for legacy): audit
// records it as the impersonation constraint. Cached values are shared:
// never change one.
type impersonated struct {
	user       *request.User
	constraint string
}

// impersonationMode is one way a requestor may be allowed to act as
// another user (KEP-5284). kube-apiserver tries them in the order of
// impersonationModes, the first that allows wins:
//
//	mode             who may be impersonated               checks (verb on resource in authentication.k8s.io)
//	associated-node  the node of the requestor's SA token   impersonate-on:associated-node:<verb>, impersonate:associated-node on nodes "*"
//	arbitrary-node   system:node:<name>                     impersonate-on:arbitrary-node:<verb>, impersonate:arbitrary-node on nodes <name>
//	serviceaccount   system:serviceaccount:<ns>:<name>      impersonate-on:serviceaccount:<verb>, impersonate:serviceaccount on serviceaccounts <name> in <ns>
//	user-info        any other user, groups, uid, extra     impersonate-on:user-info:<verb>, impersonate:user-info on users, groups, uids, userextras
//	legacy           anyone                                 impersonate on users, groups, serviceaccounts (core group), uids, userextras
//
// impersonate-on:<mode>:<verb> is checked on the request's own attributes
// (its resource, namespace, name or path) with the verb rewritten: who may
// impersonate a node for listing pods holds "impersonate-on:arbitrary-node:list"
// on pods. The node and service-account modes impersonate a name only
// (no groups, uid or extra: the server sets the groups); a node or
// service account asked for with more is legacy impersonation's only.
type impersonationMode struct {
	// name is the mode's metric label.
	name string
	// verb is the verb of the checks on the identity.
	verb string
	// constrained is false for legacy impersonation, which caches nothing
	// and checks nothing of the request, as before KEP-5284.
	constrained bool
	// applies tells whether the mode can impersonate wanted at all; if
	// not, the mode neither allows nor refuses.
	applies func(wanted, requestor *request.User) bool
	// anyNode is associated-node's: its checks are made for the requestor
	// without the values of its extra (they name the node and pod, which
	// would defeat caching across the nodes of a daemonset) and for any
	// node ("*"), since the association is checked here, not by the
	// authorizer; so one cache entry serves every node.
	anyNode bool
	// outer and inner cache successes; see impersonationCache.
	outer, inner *impersonationCache
	// oldFilter is LegacyImpersonate's mode, kube's filter of before
	// KEP-5284: its checks are not counted, and the uid is checked last
	// (after the groups and the extra) rather than second.
	oldFilter bool
}

// impersonationModes are kube's, in kube's order.
func impersonationModes() []*impersonationMode {
	constrained := func(name string, applies func(wanted, requestor *request.User) bool) *impersonationMode {
		return &impersonationMode{name: name, verb: "impersonate:" + name, constrained: true, applies: applies,
			outer: newImpersonationCache(true), inner: newImpersonationCache(false)}
	}
	associated := constrained("associated-node", func(wanted, requestor *request.User) bool {
		node, ok := nodeOf(wanted.Name)
		if !ok || !onlyName(wanted) {
			return false
		}
		if _, _, ok := serviceAccountOf(requestor.Name); !ok {
			return false
		}
		names := requestor.Extra[serviceaccount.NodeNameKey]
		return len(names) == 1 && names[0] == node
	})
	associated.anyNode = true
	return []*impersonationMode{
		associated,
		constrained("arbitrary-node", func(wanted, _ *request.User) bool {
			_, ok := nodeOf(wanted.Name)
			return ok && onlyName(wanted)
		}),
		constrained("serviceaccount", func(wanted, _ *request.User) bool {
			_, _, ok := serviceAccountOf(wanted.Name)
			return ok && onlyName(wanted)
		}),
		constrained("user-info", func(wanted, _ *request.User) bool {
			_, _, sa := serviceAccountOf(wanted.Name)
			_, node := nodeOf(wanted.Name)
			return !sa && !node
		}),
		{name: "legacy", verb: "impersonate"},
	}
}

// impersonate tries the mode: nil and no error when it does not apply.
// key is the attempt's cache key, shared by the modes.
func (m *impersonationMode) impersonate(ctx context.Context, az authz.Authorizer, wanted *request.User, a authz.Attributes, key *impersonationKey) (*impersonated, *apierrors.StatusError) {
	if !m.constrained {
		return m.identity(ctx, az, wanted, a.User)
	}
	if !m.applies(wanted, a.User) {
		return nil, nil
	}
	if m.anyNode {
		key = &impersonationKey{wanted: &request.User{Name: "system:node:*"}, attrs: associatedNodeAttributes(a)}
	}
	if got := m.outer.get(key); got != nil {
		return m.result(got, wanted), nil
	}
	on := a
	on.Verb = "impersonate-on:" + m.name + ":" + a.Verb
	if err := m.authorize(ctx, az, on); err != nil {
		return nil, err
	}
	got := m.inner.get(key)
	if got == nil {
		var err *apierrors.StatusError
		if got, err = m.identity(ctx, az, wanted, a.User); err != nil {
			return nil, err
		}
		m.inner.set(key, got)
	}
	m.outer.set(key, got)
	return m.result(got, wanted), nil
}

// result is a copy of a (maybe cached) impersonation for wanted: with
// associated-node, the cached user may be another node's.
func (m *impersonationMode) result(got *impersonated, wanted *request.User) *impersonated {
	u := *got.user
	if m.anyNode {
		u.Name = wanted.Name
	}
	u.Groups = slices.Clip(u.Groups) // an append downstream copies
	return &impersonated{user: &u, constraint: got.constraint}
}

// identity checks each field of wanted (user name, uid, groups, extra, in
// that order) with the mode's verb, and completes the user: the fixed
// groups of a node or service account, system:authenticated (or
// system:unauthenticated for system:anonymous).
func (m *impersonationMode) identity(ctx context.Context, az authz.Authorizer, wanted, requestor *request.User) (*impersonated, *apierrors.StatusError) {
	idGroup := "" // legacy checks users, groups and serviceaccounts in the core group
	if m.constrained {
		idGroup = authenticationGroup
	}
	check := func(group, resource, name string) authz.Attributes {
		return authz.Attributes{User: requestor, Verb: m.verb, ResourceRequest: true, APIGroup: group, APIVersion: "v1", Resource: resource, Name: name}
	}
	u := *wanted
	a := check(idGroup, "users", wanted.Name)
	if node, ok := nodeOf(wanted.Name); ok && m.constrained {
		a.Resource, a.Name = "nodes", node
		if len(wanted.Groups) != 0 { // the modes that impersonate nodes take a name only
			return nil, authz.Forbidden(a, fmt.Sprintf("when impersonating a node, cannot impersonate groups %q", wanted.Groups))
		}
		u.Groups = []string{user.NodesGroup}
	}
	if ns, name, ok := serviceAccountOf(wanted.Name); ok {
		a.Resource, a.Namespace, a.Name = "serviceaccounts", ns, name
		if m.constrained && len(wanted.Groups) != 0 {
			return nil, authz.Forbidden(a, fmt.Sprintf("when impersonating a service account, cannot impersonate groups %q", wanted.Groups))
		}
		if len(wanted.Groups) == 0 {
			u.Groups = authn.ServiceAccountGroups(ns)
		}
	}
	if err := m.authorize(ctx, az, a); err != nil {
		return nil, err
	}
	uid := func() *apierrors.StatusError {
		if wanted.UID == "" {
			return nil
		}
		return m.authorize(ctx, az, check(authenticationGroup, "uids", wanted.UID))
	}
	if !m.oldFilter {
		if err := uid(); err != nil {
			return nil, err
		}
	}
	if err := m.groups(ctx, az, check(idGroup, "groups", ""), wanted.Groups); err != nil {
		return nil, err
	}
	if err := m.extra(ctx, az, check(authenticationGroup, "userextras", ""), wanted.Extra); err != nil {
		return nil, err
	}
	if m.oldFilter {
		if err := uid(); err != nil {
			return nil, err
		}
	}
	switch {
	case u.Name == request.Anonymous:
		u.Groups = withGroup(u.Groups, request.AllUnauthenticated)
	case !slices.Contains(u.Groups, request.AllUnauthenticated):
		u.Groups = withGroup(u.Groups, request.AllAuthenticated)
	}
	constraint := ""
	if m.constrained {
		constraint = m.verb
	}
	return &impersonated{user: &u, constraint: constraint}, nil
}

// manyChecks is when a constrained mode first asks for all groups (or all
// extra) at once, before checking each.
const manyChecks = 4

// groups checks each group; constrained modes refuse the empty group and
// system:masters whatever the authorizer says.
func (m *impersonationMode) groups(ctx context.Context, az authz.Authorizer, a authz.Attributes, groups []string) *apierrors.StatusError {
	if len(groups) == 0 {
		return nil
	}
	if m.constrained {
		if slices.Contains(groups, "") {
			return authz.Forbidden(a, "impersonating the empty string group is not allowed")
		}
		if slices.Contains(groups, request.SystemPrivileged) {
			a.Name = request.SystemPrivileged
			return authz.Forbidden(a, "impersonating the system:masters group is not allowed")
		}
		if len(groups) >= manyChecks {
			a.Name = "*"
			if m.authorize(ctx, az, a) == nil {
				return nil
			}
		}
	}
	for _, g := range groups {
		a.Name = g
		if err := m.authorize(ctx, az, a); err != nil {
			return err
		}
	}
	return nil
}

// extra checks each value of each key (as userextras/<key> named
// <value>); constrained modes refuse keys and values that could not be a
// real user's.
func (m *impersonationMode) extra(ctx context.Context, az authz.Authorizer, a authz.Attributes, extra map[string][]string) *apierrors.StatusError {
	if len(extra) == 0 {
		return nil
	}
	if m.constrained {
		if err := validateImpersonatedExtra(extra); err != nil {
			return authz.Forbidden(a, err.Error())
		}
		if largeExtra(extra) {
			a.Subresource, a.Name = "*", "*"
			if m.authorize(ctx, az, a) == nil {
				return nil
			}
		}
	}
	for key, values := range extra {
		a.Subresource = key
		for _, v := range values {
			a.Name = v
			if err := m.authorize(ctx, az, a); err != nil {
				return err
			}
		}
	}
	return nil
}

func validateImpersonatedExtra(extra map[string][]string) error {
	path := field.NewPath("extra", "key")
	for key, values := range extra {
		switch {
		case key == "":
			return errors.New("impersonating the empty string key in extra is not allowed")
		case len(utilvalidation.IsDomainPrefixedPath(path, key)) > 0:
			return fmt.Errorf("impersonating an invalid key in extra is not allowed: %w", utilvalidation.IsDomainPrefixedPath(path, key).ToAggregate())
		case key != strings.ToLower(key):
			return fmt.Errorf("impersonating a non-lowercase key in extra is not allowed: %q", key)
		case len(values) == 0:
			return errors.New("impersonating empty values in extra is not allowed")
		case slices.Contains(values, ""):
			return errors.New("impersonating the empty string value in extra is not allowed")
		}
	}
	return nil
}

func largeExtra(extra map[string][]string) bool {
	n := 0
	for _, values := range extra {
		n += len(values)
	}
	return len(extra) >= manyChecks || n >= manyChecks
}

// authorize asks az about one check of the mode, counts it, and words a
// refusal as kube-apiserver does (the authorizer's error before its
// reason).
func (m *impersonationMode) authorize(ctx context.Context, az authz.Authorizer, a authz.Attributes) *apierrors.StatusError {
	if m.anyNode {
		a = associatedNodeAttributes(a)
	}
	start := time.Now()
	d, reason, err := az.Authorize(ctx, a)
	if !m.oldFilter {
		recordImpersonationCheck(a.Verb, d, time.Since(start))
	}
	if d == authz.Allow { // an authorizer may allow despite an error
		return nil
	}
	var forbidden *apierrors.StatusError
	if errors.As(err, &forbidden) && apierrors.IsForbidden(forbidden) {
		return forbidden
	}
	msg := reason
	switch {
	case err != nil && reason != "":
		msg = fmt.Sprintf("%v: %s", err, reason)
	case err != nil:
		msg = err.Error()
	}
	return authz.Forbidden(a, msg)
}

// associatedNodeAttributes are a's for associated-node: the requestor's
// extra reduced to the list of its keys (the authorizer can still tell a
// token bound to a pod from one bound to a node), and the node "*" for
// impersonate:associated-node.
func associatedNodeAttributes(a authz.Attributes) authz.Attributes {
	u := *a.User
	u.Extra = map[string][]string{"authentication.kubernetes.io/associated-node-keys": slices.Sorted(maps.Keys(a.User.Extra))}
	a.User = &u
	if a.Verb == "impersonate:associated-node" {
		a.Name = "*"
	}
	return a
}

// withGroup is groups with g, appended in a new slice if missing.
func withGroup(groups []string, g string) []string {
	if slices.Contains(groups, g) {
		return groups
	}
	return append(slices.Clip(groups), g)
}

// onlyName tells whether wanted asks for a user name and nothing else.
func onlyName(wanted *request.User) bool {
	return wanted.UID == "" && len(wanted.Groups) == 0 && len(wanted.Extra) == 0
}

// nodeOf is the node of a node's user name (system:node:<name>, the name a
// valid node name).
func nodeOf(name string) (string, bool) {
	node, ok := strings.CutPrefix(name, "system:node:")
	if !ok || len(validation.NameIsDNSSubdomain(node, false)) != 0 {
		return "", false
	}
	return node, true
}

// serviceAccountOf is the namespace and name of a service account's user
// name, both valid, as kube-apiserver splits it.
func serviceAccountOf(name string) (namespace, sa string, ok bool) {
	namespace, sa, err := serviceaccount.SplitUsername(name)
	return namespace, sa, err == nil
}
