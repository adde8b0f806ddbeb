package e2e

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// TestServiceClusterIPPatch: an old client that changes only the singular
// spec.clusterIP is told, as by kube-apiserver, that clusterIPs[0] may not
// change (clusterIPs is normalized from clusterIP first), not that the
// two fields disagree; a patch that keeps the IP and clears clusterIPs
// keeps them.
func TestServiceClusterIPPatch(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	svc, err := k.client.CoreV1().Services("default").Create(ctx, clusterIPService("s"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ip := svc.Spec.ClusterIP
	out, err := k.kubectl("", "patch", "svc", "s", "--type=merge", "-p", `{"spec":{"clusterIP":"10.96.0.77"}}`)
	if err == nil {
		t.Fatalf("the patch was accepted:\n%s", out)
	}
	// The value is printed as apimachinery's field errors print a list.
	want := `The Service "s" is invalid: ` + field.Invalid(field.NewPath("spec", "clusterIPs").Index(0), []string{"10.96.0.77"}, "may not change once set").Error()
	if !strings.Contains(out, want) {
		t.Errorf("kubectl said\n%s\nwant\n%s", out, want)
	}
	if strings.Contains(out, "first value must match") {
		t.Errorf("kubectl said %q", out)
	}
	// Same IP, clusterIPs dropped by an old client: kept.
	k.mustKubectl("", "patch", "svc", "s", "--type=merge", "-p", `{"spec":{"clusterIP":"`+ip+`","clusterIPs":null,"selector":{"app":"t"}}}`)
	got, err := k.client.CoreV1().Services("default").Get(ctx, "s", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.ClusterIP != ip || len(got.Spec.ClusterIPs) != 1 || got.Spec.ClusterIPs[0] != ip || got.Spec.Selector["app"] != "t" {
		t.Errorf("after the patch: clusterIP %q clusterIPs %v selector %v; want %s", got.Spec.ClusterIP, got.Spec.ClusterIPs, got.Spec.Selector, ip)
	}
}
