package openapi

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/util"
)

// The discovery documents and /version are in the OpenAPI documents too,
// each under its own root, as kube-apiserver lists them.

// discoveryRoute is the GET of a discovery document at root + "/".
func (in *installer) discoveryRoute(root, operation, doc string, m model) *route {
	return &route{method: "GET", path: root + "/", operation: operation, doc: doc,
		consumes: in.media, produces: in.media, writes: m}
}

// rootServices are the roots above the group versions: /api, /apis, each
// /apis/<group>, and /version.
func (in *installer) rootServices(legacy bool, groups []string) []*webService {
	var ws []*webService
	add := func(root string, r *route) {
		ws = append(ws, &webService{root: root, routes: []common.Route{r}})
	}
	if legacy {
		add("/api", in.discoveryRoute("/api", "getAPIVersions", "get available API versions", model(metav1.APIVersions{}.OpenAPIModelName())))
	}
	add("/apis", in.discoveryRoute("/apis", "getAPIVersions", "get available API versions", model(metav1.APIGroupList{}.OpenAPIModelName())))
	for _, g := range groups {
		add("/apis/"+g, in.discoveryRoute("/apis/"+g, "getAPIGroup", "get information of a group", model(metav1.APIGroup{}.OpenAPIModelName())))
	}
	add("/version", &route{method: "GET", path: "/version/", operation: "getCodeVersion",
		doc: "get the version information for this server", consumes: []string{"application/json"},
		produces: []string{"application/json"}, writes: model(version.Info{}.OpenAPIModelName())})
	return ws
}

// verbs are the words operation names start with.
var verbs = util.NewTrie([]string{"get", "log", "read", "replace", "patch", "delete", "deletecollection", "watch", "connect", "proxy", "list", "create", "patch"})

// operationIDAndTags splices the group and version into an operation name
// and tags the operation with them, as kube-apiserver does so that
// operation IDs are unique across the whole API:
// "listNamespacedDeployment" at /apis/apps/v1/... becomes
// "listAppsV1NamespacedDeployment", tagged "apps_v1"; /api/v1 is group
// "core"; a group's ".k8s.io" is dropped ("networking_v1").
func operationIDAndTags(r common.Route) (string, []string, error) {
	op := r.OperationName()
	prefix, ok := verbs.GetPrefix(op)
	if !ok {
		return op, nil, fmt.Errorf("operation %q does not start with a verb", op)
	}
	op = op[len(prefix):]
	parts := strings.Split(strings.Trim(r.Path(), "/"), "/")
	if len(parts) >= 1 && parts[0] == "api" {
		parts = append([]string{"apis", "core"}, parts[1:]...)
	}
	var tags []string
	switch {
	case len(parts) >= 2 && parts[0] == "apis":
		group := strings.TrimSuffix(parts[1], ".k8s.io")
		prefix += operationWord(group, prefix != "")
		tag := operationWord(group, false)
		if len(parts) > 2 {
			prefix += operationWord(parts[2], prefix != "")
			tag += "_" + operationWord(parts[2], false)
		}
		tags = append(tags, tag)
	case len(parts) >= 1:
		tags = append(tags, operationWord(parts[0], false))
	}
	return prefix + operationWord(op, prefix != ""), tags, nil
}

// operationWord camel-cases s, dropping punctuation:
// "rbac.authorization" -> "RbacAuthorization".
func operationWord(s string, capitalize bool) string {
	var b bytes.Buffer
	for i, r := range s {
		if unicode.IsLetter(r) || r == '_' || (i != 0 && unicode.IsDigit(r)) {
			if capitalize {
				r = unicode.ToUpper(r)
				capitalize = false
			}
			b.WriteRune(r)
		} else {
			capitalize = true
		}
	}
	return b.String()
}
