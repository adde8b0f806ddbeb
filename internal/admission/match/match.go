// Package match decides whether an admission webhook or policy takes a
// write, as kube-apiserver decides it: rules of operations, groups,
// versions and resources with their wildcards and scope, namespace and
// object selectors, and the attributes CEL conditions read.
package match

import (
	"context"
	"fmt"
	"slices"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	apiadmission "k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"kapi/internal/admission"
	"kapi/internal/authz"
	"kapi/internal/registry"
	"kapi/internal/registry/admissionregistration"
	"kapi/internal/request"
)

// NamesResource reports whether rule names gvr and its subresource sub
// (kube's rules: "*" any resource, "pods/*" pods and any of its
// subresources, "*/scale" every scale subresource), for any operation.
func NamesResource(rule admissionregistrationv1.Rule, gvr schema.GroupVersionResource, sub string) bool {
	return hasOrStar(rule.APIVersions, gvr.Version) && NamesGroupResource(rule, gvr.GroupResource(), sub)
}

// NamesGroupResource is NamesResource in any version: whether rule may
// take a version of gr (matchPolicy Equivalent) at all.
func NamesGroupResource(rule admissionregistrationv1.Rule, gr schema.GroupResource, sub string) bool {
	if !hasOrStar(rule.APIGroups, gr.Group) {
		return false
	}
	for _, name := range rule.Resources {
		res, s, _ := strings.Cut(name, "/")
		if (res == "*" || res == gr.Resource) && (s == "*" || s == sub) {
			return true
		}
	}
	return false
}

// Takes reports whether rule names op on gvr and sub, in the resource's
// scope (namespaced or not).
func Takes(rule admissionregistrationv1.RuleWithOperations, gvr schema.GroupVersionResource, sub string, op admission.Operation, namespaced bool) bool {
	o := admissionregistrationv1.OperationType(op)
	if !slices.Contains(rule.Operations, o) && !slices.Contains(rule.Operations, admissionregistrationv1.OperationAll) {
		return false
	}
	if sc := rule.Scope; sc != nil && *sc != admissionregistrationv1.AllScopes && (*sc == admissionregistrationv1.NamespacedScope) != namespaced {
		return false
	}
	return NamesResource(rule.Rule, gvr, sub)
}

// TakesNamed is Takes for a rule that may also list resourceNames.
func TakesNamed(rule admissionregistrationv1.NamedRuleWithOperations, gvr schema.GroupVersionResource, sub string, op admission.Operation, namespaced bool, name string) bool {
	if len(rule.ResourceNames) > 0 && !slices.Contains(rule.ResourceNames, name) {
		return false
	}
	return Takes(rule.RuleWithOperations, gvr, sub, op, namespaced)
}

func hasOrStar(list []string, s string) bool {
	return slices.Contains(list, s) || slices.Contains(list, "*")
}

// Selects reports whether obj's labels match sel (never for no object).
func Selects(sel labels.Selector, obj runtime.Object) bool {
	if obj == nil {
		return false
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return false
	}
	return sel.Matches(labels.Set(m.GetLabels()))
}

// ObjectSelected applies an objectSelector: the new object or the old one
// matches.
func ObjectSelected(sel labels.Selector, a *admission.Attributes) bool {
	return sel.Empty() || Selects(sel, a.Object) || Selects(sel, a.OldObject)
}

// NamespaceGetter reads a namespace.
type NamespaceGetter func(ctx context.Context, name string) (runtime.Object, error)

// NamespaceSelected applies a namespaceSelector as kube-apiserver does: a
// cluster-scoped resource other than a namespace always matches; a
// namespace is matched by its own labels; a namespace that is not there
// has none.
func NamespaceSelected(ctx context.Context, sel labels.Selector, a *admission.Attributes, get NamespaceGetter) (bool, error) {
	if sel.Empty() {
		return true, nil
	}
	if IsNamespace(a.Resource) {
		return Selects(sel, a.Object) || (a.Object == nil && Selects(sel, a.OldObject)), nil
	}
	if !a.Resource.Namespaced {
		return true, nil
	}
	ns, err := Namespace(ctx, a.Namespace, get)
	if err != nil {
		return false, err
	}
	if ns == nil {
		return sel.Matches(labels.Set{}), nil
	}
	return sel.Matches(labels.Set(ns.Labels)), nil
}

// IsNamespace reports the core namespaces resource.
func IsNamespace(r *registry.Resource) bool { return r.Group == "" && r.Name == "namespaces" }

// Namespace reads namespace name; nil when it is not there.
func Namespace(ctx context.Context, name string, get NamespaceGetter) (*corev1.Namespace, error) {
	if get == nil {
		return nil, fmt.Errorf("namespaces cannot be read")
	}
	obj, err := get(ctx, name)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return nil, fmt.Errorf("namespace %q is a %T", name, obj)
	}
	return ns, nil
}

// Selector parses a label selector; nil selects everything.
func Selector(s *metav1.LabelSelector) (labels.Selector, error) {
	if s == nil {
		return labels.Everything(), nil
	}
	return metav1.LabelSelectorAsSelector(s)
}

