package audit

import (
	"strings"
	"testing"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

func TestParsePolicy(t *testing.T) {
	yamlPolicy := `
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
omitManagedFields: true
rules:
- level: None
  nonResourceURLs: ["/healthz*", "/version"]
- level: RequestResponse
  resources:
  - group: ""
    resources: ["pods/status", "*/scale"]
    resourceNames: ["p1"]
  omitManagedFields: false
- level: Metadata
  omitStages: ["ResponseStarted"]
`
	p, err := ParsePolicy([]byte(yamlPolicy))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rules) != 3 || p.Rules[1].Level != auditv1.LevelRequestResponse || *p.Rules[1].OmitManagedFields || !p.OmitManagedFields ||
		p.Rules[1].Resources[0].ResourceNames[0] != "p1" || p.OmitStages[0] != auditv1.StageRequestReceived {
		t.Errorf("decoded %+v", p)
	}

	jsonPolicy := `{"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[{"level":"Metadata"}]}`
	if _, err := ParsePolicy([]byte(jsonPolicy)); err != nil {
		t.Errorf("JSON policy: %v", err)
	}
	// Unknown fields are warned about, not refused, as kube-apiserver.
	if _, err := ParsePolicy([]byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n  colour: blue\n")); err != nil {
		t.Errorf("unknown field: %v", err)
	}

	bad := []struct{ name, policy, want string }{
		{"unknown level", "rules:\n- level: Everything\n", `Unsupported value: "Everything"`},
		{"missing level", "rules:\n- verbs: [get]\n", "rules[0].level: Required value"},
		{"unknown stage", "omitStages: [Started]\nrules:\n- level: None\n", `omitStages[0]: Invalid value: "Started"`},
		{"unknown rule stage", "rules:\n- level: None\n  omitStages: [Done]\n", `rules[0].omitStages[0]: Invalid value: "Done"`},
		{"no rules", "rules: []\n", "0 rules"},
		{"both kinds", "rules:\n- level: None\n  nonResourceURLs: [/x]\n  namespaces: [a]\n", "cannot apply to both"},
		{"relative URL", "rules:\n- level: None\n  nonResourceURLs: [healthz]\n", "must begin with a '/'"},
		{"inner wildcard", "rules:\n- level: None\n  nonResourceURLs: [/a*/b]\n", "must be the final character"},
		{"names without resources", "rules:\n- level: None\n  resources: [{group: apps, resourceNames: [x]}]\n", "requires at least one resource"},
		{"group with version", "rules:\n- level: None\n  resources: [{group: apps/v1}]\n", `group: Invalid value: "apps/v1"`},
	}
	for _, c := range bad {
		_, err := ParsePolicy([]byte("apiVersion: audit.k8s.io/v1\nkind: Policy\n" + c.policy))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got error %v, want one with %q", c.name, err, c.want)
		}
	}
	for _, head := range []string{"kind: Policy\n", "apiVersion: audit.k8s.io/v1beta1\nkind: Policy\n", "apiVersion: audit.k8s.io/v1\nkind: Event\n"} {
		if _, err := ParsePolicy([]byte(head + "rules:\n- level: None\n")); err == nil {
			t.Errorf("%q: no error", head)
		}
	}
	if _, err := ParsePolicy([]byte("rules: [")); err == nil {
		t.Error("malformed YAML: no error")
	}
}
