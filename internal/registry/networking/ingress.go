package networking

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"

	"kapi/internal/registry"
)

// ingressHooks check an Ingress as kube-apiserver's ValidateIngressCreate
// and ValidateIngressUpdate do, with the options kube computes: on update,
// invalid TLS secret names, or invalid rules under wildcard hosts, pass
// when the stored ingress already had one; a backend's service name is a
// DNS label (RelaxedServiceNameValidation, GA and locked on in kube 1.37).
// A create also refuses a kubernetes.io/ingress.class annotation that
// names another class than spec.ingressClassName.
var ingressHooks = &registry.Hooks{
	Validate: func(obj, old runtime.Object) field.ErrorList {
		ing := obj.(*networkingv1.Ingress)
		opts := ingressOptions{relaxedServiceNames: true}
		was, _ := old.(*networkingv1.Ingress)
		if was != nil {
			opts.allowInvalidSecretName = hasInvalidSecretName(&was.Spec)
			opts.allowInvalidWildcardHostRule = hasInvalidWildcardHostRule(&was.Spec)
		}
		errs := validateIngressSpec(&ing.Spec, field.NewPath("spec"), opts)
		if was != nil {
			return errs
		}
		if class, ok := ing.Annotations[ingressClassAnnotation]; ok && ing.Spec.IngressClassName != nil && class != *ing.Spec.IngressClassName {
			// kube's path, outside metadata.
			errs = append(errs, field.Invalid(field.NewPath("annotations").Child(ingressClassAnnotation), class,
				"must match `ingressClassName` when both are specified"))
		}
		return errs
	},
	Warnings: ingressWarnings,
}

// ingressOptions is kube's IngressValidationOptions; its zero value is
// kube's IngressValidationOptions{}, with strict (DNS-1035) service names.
type ingressOptions struct {
	allowInvalidSecretName       bool
	allowInvalidWildcardHostRule bool
	relaxedServiceNames          bool
}

var (
	// pathTypes are kube's supportedPathTypes, sorted as kube lists them.
	pathTypes            = []string{string(networkingv1.PathTypeExact), string(networkingv1.PathTypeImplementationSpecific), string(networkingv1.PathTypePrefix)}
	invalidPathSequences = []string{"//", "/./", "/../", "%2f", "%2F"}
	invalidPathSuffixes  = []string{"/..", "/."}
)

// validateIngressSpec is kube's ValidateIngressSpec: a default backend or
// rules, then the default backend, the rules, TLS and the class name.
func validateIngressSpec(s *networkingv1.IngressSpec, path *field.Path, opts ingressOptions) field.ErrorList {
	var errs field.ErrorList
	if len(s.Rules) == 0 && s.DefaultBackend == nil {
		errs = append(errs, field.Invalid(path, s.Rules, "either `defaultBackend` or `rules` must be specified"))
	}
	if s.DefaultBackend != nil {
		errs = append(errs, validateBackend(s.DefaultBackend, path.Child("defaultBackend"), opts)...)
	}
	errs = append(errs, validateIngressRules(s.Rules, path.Child("rules"), opts)...)
	errs = append(errs, validateIngressTLS(s.TLS, path.Child("tls"), opts)...)
	if c := s.IngressClassName; c != nil {
		for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(*c, false) {
			errs = append(errs, field.Invalid(path.Child("ingressClassName"), *c, msg))
		}
	}
	return errs
}

// validateIngressTLS is kube's validateIngressTLS: each host a DNS
// subdomain (a wildcard one when it has a '*'; an IP passes), and the
// secret, when named, a Secret's name unless opts allow otherwise.
func validateIngressTLS(tls []networkingv1.IngressTLS, path *field.Path, opts ingressOptions) field.ErrorList {
	var errs field.ErrorList
	for i, t := range tls {
		for j, h := range t.Hosts {
			errs = append(errs, validateDNSHost(h, path.Index(i).Child("hosts").Index(j))...)
		}
		if !opts.allowInvalidSecretName {
			for _, msg := range validateTLSSecretName(t.SecretName) {
				errs = append(errs, field.Invalid(path.Index(i).Child("secretName"), t.SecretName, msg))
			}
		}
	}
	return errs
}

