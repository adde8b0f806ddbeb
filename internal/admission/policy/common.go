// Package policy runs admission policies written in CEL:
// ValidatingAdmissionPolicies and MutatingAdmissionPolicies
// (admissionregistration.k8s.io/v1) with their bindings, as
// kube-apiserver's plugins of those names do.
//
// The CEL environment, its cost limits and the evaluation of a policy's
// expressions are k8s.io/apiserver's (the standard for admission CEL);
// matching, parameters, dispatch and wiring are kapi's.
package policy

import (
	"context"
	"fmt"
	"slices"
	"sync"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"kapi/internal/admission"
	"kapi/internal/admission/match"
	"kapi/internal/registry"
)

// Deps are what policies read besides their own objects.
type Deps struct {
	// Catalogue finds the stores of parameters, and a resource's other
	// versions (matchPolicy Equivalent).
	Catalogue *registry.Catalogue
	// Namespace reads a namespace: for namespaceSelector, and the
	// namespace object CEL sees.
	Namespace match.NamespaceGetter
	// Authorizer answers CEL's `authorizer`.
	Authorizer authorizer.UnconditionalAuthorizer
}

// resources is a compiled MatchResources: which writes a policy or a
// binding takes.
type resources struct {
	nsSel, objSel   labels.Selector
	include         []admissionregistrationv1.NamedRuleWithOperations
	exclude         []admissionregistrationv1.NamedRuleWithOperations
	equivalent      bool
	constrainsRules bool
	err             error
}

func compileResources(m *admissionregistrationv1.MatchResources) *resources {
	r := &resources{nsSel: labels.Everything(), objSel: labels.Everything(), equivalent: true}
	if m == nil {
		return r
	}
	var err error
	if r.nsSel, err = match.Selector(m.NamespaceSelector); err != nil {
		r.err = fmt.Errorf("invalid namespaceSelector: %w", err)
	}
	if r.objSel, err = match.Selector(m.ObjectSelector); err != nil {
		r.err = fmt.Errorf("invalid objectSelector: %w", err)
	}
	r.include, r.exclude = m.ResourceRules, m.ExcludeResourceRules
	r.constrainsRules = len(m.ResourceRules) > 0
	r.equivalent = m.MatchPolicy == nil || *m.MatchPolicy == admissionregistrationv1.Equivalent
	return r
}

// matches reports whether r takes a, and the row it sees a as (a's own,
// or an equivalent version of it under matchPolicy Equivalent). A binding
// without resource rules takes whatever its policy takes (as, the
// policy's).
func (r *resources) matches(ctx context.Context, a *admission.Attributes, d Deps, as *registry.Resource) (bool, *registry.Resource, error) {
	if r.err != nil {
		return false, nil, r.err
	}
	if !match.ObjectSelected(r.objSel, a) {
		return false, nil, nil
	}
	if ok, err := match.NamespaceSelected(ctx, r.nsSel, a, d.Namespace); err != nil || !ok {
		return false, nil, err
	}
	takes := func(rules []admissionregistrationv1.NamedRuleWithOperations, res *registry.Resource) bool {
		for _, rule := range rules {
			if match.TakesNamed(rule, res.GVR(), a.Subresource, a.Operation, a.Resource.Namespaced, a.Name) {
				return true
			}
		}
		return false
	}
	if takes(r.exclude, a.Resource) {
		return false, nil, nil
	}
	if !r.constrainsRules {
		if as == nil {
			return false, nil, nil
		}
		return true, as, nil
	}
	if takes(r.include, a.Resource) {
		return true, a.Resource, nil
	}
	if !r.equivalent || !slices.ContainsFunc(r.include, func(rule admissionregistrationv1.NamedRuleWithOperations) bool {
		return match.NamesGroupResource(rule.Rule, a.GVR().GroupResource(), a.Subresource)
	}) {
		// No rule names the resource in another version either: no need
		// to look for one.
		return false, nil, nil
	}
	for _, o := range match.OtherVersions(d.Catalogue, a.Resource) {
		if takes(r.include, o) && !takes(r.exclude, o) {
			return true, o, nil
		}
	}
	return false, nil, nil
}

