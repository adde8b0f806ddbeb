package e2e

import (
	"context"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
)

// TestAPIServices: every group-version kapi serves has its APIService,
// Local and Available, as kube-apiserver registers them (`kubectl get
// apiservices`); a CRD's group-version gets one (automanaged: true) that
// goes with the CRD.
func TestAPIServices(t *testing.T) {
	t.Parallel()
	k := startKapi(t)
	ctx := context.Background()
	api := aggregator.NewForConfigOrDie(k.rest).ApiregistrationV1().APIServices()
	groups, err := k.client.Discovery().ServerGroups()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, g := range groups.Groups {
		for _, v := range g.Versions {
			want = append(want, v.Version+"."+g.Name)
		}
	}
	available := func(name string) (*apiregistrationv1.APIService, bool) {
		s, err := api.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, false
		}
		for _, c := range s.Status.Conditions {
			if c.Type == apiregistrationv1.Available && c.Status == apiregistrationv1.ConditionTrue && c.Reason == "Local" &&
				c.Message == "Local APIServices are always available" {
				return s, true
			}
		}
		return s, false
	}
	for _, name := range want {
		if err := waitUntil(30*time.Second, func() bool { _, ok := available(name); return ok }); err != nil {
			s, _ := available(name)
			t.Fatalf("APIService %s is not there and available: %+v", name, s)
		}
	}
	core, _ := available("v1.")
	if core.Spec.Group != "" || core.Spec.Version != "v1" || core.Spec.GroupPriorityMinimum != 18000 || core.Spec.VersionPriority != 1 ||
		core.Labels["kube-aggregator.kubernetes.io/automanaged"] != "onstart" {
		t.Fatalf("the core APIService: %+v %v", core.Spec, core.Labels)
	}

	crd := k.createCRD(t, widgetCRD())
	k.waitEstablished(t, crd.Name)
	if err := waitUntil(30*time.Second, func() bool { _, ok := available("v1.example.com"); return ok }); err != nil {
		t.Fatal("the CRD's group-version got no APIService")
	}
	custom, _ := available("v1.example.com")
	if custom.Spec.GroupPriorityMinimum != 1000 || custom.Spec.VersionPriority != 100 || custom.Labels["kube-aggregator.kubernetes.io/automanaged"] != "true" {
		t.Fatalf("the CRD's APIService: %+v %v", custom.Spec, custom.Labels)
	}
	if err := k.crdClient().ApiextensionsV1().CustomResourceDefinitions().Delete(ctx, crd.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := waitUntil(60*time.Second, func() bool {
		_, err := api.Get(ctx, "v1.example.com", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}); err != nil {
		t.Fatal("the CRD's APIService outlived the CRD")
	}
}
