package networking

import (
	"fmt"
	"net/netip"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// ingressHooks check an Ingress as kube-apiserver's
// pkg/apis/networking/validation does for what people write: a default
// backend or rules, DNS host names (a leading "*." allowed, IPs not),
// paths with a known pathType and absolute when Exact or Prefix, and
// backends naming a service port by number or name.
var ingressHooks = &registry.Hooks{
	Validate: func(obj, _ runtime.Object) field.ErrorList {
		return validateIngressSpec(&obj.(*networkingv1.Ingress).Spec, field.NewPath("spec"))
	},
	Warnings: ingressWarnings,
}

var pathTypes = []string{string(networkingv1.PathTypeExact), string(networkingv1.PathTypePrefix), string(networkingv1.PathTypeImplementationSpecific)}

func validateIngressSpec(s *networkingv1.IngressSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(s.Rules) == 0 && s.DefaultBackend == nil {
		errs = append(errs, field.Invalid(path, s.Rules, "either `defaultBackend` or `rules` must be specified"))
	}
	if s.DefaultBackend != nil {
		errs = append(errs, validateBackend(s.DefaultBackend, path.Child("defaultBackend"))...)
	}
	if c := s.IngressClassName; c != nil {
		for _, msg := range validation.IsDNS1123Subdomain(*c) {
			errs = append(errs, field.Invalid(path.Child("ingressClassName"), *c, msg))
		}
	}
	for i, tls := range s.TLS {
		for j, h := range tls.Hosts {
			errs = append(errs, validateHost(h, path.Child("tls").Index(i).Child("hosts").Index(j))...)
		}
	}
	for i, r := range s.Rules {
		rp := path.Child("rules").Index(i)
		if r.Host != "" {
			errs = append(errs, validateHost(r.Host, rp.Child("host"))...)
		}
		if r.HTTP == nil {
			continue
		}
		pp := rp.Child("http", "paths")
		if len(r.HTTP.Paths) == 0 {
			errs = append(errs, field.Required(pp, ""))
		}
		for j := range r.HTTP.Paths {
			errs = append(errs, validatePath(&r.HTTP.Paths[j], pp.Index(j))...)
		}
	}
	return errs
}

func validateHost(h string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if _, err := netip.ParseAddr(h); err == nil {
		return field.ErrorList{field.Invalid(path, h, "must be a DNS name, not an IP address")}
	}
	if strings.Contains(h, "*") {
		for _, msg := range validation.IsWildcardDNS1123Subdomain(h) {
			errs = append(errs, field.Invalid(path, h, msg))
		}
		return errs
	}
	for _, msg := range validation.IsDNS1123Subdomain(h) {
		errs = append(errs, field.Invalid(path, h, msg))
	}
	return errs
}

func validatePath(p *networkingv1.HTTPIngressPath, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case p.PathType == nil:
		errs = append(errs, field.Required(path.Child("pathType"), "pathType must be specified"))
	case *p.PathType == networkingv1.PathTypeExact || *p.PathType == networkingv1.PathTypePrefix:
		if !strings.HasPrefix(p.Path, "/") {
			errs = append(errs, field.Invalid(path.Child("path"), p.Path, "must be an absolute path"))
		}
	case *p.PathType == networkingv1.PathTypeImplementationSpecific:
		if p.Path != "" && !strings.HasPrefix(p.Path, "/") {
			errs = append(errs, field.Invalid(path.Child("path"), p.Path, "must be an absolute path"))
		}
	default:
		errs = append(errs, field.NotSupported(path.Child("pathType"), *p.PathType, pathTypes))
	}
	return append(errs, validateBackend(&p.Backend, path.Child("backend"))...)
}

func validateBackend(b *networkingv1.IngressBackend, path *field.Path) field.ErrorList {
	switch {
	case b.Service != nil && b.Resource != nil:
		return field.ErrorList{field.Invalid(path, "", "cannot set both resource and service backends")}
	case b.Resource != nil:
		var errs field.ErrorList
		if b.Resource.Kind == "" {
			errs = append(errs, field.Required(path.Child("resource", "kind"), ""))
		}
		if b.Resource.Name == "" {
			errs = append(errs, field.Required(path.Child("resource", "name"), ""))
		}
		return errs
	case b.Service != nil:
		return validateServiceBackend(b.Service, path.Child("service"))
	}
	return field.ErrorList{field.Invalid(path, "", "resource or service backend is required")}
}

func validateServiceBackend(s *networkingv1.IngressServiceBackend, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.Name == "" {
		errs = append(errs, field.Required(path.Child("name"), ""))
	} else {
		for _, msg := range validation.IsDNS1035Label(s.Name) {
			errs = append(errs, field.Invalid(path.Child("name"), s.Name, msg))
		}
	}
	pp := path.Child("port")
	switch {
	case s.Port.Name != "" && s.Port.Number != 0:
		errs = append(errs, field.Invalid(pp, s.Port, "cannot set both port name & port number"))
	case s.Port.Name != "":
		for _, msg := range validation.IsValidPortName(s.Port.Name) {
			errs = append(errs, field.Invalid(pp.Child("name"), s.Port.Name, msg))
		}
	case s.Port.Number != 0:
		for _, msg := range validation.IsValidPortNum(int(s.Port.Number)) {
			errs = append(errs, field.Invalid(pp.Child("number"), s.Port.Number, msg))
		}
	default:
		errs = append(errs, field.Required(pp, "port name or number is required"))
	}
	return errs
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
