package policy

import (
	"fmt"
	"strings"
	"testing"

	"k8s.io/component-base/metrics/legacyregistry"

	"kapi/internal/admission"
	"kapi/internal/metrics"
)

// policyMetric is the value of one of kube's series of the policies
// (component-base's registry), 0 when it has none.
func policyMetric(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	v, _, err := metrics.Find(legacyregistry.DefaultGatherer, name, labels)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestValidatingPolicyMetrics: each binding's action on a failed
// validation is counted and timed in kube's
// apiserver_validating_admission_policy_check_* series, and so is an
// error that failurePolicy Ignore let through ("allow"); a validation
// that passes is not.
func TestValidatingPolicyMetrics(t *testing.T) {
	v := NewValidating(Deps{})
	manifest := func(name, failurePolicy, expression string, bindings map[string]string) string {
		s := `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: ` + name + `
spec:
  failurePolicy: ` + failurePolicy + `
  matchConstraints:
    resourceRules:
    - operations: ["CREATE"]
      apiGroups: ["admissionregistration.k8s.io"]
      apiVersions: ["v1"]
      resources: ["validatingadmissionpolicies"]
  validations:
  - expression: "` + expression + `"
    message: no bad names
`
		for b, actions := range bindings {
			s += `---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: ` + b + `
spec:
  policyName: ` + name + `
  validationActions: ` + actions + `
`
		}
		return s
	}
	_, publish, err := v.LoadStatic(writeFiles(t, map[string]string{
		"names.yaml": manifest("m-names.static.k8s.io", "Fail", "!object.metadata.name.startsWith('bad')",
			map[string]string{"m-deny.static.k8s.io": `["Deny"]`, "m-warn.static.k8s.io": `["Warn", "Audit"]`}),
		// A key the object does not have: an error at run time.
		"broken.yaml": manifest("m-broken.static.k8s.io", "Ignore", "object.metadata.labels['x'] == 'y'",
			map[string]string{"m-broken.static.k8s.io": `["Deny"]`}),
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := publish(); err != nil {
		t.Fatal(err)
	}
	write := func(name string) error { return createPolicy(v, name) }
	if err := write("good"); err != nil {
		t.Fatalf("a good name: %v", err)
	}
	if err := write("bad"); err == nil || !strings.Contains(err.Error(), "ValidatingAdmissionPolicy 'm-names.static.k8s.io' with binding 'm-deny.static.k8s.io' denied request: no bad names") {
		t.Fatalf("a bad name: %v", err)
	}
	// kube's validating.ErrorType calls every decision but an admitted
	// one "invalid_error" unless its message tells a compilation or the
	// budget: a failed validation too.
	for _, c := range []struct {
		policy, binding, action string
		want                    float64
	}{
		{"m-names.static.k8s.io", "m-deny.static.k8s.io", "deny", 1},
		{"m-names.static.k8s.io", "m-warn.static.k8s.io", "warn", 1},
		{"m-names.static.k8s.io", "m-warn.static.k8s.io", "audit", 1},
		{"m-names.static.k8s.io", "m-deny.static.k8s.io", "allow", 0}, // the good name passed
		{"m-broken.static.k8s.io", "m-broken.static.k8s.io", "allow", 2},
		{"m-broken.static.k8s.io", "m-broken.static.k8s.io", "deny", 0},
	} {
		labels := map[string]string{"policy": c.policy, "policy_binding": c.binding, "error_type": "invalid_error", "enforcement_action": c.action}
		for _, name := range []string{"apiserver_validating_admission_policy_check_total", "apiserver_validating_admission_policy_check_duration_seconds"} {
			if got := policyMetric(t, name, labels); got != c.want {
				t.Errorf("%s %v = %v, want %v", name, labels, got, c.want)
			}
		}
	}
}

// TestPolicyAnnotations: a policy's audit annotations as kube's
// collector makes them (each value cut at 10 KiB, equal values once,
// distinct ones joined), and the failed validations' annotation, which
// lists 50 at most.
func TestPolicyAnnotations(t *testing.T) {
	c := annotationCollector{}
	c.add("team", "storage")
	c.add("team", "storage")
	c.add("team", "network")
	c.add("long", strings.Repeat("x", 11<<10))
	got := c.values()
	if got["team"] != "storage, network" {
		t.Errorf("team = %q", got["team"])
	}
	if len(got["long"]) != 10<<10 {
		t.Errorf("a long value kept %d bytes, want %d", len(got["long"]), 10<<10)
	}
	a := &admission.Attributes{Resource: configMaps}
	if _, ok := failureAnnotation(a, nil); ok {
		t.Error("an annotation without failures")
	}
	var failures []failure
	for i := range 51 {
		failures = append(failures, failure{Message: fmt.Sprint("failure ", i), Policy: "p", Binding: "b"})
	}
	value, ok := failureAnnotation(a, failures)
	if !ok || strings.Count(value, `"message"`) != 50 || !strings.Contains(value, `"failure 49"`) || strings.Contains(value, `"failure 50"`) {
		t.Errorf("51 failures: %v %s", ok, value)
	}
}
