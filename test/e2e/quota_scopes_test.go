package e2e

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// TestQuotaScopes: quotas count what kube 1.37's count, where scopes
// and kinds kapi counted wrongly meet: a pod given an active deadline
// moves between the Terminating and NotTerminating quotas (upstream's
// "should verify ResourceQuota with terminating scopes through scope
// selectors"), a VolumeAttributesClass-scoped quota counts the claims
// that name its classes ("ResourceQuota's volume attributes class scope
// ..."), and ResourceClaims count per device class ("should create a
// ResourceQuota and capture the life of a ResourceClaim"). Each is
// checked twice: at once after each write (the plugin's charge in the
// write's own transaction), and after the quota controller counted the
// namespace again from scratch.
func TestQuotaScopes(t *testing.T) {
	k := startKapi(t)
	t.Run("terminating", func(t *testing.T) { quotaScopesTerminating(t, k) })
	t.Run("volume attributes class", func(t *testing.T) { quotaScopesVolumeAttributesClass(t, k) })
	t.Run("resource claims", func(t *testing.T) { quotaScopesResourceClaims(t, k) })
}

// usedNow fails the test unless the quota's status.used shows want now,
// without waiting for the quota controller.
func usedNow(t *testing.T, k *kapi, ns, name string, want corev1.ResourceList) {
	t.Helper()
	q, err := k.client.CoreV1().ResourceQuotas(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for n, v := range want {
		if got, ok := q.Status.Used[n]; !ok || got.Cmp(v) != 0 {
			t.Fatalf("quota %s: used %v, want ⊇ %v", name, q.Status.Used, want)
		}
	}
}

// recount has the quota controller count the quota from scratch (its
// spec.hard changes) and waits until it has, with used ⊇ want.
func recount(t *testing.T, k *kapi, ns, name string, extra corev1.ResourceName, want corev1.ResourceList) {
	t.Helper()
	ctx := context.Background()
	quotas := k.client.CoreV1().ResourceQuotas(ns)
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		q, err := quotas.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		q.Spec.Hard[extra] = resource.MustParse("100")
		_, err = quotas.Update(ctx, q, metav1.UpdateOptions{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	waitUsed(t, k, ns, name, fixed(want))
}

func mustExceed(t *testing.T, what string, err error, message string) {
	t.Helper()
	mustForbidden(t, what, err)
	if !strings.Contains(err.Error(), message) {
		t.Fatalf("%s: %v, want %q", what, err, message)
	}
}

// quotaScopesTerminating: a running pod counts in the NotTerminating
// quota; given an active deadline it leaves it for the Terminating one,
// which then refuses a second terminating pod.
func quotaScopesTerminating(t *testing.T, k *kapi) {
	ctx := context.Background()
	ns := "rq-terminating"
	quotaNamespace(t, k, ns)
	// upstream's newTestResourceQuotaWithScopeSelector
	hard := rl("pods", "1", "requests.cpu", "1", "requests.memory", "500Mi", "limits.cpu", "2", "limits.memory", "1Gi")
	bySelector := func(s corev1.ResourceQuotaScope) func(*corev1.ResourceQuota) {
		return func(q *corev1.ResourceQuota) {
			q.Spec.ScopeSelector = &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
				{ScopeName: s, Operator: corev1.ScopeSelectorOpExists}}}
		}
	}
	mkQuota(t, k, ns, "quota-terminating", hard.DeepCopy(), bySelector(corev1.ResourceQuotaScopeTerminating))
	mkQuota(t, k, ns, "quota-not-terminating", hard.DeepCopy(), bySelector(corev1.ResourceQuotaScopeNotTerminating))
	none := rl("pods", "0", "requests.cpu", "0", "requests.memory", "0", "limits.cpu", "0", "limits.memory", "0")
	one := rl("pods", "1", "requests.cpu", "500m", "requests.memory", "200Mi", "limits.cpu", "1", "limits.memory", "400Mi")
	waitUsed(t, k, ns, "quota-terminating", fixed(none))
	waitUsed(t, k, ns, "quota-not-terminating", fixed(none))

	pods := k.client.CoreV1().Pods(ns)
	requests, limits := rl("cpu", "500m", "memory", "200Mi"), rl("cpu", "1", "memory", "400Mi")
	if _, err := pods.Create(ctx, quotaPod("test-pod", requests, limits), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	usedNow(t, k, ns, "quota-not-terminating", one)
	usedNow(t, k, ns, "quota-terminating", none)

	deadline := int64(3600)
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p, err := pods.Get(ctx, "test-pod", metav1.GetOptions{})
		if err != nil {
			return err
		}
		p.Spec.ActiveDeadlineSeconds = &deadline
		_, err = pods.Update(ctx, p, metav1.UpdateOptions{})
		return err
	}); err != nil {
		t.Fatalf("giving the pod an active deadline: %v", err)
	}
	usedNow(t, k, ns, "quota-terminating", one)
	usedNow(t, k, ns, "quota-not-terminating", none)

	second := quotaPod("terminating-pod", requests, limits)
	second.Spec.ActiveDeadlineSeconds = &deadline
	_, err := pods.Create(ctx, second, metav1.CreateOptions{})
	mustExceed(t, "a second terminating pod", err,
		`pods "terminating-pod" is forbidden: exceeded quota: quota-terminating, requested: pods=1, used: pods=1, limited: pods=1`)

	// The controller counts as the plugin charged.
	recount(t, k, ns, "quota-terminating", "count/pods", withCount(one, "count/pods", "1"))
	recount(t, k, ns, "quota-not-terminating", "count/pods", withCount(none, "count/pods", "0"))

	if err := pods.Delete(ctx, "test-pod", *metav1.NewDeleteOptions(0)); err != nil {
		t.Fatal(err)
	}
	waitUsed(t, k, ns, "quota-terminating", fixed(withCount(none, "count/pods", "0")))
	if _, err := pods.Create(ctx, second, metav1.CreateOptions{}); err != nil {
		t.Fatalf("a terminating pod once the first is gone: %v", err)
	}
	usedNow(t, k, ns, "quota-terminating", one)
	usedNow(t, k, ns, "quota-not-terminating", none)
}

