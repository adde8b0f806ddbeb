package authz

import (
	"net/http"
	"testing"

	"kapi/internal/request"
)

func TestForbidden(t *testing.T) {
	bob := &request.User{Name: "bob"}
	cases := []struct {
		a       Attributes
		reason  string
		message string
	}{
		{Attributes{User: bob, Verb: "list", ResourceRequest: true, Resource: "pods", Namespace: "dev"}, "",
			`pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "dev"`},
		{Attributes{User: bob, Verb: "get", ResourceRequest: true, APIGroup: "apps", Resource: "deployments", Subresource: "scale", Namespace: "dev", Name: "web"}, "",
			`deployments.apps "web" is forbidden: User "bob" cannot get resource "deployments/scale" in API group "apps" in the namespace "dev"`},
		{Attributes{User: bob, Verb: "delete", ResourceRequest: true, Resource: "nodes", Name: "n1"}, "",
			`nodes "n1" is forbidden: User "bob" cannot delete resource "nodes" in API group "" at the cluster scope`},
		{Attributes{User: bob, Verb: "get", Path: "/metrics"}, "",
			`forbidden: User "bob" cannot get path "/metrics"`},
		{Attributes{User: bob, Verb: "get", Path: "/a<b>&"}, `RBAC: role.rbac.authorization.k8s.io "x" not found`,
			`forbidden: User "bob" cannot get path "/a&lt;b&gt;&amp;": RBAC: role.rbac.authorization.k8s.io "x" not found`},
		{Attributes{Verb: "get", Path: "/"}, "", `forbidden: User "" cannot get path "/"`},
	}
	for _, c := range cases {
		err := Forbidden(c.a, c.reason)
		if err.ErrStatus.Message != c.message {
			t.Errorf("message:\n got %s\nwant %s", err.ErrStatus.Message, c.message)
		}
		if err.ErrStatus.Code != http.StatusForbidden || err.ErrStatus.Reason != "Forbidden" {
			t.Errorf("status: %d %s", err.ErrStatus.Code, err.ErrStatus.Reason)
		}
	}
}
