package policy

import (
	"fmt"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubemanifest "k8s.io/apiserver/pkg/admission/plugin/manifest"

	"kapi/internal/admission/manifest"
	"kapi/internal/admission/match"
)

// LoadStatic reads the ValidatingAdmissionPolicies and their bindings of
// dir, a staticManifestsDir (see manifest.Manifests), as kube's
// manifest loader reads them. publish makes them the static policies,
// kept beside those of the API and compiled alike.
func (v *Validating) LoadStatic(dir string) (hash string, publish func() error, err error) {
	policies, bindings, hash, err := readStatic(dir, false)
	if err != nil {
		return "", nil, err
	}
	return hash, func() error {
		out := v.build(policies, bindings)
		for _, p := range out {
			if err := p.validator.CompileError(); err != nil {
				return fmt.Errorf("failed to compile policy %q: %w", p.policy.Name, err)
			}
		}
		v.static.Store(&out)
		return nil
	}, nil
}

// LoadStatic reads the MutatingAdmissionPolicies and their bindings of
// dir, as Validating.LoadStatic.
func (m *Mutating) LoadStatic(dir string) (hash string, publish func() error, err error) {
	policies, bindings, hash, err := readStatic(dir, true)
	if err != nil {
		return "", nil, err
	}
	return hash, func() error {
		out := m.build(policies, bindings)
		for _, p := range out {
			if p.err != nil {
				return fmt.Errorf("failed to compile policy %q: %w", p.policy.Name, p.err)
			}
		}
		m.static.Store(&out)
		return nil
	}, nil
}

// readStatic reads dir's policies and bindings (of MutatingAdmissionPolicy
// or of ValidatingAdmissionPolicy), each ordered by name, as kube's
// LoadPolicyManifests. Each is defaulted and validated as a create
// through the API, then must have a name with the reserved suffix, unique
// among the directory's policies (or bindings); policies have no
// paramKind, bindings no paramRef, and a binding must bind a policy of
// the directory: static objects neither read nor depend on the API's.
//
//	binding "b.static.k8s.io" references policy "p.static.k8s.io" which does not exist in the manifest directory
func readStatic(dir string, mutating bool) (policies, bindings []runtime.Object, hash string, err error) {
	seenPolicies, seenBindings := map[string]string{}, map[string]string{}
	hash, err = manifest.Read(dir, func(obj runtime.Object, file string) error {
		items, binding, ok := staticItems(obj, mutating)
		if !ok {
			return fmt.Errorf("unsupported resource type %T", obj)
		}
		for _, item := range items {
			if err := manifest.DefaultAndValidate(item); err != nil {
				return err
			}
		}
		seen := seenPolicies
		if binding {
			seen = seenBindings
		}
		for _, item := range items {
			name := item.(metav1.Object).GetName()
			if err := kubemanifest.ValidateManifestName(name, file, seen); err != nil {
				return err
			}
			if err := staticConstraints(item, name); err != nil {
				return err
			}
		}
		if binding {
			bindings = append(bindings, items...)
		} else {
			policies = append(policies, items...)
		}
		return nil
	})
	if err != nil {
		return nil, nil, "", err
	}
	names := map[string]bool{}
	for _, p := range policies {
		names[p.(metav1.Object).GetName()] = true
	}
	for _, b := range bindings {
		if name := boundPolicy(b); !names[name] {
			return nil, nil, "", fmt.Errorf("binding %q references policy %q which does not exist in the manifest directory", b.(metav1.Object).GetName(), name)
		}
	}
	return match.SortedByName(policies), match.SortedByName(bindings), hash, nil
}

// staticItems are the policies or bindings of the plugin (mutating or
// not) obj holds, itself or a list of them; ok is false for anything else.
func staticItems(obj runtime.Object, mutating bool) (items []runtime.Object, binding, ok bool) {
	var isMutating bool
	switch obj.(type) {
	case *admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyList:
	case *admissionregistrationv1.ValidatingAdmissionPolicyBinding, *admissionregistrationv1.ValidatingAdmissionPolicyBindingList:
		binding = true
	case *admissionregistrationv1.MutatingAdmissionPolicy, *admissionregistrationv1.MutatingAdmissionPolicyList:
		isMutating = true
	case *admissionregistrationv1.MutatingAdmissionPolicyBinding, *admissionregistrationv1.MutatingAdmissionPolicyBindingList:
		isMutating, binding = true, true
	default:
		return nil, false, false
	}
	if isMutating != mutating {
		return nil, false, false
	}
	if !meta.IsListType(obj) {
		return []runtime.Object{obj}, binding, true
	}
	items, err := meta.ExtractList(obj)
	return items, binding, err == nil
}

// staticConstraints are kube's rules of static policies and bindings
// beyond the API's (validatePolicyManifestConstraints).
func staticConstraints(obj runtime.Object, name string) error {
	switch o := obj.(type) {
	case *admissionregistrationv1.ValidatingAdmissionPolicy:
		if o.Spec.ParamKind != nil {
			return fmt.Errorf("ValidatingAdmissionPolicy %q: spec.paramKind is not supported for static manifests", name)
		}
	case *admissionregistrationv1.MutatingAdmissionPolicy:
		if o.Spec.ParamKind != nil {
			return fmt.Errorf("MutatingAdmissionPolicy %q: spec.paramKind is not supported for static manifests", name)
		}
	case *admissionregistrationv1.ValidatingAdmissionPolicyBinding:
		return staticBinding(name, o.Spec.PolicyName, o.Spec.ParamRef != nil)
	case *admissionregistrationv1.MutatingAdmissionPolicyBinding:
		return staticBinding(name, o.Spec.PolicyName, o.Spec.ParamRef != nil)
	}
	return nil
}

func staticBinding(name, policy string, paramRef bool) error {
	switch {
	case policy == "":
		return fmt.Errorf("binding %q must reference a policy (spec.policyName)", name)
	case !strings.HasSuffix(policy, kubemanifest.StaticConfigSuffix):
		return fmt.Errorf("binding %q: spec.policyName %q must end with %q", name, policy, kubemanifest.StaticConfigSuffix)
	case paramRef:
		return fmt.Errorf("binding %q: spec.paramRef is not supported for static manifests", name)
	}
	return nil
}

// boundPolicy is the policy a binding binds.
func boundPolicy(obj runtime.Object) string {
	switch b := obj.(type) {
	case *admissionregistrationv1.ValidatingAdmissionPolicyBinding:
		return b.Spec.PolicyName
	case *admissionregistrationv1.MutatingAdmissionPolicyBinding:
		return b.Spec.PolicyName
	}
	return ""
}
