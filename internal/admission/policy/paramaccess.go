package policy

import (
	"context"
	"fmt"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/admission"
	"kapi/internal/authz"
	"kapi/internal/registry"
	"kapi/internal/request"
)

// ParamAccess keeps admission policies from being a way to read what the
// writer may not: whoever writes a policy with a paramKind must be
// allowed to get every object of that kind, and whoever writes a binding
// with a paramRef must be allowed to get (list, for a selector) the
// objects it names, since the policy's expressions then read them.
// Members of system:masters pass. kube-apiserver does this in the four
// kinds' storage strategies after their validation, whatever the
// admission plugins; the refusal is its 422 with a Forbidden cause on
// spec.paramKind or spec.paramRef, in its words. An update that keeps the
// paramKind (or the paramRef and policy) is not checked again.
type ParamAccess struct {
	// Authorizer is the server's authorizer (the union of
	// --authorization-mode).
	Authorizer authz.Authorizer
	// Catalogue resolves a paramKind to its resource, as kube-apiserver's
	// discovery does, and holds the policies a binding names.
	Catalogue *registry.Catalogue
}

var policyResources = map[string]string{
	"validatingadmissionpolicybindings": "validatingadmissionpolicies",
	"mutatingadmissionpolicybindings":   "mutatingadmissionpolicies",
}

// Validate checks creates and updates of the policies and their bindings.
func (p ParamAccess) Validate(ctx context.Context, a *admission.Attributes) error {
	if (a.Operation != admission.Create && a.Operation != admission.Update) || a.Subresource != "" ||
		a.Resource.Group != admissionregistrationv1.GroupName || p.Authorizer == nil {
		return nil
	}
	// No user: a request from inside kapi, or a kapi without
	// authentication.
	if a.User == nil || a.User.InGroup(request.SystemPrivileged) {
		return nil
	}
	var path *field.Path
	var err error
	switch obj := a.Object.(type) {
	case *admissionregistrationv1.ValidatingAdmissionPolicy:
		old, _ := a.OldObject.(*admissionregistrationv1.ValidatingAdmissionPolicy)
		if changedParamKind(obj.Spec.ParamKind, old != nil, old != nil && old.Spec.ParamKind != nil && *old.Spec.ParamKind == *obj.Spec.ParamKind) {
			path, err = field.NewPath("spec", "paramKind"), p.kindAccess(ctx, a.User, obj.Spec.ParamKind)
		}
	case *admissionregistrationv1.MutatingAdmissionPolicy:
		old, _ := a.OldObject.(*admissionregistrationv1.MutatingAdmissionPolicy)
		if changedParamKind(obj.Spec.ParamKind, old != nil, old != nil && old.Spec.ParamKind != nil && *old.Spec.ParamKind == *obj.Spec.ParamKind) {
			path, err = field.NewPath("spec", "paramKind"), p.kindAccess(ctx, a.User, obj.Spec.ParamKind)
		}
	case *admissionregistrationv1.ValidatingAdmissionPolicyBinding:
		old, _ := a.OldObject.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding)
		if old == nil || !sameParamRef(old.Spec.ParamRef, obj.Spec.ParamRef) || old.Spec.PolicyName != obj.Spec.PolicyName {
			path, err = field.NewPath("spec", "paramRef"), p.refAccess(ctx, a, obj.Spec.PolicyName, obj.Spec.ParamRef, true)
		}
	case *admissionregistrationv1.MutatingAdmissionPolicyBinding:
		old, _ := a.OldObject.(*admissionregistrationv1.MutatingAdmissionPolicyBinding)
		if old == nil || !sameParamRef(old.Spec.ParamRef, obj.Spec.ParamRef) || old.Spec.PolicyName != obj.Spec.PolicyName {
			path, err = field.NewPath("spec", "paramRef"), p.refAccess(ctx, a, obj.Spec.PolicyName, obj.Spec.ParamRef, false)
		}
	}
	if err == nil {
		return nil
	}
	return apierrors.NewInvalid(a.Kind.GroupKind(), a.Name, field.ErrorList{field.Forbidden(path, err.Error())})
}

// changedParamKind: a paramKind set, on a create or in place of another
// one.
func changedParamKind(kind *admissionregistrationv1.ParamKind, update, same bool) bool {
	return kind != nil && (!update || !same)
}

// sameParamRef is kube-apiserver's comparison of the stored and the new
// paramRef, which compares the selector and parameterNotFoundAction
// pointers, never shared between two decoded objects: so an update of a
// binding whose paramRef has either (parameterNotFoundAction is required)
// is always checked again.
func sameParamRef(old, ref *admissionregistrationv1.ParamRef) bool {
	if ref == nil {
		return true
	}
	return old != nil && old.Name == ref.Name && old.Namespace == ref.Namespace &&
		old.Selector == nil && ref.Selector == nil && old.ParameterNotFoundAction == nil && ref.ParameterNotFoundAction == nil
}

// target is what a paramKind names for the authorizer: its group,
// version and resource, "*" for what cannot be parsed or resolved.
type target struct {
	group, version, resource string
	parseErr, resolveErr     error
}

