package networking

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/utils/ptr"

	"kapi/internal/registry/fieldtest"
)

// ingCase is a create (old nil) or an update of an Ingress.
type ingCase struct {
	name     string
	old, obj *networkingv1.Ingress
	want     string
}

// ingressCases: kube 1.37's ValidateIngressCreate and
// ValidateIngressUpdate with the options they compute, with their
// messages.
func ingressCases() []ingCase {
	type (
		backend = networkingv1.IngressBackend
		path    = networkingv1.HTTPIngressPath
	)
	pt := func(t networkingv1.PathType) *networkingv1.PathType { return &t }
	str := func(s string) *string { return &s }
	svc := func(name string, number int32, port string) backend {
		return backend{Service: &networkingv1.IngressServiceBackend{Name: name,
			Port: networkingv1.ServiceBackendPort{Name: port, Number: number}}}
	}
	web := svc("web", 80, "")
	bucket := backend{Resource: &corev1.TypedLocalObjectReference{APIGroup: str("storage.example.com"), Kind: "StorageBucket", Name: "static"}}
	rule := func(host string, paths ...path) networkingv1.IngressRule {
		return networkingv1.IngressRule{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{
			HTTP: &networkingv1.HTTPIngressRuleValue{Paths: paths}}}
	}
	prefix := func(p string, b backend) path {
		return path{Path: p, PathType: pt(networkingv1.PathTypePrefix), Backend: b}
	}
	ing := func(rules ...networkingv1.IngressRule) *networkingv1.Ingress {
		return &networkingv1.Ingress{Spec: networkingv1.IngressSpec{Rules: rules}}
	}
	withTLS := func(i *networkingv1.Ingress, tls ...networkingv1.IngressTLS) *networkingv1.Ingress {
		i.Spec.TLS = tls
		return i
	}
	classed := func(i *networkingv1.Ingress, annotation string, class *string) *networkingv1.Ingress {
		i.Annotations = map[string]string{"kubernetes.io/ingress.class": annotation}
		i.Spec.IngressClassName = class
		return i
	}
	r0 := "spec.rules[0]"
	p0 := r0 + ".http.paths[0]"
	b0 := p0 + ".backend"
	dns1123 := `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`
	return []ingCase{
		{"valid", nil, classed(withTLS(ing(
			rule("*.example.com", prefix("/", web), path{Path: "/api", PathType: pt(networkingv1.PathTypeExact), Backend: svc("api", 0, "http")}),
			rule("", path{PathType: pt(networkingv1.PathTypeImplementationSpecific), Backend: bucket}),
		), networkingv1.IngressTLS{Hosts: []string{"*.example.com", "10.0.0.1"}, SecretName: "example-tls"}, networkingv1.IngressTLS{}),
			"nginx", str("nginx")), ""},
		{"default backend only, a service named as a DNS label", nil,
			&networkingv1.Ingress{Spec: networkingv1.IngressSpec{DefaultBackend: ptr.To(svc("1web", 80, ""))}}, ""},
		{"neither rules nor default backend", nil, ing(),
			"spec: Invalid value: null: either `defaultBackend` or `rules` must be specified"},
		{"IPv4 host", nil, ing(rule("10.0.0.1", prefix("/", web))),
			r0 + `.host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address`},
		{"IPv6 host", nil, ing(rule("2001:db8::1", prefix("/", web))),
			r0 + `.host: Invalid value: "2001:db8::1": must be a DNS name, not an IP address` + "\n" +
				r0 + `.host: Invalid value: "2001:db8::1": ` + dns1123},
		{"wildcard host", nil, ing(rule("*.*.example.com", prefix("/", web))),
			r0 + `.host: Invalid value: "*.*.example.com": a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`},
		{"http without paths", nil, ing(rule("a.example.com")), r0 + ".http.paths: Required value"},
		{"no pathType, and nothing else checked", nil, ing(rule("a.example.com", path{Path: "api"})),
			p0 + ".pathType: Required value: pathType must be specified"},
		{"relative Prefix path", nil, ing(rule("a.example.com", prefix("api", web))),
			p0 + `.path: Invalid value: "api": must be an absolute path`},
		{"path sequences and suffixes", nil, ing(rule("a.example.com", prefix("/a//b/%2fc/..", web),
			path{Path: "/a/./b/.", PathType: pt(networkingv1.PathTypeExact), Backend: web})),
			p0 + `.path: Invalid value: "/a//b/%2fc/..": must not contain '//'` + "\n" +
				p0 + `.path: Invalid value: "/a//b/%2fc/..": must not contain '%2f'` + "\n" +
				p0 + `.path: Invalid value: "/a//b/%2fc/..": cannot end with '/..'` + "\n" +
				r0 + `.http.paths[1].path: Invalid value: "/a/./b/.": must not contain '/./'` + "\n" +
				r0 + `.http.paths[1].path: Invalid value: "/a/./b/.": cannot end with '/.'`},
		{"ImplementationSpecific path", nil, ing(rule("a.example.com",
			path{Path: "a//b", PathType: pt(networkingv1.PathTypeImplementationSpecific), Backend: web})),
			p0 + `.path: Invalid value: "a//b": must be an absolute path`},
		{"unknown pathType", nil, ing(rule("a.example.com", path{Path: "/", PathType: pt("Regex"), Backend: backend{}})),
			p0 + `.pathType: Unsupported value: "Regex": supported values: "Exact", "ImplementationSpecific", "Prefix"` + "\n" +
				b0 + `: Invalid value: "": resource or service backend is required`},
		{"service and resource", nil, ing(rule("a.example.com", prefix("/", backend{Service: web.Service, Resource: bucket.Resource}))),
			b0 + `: Invalid value: "": cannot set both resource and service backends`},
		{"service name and port both ways", nil, ing(rule("a.example.com", prefix("/", svc("Web", 80, "http")))),
			b0 + `.service.name: Invalid value: "Web": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')` + "\n" +
				b0 + `: Invalid value: "": cannot set both port name & port number`},
		{"service without name or port", nil, ing(rule("a.example.com", prefix("/", svc("", 0, "")))),
			b0 + ".service.name: Required value\n" + b0 + ": Required value: port name or number is required"},
		{"port number and port name", nil, ing(rule("a.example.com", prefix("/", svc("web", 70000, "")), prefix("/b", svc("web", 0, "HTTP_X")))),
			b0 + ".service.port.number: Invalid value: 70000: must be between 1 and 65535, inclusive\n" +
				r0 + `.http.paths[1].backend.service.port.name: Invalid value: "HTTP_X": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)` + "\n" +
				r0 + `.http.paths[1].backend.service.port.name: Invalid value: "HTTP_X": must contain at least one letter (a-z)`},
		{"resource backend", nil, &networkingv1.Ingress{Spec: networkingv1.IngressSpec{DefaultBackend: &backend{
			Resource: &corev1.TypedLocalObjectReference{APIGroup: str("Example_Group"), Name: "a/b"}}}},
			`spec.defaultBackend.resource.apiGroup: Invalid value: "Example_Group": ` + dns1123 + "\n" +
				"spec.defaultBackend.resource.kind: Required value\n" +
				`spec.defaultBackend.resource.name: Invalid value: "a/b": may not contain '/'`},
		{"TLS hosts and secret", nil, withTLS(ing(rule("a.example.com", prefix("/", web))),
			networkingv1.IngressTLS{Hosts: []string{"Bad_Host", "*.bad_wildcard"}, SecretName: "Bad_Secret"}),
			`spec.tls[0].hosts[0]: Invalid value: "Bad_Host": ` + dns1123 + "\n" +
				`spec.tls[0].hosts[1]: Invalid value: "*.bad_wildcard": a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')` + "\n" +
				`spec.tls[0].secretName: Invalid value: "Bad_Secret": ` + dns1123},
		{"class name", nil, classed(ing(rule("a.example.com", prefix("/", web))), "Nginx", str("Nginx")),
			`spec.ingressClassName: Invalid value: "Nginx": ` + dns1123},
		{"annotation naming another class", nil, classed(ing(rule("a.example.com", prefix("/", web))), "nginx", str("haproxy")),
			`annotations.kubernetes.io/ingress.class: Invalid value: "nginx": must match ` + "`ingressClassName`" + ` when both are specified`},
		{"errors in kube's order", nil, withTLS(&networkingv1.Ingress{Spec: networkingv1.IngressSpec{
			IngressClassName: str("Nginx"), DefaultBackend: &backend{},
			Rules: []networkingv1.IngressRule{rule("10.0.0.1", prefix("api", web))}}},
			networkingv1.IngressTLS{SecretName: "Bad_Secret"}),
			`spec.defaultBackend: Invalid value: "": resource or service backend is required` + "\n" +
				r0 + `.host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address` + "\n" +
				p0 + `.path: Invalid value: "api": must be an absolute path` + "\n" +
				`spec.tls[0].secretName: Invalid value: "Bad_Secret": ` + dns1123 + "\n" +
				`spec.ingressClassName: Invalid value: "Nginx": ` + dns1123},
		// Updates.
		{"update, valid", ing(rule("a.example.com", prefix("/", web))), ing(rule("b.example.com", prefix("/v2", web))), ""},
		{"update: the annotation may name another class", ing(rule("a.example.com", prefix("/", web))),
			classed(ing(rule("a.example.com", prefix("/", web))), "nginx", str("haproxy")), ""},
		{"update keeps a stored invalid secret name, and allows others",
			withTLS(ing(rule("a.example.com", prefix("/", web))), networkingv1.IngressTLS{SecretName: "Bad_Secret"}),
			withTLS(ing(rule("a.example.com", prefix("/", web))), networkingv1.IngressTLS{SecretName: "Bad_Secret"},
				networkingv1.IngressTLS{Hosts: []string{"Bad_Host"}, SecretName: "Other_Secret"}),
			`spec.tls[1].hosts[0]: Invalid value: "Bad_Host": ` + dns1123},
		{"update checks a new invalid secret name", withTLS(ing(rule("a.example.com", prefix("/", web))), networkingv1.IngressTLS{SecretName: "ok"}),
			withTLS(ing(rule("a.example.com", prefix("/", web))), networkingv1.IngressTLS{SecretName: "Bad_Secret"}),
			`spec.tls[0].secretName: Invalid value: "Bad_Secret": ` + dns1123},
		{"update keeps a stored invalid wildcard rule, and allows others under wildcard hosts",
			ing(rule("*.example.com", prefix("api", web))),
			ing(rule("*.example.com", prefix("api", web)), rule("*.example.org", path{Path: "x"}), rule("a.example.com", prefix("x", web))),
			`spec.rules[2].http.paths[0].path: Invalid value: "x": must be an absolute path`},
		{"update: a stored wildcard rule to a DNS-label service counts as invalid",
			ing(rule("*.example.com", prefix("/", svc("1web", 80, "")))),
			ing(rule("*.example.com", prefix("relative", web))), ""},
		{"update checks a new invalid wildcard rule", ing(rule("*.example.com", prefix("/", web))),
			ing(rule("*.example.com", prefix("api", web))),
			p0 + `.path: Invalid value: "api": must be an absolute path`},
	}
}

func TestIngressValidation(t *testing.T) {
	for _, c := range ingressCases() {
		t.Run(c.name, func(t *testing.T) {
			if c.old == nil {
				ingressHooks.PrepareCreate(c.obj)
			} else {
				ingressHooks.PrepareUpdate(c.obj, c.old)
			}
			if got := fieldtest.Lines(ingressHooks.Validate(c.obj, c.old)); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}
