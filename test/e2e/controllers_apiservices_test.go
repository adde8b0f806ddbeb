package e2e

import (
	"context"
	"strings"
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

	// kube-aggregator's validation, with its messages.
	port := func(p int32) *int32 { return &p }
	for _, c := range []struct {
		name string
		spec apiregistrationv1.APIServiceSpec
		want []string
	}{
		{"v1.other.example.com", apiregistrationv1.APIServiceSpec{Group: "example.com", Version: "v1", GroupPriorityMinimum: 100, VersionPriority: 10},
			[]string{"metadata.name: Invalid value: \"v1.other.example.com\": must be `spec.version+\".\"+spec.group`: \"v1.example.com\""}},
		{"v1beta1.", apiregistrationv1.APIServiceSpec{Version: "v1beta1", GroupPriorityMinimum: 100, VersionPriority: 10},
			[]string{"spec.group: Required value: only v1 may have an empty group and it better be legacy kube"}},
		{"v1.example.com", apiregistrationv1.APIServiceSpec{Group: "example.com", Version: "v1"},
			[]string{"spec.groupPriorityMinimum: Invalid value: 0: must be positive and less than 20000",
				"spec.versionPriority: Invalid value: 0: must be positive and less than 1000"}},
		{"v1.example.com", apiregistrationv1.APIServiceSpec{Group: "example.com", Version: "v1", GroupPriorityMinimum: 100, VersionPriority: 10,
			CABundle: []byte("x"), InsecureSkipTLSVerify: true},
			[]string{`spec.caBundle: Invalid value: "1 bytes": local APIServices may not have a caBundle`,
				"spec.insecureSkipTLSVerify: Invalid value: true: local APIServices may not have insecureSkipTLSVerify"}},
		{"v1.example.com", apiregistrationv1.APIServiceSpec{Group: "example.com", Version: "v1", GroupPriorityMinimum: 100, VersionPriority: 10,
			Service: &apiregistrationv1.ServiceReference{Port: port(0)}},
			[]string{"spec.service.namespace: Required value", "spec.service.name: Required value",
				"spec.service.port: Invalid value: 0: port is not valid: must be between 1 and 65535, inclusive"}},
	} {
		_, err := api.Create(ctx, &apiregistrationv1.APIService{ObjectMeta: metav1.ObjectMeta{Name: c.name}, Spec: c.spec}, metav1.CreateOptions{})
		if !apierrors.IsInvalid(err) {
			t.Errorf("%s %+v: %v", c.name, c.spec, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v lacks %s", c.name, err, w)
			}
		}
	}

	// A local APIService is Available as it is created; a service's gets
	// port 443. The status subresource writes the conditions alone.
	local, err := api.Create(ctx, &apiregistrationv1.APIService{ObjectMeta: metav1.ObjectMeta{Name: "v1.local.example.com"},
		Spec: apiregistrationv1.APIServiceSpec{Group: "local.example.com", Version: "v1", GroupPriorityMinimum: 100, VersionPriority: 10}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c := local.Status.Conditions; len(c) != 1 || c[0].Reason != "Local" || c[0].Status != apiregistrationv1.ConditionTrue {
		t.Errorf("a new local APIService's conditions: %+v", c)
	}
	remote, err := api.Create(ctx, &apiregistrationv1.APIService{ObjectMeta: metav1.ObjectMeta{Name: "v1.remote.example.com"},
		Spec: apiregistrationv1.APIServiceSpec{Group: "remote.example.com", Version: "v1", GroupPriorityMinimum: 100, VersionPriority: 10,
			Service: &apiregistrationv1.ServiceReference{Namespace: "default", Name: "remote"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p := remote.Spec.Service.Port; p == nil || *p != 443 {
		t.Errorf("a service's port: %v", p)
	}
	local.Status.Conditions[0].Status = "Maybe"
	if _, err := api.UpdateStatus(ctx, local, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) ||
		!strings.Contains(err.Error(), `status.conditions[0].status: Unsupported value: "Maybe": supported values: "True", "False", "Unknown"`) {
		t.Errorf("a condition's status Maybe: %v", err)
	}
	local.Status.Conditions[0].Status = apiregistrationv1.ConditionFalse
	local.Labels = map[string]string{"through": "status"}
	out, err := api.UpdateStatus(ctx, local, metav1.UpdateOptions{})
	if err != nil || out.Labels["through"] != "" || out.Status.Conditions[0].Status != apiregistrationv1.ConditionFalse {
		t.Errorf("a status write: %v %v %+v", err, out.Labels, out.Status.Conditions)
	}
}
