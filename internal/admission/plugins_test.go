package admission

import (
	"slices"
	"strings"
	"testing"
)

func TestEnabled(t *testing.T) {
	got, err := Enabled([]string{"AlwaysPullImages", "NodeRestriction"}, []string{"ResourceQuota", "NodeRestriction", "PodSecurity"})
	if err != nil {
		t.Fatal(err)
	}
	// Kube's order, whatever the order of the flags; a name in both is on.
	if i, j := slices.Index(got, "NodeRestriction"), slices.Index(got, "AlwaysPullImages"); i < 0 || j < 0 || i > j {
		t.Fatalf("enabled %v", got)
	}
	if slices.Contains(got, "ResourceQuota") || slices.Contains(got, "PodSecurity") || !slices.Contains(got, "NamespaceLifecycle") {
		t.Fatalf("enabled %v", got)
	}
	if got[len(got)-1] != "ValidatingAdmissionWebhook" {
		t.Fatalf("the webhooks come last once ResourceQuota is off: %v", got)
	}
	if _, err := Enabled([]string{"NoSuchPlugin"}, nil); err == nil || !strings.Contains(err.Error(), `enable-admission-plugins plugin "NoSuchPlugin" is unknown`) {
		t.Fatalf("unknown plugin: %v", err)
	}
	if _, err := Enabled(nil, []string{"Nope"}); err == nil || !strings.Contains(err.Error(), "disable-admission-plugins") {
		t.Fatalf("unknown plugin: %v", err)
	}
}