// Versioned is a as k8s.io/apiserver's CEL evaluation reads it, with
// the objects as kind (the kind a policy or webhook matched).
func Versioned(a *admission.Attributes, kind schema.GroupVersionKind, obj, old runtime.Object) *apiadmission.VersionedAttributes {
	var u user.Info = &user.DefaultInfo{}
	if a.User != nil {
		u = &user.DefaultInfo{Name: a.User.Name, UID: a.User.UID, Groups: a.User.Groups, Extra: a.User.Extra}
	}
	attrs := apiadmission.NewAttributesRecord(a.Object, a.OldObject, a.Kind, a.Namespace, a.Name, a.GVR(), a.Subresource,
		apiadmission.Operation(a.Operation), a.Options, a.DryRun, u)
	return &apiadmission.VersionedAttributes{Attributes: attrs, VersionedKind: kind,
		VersionedObject: apiadmission.NewLazyObject(obj), VersionedOldObject: apiadmission.NewLazyObject(old)}
}

// OtherVersions are the rows of cat with res's group, resource and kind in
// other versions: what matchPolicy Equivalent may see a write as.
func OtherVersions(cat *registry.Catalogue, res *registry.Resource) []*registry.Resource {
	out := []*registry.Resource{}
	if cat == nil {
		return out
	}
	for _, st := range cat.Snapshot().Stores() {
		r := st.R
		if r.Group == res.Group && r.Name == res.Name && r.Version != res.Version && r.Kind == res.Kind {
			out = append(out, r)
		}
	}
	return out
}

// Convert converts obj, of row r, to version gv (nil stays nil).
func Convert(r *registry.Resource, obj runtime.Object, gv schema.GroupVersion) (runtime.Object, error) {
	if obj == nil {
		return nil, nil
	}
	if r.Type.Convertor == nil {
		return nil, fmt.Errorf("%s cannot be converted to %s", r.GVK(), gv)
	}
	return r.Type.Convertor.ConvertToVersion(obj, gv)
}

// CELAuthorizer is kapi's authorizer as k8s.io/apiserver's CEL reads it:
// the `authorizer` variable of match conditions and policies
// (authorizer.group("").resource("pods").check("create").allowed()).
func CELAuthorizer(az authz.Authorizer) authorizer.UnconditionalAuthorizer {
	if az == nil {
		return nil
	}
	return celAuthorizer{az}
}

type celAuthorizer struct{ az authz.Authorizer }

func (c celAuthorizer) Authorize(ctx context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	var u *request.User
	if info := a.GetUser(); info != nil {
		u = &request.User{Name: info.GetName(), UID: info.GetUID(), Groups: info.GetGroups(), Extra: info.GetExtra()}
	}
	d, reason, err := c.az.Authorize(ctx, authz.Attributes{User: u, Verb: a.GetVerb(), ResourceRequest: a.IsResourceRequest(),
		APIGroup: a.GetAPIGroup(), APIVersion: a.GetAPIVersion(), Resource: a.GetResource(), Subresource: a.GetSubresource(),
		Namespace: a.GetNamespace(), Name: a.GetName(), Path: a.GetPath()})
	switch d {
	case authz.Allow:
		return authorizer.DecisionAllow, reason, err
	case authz.Deny:
		return authorizer.DecisionDeny, reason, err
	}
	return authorizer.DecisionNoOpinion, reason, err
}

// Reach says which configured hooks (webhooks, or admission policies)
// may see a write: those of the API and of static manifests, the static
// ones only, or none.
type Reach int

const (
	// AllHooks: static hooks first, then the API's (kube's composite
	// source).
	AllHooks Reach = iota
	// StaticHooksOnly: a write of an object that configures hooks of this
	// sort, which hooks configured through the API do not see (a broken
	// one could not be removed), and static ones do.
	StaticHooksOnly
	// NoHooks: a write of a virtual resource (access and token reviews),
	// which no hook sees.
	NoHooks
)

// hiddenFromPolicies are the objects admission policies configured
// through the API do not see (kube's admissionConfigResources): the four
// of policies; hiddenFromWebhooks, those webhooks configured through the
// API do not see (kube's IsExemptAdmissionConfigurationResource): all six
// that configure admission. Policies do see webhook configurations.
var (
	hiddenFromPolicies = sets.New("validatingadmissionpolicies", "validatingadmissionpolicybindings",
		"mutatingadmissionpolicies", "mutatingadmissionpolicybindings")
	hiddenFromWebhooks = hiddenFromPolicies.Union(sets.New("mutatingwebhookconfigurations", "validatingwebhookconfigurations"))
)

// ReachOf is the Reach of a write for webhooks, or for policies.
func ReachOf(a *admission.Attributes, policies bool) Reach {
	gr := schema.GroupResource{Group: a.Resource.Group, Resource: a.Resource.Name}
	hidden := hiddenFromWebhooks
	if policies {
		hidden = hiddenFromPolicies
	}
	switch {
	case a.Subresource == "" && admissionregistration.VirtualResources.Has(gr):
		return NoHooks
	case gr.Group == admissionregistrationv1.GroupName && hidden.Has(gr.Resource):
		return StaticHooksOnly
	}
	return AllHooks
}

// InForce are the hooks of static and API that may see a write of reach.
func InForce[H any](reach Reach, static, api []H) []H {
	switch {
	case reach == NoHooks:
		return nil
	case reach == StaticHooksOnly || len(api) == 0:
		return static
	case len(static) == 0:
		return api
	}
	return slices.Concat(static, api)
}

// SortedByName orders configuration objects (webhook configurations,
// policies, bindings) by name, as kube-apiserver applies them.
func SortedByName(objs []runtime.Object) []runtime.Object {
	out := slices.Clone(objs)
	slices.SortFunc(out, func(a, b runtime.Object) int {
		return strings.Compare(a.(metav1.Object).GetName(), b.(metav1.Object).GetName())
	})
	return out
}
