package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"kapi/internal/admission/quota"
)

// The scenarios of upstream's 12 "[sig-api-machinery] ResourceQuota
// [Conformance]" tests (test/e2e/apimachinery/resource_quota.go), against
// a lone kapi whose resource quota controller fills status.used.

const quotaStatusTimeout = time.Minute

// quotaTestHard is upstream's newTestResourceQuota.
func quotaTestHard() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourcePods: resource.MustParse("5"), corev1.ResourceServices: resource.MustParse("10"),
		corev1.ResourceServicesNodePorts: resource.MustParse("1"), corev1.ResourceServicesLoadBalancers: resource.MustParse("1"),
		corev1.ResourceReplicationControllers: resource.MustParse("10"), corev1.ResourceQuotas: resource.MustParse("1"),
		corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("500Mi"),
		corev1.ResourceConfigMaps: resource.MustParse("10"), corev1.ResourceSecrets: resource.MustParse("10"),
		corev1.ResourcePersistentVolumeClaims: resource.MustParse("10"), corev1.ResourceRequestsStorage: resource.MustParse("10Gi"),
		corev1.ResourceEphemeralStorage:                           resource.MustParse("50Gi"),
		"gold.storageclass.storage.k8s.io/persistentvolumeclaims": resource.MustParse("10"),
		"gold.storageclass.storage.k8s.io/requests.storage":       resource.MustParse("10Gi"),
		"count/replicasets.apps":                                  resource.MustParse("5"),
		"requests.example.com/dongle":                             resource.MustParse("3"),
	}
}

func quotaNamespace(t *testing.T, k *kapi, name string) {
	t.Helper()
	if _, err := k.client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	k.waitDefaultServiceAccount(t, name) // for the Pods the tests create
}

func mkQuota(t *testing.T, k *kapi, ns, name string, hard corev1.ResourceList, mod ...func(*corev1.ResourceQuota)) {
	t.Helper()
	q := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.ResourceQuotaSpec{Hard: hard}}
	for _, m := range mod {
		m(q)
	}
	if _, err := k.client.CoreV1().ResourceQuotas(ns).Create(context.Background(), q, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitUsed polls until the quota's status.hard is its spec.hard and
// status.used holds want (each value compared as a quantity) and a value
// for every other hard resource but those uncounted; want may be
// computed anew at each poll (for counts others change).
func waitUsed(t *testing.T, k *kapi, ns, name string, want func() corev1.ResourceList, uncounted ...corev1.ResourceName) {
	t.Helper()
	var last *corev1.ResourceQuota
	var lastWant corev1.ResourceList
	err := waitUntil(quotaStatusTimeout, func() bool {
		q, err := k.client.CoreV1().ResourceQuotas(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		last, lastWant = q, want()
		if !quota.Equal(q.Status.Hard, q.Spec.Hard) {
			return false
		}
		for n, v := range lastWant {
			if got, ok := q.Status.Used[n]; !ok || got.Cmp(v) != 0 {
				return false
			}
		}
		// used names exactly the hard resources.
		for n := range q.Status.Used {
			if _, ok := q.Spec.Hard[n]; !ok {
				return false
			}
		}
		for n := range q.Spec.Hard {
			if _, ok := q.Status.Used[n]; ok == slices.Contains(uncounted, n) {
				return false
			}
		}
		return true
	})
	if err != nil {
		t.Fatalf("quota %s/%s: want used ⊇ %v; last seen hard %v used %v", ns, name, lastWant, last.Status.Hard, last.Status.Used)
	}
}

func fixed(l corev1.ResourceList) func() corev1.ResourceList {
	return func() corev1.ResourceList { return l }
}

func rl(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

func quotaPod(name string, requests, limits corev1.ResourceList) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "pause", Image: "registry.k8s.io/pause:3.10",
			Resources: corev1.ResourceRequirements{Requests: requests, Limits: limits}}}}}
}

