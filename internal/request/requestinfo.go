// Package request holds what the filters learn about a request (which
// resource it addresses, with which verb; later, who sends it) and the
// context helpers that carry it to the handlers.
package request

import (
	"context"
	"net/http"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/validation/path"
	"k8s.io/apimachinery/pkg/fields"
)

// Info describes a request as kube-apiserver's RequestInfo does.
//
// Examples:
//
//	GET /api/v1/namespaces/default/pods/p1/status   get pods/status "p1" in "default"
//	GET /apis/apps/v1/deployments?watch=true        watch deployments (all namespaces)
//	DELETE /api/v1/namespaces/ns1/configmaps        deletecollection configmaps in "ns1"
//	GET /version                                    non-resource "get"
type Info struct {
	IsResourceRequest bool
	Path              string
	Verb              string // get list watch create update patch delete deletecollection; for non-resource requests the lower-case method
	APIPrefix         string // "api" or "apis"
	APIGroup          string
	APIVersion        string
	Namespace         string
	Resource          string
	Subresource       string
	Name              string
	// Parts are the path segments from the resource on.
	Parts []string
	// Received is when the request came in (set by the requestinfo
	// filter): the start of apiserver_request_duration_seconds.
	Received time.Time
}

// namespaceSubresources are subresources of a namespace object, not
// resources inside the namespace.
var namespaceSubresources = map[string]bool{"status": true, "finalize": true}

// methodVerbs maps HTTP methods to the verbs of a request naming one object
// (first) or a collection (second).
var methodVerbs = map[string][2]string{
	http.MethodGet:    {"get", "list"},
	http.MethodHead:   {"get", "list"},
	http.MethodPost:   {"create", "create"},
	http.MethodPut:    {"update", "update"},
	http.MethodPatch:  {"patch", "patch"},
	http.MethodDelete: {"delete", "deletecollection"},
}

// Parse reads the Info of r. Paths outside /api and /apis, or too short to
// name a resource, are non-resource requests.
func Parse(r *http.Request) *Info {
	info := &Info{Path: r.URL.Path, Verb: strings.ToLower(r.Method)}
	parts := splitPath(r.URL.Path)
	if len(parts) < 1 || (parts[0] != "api" && parts[0] != "apis") {
		return info
	}
	info.APIPrefix = parts[0]
	parts = parts[1:]
	if info.APIPrefix == "apis" {
		if len(parts) < 1 {
			return info
		}
		info.APIGroup, parts = parts[0], parts[1:]
	}
	if len(parts) < 1 {
		return info
	}
	info.APIVersion, parts = parts[0], parts[1:]
	if len(parts) < 1 {
		return info
	}
	info.IsResourceRequest = true

	watchPath := false
	if parts[0] == "watch" {
		watchPath, parts = true, parts[1:]
		if len(parts) < 1 {
			info.IsResourceRequest = false
			return info
		}
	}
	if parts[0] == "namespaces" && len(parts) > 1 {
		info.Namespace = parts[1]
		if len(parts) > 2 && !namespaceSubresources[parts[2]] {
			parts = parts[2:]
		}
	}
	info.Parts = parts
	info.Resource = parts[0]
	if len(parts) > 1 {
		info.Name = parts[1]
	}
	if len(parts) > 2 {
		info.Subresource = parts[2]
	}

	verbs, ok := methodVerbs[r.Method]
	switch {
	case !ok:
		info.Verb = strings.ToLower(r.Method)
	case info.Name != "":
		info.Verb = verbs[0]
	default:
		info.Verb = verbs[1]
	}
	if (info.Verb == "list" || info.Verb == "get") && (watchPath || isTrue(r.URL.Query().Get("watch"))) {
		info.Verb = "watch"
	}
	if info.Name == "" && ok && verbs[1] == "list" {
		info.Name = selectedName(r)
	}
	return info
}

// selectedName is the name a list or watch selects with
// fieldSelector=metadata.name=<name>: kube's RequestInfo names the object
// then, so that RBAC's resourceNames allow an informer of one object
// (an extension server's informer of
// kube-system/extension-apiserver-authentication, which the
// extension-apiserver-authentication-reader Role allows by name).
func selectedName(r *http.Request) string {
	sel, err := fields.ParseSelector(r.URL.Query().Get("fieldSelector"))
	if err != nil {
		return ""
	}
	name, found := sel.RequiresExactMatch("metadata.name")
	if !found || len(path.IsValidPathSegmentName(name)) > 0 {
		return ""
	}
	return name
}

func isTrue(s string) bool { return s == "true" || s == "1" }

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

type infoKey struct{}

// WithInfo returns a context that carries info.
func WithInfo(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, infoKey{}, info)
}

// InfoFrom returns the Info the requestinfo filter stored, or nil.
func InfoFrom(ctx context.Context) *Info {
	info, _ := ctx.Value(infoKey{}).(*Info)
	return info
}
