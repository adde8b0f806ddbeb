package request

import (
	"net/http/httptest"
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		method, url string
		want        Info
	}{
		{"GET", "/api/v1/namespaces/default/pods/p1/status", Info{IsResourceRequest: true, Verb: "get", APIPrefix: "api", APIVersion: "v1", Namespace: "default", Resource: "pods", Name: "p1", Subresource: "status"}},
		{"GET", "/api/v1/namespaces", Info{IsResourceRequest: true, Verb: "list", APIPrefix: "api", APIVersion: "v1", Resource: "namespaces"}},
		{"GET", "/api/v1/namespaces/ns1", Info{IsResourceRequest: true, Verb: "get", APIPrefix: "api", APIVersion: "v1", Namespace: "ns1", Resource: "namespaces", Name: "ns1"}},
		{"PUT", "/api/v1/namespaces/ns1/finalize", Info{IsResourceRequest: true, Verb: "update", APIPrefix: "api", APIVersion: "v1", Namespace: "ns1", Resource: "namespaces", Name: "ns1", Subresource: "finalize"}},
		{"GET", "/apis/apps/v1/deployments?watch=true", Info{IsResourceRequest: true, Verb: "watch", APIPrefix: "apis", APIGroup: "apps", APIVersion: "v1", Resource: "deployments"}},
		{"GET", "/apis/apps/v1/watch/namespaces/a/deployments/d", Info{IsResourceRequest: true, Verb: "watch", APIPrefix: "apis", APIGroup: "apps", APIVersion: "v1", Namespace: "a", Resource: "deployments", Name: "d"}},
		{"DELETE", "/api/v1/namespaces/ns1/configmaps", Info{IsResourceRequest: true, Verb: "deletecollection", APIPrefix: "api", APIVersion: "v1", Namespace: "ns1", Resource: "configmaps"}},
		{"DELETE", "/api/v1/namespaces/ns1/configmaps/c", Info{IsResourceRequest: true, Verb: "delete", APIPrefix: "api", APIVersion: "v1", Namespace: "ns1", Resource: "configmaps", Name: "c"}},
		{"POST", "/api/v1/namespaces/ns1/configmaps", Info{IsResourceRequest: true, Verb: "create", APIPrefix: "api", APIVersion: "v1", Namespace: "ns1", Resource: "configmaps"}},
		{"PATCH", "/api/v1/nodes/n1", Info{IsResourceRequest: true, Verb: "patch", APIPrefix: "api", APIVersion: "v1", Resource: "nodes", Name: "n1"}},
		{"GET", "/api/v1/namespaces/kube-system/configmaps?fieldSelector=metadata.name%3Dextension-apiserver-authentication&watch=true", Info{IsResourceRequest: true, Verb: "watch", APIPrefix: "api", APIVersion: "v1", Namespace: "kube-system", Resource: "configmaps", Name: "extension-apiserver-authentication"}},
		{"GET", "/api/v1/configmaps?fieldSelector=metadata.name==c,metadata.namespace=ns", Info{IsResourceRequest: true, Verb: "list", APIPrefix: "api", APIVersion: "v1", Resource: "configmaps", Name: "c"}},
		{"GET", "/api/v1/configmaps?fieldSelector=metadata.name!=c", Info{IsResourceRequest: true, Verb: "list", APIPrefix: "api", APIVersion: "v1", Resource: "configmaps"}},
		{"GET", "/api/v1/configmaps?fieldSelector=metadata.name=a%2Fb", Info{IsResourceRequest: true, Verb: "list", APIPrefix: "api", APIVersion: "v1", Resource: "configmaps"}},
		{"DELETE", "/api/v1/namespaces/ns1/configmaps?fieldSelector=metadata.name=c", Info{IsResourceRequest: true, Verb: "deletecollection", APIPrefix: "api", APIVersion: "v1", Namespace: "ns1", Resource: "configmaps"}},
		{"GET", "/version", Info{Verb: "get"}},
		{"GET", "/apis/apps", Info{Verb: "get", APIPrefix: "apis", APIGroup: "apps"}},
		{"GET", "/api/v1", Info{Verb: "get", APIPrefix: "api", APIVersion: "v1"}},
	}
	for _, c := range cases {
		got := Parse(httptest.NewRequest(c.method, c.url, nil))
		got.Path, got.Parts = "", nil
		if !reflect.DeepEqual(*got, c.want) {
			t.Errorf("%s %s:\n got %+v\nwant %+v", c.method, c.url, *got, c.want)
		}
	}
}