func mustForbidden(t *testing.T, what string, err error) {
	t.Helper()
	if !apierrors.IsForbidden(err) {
		t.Fatalf("%s: want 403 Forbidden, got %v", what, err)
	}
}

// TestQuotaStatusConformance runs the scenarios on one kapi, each in a
// namespace of its own.
func TestQuotaStatusConformance(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()

	// should create a ResourceQuota and ensure its status is promptly
	// calculated.
	t.Run("PromptlyCalculated", func(t *testing.T) {
		quotaNamespace(t, k, "rq-prompt")
		mkQuota(t, k, "rq-prompt", "test-quota", quotaTestHard())
		waitUsed(t, k, "rq-prompt", "test-quota", fixed(rl("resourcequotas", "1", "pods", "0", "cpu", "0", "memory", "0",
			"count/replicasets.apps", "0", "requests.example.com/dongle", "0", "services", "0")))
	})

	// ...capture the life of a service.
	t.Run("Service", func(t *testing.T) {
		ns := "rq-service"
		quotaNamespace(t, k, ns)
		mkQuota(t, k, ns, "test-quota", quotaTestHard())
		waitUsed(t, k, ns, "test-quota", fixed(rl("resourcequotas", "1")))
		svc := func(name string, typ corev1.ServiceType) *corev1.Service {
			return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.ServiceSpec{Type: typ,
				Ports: []corev1.ServicePort{{Port: 80}}}}
		}
		services := k.client.CoreV1().Services(ns)
		if _, err := services.Create(ctx, svc("test-service", corev1.ServiceTypeClusterIP), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := services.Create(ctx, svc("test-service-np", corev1.ServiceTypeNodePort), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err := services.Create(ctx, svc("test-service-lb", corev1.ServiceTypeLoadBalancer), metav1.CreateOptions{})
		mustForbidden(t, "a LoadBalancer Service beyond services.nodeports", err)
		waitUsed(t, k, ns, "test-quota", fixed(rl("resourcequotas", "1", "services", "2", "services.nodeports", "1", "services.loadbalancers", "0")))
		for _, n := range []string{"test-service", "test-service-np"} {
			if err := services.Delete(ctx, n, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		waitUsed(t, k, ns, "test-quota", fixed(rl("resourcequotas", "1", "services", "0", "services.nodeports", "0")))
	})

	// ...capture the life of a secret, and of a configMap: the count
	// includes what others (controllers) put in the namespace.
	for _, kind := range []string{"secrets", "configmaps"} {
		t.Run(kind, func(t *testing.T) {
			ns := "rq-" + kind
			quotaNamespace(t, k, ns)
			count := func() string {
				var n int
				if kind == "secrets" {
					l, err := k.client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
					if err != nil {
						return "-1"
					}
					n = len(l.Items)
				} else {
					l, err := k.client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
					if err != nil {
						return "-1"
					}
					n = len(l.Items)
				}
				return fmt.Sprint(n)
			}
			want := func() corev1.ResourceList { return rl("resourcequotas", "1", kind, count()) }
			mkQuota(t, k, ns, "test-quota", quotaTestHard())
			waitUsed(t, k, ns, "test-quota", want)
			var err error
			if kind == "secrets" {
				_, err = k.client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "test-secret"},
					Data: map[string][]byte{"data-1": []byte("value-1")}}, metav1.CreateOptions{})
			} else {
				_, err = k.client.CoreV1().ConfigMaps(ns).Create(ctx, cm("test-configmap", nil), metav1.CreateOptions{})
			}
			if err != nil {
				t.Fatal(err)
			}
			if count() == "0" {
				t.Fatal("the object made is not listed")
			}
			waitUsed(t, k, ns, "test-quota", want)
			if kind == "secrets" {
				err = k.client.CoreV1().Secrets(ns).Delete(ctx, "test-secret", metav1.DeleteOptions{})
			} else {
				err = k.client.CoreV1().ConfigMaps(ns).Delete(ctx, "test-configmap", metav1.DeleteOptions{})
			}
			if err != nil {
				t.Fatal(err)
			}
			waitUsed(t, k, ns, "test-quota", want)
		})
	}

	// ...capture the life of a pod: requests counted, a pod beyond the
	// remaining quota (cpu, then an extended resource) refused, a pod's
	// resources not updatable, the delete releases it all.
	t.Run("Pod", func(t *testing.T) {
		ns := "rq-pod"
		quotaNamespace(t, k, ns)
		mkQuota(t, k, ns, "test-quota", quotaTestHard())
		waitUsed(t, k, ns, "test-quota", fixed(rl("resourcequotas", "1")))
		pods := k.client.CoreV1().Pods(ns)
		p, err := pods.Create(ctx, quotaPod("test-pod", rl("cpu", "500m", "memory", "252Mi", "ephemeral-storage", "30Gi", "example.com/dongle", "2"),
			rl("example.com/dongle", "2")), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		used := rl("resourcequotas", "1", "pods", "1", "cpu", "500m", "memory", "252Mi", "ephemeral-storage", "30Gi", "requests.example.com/dongle", "2")
		waitUsed(t, k, ns, "test-quota", fixed(used))
		_, err = pods.Create(ctx, quotaPod("fail-pod", rl("cpu", "600m", "memory", "100Mi"), nil), metav1.CreateOptions{})
		mustForbidden(t, "a pod beyond the cpu left", err)
		_, err = pods.Create(ctx, quotaPod("fail-pod-for-extended-resource", rl("cpu", "500m", "memory", "100Mi", "ephemeral-storage", "30Gi", "example.com/dongle", "2"),
			rl("example.com/dongle", "2")), metav1.CreateOptions{})
		mustForbidden(t, "a pod beyond the dongles left", err)
		p.Spec.Containers[0].Resources.Requests = rl("cpu", "100m", "memory", "100Mi", "ephemeral-storage", "10Gi")
		if _, err := pods.Update(ctx, p, metav1.UpdateOptions{}); err == nil {
			t.Fatal("a pod's resource requests were updated")
		}
		waitUsed(t, k, ns, "test-quota", fixed(used))
		if err := pods.Delete(ctx, "test-pod", *metav1.NewDeleteOptions(0)); err != nil {
			t.Fatal(err)
		}
		waitUsed(t, k, ns, "test-quota", fixed(rl("resourcequotas", "1", "pods", "0", "cpu", "0", "memory", "0", "ephemeral-storage", "0",
			"requests.example.com/dongle", "0")))
	})

	// ...capture the life of a replication controller, and of a replica
	// set (a discovered resource, count/replicasets.apps).
	t.Run("ReplicationController", func(t *testing.T) {
		ns := "rq-rc"
		quotaNamespace(t, k, ns)
		mkQuota(t, k, ns, "test-quota", quotaTestHard())
		waitUsed(t, k, ns, "test-quota", fixed(rl("resourcequotas", "1", "replicationcontrollers", "0")))
		tmpl := &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"name": "nginx"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx"}}}}
		rc := &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: "test-rc"}, Spec: corev1.ReplicationControllerSpec{
			Replicas: ptr(int32(0)), Selector: map[string]string{"name": "nginx"}, Template: tmpl}}
		if _, err := k.client.CoreV1().ReplicationControllers(ns).Create(ctx, rc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitUsed(t, k, ns, "test-quota", fixed(rl("replicationcontrollers", "1")))
		bg := metav1.DeletePropagationBackground
		if err := k.client.CoreV1().ReplicationControllers(ns).Delete(ctx, "test-rc", metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil {
			t.Fatal(err)
		}
		waitUsed(t, k, ns, "test-quota", fixed(rl("replicationcontrollers", "0")))
	})
	t.Run("ReplicaSet", func(t *testing.T) {
		ns := "rq-rs"
		quotaNamespace(t, k, ns)
		mkQuota(t, k, ns, "test-quota", quotaTestHard())
		waitUsed(t, k, ns, "test-quota", fixed(rl("resourcequotas", "1", "count/replicasets.apps", "0")))
		rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "test-rs"}, Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr(int32(0)), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"name": "nginx"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"name": "nginx"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx"}}}}}}
		if _, err := k.client.AppsV1().ReplicaSets(ns).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitUsed(t, k, ns, "test-quota", fixed(rl("count/replicasets.apps", "1")))
		if err := k.client.AppsV1().ReplicaSets(ns).Delete(ctx, "test-rs", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitUsed(t, k, ns, "test-quota", fixed(rl("count/replicasets.apps", "0")))
	})

	// Persistent volume claims, plain and of a storage class (upstream's
	// two PVC tests, not conformance but the same counting).
	t.Run("PersistentVolumeClaim", func(t *testing.T) {
		ns := "rq-pvc"
		quotaNamespace(t, k, ns)
		mkQuota(t, k, ns, "test-quota", quotaTestHard())
		zero := rl("persistentvolumeclaims", "0", "requests.storage", "0",
			"gold.storageclass.storage.k8s.io/persistentvolumeclaims", "0", "gold.storageclass.storage.k8s.io/requests.storage", "0")
		waitUsed(t, k, ns, "test-quota", fixed(zero))
		pvc := func(name string, class *string) *corev1.PersistentVolumeClaim {
			return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, StorageClassName: class,
				Resources: corev1.VolumeResourceRequirements{Requests: rl("storage", "1Gi")}}}
		}
		claims := k.client.CoreV1().PersistentVolumeClaims(ns)
		if _, err := claims.Create(ctx, pvc("test-claim", nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := claims.Create(ctx, pvc("gold-claim", ptr("gold")), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitUsed(t, k, ns, "test-quota", fixed(rl("persistentvolumeclaims", "2", "requests.storage", "2Gi",
			"gold.storageclass.storage.k8s.io/persistentvolumeclaims", "1", "gold.storageclass.storage.k8s.io/requests.storage", "1Gi")))
		for _, n := range []string{"test-claim", "gold-claim"} {
			if err := claims.Delete(ctx, n, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		waitUsed(t, k, ns, "test-quota", fixed(zero))
	})

	// should verify ResourceQuota with terminating scopes.
	t.Run("TerminatingScopes", func(t *testing.T) {
		ns := "rq-terminating"
		quotaNamespace(t, k, ns)
		hard := rl("pods", "5", "requests.cpu", "1", "requests.memory", "500Mi", "limits.cpu", "2", "limits.memory", "1Gi")
		scoped := func(s corev1.ResourceQuotaScope) func(*corev1.ResourceQuota) {
			return func(q *corev1.ResourceQuota) { q.Spec.Scopes = []corev1.ResourceQuotaScope{s} }
		}
		mkQuota(t, k, ns, "quota-terminating", hard, scoped(corev1.ResourceQuotaScopeTerminating))
		mkQuota(t, k, ns, "quota-not-terminating", hard, scoped(corev1.ResourceQuotaScopeNotTerminating))
		zero := rl("pods", "0", "requests.cpu", "0", "requests.memory", "0", "limits.cpu", "0", "limits.memory", "0")
		waitUsed(t, k, ns, "quota-terminating", fixed(zero))
		waitUsed(t, k, ns, "quota-not-terminating", fixed(zero))
		requests, limits := rl("cpu", "500m", "memory", "200Mi"), rl("cpu", "1", "memory", "400Mi")
		counted := rl("pods", "1", "requests.cpu", "500m", "requests.memory", "200Mi", "limits.cpu", "1", "limits.memory", "400Mi")
		pods := k.client.CoreV1().Pods(ns)
		if _, err := pods.Create(ctx, quotaPod("test-pod", requests, limits), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitUsed(t, k, ns, "quota-not-terminating", fixed(counted))
		waitUsed(t, k, ns, "quota-terminating", fixed(zero))
		if err := pods.Delete(ctx, "test-pod", *metav1.NewDeleteOptions(0)); err != nil {
			t.Fatal(err)
		}
		waitUsed(t, k, ns, "quota-not-terminating", fixed(zero))
		p := quotaPod("terminating-pod", requests, limits)
		p.Spec.ActiveDeadlineSeconds = ptr(int64(3600))
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitUsed(t, k, ns, "quota-terminating", fixed(counted))
		waitUsed(t, k, ns, "quota-not-terminating", fixed(zero))
		if err := pods.Delete(ctx, "terminating-pod", *metav1.NewDeleteOptions(0)); err != nil {
			t.Fatal(err)
		}
		waitUsed(t, k, ns, "quota-terminating", fixed(zero))
	})

	// should verify ResourceQuota with best effort scope.
	t.Run("BestEffortScopes", func(t *testing.T) {
		ns := "rq-besteffort"
		quotaNamespace(t, k, ns)
		mkQuota(t, k, ns, "quota-besteffort", rl("pods", "5"), func(q *corev1.ResourceQuota) {
			q.Spec.Scopes = []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort}
		})
		mkQuota(t, k, ns, "quota-not-besteffort", rl("pods", "5"), func(q *corev1.ResourceQuota) {
			q.Spec.Scopes = []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeNotBestEffort}
		})
		waitUsed(t, k, ns, "quota-besteffort", fixed(rl("pods", "0")))
		waitUsed(t, k, ns, "quota-not-besteffort", fixed(rl("pods", "0")))
		pods := k.client.CoreV1().Pods(ns)
		if _, err := pods.Create(ctx, quotaPod("best-effort", nil, nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitUsed(t, k, ns, "quota-besteffort", fixed(rl("pods", "1")))
		waitUsed(t, k, ns, "quota-not-besteffort", fixed(rl("pods", "0")))
		if _, err := pods.Create(ctx, quotaPod("not-best-effort", rl("cpu", "500m", "memory", "200Mi"), rl("cpu", "1", "memory", "400Mi")), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitUsed(t, k, ns, "quota-not-besteffort", fixed(rl("pods", "1")))
		waitUsed(t, k, ns, "quota-besteffort", fixed(rl("pods", "1")))
		for _, n := range []string{"best-effort", "not-best-effort"} {
			if err := pods.Delete(ctx, n, *metav1.NewDeleteOptions(0)); err != nil {
				t.Fatal(err)
			}
		}
		waitUsed(t, k, ns, "quota-besteffort", fixed(rl("pods", "0")))
		waitUsed(t, k, ns, "quota-not-besteffort", fixed(rl("pods", "0")))
	})

	// A scope selector on priority classes (upstream's PriorityClass
	// tests): only pods of the class count, and the quota holds.
	t.Run("PriorityClassScope", func(t *testing.T) {
		ns := "rq-priority"
		quotaNamespace(t, k, ns)
		if _, err := k.client.SchedulingV1().PriorityClasses().Create(ctx, &schedulingv1.PriorityClass{
			ObjectMeta: metav1.ObjectMeta{Name: "rq-pclass1"}, Value: 1000}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		mkQuota(t, k, ns, "quota-priorityclass", rl("pods", "1"), func(q *corev1.ResourceQuota) {
			q.Spec.ScopeSelector = &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{{
				ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{"rq-pclass1"}}}}
		})
		waitUsed(t, k, ns, "quota-priorityclass", fixed(rl("pods", "0")))
		pods := k.client.CoreV1().Pods(ns)
		if _, err := pods.Create(ctx, quotaPod("no-class", nil, nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		classed := func(name string) *corev1.Pod {
			p := quotaPod(name, nil, nil)
			p.Spec.PriorityClassName = "rq-pclass1"
			return p
		}
		if _, err := pods.Create(ctx, classed("pfpod"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitUsed(t, k, ns, "quota-priorityclass", fixed(rl("pods", "1")))
		_, err := pods.Create(ctx, classed("pfpod2"), metav1.CreateOptions{})
		mustForbidden(t, "a second pod of the class", err)
		if err := pods.Delete(ctx, "pfpod", *metav1.NewDeleteOptions(0)); err != nil {
			t.Fatal(err)
		}
		waitUsed(t, k, ns, "quota-priorityclass", fixed(rl("pods", "0")))
	})

	// should be able to update and delete ResourceQuota.
	t.Run("UpdateAndDelete", func(t *testing.T) {
		ns := "rq-update"
		quotaNamespace(t, k, ns)
		quotas := k.client.CoreV1().ResourceQuotas(ns)
		mkQuota(t, k, ns, "test-quota", rl("cpu", "1", "memory", "500Mi"))
		waitUsed(t, k, ns, "test-quota", fixed(rl("cpu", "0", "memory", "0")))
		// The controller writes the status too: an update may meet a
		// conflict, and is tried again on the latest version.
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			q, err := quotas.Get(ctx, "test-quota", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if !quota.Equal(q.Spec.Hard, rl("cpu", "1", "memory", "500Mi")) {
				t.Fatalf("spec.hard %v", q.Spec.Hard)
			}
			q.Spec.Hard = rl("cpu", "2", "memory", "1Gi")
			_, err = quotas.Update(ctx, q, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		// The controller follows the new hard limits.
		waitUsed(t, k, ns, "test-quota", fixed(rl("cpu", "0", "memory", "0")))
		if err := quotas.Delete(ctx, "test-quota", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := quotas.Get(ctx, "test-quota", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("a deleted quota: want NotFound, got %v", err)
		}
	})

	// should manage the lifecycle of a ResourceQuota: list by label in
	// all namespaces, a strategic merge patch, deletecollection.
	t.Run("Lifecycle", func(t *testing.T) {
		ns := "rq-lifecycle"
		quotaNamespace(t, k, ns)
		quotas := k.client.CoreV1().ResourceQuotas(ns)
		name := "e2e-quota-lifecycle"
		mkQuota(t, k, ns, name, rl("cpu", "1", "memory", "500Mi"), func(q *corev1.ResourceQuota) {
			q.Labels = map[string]string{name: "true"}
		})
		list, err := k.client.CoreV1().ResourceQuotas("").List(ctx, metav1.ListOptions{LabelSelector: name + "=true"})
		if err != nil || len(list.Items) != 1 {
			t.Fatalf("listing by label: %v, %d items", err, len(list.Items))
		}
		patched, err := quotas.Patch(ctx, name, types.StrategicMergePatchType,
			[]byte(`{"metadata":{"labels":{"`+name+`":"patched"}},"spec":{"hard":{"memory":"750Mi"}}}`), metav1.PatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if patched.Labels[name] != "patched" || patched.Spec.Hard.Memory().Cmp(resource.MustParse("750Mi")) != 0 ||
			patched.Spec.Hard.Cpu().Cmp(resource.MustParse("1")) != 0 {
			t.Fatalf("patched: labels %v hard %v", patched.Labels, patched.Spec.Hard)
		}
		waitUsed(t, k, ns, name, fixed(rl("cpu", "0", "memory", "0")))
		if err := quotas.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: name + "=patched"}); err != nil {
			t.Fatal(err)
		}
		if _, err := quotas.Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("want NotFound, got %v", err)
		}
	})

	// kubectl create quota, then get and describe show what is used.
	t.Run("Kubectl", func(t *testing.T) {
		ns := "rq-kubectl"
		quotaNamespace(t, k, ns)
		k.mustKubectl("", "create", "quota", "compute", "-n", ns, "--hard=pods=2,requests.cpu=1,count/deployments.apps=3")
		waitUsed(t, k, ns, "compute", fixed(rl("pods", "0", "requests.cpu", "0", "count/deployments.apps", "0")))
		if _, err := k.client.CoreV1().Pods(ns).Create(ctx, quotaPod("p", rl("cpu", "250m"), nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitUsed(t, k, ns, "compute", fixed(rl("pods", "1", "requests.cpu", "250m")))
		if out := k.mustKubectl("", "get", "quota", "compute", "-n", ns); !strings.Contains(out, "pods: 1/2") || !strings.Contains(out, "requests.cpu: 250m/1") {
			t.Fatalf("kubectl get quota:\n%s", out)
		}
		out := k.mustKubectl("", "describe", "quota", "compute", "-n", ns)
		for _, line := range []string{"count/deployments.apps  0     3", "pods                    1     2", "requests.cpu            250m  1"} {
			if !strings.Contains(out, line) {
				t.Fatalf("kubectl describe quota lacks %q:\n%s", line, out)
			}
		}
	})

	// should apply changes to a resourcequota status: the /status
	// subresource takes status.hard, never changes the spec, and the
	// controller sets status.hard back to spec.hard.
	t.Run("StatusSubresource", func(t *testing.T) {
		ns := "rq-status"
		quotaNamespace(t, k, ns)
		quotas := k.client.CoreV1().ResourceQuotas(ns)
		name := "e2e-rq-status"
		mkQuota(t, k, ns, name, rl("cpu", "500m", "memory", "500Mi"))
		waitUsed(t, k, ns, name, fixed(rl("cpu", "0", "memory", "0")))
		var up *corev1.ResourceQuota
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			q, err := quotas.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			q.Status = corev1.ResourceQuotaStatus{Hard: q.Spec.Hard.DeepCopy()}
			up, err = quotas.UpdateStatus(ctx, q, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if !quota.Equal(up.Status.Hard, up.Spec.Hard) {
			t.Fatalf("updated status.hard %v", up.Status.Hard)
		}
		// Used, which the update left out, is computed again.
		waitUsed(t, k, ns, name, fixed(rl("cpu", "0", "memory", "0")))
		if _, err := quotas.Patch(ctx, name, types.StrategicMergePatchType, []byte(`{"spec":{"hard":{"cpu":"1","memory":"1Gi"}}}`),
			metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		hard, _ := json.Marshal(rl("cpu", "1", "memory", "1Gi"))
		if _, err := quotas.Patch(ctx, name, types.StrategicMergePatchType, []byte(`{"status":{"hard":`+string(hard)+`}}`),
			metav1.PatchOptions{}, "status"); err != nil {
			t.Fatal(err)
		}
		u, err := k.dynamic.Resource(schema.GroupVersionResource{Version: "v1", Resource: "resourcequotas"}).Namespace(ns).
			Get(ctx, name, metav1.GetOptions{}, "status")
		if err != nil {
			t.Fatal(err)
		}
		var got corev1.ResourceQuota
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &got); err != nil {
			t.Fatal(err)
		}
		if got.Status.Hard.Cpu().Cmp(resource.MustParse("1")) != 0 || got.Status.Hard.Memory().Cmp(resource.MustParse("1Gi")) != 0 {
			t.Fatalf("GET /status: hard %v", got.Status.Hard)
		}
		hard, _ = json.Marshal(rl("cpu", "2", "memory", "2Gi"))
		re, err := quotas.Patch(ctx, name, types.StrategicMergePatchType, []byte(`{"status":{"hard":`+string(hard)+`}}`),
			metav1.PatchOptions{}, "status")
		if err != nil {
			t.Fatal(err)
		}
		if re.Status.Hard.Cpu().Cmp(resource.MustParse("2")) != 0 || re.Spec.Hard.Cpu().Cmp(resource.MustParse("1")) != 0 ||
			re.Spec.Hard.Memory().Cmp(resource.MustParse("1Gi")) != 0 {
			t.Fatalf("a status patch: status.hard %v, spec.hard %v", re.Status.Hard, re.Spec.Hard)
		}
		// The controller resets status.hard to the unchanged spec.
		waitUsed(t, k, ns, name, fixed(rl("cpu", "0", "memory", "0")))
		final, err := quotas.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if final.Status.Hard.Cpu().Cmp(resource.MustParse("1")) != 0 || final.Status.Hard.Memory().Cmp(resource.MustParse("1Gi")) != 0 {
			t.Fatalf("status.hard after the reset: %v", final.Status.Hard)
		}
	})
}
