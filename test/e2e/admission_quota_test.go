package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func pod(name string, requests corev1.ResourceList) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "c", Image: "nginx", Resources: corev1.ResourceRequirements{Requests: requests}}}}}
}

// TestResourceQuota: creates that would exceed a quota's hard limits are
// refused with kube-apiserver's message; 16 concurrent creates never take
// the usage beyond hard, as usage is charged in the write's own
// transaction; a delete gives usage back; compute quotas count pods'
// requests and require them; scopes select the pods a quota counts.
func TestResourceQuota(t *testing.T) {
	k := startKapi(t, withoutLoops(rootCAPublisher))
	ctx := context.Background()
	e := &webhookEnv{t: t, k: k}
	namespace := func(name string) { e.namespace(t, name) }
	namespace("quota")
	quotas := k.client.CoreV1().ResourceQuotas("quota")
	mk := func(name string, hard corev1.ResourceList, scopes ...corev1.ResourceQuotaScope) {
		t.Helper()
		if _, err := quotas.Create(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.ResourceQuotaSpec{Hard: hard, Scopes: scopes}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	cms := k.client.CoreV1().ConfigMaps("quota")
	if _, err := cms.Create(ctx, cm("before", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mk("objects", corev1.ResourceList{"count/configmaps": resource.MustParse("6")})
	// The quota is in force once the cache has it: then, 16 writers at
	// once (one ConfigMap exists already, one the probe makes).
	settle(t, "the quota", func() bool {
		_, err := cms.Create(ctx, cm("probe", nil), metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return false
		}
		// In force: the probe was charged to it.
		q, err := quotas.Get(ctx, "objects", metav1.GetOptions{})
		used := q.Status.Used[corev1.ResourceName("count/configmaps")]
		return err == nil && used.Value() == 2
	})
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = cms.Create(ctx, cm(fmt.Sprintf("c%d", i), nil), metav1.CreateOptions{})
		}()
	}
	wg.Wait()
	created := 0
	for _, err := range errs {
		switch {
		case err == nil:
			created++
		case !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "exceeded quota: objects, requested: count/configmaps=1, used: count/configmaps=6, limited: count/configmaps=6"):
			t.Errorf("a refused create: %v", err)
		}
	}
	list, err := cms.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if created != 4 || len(list.Items) != 6 {
		t.Fatalf("%d of 16 concurrent creates succeeded, %d ConfigMaps stored; the quota allows 6 in all", created, len(list.Items))
	}
	q, err := quotas.Get(ctx, "objects", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if used := q.Status.Used["count/configmaps"]; used.Value() != 6 || q.Status.Hard.Name("count/configmaps", resource.DecimalSI).Value() != 6 {
		t.Fatalf("status %+v", q.Status)
	}
	// A delete gives its usage back; a dry run charges nothing.
	if err := cms.Delete(ctx, "before", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Create(ctx, cm("dry", nil), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatalf("a dry run within the quota: %v", err)
	}
	if _, err := cms.Create(ctx, cm("after", nil), metav1.CreateOptions{}); err != nil {
		t.Fatalf("a create after a delete: %v", err)
	}
	if _, err := cms.Create(ctx, cm("over", nil), metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("a create beyond the quota: %v", err)
	}

	// Compute: requests counted, and required.
	mk("compute", corev1.ResourceList{corev1.ResourceRequestsCPU: resource.MustParse("1"), corev1.ResourcePods: resource.MustParse("3")})
	pods := k.client.CoreV1().Pods("quota")
	cpu := func(v string) corev1.ResourceList {
		return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(v)}
	}
	settle(t, "the compute quota", func() bool {
		_, err := pods.Create(ctx, pod("none", nil), metav1.CreateOptions{})
		return err != nil
	})
	if _, err := pods.Create(ctx, pod("none", nil), metav1.CreateOptions{}); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "failed quota: compute: must specify requests.cpu") {
		t.Fatalf("a pod without requests: %v", err)
	}
	if _, err := pods.Create(ctx, pod("p1", cpu("600m")), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = pods.Create(ctx, pod("p2", cpu("600m")), metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `pods "p2" is forbidden: exceeded quota: compute, requested: requests.cpu=600m, used: requests.cpu=600m, limited: requests.cpu=1`) {
		t.Fatalf("a pod beyond the cpu quota: %v", err)
	}
	if _, err := pods.Create(ctx, pod("p3", cpu("400m")), metav1.CreateOptions{}); err != nil {
		t.Fatalf("a pod within the cpu quota: %v", err)
	}

	// Scopes: a BestEffort quota counts only pods without requests.
	namespace("quota-scoped")
	scoped := k.client.CoreV1().ResourceQuotas("quota-scoped")
	if _, err := scoped.Create(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "best-effort"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1")},
			Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sp := k.client.CoreV1().Pods("quota-scoped")
	settle(t, "the scoped quota", func() bool {
		sp.Create(ctx, pod("be1", nil), metav1.CreateOptions{})
		_, err := sp.Create(ctx, pod("be2", nil), metav1.CreateOptions{})
		return apierrors.IsForbidden(err)
	})
	if _, err := sp.Create(ctx, pod("burstable", cpu("100m")), metav1.CreateOptions{}); err != nil {
		t.Fatalf("a pod out of the quota's scope: %v", err)
	}
}