// validateTLSSecretName is kube's: empty, or a Secret's name (a DNS
// subdomain, kube's ValidateSecretName).
func validateTLSSecretName(name string) []string {
	if name == "" {
		return nil
	}
	return apimachineryvalidation.NameIsDNSSubdomain(name, false)
}

// validateDNSHost: a wildcard DNS subdomain when h has a '*', else a DNS
// subdomain.
func validateDNSHost(h string, path *field.Path) field.ErrorList {
	check := validation.IsDNS1123Subdomain
	if strings.Contains(h, "*") {
		check = validation.IsWildcardDNS1123Subdomain
	}
	var errs field.ErrorList
	for _, msg := range check(h) {
		errs = append(errs, field.Invalid(path, h, msg))
	}
	return errs
}

// validateIngressRules is kube's validateIngressRules: a host is not an IP
// (as kube's sloppy parser reads one) and is a DNS subdomain, a wildcard
// one when it has a '*'; the rule's paths are skipped under a wildcard
// host when opts allow invalid wildcard rules.
func validateIngressRules(rules []networkingv1.IngressRule, path *field.Path, opts ingressOptions) field.ErrorList {
	var errs field.ErrorList
	for i, r := range rules {
		rp := path.Index(i)
		if r.Host != "" {
			if netutils.ParseIPSloppy(r.Host) != nil {
				errs = append(errs, field.Invalid(rp.Child("host"), r.Host, "must be a DNS name, not an IP address"))
			}
			errs = append(errs, validateDNSHost(r.Host, rp.Child("host"))...)
		}
		if !strings.Contains(r.Host, "*") || !opts.allowInvalidWildcardHostRule {
			errs = append(errs, validateIngressRuleValue(&r.IngressRuleValue, rp, opts)...)
		}
	}
	return errs
}

// validateIngressRuleValue is kube's validateIngressRuleValue and
// validateHTTPIngressRuleValue: an http rule has paths.
func validateIngressRuleValue(r *networkingv1.IngressRuleValue, path *field.Path, opts ingressOptions) field.ErrorList {
	if r.HTTP == nil {
		return nil
	}
	var errs field.ErrorList
	pp := path.Child("http", "paths")
	if len(r.HTTP.Paths) == 0 {
		errs = append(errs, field.Required(pp, ""))
	}
	for j := range r.HTTP.Paths {
		errs = append(errs, validatePath(&r.HTTP.Paths[j], pp.Index(j), opts)...)
	}
	return errs
}

// validatePath is kube's validateHTTPIngressPath: a pathType, and nothing
// else checked without one; an Exact or Prefix path absolute and
// without "//", "/./", "/../" or an encoded slash, not ending in "/.."
// or "/."; an ImplementationSpecific one absolute when given; then the
// backend.
func validatePath(p *networkingv1.HTTPIngressPath, path *field.Path, opts ingressOptions) field.ErrorList {
	if p.PathType == nil {
		return field.ErrorList{field.Required(path.Child("pathType"), "pathType must be specified")}
	}
	var errs field.ErrorList
	switch *p.PathType {
	case networkingv1.PathTypeExact, networkingv1.PathTypePrefix:
		if !strings.HasPrefix(p.Path, "/") {
			errs = append(errs, field.Invalid(path.Child("path"), p.Path, "must be an absolute path"))
		}
		for _, seq := range invalidPathSequences {
			if strings.Contains(p.Path, seq) {
				errs = append(errs, field.Invalid(path.Child("path"), p.Path, fmt.Sprintf("must not contain '%s'", seq)))
			}
		}
		for _, suffix := range invalidPathSuffixes {
			if strings.HasSuffix(p.Path, suffix) {
				errs = append(errs, field.Invalid(path.Child("path"), p.Path, fmt.Sprintf("cannot end with '%s'", suffix)))
			}
		}
	case networkingv1.PathTypeImplementationSpecific:
		if p.Path != "" && !strings.HasPrefix(p.Path, "/") {
			errs = append(errs, field.Invalid(path.Child("path"), p.Path, "must be an absolute path"))
		}
	default:
		errs = append(errs, field.NotSupported(path.Child("pathType"), *p.PathType, pathTypes))
	}
	return append(errs, validateBackend(&p.Backend, path.Child("backend"), opts)...)
}

