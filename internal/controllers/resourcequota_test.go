package controllers

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kapi/internal/registry"
	"kapi/internal/registry/builtin"
	"kapi/internal/storage"
)

// noStorage stands for a store's storage where nothing is read.
type noStorage struct{ storage.Interface }

func TestCountedBy(t *testing.T) {
	cat := registry.NewCatalogue()
	var stores []*registry.Store
	for _, r := range builtin.Resources() {
		stores = append(stores, registry.NewStore(r, noStorage{}))
	}
	if err := cat.Set("builtin", stores); err != nil {
		t.Fatal(err)
	}
	snap := cat.Snapshot()
	core := func(r string) schema.GroupVersionResource {
		return schema.GroupVersionResource{Version: "v1", Resource: r}
	}
	for name, want := range map[corev1.ResourceName]schema.GroupVersionResource{
		"pods": core("pods"), "cpu": core("pods"), "memory": core("pods"), "ephemeral-storage": core("pods"),
		"requests.cpu": core("pods"), "limits.memory": core("pods"), "hugepages-2Mi": core("pods"),
		"requests.example.com/dongle": core("pods"), "count/pods": core("pods"),
		"services": core("services"), "services.nodeports": core("services"), "services.loadbalancers": core("services"),
		"configmaps": core("configmaps"), "secrets": core("secrets"), "replicationcontrollers": core("replicationcontrollers"),
		"resourcequotas": core("resourcequotas"), "persistentvolumeclaims": core("persistentvolumeclaims"),
		"requests.storage": core("persistentvolumeclaims"),
		"gold.storageclass.storage.k8s.io/requests.storage":       core("persistentvolumeclaims"),
		"gold.storageclass.storage.k8s.io/persistentvolumeclaims": core("persistentvolumeclaims"),
		"count/replicasets.apps":                                  {Group: "apps", Version: "v1", Resource: "replicasets"},
		"count/events.events.k8s.io":                              {Group: "events.k8s.io", Version: "v1", Resource: "events"},
		"count/events":                                            core("events"),
		"count/jobs.batch":                                        {Group: "batch", Version: "v1", Resource: "jobs"},
		"count/widgets.example.com":                               {},
		"count/namespaces":                                        {}, // cluster-scoped: nothing in a namespace
		"storage":                                                 {},
		"example.com/dongle":                                      {},
	} {
		st := countedBy(snap, name)
		switch {
		case want.Empty() && st != nil:
			t.Errorf("%s counts %s, want nothing", name, st.R.GVR())
		case !want.Empty() && (st == nil || st.R.GVR() != want):
			t.Errorf("%s counts %v, want %s", name, st, want)
		}
	}
}

func TestNeedsUsage(t *testing.T) {
	q := func(hard, statusHard, used corev1.ResourceList) *corev1.ResourceQuota {
		return &corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{Hard: hard}, Status: corev1.ResourceQuotaStatus{Hard: statusHard, Used: used}}
	}
	one, two := resource.MustParse("1"), resource.MustParse("2")
	for _, c := range []struct {
		q    *corev1.ResourceQuota
		want bool
	}{
		{q(corev1.ResourceList{"pods": one}, nil, nil), true},
		{q(corev1.ResourceList{"pods": one}, corev1.ResourceList{"pods": one}, corev1.ResourceList{"pods": one}), false},
		{q(corev1.ResourceList{"pods": one}, corev1.ResourceList{"pods": two}, corev1.ResourceList{"pods": one}), true},
		{q(corev1.ResourceList{"pods": one, "cpu": one}, corev1.ResourceList{"pods": one, "cpu": one}, corev1.ResourceList{"pods": one}), true},
		{q(corev1.ResourceList{}, corev1.ResourceList{}, corev1.ResourceList{}), false},
	} {
		if got := needsUsage(c.q); got != c.want {
			t.Errorf("needsUsage(hard %v, status %v) = %v", c.q.Spec.Hard, c.q.Status, got)
		}
	}
}