func (p ParamAccess) target(kind *admissionregistrationv1.ParamKind) target {
	t := target{group: "*", version: "*", resource: "*"}
	gv, err := schema.ParseGroupVersion(kind.APIVersion)
	if err != nil {
		t.parseErr = err
		return t
	}
	t.group, t.version = gv.Group, gv.Version
	if r := resolveKind(p.Catalogue, gv.WithKind(kind.Kind)); r != "" {
		t.resource = r
	} else {
		t.resolveErr = fmt.Errorf("no resource of kind %s", gv.WithKind(kind.Kind))
	}
	return t
}

// resolveKind is the resource of a kind, as kube-apiserver's resolver
// reads it from discovery: a top-level resource of the group and version.
func resolveKind(cat *registry.Catalogue, gvk schema.GroupVersionKind) string {
	if cat == nil {
		return ""
	}
	for _, st := range cat.Snapshot().Stores() {
		if st.R.GVK() == gvk {
			return st.R.Name
		}
	}
	return ""
}

func (p ParamAccess) allowed(ctx context.Context, attrs authz.Attributes) (bool, error) {
	d, _, err := p.Authorizer.Authorize(ctx, attrs)
	return err == nil && d == authz.Allow, err
}

// kindAccess: the user may get every object of the paramKind, in every
// namespace.
func (p ParamAccess) kindAccess(ctx context.Context, user *request.User, kind *admissionregistrationv1.ParamKind) error {
	t := p.target(kind)
	ok, err := p.allowed(ctx, authz.Attributes{User: user, Verb: "get", ResourceRequest: true, Name: "*", Namespace: "*",
		APIGroup: t.group, APIVersion: t.version, Resource: t.resource})
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf(`user %v must have "get" permission on all objects of the referenced paramKind (kind=%s, apiVersion=%s)`, user, kind.Kind, kind.APIVersion)
	}
	return nil
}

// refAccess: the user may get the object a paramRef names, or list those
// its selector picks, of the kind of the binding's policy (of any kind
// when the policy cannot be read or its paramKind resolved). validating
// says which of kube-apiserver's two texts, which differ, to use.
func (p ParamAccess) refAccess(ctx context.Context, a *admission.Attributes, policyName string, ref *admissionregistrationv1.ParamRef, validating bool) error {
	if ref == nil {
		return nil
	}
	t := target{group: "*", version: "*", resource: "*"}
	kind, policyErr := p.paramKind(ctx, policyResources[a.Resource.Name], policyName)
	if policyErr == nil && kind != nil {
		t = p.target(kind)
	}
	verb := "get"
	if ref.Name == "" {
		verb = "list"
	}
	ok, err := p.allowed(ctx, authz.Attributes{User: a.User, Verb: verb, ResourceRequest: true, Name: ref.Name, Namespace: ref.Namespace,
		APIGroup: t.group, APIVersion: t.version, Resource: t.resource})
	if err != nil {
		if validating {
			return fmt.Errorf(`failed to authorize request: %w`, err)
		}
		return err
	}
	if ok {
		return nil
	}
	switch {
	case policyErr != nil:
		return fmt.Errorf(`unable to get policy %s to determine minimum required permissions and user %v does not have "%v" permission for all groups, versions and resources`, policyName, a.User, verb)
	case t.parseErr != nil:
		return fmt.Errorf(`unable to parse paramKind %v to determine minimum required permissions and user %v does not have "%v" permission for all groups, versions and resources`, internalString(kind), a.User, verb)
	case t.resolveErr != nil:
		return fmt.Errorf(`unable to resolve paramKind %v to determine minimum required permissions and user %v does not have "%v" permission for all groups, versions and resources`, internalString(kind), a.User, verb)
	case validating:
		return fmt.Errorf(`user %v does not have "%v" permission on the object referenced by paramRef`, a.User, verb)
	}
	// kube-apiserver's text for mutating policies' bindings has the verb
	// and the user the other way round.
	return fmt.Errorf(`user %v does not have "%v" permission on the object referenced by paramRef`, verb, a.User)
}

// internalString prints a paramKind as kube-apiserver's messages do (its
// internal type, which has no String method, with %v): &{v1 ConfigMap}.
func internalString(k *admissionregistrationv1.ParamKind) string {
	return fmt.Sprintf("&{%s %s}", k.APIVersion, k.Kind)
}

// paramKind reads the paramKind of the policy a binding names, from
// etcd (a consistent read, as kube-apiserver's policy getter).
func (p ParamAccess) paramKind(ctx context.Context, resource, name string) (*admissionregistrationv1.ParamKind, error) {
	if p.Catalogue == nil {
		return nil, fmt.Errorf("no catalogue")
	}
	st := p.Catalogue.Snapshot().Store(admissionregistrationv1.SchemeGroupVersion.WithResource(resource))
	if st == nil {
		return nil, fmt.Errorf("no store of %s", resource)
	}
	obj, err := st.Get(ctx, "", name, nil)
	if err != nil {
		return nil, err
	}
	return policyParamKind(obj), nil
}

func policyParamKind(obj runtime.Object) *admissionregistrationv1.ParamKind {
	switch p := obj.(type) {
	case *admissionregistrationv1.ValidatingAdmissionPolicy:
		return p.Spec.ParamKind
	case *admissionregistrationv1.MutatingAdmissionPolicy:
		return p.Spec.ParamKind
	}
	return nil
}