// params are the parameter objects a binding's paramRef names for a
// write in namespace ns: [nil] when the policy has no paramKind (or the
// binding no paramRef); nil when none is found and the binding allows it.
func params(ctx context.Context, d Deps, kind *admissionregistrationv1.ParamKind, ref *admissionregistrationv1.ParamRef, ns string) ([]runtime.Object, error) {
	if kind == nil || ref == nil {
		return []runtime.Object{nil}, nil
	}
	gv, err := schema.ParseGroupVersion(kind.APIVersion)
	if err != nil {
		return nil, fmt.Errorf("invalid paramKind apiVersion %q: %w", kind.APIVersion, err)
	}
	st := storeOfKind(d.Catalogue, gv.WithKind(kind.Kind))
	if st == nil {
		return nil, fmt.Errorf("paramKind kind `%v` not known", kind.String())
	}
	pns := ""
	if st.R.Namespaced {
		pns = ns
		if ref.Namespace != "" {
			pns = ref.Namespace
		} else if pns == "" {
			return nil, fmt.Errorf("cannot use namespaced paramRef in policy binding that matches cluster-scoped resources")
		}
	} else if ref.Namespace != "" {
		return nil, fmt.Errorf("paramRef.namespace must not be provided for a cluster-scoped `paramKind`")
	}
	var out []runtime.Object
	switch {
	case ref.Name != "" && ref.Selector != nil:
		return nil, fmt.Errorf("paramRef.name and paramRef.selector are mutually exclusive")
	case ref.Name != "":
		obj, err := st.Get(ctx, pns, ref.Name, &metav1.GetOptions{ResourceVersion: "0"})
		if err == nil {
			out = []runtime.Object{obj}
		} else if !isNotFound(err) {
			return nil, err
		} else if obj, err := st.Get(ctx, pns, ref.Name, nil); err == nil {
			// Not in the cache yet, perhaps just created: ask etcd.
			out = []runtime.Object{obj}
		}
	case ref.Selector != nil:
		sel, err := metav1.LabelSelectorAsSelector(ref.Selector)
		if err != nil {
			return nil, err
		}
		list, err := st.List(ctx, pns, &metav1.ListOptions{ResourceVersion: "0", LabelSelector: sel.String()})
		if err != nil {
			return nil, err
		}
		if out, err = meta.ExtractList(list); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("one of name or selector must be provided")
	}
	if len(out) == 0 && ref.ParameterNotFoundAction != nil && *ref.ParameterNotFoundAction == admissionregistrationv1.DenyAction {
		return nil, fmt.Errorf("no params found for policy binding with `Deny` parameterNotFoundAction")
	}
	return out, nil
}

// storeOfKind is the store that serves gvk, or nil.
func storeOfKind(cat *registry.Catalogue, gvk schema.GroupVersionKind) *registry.Store {
	if cat == nil {
		return nil
	}
	for _, st := range cat.Snapshot().Stores() {
		if st.R.GVK() == gvk && st.R.Type.NewList != nil {
			return st
		}
	}
	return nil
}

func isNotFound(err error) bool {
	type status interface{ Status() metav1.Status }
	s, ok := err.(status)
	return ok && s.Status().Reason == metav1.StatusReasonNotFound
}

// objectsAs are a's objects converted to the version of row as.
func objectsAs(a *admission.Attributes, as *registry.Resource) (kind schema.GroupVersionKind, obj, old runtime.Object, err error) {
	kind, obj, old = a.Kind, a.Object, a.OldObject
	if as == a.Resource || a.Kind != a.Resource.GVK() {
		return kind, obj, old, nil
	}
	kind = as.GVK()
	if obj, err = match.Convert(a.Resource, obj, kind.GroupVersion()); err != nil {
		return kind, nil, nil, err
	}
	old, err = match.Convert(a.Resource, old, kind.GroupVersion())
	return kind, obj, old, err
}

// loader keeps the latest lists of a kind's policies and bindings, from
// two informers, and gives both, ordered by name, to publish at each
// change of either.
type loader struct {
	mu                 sync.Mutex
	policies, bindings []runtime.Object
	publish            func(policies, bindings []runtime.Object)
}

// LoadPolicies takes the policies as they are now.
func (l *loader) LoadPolicies(objs []runtime.Object) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.policies = objs
	l.publish(match.SortedByName(l.policies), match.SortedByName(l.bindings))
}

// LoadBindings takes the bindings as they are now.
func (l *loader) LoadBindings(objs []runtime.Object) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bindings = objs
	l.publish(match.SortedByName(l.policies), match.SortedByName(l.bindings))
}
