package audit

import (
	"net/http/httptest"
	"slices"
	"testing"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"kapi/internal/request"
)

// TestRuleMatches: one rule at a time against requests, as kube-apiserver's
// policy checker matches them.
func TestRuleMatches(t *testing.T) {
	alice := &request.User{Name: "alice", Groups: []string{"devs", request.AllAuthenticated}}
	bob := &request.User{Name: "bob", Groups: []string{request.AllAuthenticated}}
	req := func(method, url string) *request.Info { return request.Parse(httptest.NewRequest(method, url, nil)) }
	var (
		getPod        = req("GET", "/api/v1/namespaces/default/pods/p1")
		getPod2       = req("GET", "/api/v1/namespaces/default/pods/p2")
		listPods      = req("GET", "/api/v1/namespaces/default/pods")
		podStatus     = req("PUT", "/api/v1/namespaces/default/pods/p1/status")
		deployScale   = req("PUT", "/apis/apps/v1/namespaces/kube-system/deployments/d/scale")
		getDeploy     = req("GET", "/apis/apps/v1/namespaces/kube-system/deployments/d")
		watchCMs      = req("GET", "/api/v1/configmaps?watch=true")
		createNS      = req("POST", "/api/v1/namespaces")
		getNode       = req("GET", "/api/v1/nodes/n1")
		healthz       = req("GET", "/healthz")
		healthzEtcd   = req("GET", "/healthz/etcd")
		version       = req("GET", "/version")
		createSecrets = req("POST", "/api/v1/namespaces/default/secrets")
	)
	gr := func(group string, resources ...string) auditv1.GroupResources {
		return auditv1.GroupResources{Group: group, Resources: resources}
	}
	cases := []struct {
		name string
		rule auditv1.PolicyRule
		user *request.User
		info *request.Info
		want bool
	}{
		{"empty rule matches all", auditv1.PolicyRule{}, bob, healthz, true},
		{"empty rule matches resources", auditv1.PolicyRule{}, bob, getPod, true},
		{"user", auditv1.PolicyRule{Users: []string{"alice"}}, alice, getPod, true},
		{"other user", auditv1.PolicyRule{Users: []string{"alice"}}, bob, getPod, false},
		{"no user", auditv1.PolicyRule{Users: []string{"alice"}}, nil, getPod, false},
		{"group", auditv1.PolicyRule{UserGroups: []string{"devs"}}, alice, getPod, true},
		{"other group", auditv1.PolicyRule{UserGroups: []string{"devs"}}, bob, getPod, false},
		{"verb", auditv1.PolicyRule{Verbs: []string{"get", "list"}}, bob, listPods, true},
		{"other verb", auditv1.PolicyRule{Verbs: []string{"get", "list"}}, bob, watchCMs, false},
		{"watch verb", auditv1.PolicyRule{Verbs: []string{"watch"}}, bob, watchCMs, true},
		{"non-resource verb", auditv1.PolicyRule{Verbs: []string{"get"}}, bob, healthz, true},
		{"user and verb", auditv1.PolicyRule{Users: []string{"alice"}, Verbs: []string{"create"}}, alice, getPod, false},

		{"resource", auditv1.PolicyRule{Resources: []auditv1.GroupResources{gr("", "pods")}}, bob, getPod, true},
		{"resource list", auditv1.PolicyRule{Resources: []auditv1.GroupResources{gr("", "pods")}}, bob, listPods, true},
		{"resource is not its subresource", auditv1.PolicyRule{Resources: []auditv1.GroupResources{gr("", "pods")}}, bob, podStatus, false},
		{"subresource", auditv1.PolicyRule{Resources: []auditv1.GroupResources{gr("", "pods/status")}}, bob, podStatus, true},
		{"subresource is not its resource", auditv1.PolicyRule{Resources: []auditv1.GroupResources{gr("", "pods/status")}}, bob, getPod, false},
		{"resource/*", auditv1.PolicyRule{Resources: []auditv1.GroupResources{gr("", "pods/*")}}, bob, podStatus, true},
		{"resource/* takes the resource too", auditv1.PolicyRule{Resources: []auditv1.GroupResources{gr("", "pods/*")}}, bob, getPod, true},
		{"*/subresource", auditv1.PolicyRule{Resources: []auditv1.GroupResources{gr("apps", "*/scale")}}, bob, deployScale, true},
		{"*/subresource not the resource", auditv1.PolicyRule{Resources: []auditv1.GroupResources{gr("apps", "*/scale")}}, bob, getDeploy, false},
		{"*", auditv1.PolicyRule{Resources: []auditv1.GroupResources{gr("", "*")}}, bob, podStatus, true},
		{"other group", auditv1.PolicyRule{Resources: []auditv1.GroupResources{gr("", "deployments")}}, bob, getDeploy, false},
		{"group *", auditv1.PolicyRule{Resources: []auditv1.GroupResources{gr("*", "deployments")}}, bob, getDeploy, true},
		{"group only", auditv1.PolicyRule{Resources: []auditv1.GroupResources{gr("apps")}}, bob, deployScale, true},
		{"group only, other group", auditv1.PolicyRule{Resources: []auditv1.GroupResources{gr("apps")}}, bob, getPod, false},
		{"second group resource", auditv1.PolicyRule{Resources: []auditv1.GroupResources{gr("apps", "deployments"), gr("", "secrets")}}, bob, createSecrets, true},
		{"resourceNames", auditv1.PolicyRule{Resources: []auditv1.GroupResources{{Resources: []string{"pods"}, ResourceNames: []string{"p1"}}}}, bob, getPod, true},
		{"other resourceName", auditv1.PolicyRule{Resources: []auditv1.GroupResources{{Resources: []string{"pods"}, ResourceNames: []string{"p1"}}}}, bob, getPod2, false},
		{"resourceNames, no name", auditv1.PolicyRule{Resources: []auditv1.GroupResources{{Resources: []string{"pods"}, ResourceNames: []string{"p1"}}}}, bob, listPods, false},
		{"resource rule, non-resource request", auditv1.PolicyRule{Resources: []auditv1.GroupResources{gr("", "*")}}, bob, healthz, false},

		{"namespace", auditv1.PolicyRule{Namespaces: []string{"kube-system"}}, bob, deployScale, true},
		{"other namespace", auditv1.PolicyRule{Namespaces: []string{"kube-system"}}, bob, getPod, false},
		{"cluster scope is namespace \"\"", auditv1.PolicyRule{Namespaces: []string{""}}, bob, getNode, true},
		{"cluster-wide watch is namespace \"\"", auditv1.PolicyRule{Namespaces: []string{""}}, bob, watchCMs, true},
		{"namespace of a namespace", auditv1.PolicyRule{Namespaces: []string{""}}, bob, createNS, true},
		{"namespace rule, non-resource request", auditv1.PolicyRule{Namespaces: []string{""}}, bob, healthz, false},
		{"namespace and resource", auditv1.PolicyRule{Namespaces: []string{"default"}, Resources: []auditv1.GroupResources{gr("", "pods")}}, bob, getPod, true},
		{"namespace and other resource", auditv1.PolicyRule{Namespaces: []string{"default"}, Resources: []auditv1.GroupResources{gr("", "secrets")}}, bob, getPod, false},

		{"URL", auditv1.PolicyRule{NonResourceURLs: []string{"/version"}}, bob, version, true},
		{"URL exact", auditv1.PolicyRule{NonResourceURLs: []string{"/healthz"}}, bob, healthzEtcd, false},
		{"URL prefix", auditv1.PolicyRule{NonResourceURLs: []string{"/healthz*"}}, bob, healthzEtcd, true},
		{"URL prefix, same path", auditv1.PolicyRule{NonResourceURLs: []string{"/healthz*"}}, bob, healthz, true},
		{"URL prefix with slash", auditv1.PolicyRule{NonResourceURLs: []string{"/healthz/*"}}, bob, healthz, false},
		{"URL *", auditv1.PolicyRule{NonResourceURLs: []string{"*"}}, bob, version, true},
		{"URL rule, resource request", auditv1.PolicyRule{NonResourceURLs: []string{"*"}}, bob, getPod, false},
	}
	for _, c := range cases {
		if got := ruleMatches(&c.rule, c.user, c.info); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

// TestEvaluate: the first matching rule wins; omitStages and
// omitManagedFields combine as kube-apiserver combines them.
func TestEvaluate(t *testing.T) {
	yes, no := true, false
	p := &auditv1.Policy{
		OmitStages:        []auditv1.Stage{auditv1.StageRequestReceived},
		OmitManagedFields: true,
		Rules: []auditv1.PolicyRule{
			{Level: auditv1.LevelNone, Users: []string{"system:kube-proxy"}},
			{Level: auditv1.LevelRequestResponse, Resources: []auditv1.GroupResources{{Resources: []string{"configmaps"}}}, OmitManagedFields: &no},
			{Level: auditv1.LevelRequest, Resources: []auditv1.GroupResources{{Resources: []string{"secrets"}}}, OmitStages: []auditv1.Stage{auditv1.StageResponseStarted, auditv1.StageRequestReceived}},
			{Level: auditv1.LevelMetadata, Namespaces: []string{"default"}, OmitManagedFields: &yes},
		},
	}
	req := func(url string) *request.Info { return request.Parse(httptest.NewRequest("GET", url, nil)) }
	user := &request.User{Name: "alice"}
	cases := []struct {
		name string
		user *request.User
		info *request.Info
		want Config
	}{
		{"first rule wins", &request.User{Name: "system:kube-proxy"}, req("/api/v1/namespaces/default/configmaps"),
			Config{auditv1.LevelNone, []auditv1.Stage{auditv1.StageRequestReceived}, true}},
		{"rule overrides omitManagedFields", user, req("/api/v1/namespaces/default/configmaps"),
			Config{auditv1.LevelRequestResponse, []auditv1.Stage{auditv1.StageRequestReceived}, false}},
		{"stages are a union", user, req("/api/v1/namespaces/default/secrets"),
			Config{auditv1.LevelRequest, []auditv1.Stage{auditv1.StageRequestReceived, auditv1.StageResponseStarted}, true}},
		{"later rule", user, req("/api/v1/namespaces/default/pods"),
			Config{auditv1.LevelMetadata, []auditv1.Stage{auditv1.StageRequestReceived}, true}},
		{"no rule is None", user, req("/api/v1/namespaces/other/pods"),
			Config{auditv1.LevelNone, []auditv1.Stage{auditv1.StageRequestReceived}, true}},
	}
	for _, c := range cases {
		got := Evaluate(p, c.user, c.info)
		slices.Sort(got.OmitStages)
		slices.Sort(c.want.OmitStages)
		if got.Level != c.want.Level || !slices.Equal(got.OmitStages, c.want.OmitStages) || got.OmitManagedFields != c.want.OmitManagedFields {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
	if !(Config{OmitStages: []auditv1.Stage{auditv1.StagePanic}}).omits(auditv1.StagePanic) {
		t.Error("omits")
	}
}
