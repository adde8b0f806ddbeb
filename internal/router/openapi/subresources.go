package openapi

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// subresource says what a subresource serves, as kube-apiserver's storage
// for it does. A catalogue row only names its subresources ("status",
// "scale", "log"); the operations behind each name are the same
// everywhere, so they are described once, here.
type subresource struct {
	// kind served at the subresource, when it is not the parent's kind
	// (autoscaling/v1 Scale for scale, PodExecOptions for exec).
	kind schema.GroupVersionKind
	// verbs, as in discovery: get, update, patch, create.
	verbs []string
	// connect lists the HTTP methods of a connect subresource (exec,
	// proxy): streams and proxies rather than objects.
	connect []string
	// subpath: a connect subresource also serves below itself
	// (pods/{name}/proxy/{path}).
	subpath bool
	// options are the query parameters of get or connect, as a struct
	// (PodLogOptions, PodExecOptions).
	options any
	// text: get answers with text rather than an object (pods/log);
	// produces lists the extra media types it answers in.
	text     bool
	produces []string
}

var (
	getUpdatePatch = []string{"get", "update", "patch"}
	connectGetPost = []string{"GET", "POST"}
	// proxyMethods are every method a proxy passes on.
	proxyMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
)

func coreKind(kind string) schema.GroupVersionKind {
	return schema.GroupVersionKind{Version: "v1", Kind: kind}
}

// subresources is keyed by subresource name, or by "resource/subresource"
// where the same name means different things on different resources
// (pods/proxy and services/proxy take different options). The longer key
// wins.
var subresources = map[string]subresource{
	"status":              {verbs: getUpdatePatch},
	"scale":               {kind: schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}, verbs: getUpdatePatch},
	"approval":            {verbs: getUpdatePatch},
	"ephemeralcontainers": {verbs: getUpdatePatch},
	"resize":              {verbs: getUpdatePatch},
	"finalize":            {verbs: []string{"update"}},

	"pods/binding":          {kind: coreKind("Binding"), verbs: []string{"create"}},
	"pods/eviction":         {kind: schema.GroupVersionKind{Group: "policy", Version: "v1", Kind: "Eviction"}, verbs: []string{"create"}},
	"serviceaccounts/token": {kind: schema.GroupVersionKind{Group: "authentication.k8s.io", Version: "v1", Kind: "TokenRequest"}, verbs: []string{"create"}},

	"pods/log": {verbs: []string{"get"}, options: &corev1.PodLogOptions{}, text: true, produces: []string{"text/plain"}},

	"pods/exec":        {kind: coreKind("PodExecOptions"), connect: connectGetPost, options: &corev1.PodExecOptions{}},
	"pods/attach":      {kind: coreKind("PodAttachOptions"), connect: connectGetPost, options: &corev1.PodAttachOptions{}},
	"pods/portforward": {kind: coreKind("PodPortForwardOptions"), connect: connectGetPost, options: &corev1.PodPortForwardOptions{}},
	"pods/proxy":       {kind: coreKind("PodProxyOptions"), connect: proxyMethods, subpath: true, options: &corev1.PodProxyOptions{}},
	"nodes/proxy":      {kind: coreKind("NodeProxyOptions"), connect: proxyMethods, subpath: true, options: &corev1.NodeProxyOptions{}},
	"services/proxy":   {kind: coreKind("ServiceProxyOptions"), connect: proxyMethods, subpath: true, options: &corev1.ServiceProxyOptions{}},
}

func lookupSubresource(resource, name string) (subresource, bool) {
	if s, ok := subresources[resource+"/"+name]; ok {
		return s, true
	}
	s, ok := subresources[name]
	return s, ok
}