func withCount(l corev1.ResourceList, kv ...string) corev1.ResourceList {
	out := l.DeepCopy()
	for n, v := range rl(kv...) {
		out[n] = v
	}
	return out
}

// quotaScopesVolumeAttributesClass: quotas scoped to the gold and the
// silver volume attributes class count the claims that name their
// class, in spec or status, and no others; a claim asking for silver
// while its volume has gold counts in both, until its status says its
// volume has silver.
func quotaScopesVolumeAttributesClass(t *testing.T, k *kapi) {
	ctx := context.Background()
	ns := "rq-vac"
	quotaNamespace(t, k, ns)
	byClass := func(class string) func(*corev1.ResourceQuota) {
		return func(q *corev1.ResourceQuota) {
			q.Spec.ScopeSelector = &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
				{ScopeName: corev1.ResourceQuotaScopeVolumeAttributesClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{class}}}}
		}
	}
	hard := rl("requests.storage", "5Gi", "persistentvolumeclaims", "1")
	mkQuota(t, k, ns, "quota-gold", hard.DeepCopy(), byClass("gold"))
	mkQuota(t, k, ns, "quota-silver", hard.DeepCopy(), byClass("silver"))
	none, one := rl("requests.storage", "0", "persistentvolumeclaims", "0"), rl("requests.storage", "1Gi", "persistentvolumeclaims", "1")
	waitUsed(t, k, ns, "quota-gold", fixed(none))
	waitUsed(t, k, ns, "quota-silver", fixed(none))

	claims := k.client.CoreV1().PersistentVolumeClaims(ns)
	pvc := func(name, class string) *corev1.PersistentVolumeClaim {
		c := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr(""),
			Resources:        corev1.VolumeResourceRequirements{Requests: rl("storage", "1Gi")}}}
		if class != "" {
			c.Spec.VolumeAttributesClassName = &class
		}
		return c
	}
	if _, err := claims.Create(ctx, pvc("plain", ""), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := claims.Create(ctx, pvc("test-claim-1", "gold"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	usedNow(t, k, ns, "quota-gold", one)
	usedNow(t, k, ns, "quota-silver", none)
	_, err := claims.Create(ctx, pvc("test-claim-2", "gold"), metav1.CreateOptions{})
	mustExceed(t, "a second gold claim", err, "exceeded quota: quota-gold, requested: persistentvolumeclaims=1, "+
		"used: persistentvolumeclaims=1, limited: persistentvolumeclaims=1")

	// The volume controller would report the volume's class.
	setStatus := func(class string) {
		t.Helper()
		if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			c, err := claims.Get(ctx, "test-claim-1", metav1.GetOptions{})
			if err != nil {
				return err
			}
			c.Status.CurrentVolumeAttributesClassName = &class
			_, err = claims.UpdateStatus(ctx, c, metav1.UpdateOptions{})
			return err
		}); err != nil {
			t.Fatalf("the claim's status: %v", err)
		}
	}
	setStatus("gold")
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		c, err := claims.Get(ctx, "test-claim-1", metav1.GetOptions{})
		if err != nil {
			return err
		}
		c.Spec.VolumeAttributesClassName = ptr("silver")
		_, err = claims.Update(ctx, c, metav1.UpdateOptions{})
		return err
	}); err != nil {
		t.Fatalf("asking for silver: %v", err)
	}
	usedNow(t, k, ns, "quota-gold", one)
	usedNow(t, k, ns, "quota-silver", one)
	setStatus("silver")
	usedNow(t, k, ns, "quota-gold", none)
	usedNow(t, k, ns, "quota-silver", one)

	recount(t, k, ns, "quota-gold", "count/persistentvolumeclaims", withCount(none, "count/persistentvolumeclaims", "0"))
	recount(t, k, ns, "quota-silver", "count/persistentvolumeclaims", withCount(one, "count/persistentvolumeclaims", "1"))

	if err := claims.Delete(ctx, "test-claim-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUsed(t, k, ns, "quota-silver", fixed(withCount(none, "count/persistentvolumeclaims", "0")))
}

