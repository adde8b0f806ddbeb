package openapi

import (
	"slices"
	"strings"

	"k8s.io/kube-openapi/pkg/common"

	"kapi/internal/registry"
)

// A connection subresource (pods/proxy, services/proxy, nodes/proxy,
// pods/exec, attach, portforward) is documented as kube-apiserver's
// installer documents a rest.Connecter: one "connect" operation per HTTP
// method it answers (connectGetNamespacedPodProxy), on the
// subresource's path and, when its options carry a path (the proxies),
// on the path below it as well (connectGetNamespacedPodProxyWithPath,
// .../proxy/{path}); the options' fields as query parameters, any media
// type both ways, a string as the answer, and the options' kind
// (PodProxyOptions) as the group-version-kind.

// connectMethods are the methods a connection subresource documents, in
// kube's order: a proxy's seven (HEAD and OPTIONS pass too), or those
// of its verbs (GET and POST for exec, attach and portforward).
func connectMethods(sub *registry.Subresource) []string {
	if slices.Equal(sub.Verbs, registry.ProxyVerbs) {
		return []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
	}
	var out []string
	for _, m := range []struct{ method, verb string }{
		{"GET", "get"}, {"POST", "create"}, {"PUT", "update"}, {"PATCH", "patch"}, {"DELETE", "delete"},
	} {
		if slices.Contains(sub.Verbs, m.verb) {
			out = append(out, m.method)
		}
	}
	return out
}

// connectOptions are the query parameters of the subresource's options
// kind (PodExecOptions: stdin, stdout, command, ...), and whether they
// carry a path, which makes the subresource a proxy with paths below
// it. A kind kapi has no Go type for has none.
func connectOptions(sub *registry.Subresource) (params []common.Parameter, subpath bool, err error) {
	obj, err := registry.Scheme.New(sub.Kind)
	if err != nil {
		return nil, false, nil
	}
	params, err = optionParams(obj, "kind", "apiVersion")
	if err != nil {
		return nil, false, err
	}
	for _, p := range params {
		if p.Name() == "path" {
			subpath = true
		}
	}
	return params, subpath, nil
}

// connectActions are the CONNECT actions on the subresource's path, and
// the path below it.
func (e *endpoint) connectActions(itemPath string, nameParams []common.Parameter) []action {
	acts := []action{{verb: "CONNECT", path: itemPath, params: nameParams}}
	if e.connectSubpath {
		withPath := append(append([]common.Parameter{}, nameParams...), pathParam("path", "path to the resource"))
		acts = append(acts, action{verb: "CONNECT", path: itemPath + "/{path}", params: withPath})
	}
	return acts
}

// connectRoutes are the routes of a CONNECT action, one per method.
func (in *installer) connectRoutes(e *endpoint, a action, name string) []*route {
	var out []*route
	if strings.HasSuffix(a.path, "/{path}") {
		name += "WithPath"
	}
	for _, m := range e.connectMethods {
		r := &route{method: m, operation: "connect" + title(m) + name,
			doc:      "connect " + m + " requests to " + e.sub + " of " + e.r.Kind,
			consumes: []string{"*/*"}, produces: []string{"*/*"}, writes: textModel}
		r.returns(200, "OK", textModel).param(e.connectParams...)
		out = append(out, r)
	}
	return out
}