// validateBackend is kube's validateIngressBackend: a resource or a
// service, not both. A service has a name (a DNS label, or a DNS-1035
// label under opts' zero value) and a port by name or by number, whose
// absence or doubling kube reports at the backend itself.
func validateBackend(b *networkingv1.IngressBackend, path *field.Path, opts ingressOptions) field.ErrorList {
	switch {
	case b.Service != nil && b.Resource != nil:
		return field.ErrorList{field.Invalid(path, "", "cannot set both resource and service backends")}
	case b.Resource != nil:
		return validateResourceBackend(b.Resource, path.Child("resource"))
	case b.Service == nil:
		return field.ErrorList{field.Invalid(path, "", "resource or service backend is required")}
	}
	s := b.Service
	var errs field.ErrorList
	if s.Name == "" {
		errs = append(errs, field.Required(path.Child("service", "name"), ""))
	} else {
		name := apimachineryvalidation.NameIsDNS1035Label
		if opts.relaxedServiceNames {
			name = apimachineryvalidation.NameIsDNSLabel
		}
		for _, msg := range name(s.Name, false) {
			errs = append(errs, field.Invalid(path.Child("service", "name"), s.Name, msg))
		}
	}
	switch {
	case s.Port.Name != "" && s.Port.Number != 0:
		errs = append(errs, field.Invalid(path, "", "cannot set both port name & port number"))
	case s.Port.Name != "":
		for _, msg := range validation.IsValidPortName(s.Port.Name) {
			errs = append(errs, field.Invalid(path.Child("service", "port", "name"), s.Port.Name, msg))
		}
	case s.Port.Number != 0:
		for _, msg := range validation.IsValidPortNum(int(s.Port.Number)) {
			errs = append(errs, field.Invalid(path.Child("service", "port", "number"), s.Port.Number, msg))
		}
	default:
		errs = append(errs, field.Required(path, "port name or number is required"))
	}
	return errs
}

// validateResourceBackend is kube's validateIngressTypedLocalObjectReference:
// an apiGroup that is a DNS subdomain, a kind and a name that are path
// segments.
func validateResourceBackend(r *corev1.TypedLocalObjectReference, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if r.APIGroup != nil {
		for _, msg := range validation.IsDNS1123Subdomain(*r.APIGroup) {
			errs = append(errs, field.Invalid(path.Child("apiGroup"), *r.APIGroup, msg))
		}
	}
	for _, f := range []struct{ name, value string }{{"kind", r.Kind}, {"name", r.Name}} {
		if f.value == "" {
			errs = append(errs, field.Required(path.Child(f.name), ""))
			continue
		}
		for _, msg := range content.IsPathSegmentName(f.value) {
			errs = append(errs, field.Invalid(path.Child(f.name), f.value, msg))
		}
	}
	return errs
}

// hasInvalidSecretName is kube's allowInvalidSecretName of the stored
// spec: one of its TLS secret names is not a Secret's name.
func hasInvalidSecretName(old *networkingv1.IngressSpec) bool {
	for _, t := range old.TLS {
		if len(validateTLSSecretName(t.SecretName)) > 0 {
			return true
		}
	}
	return false
}

// hasInvalidWildcardHostRule is kube's allowInvalidWildcardHostRule of
// the stored spec: a rule under a wildcard host fails kube's checks of a
// rule with IngressValidationOptions{} (so DNS-1035 service names).
func hasInvalidWildcardHostRule(old *networkingv1.IngressSpec) bool {
	for i := range old.Rules {
		r := &old.Rules[i]
		if strings.Contains(r.Host, "*") && len(validateIngressRuleValue(&r.IngressRuleValue, nil, ingressOptions{})) > 0 {
			return true
		}
	}
	return false
}

// ingressClassAnnotation is the annotation that named an ingress's class
// before spec.ingressClassName.
const ingressClassAnnotation = "kubernetes.io/ingress.class"

// ingressWarnings: a new ingress that names its class by the deprecated
// annotation only.
func ingressWarnings(obj, old runtime.Object) []string {
	ing := obj.(*networkingv1.Ingress)
	if _, ok := ing.Annotations[ingressClassAnnotation]; old != nil || !ok || ing.Spec.IngressClassName != nil {
		return nil
	}
	return []string{fmt.Sprintf("annotation %q is deprecated, please use 'spec.ingressClassName' instead", ingressClassAnnotation)}
}