// quotaScopesResourceClaims: upstream's DRA quota counts a claim of one
// gold device in count/resourceclaims.resource.k8s.io and in
// gold.deviceclass.resource.k8s.io/devices, refuses a second, and gives
// both back when the claim goes.
func quotaScopesResourceClaims(t *testing.T, k *kapi) {
	ctx := context.Background()
	ns := "rq-claims"
	quotaNamespace(t, k, ns)
	const count, gold = "count/resourceclaims.resource.k8s.io", "gold.deviceclass.resource.k8s.io/devices"
	mkQuota(t, k, ns, "test-quota", rl(count, "1", gold, "1", "resourcequotas", "1"))
	waitUsed(t, k, ns, "test-quota", fixed(rl(count, "0", gold, "0", "resourcequotas", "1")))

	claims := k.client.ResourceV1().ResourceClaims(ns)
	claim := func(name string) *resourcev1.ResourceClaim {
		return &resourcev1.ResourceClaim{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: resourcev1.ResourceClaimSpec{
			Devices: resourcev1.DeviceClaim{Requests: []resourcev1.DeviceRequest{{Name: "req-0",
				Exactly: &resourcev1.ExactDeviceRequest{DeviceClassName: "gold"}}}}}}
	}
	if _, err := claims.Create(ctx, claim("test-claim"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	usedNow(t, k, ns, "test-quota", rl(count, "1", gold, "1"))
	_, err := claims.Create(ctx, claim("second-claim"), metav1.CreateOptions{})
	mustExceed(t, "a second claim", err, "exceeded quota: test-quota, requested: "+count+"=1,"+gold+"=1, used: "+
		count+"=1,"+gold+"=1, limited: "+count+"=1,"+gold+"=1")
	recount(t, k, ns, "test-quota", "silver.deviceclass.resource.k8s.io/devices",
		rl(count, "1", gold, "1", "silver.deviceclass.resource.k8s.io/devices", "0"))

	if err := claims.Delete(ctx, "test-claim", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	usedNow(t, k, ns, "test-quota", rl(count, "0", gold, "0"))
	waitUsed(t, k, ns, "test-quota", fixed(rl(count, "0", gold, "0")))
}
