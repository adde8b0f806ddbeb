package storage

import (
	"reflect"
	"runtime"
	"testing"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func podWithFields(name, fields string) *corev1.Pod {
	container := func(name string) corev1.Container {
		return corev1.Container{Name: name, Image: "registry.example.com/web:1.0",
			Env: []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", ValueFrom: &corev1.EnvVarSource{
				FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
			Resources: corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
			},
			LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}}},
		}
	}
	seconds := int64(300)
	return &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{container("app"), container("sidecar")},
		Tolerations: []corev1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &seconds}},
		Volumes: []corev1.Volume{{Name: "kube-api-access-" + name, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}}}}}}}},
		ObjectMeta: metav1.ObjectMeta{Name: name,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-5d8f", UID: "1234"}},
			Labels:          map[string]string{"app": "web", "pod-template-hash": "5d8f"}, ManagedFields: []metav1.ManagedFieldsEntry{
				{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate,
					FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(fields)}},
				{Manager: "kubelet", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status",
					FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:status":{}}`)}},
			}}}
}

func TestCachedSharesEqualParts(t *testing.T) {
	const fields = `{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{}}}`
	a, b := podWithFields("a", fields), podWithFields("b", fields)
	other := podWithFields("c", `{"f:spec":{}}`)
	ca, cb, cc := NewCached(a), NewCached(b), NewCached(other)
	raw := func(c *Cached, i int) []byte {
		return c.Object().(*corev1.Pod).ManagedFields[i].FieldsV1.Raw
	}
	for i := range 2 {
		if &raw(ca, i)[0] != &raw(cb, i)[0] {
			t.Errorf("entry %d: identical fields of two cached Pods are two copies", i)
		}
	}
	pa, pb := ca.Object().(*corev1.Pod), cb.Object().(*corev1.Pod)
	same := func(what string, x, y any) {
		t.Helper()
		if reflect.ValueOf(x).Pointer() != reflect.ValueOf(y).Pointer() {
			t.Errorf("%s: two cached Pods hold two equal copies", what)
		}
	}
	same("labels", pa.Labels, pb.Labels)
	same("owner references", pa.OwnerReferences, pb.OwnerReferences)
	same("tolerations", pa.Spec.Tolerations, pb.Spec.Tolerations)
	same("the token volume", pa.Spec.Volumes[0].Projected, pb.Spec.Volumes[0].Projected)
	if pa.Spec.Volumes[0].Name != "kube-api-access-a" || pb.Spec.Volumes[0].Name != "kube-api-access-b" {
		t.Errorf("volume names changed: %s, %s", pa.Spec.Volumes[0].Name, pb.Spec.Volumes[0].Name)
	}
	for i := range 2 {
		a, b := pa.Spec.Containers[i], pb.Spec.Containers[i]
		same("limits", a.Resources.Limits, b.Resources.Limits)
		same("requests", a.Resources.Requests, b.Resources.Requests)
		same("env", a.Env, b.Env)
		same("liveness probe", a.LivenessProbe, b.LivenessProbe)
	}
	if reflect.ValueOf(pa.Spec.Containers[0].Resources.Limits).Pointer() == reflect.ValueOf(pa.Spec.Containers[0].Resources.Requests).Pointer() {
		t.Error("different resource lists are one")
	}
	if !apiequality.Semantic.DeepEqual(pa.Spec, podWithFields("a", fields).Spec) {
		t.Error("sharing changed the Pod's spec")
	}
	// A value that differs is not shared.
	changed := podWithFields("e", fields)
	changed.Labels["app"] = "api"
	changed.Spec.Containers[0].Env[0].Value = "2"
	pe := NewCached(changed).Object().(*corev1.Pod)
	if reflect.ValueOf(pe.Labels).Pointer() == reflect.ValueOf(pa.Labels).Pointer() || pe.Labels["app"] != "api" {
		t.Errorf("different labels are shared: %v", pe.Labels)
	}
	if reflect.ValueOf(pe.Spec.Containers[0].Env).Pointer() == reflect.ValueOf(pa.Spec.Containers[0].Env).Pointer() || pe.Spec.Containers[0].Env[0].Value != "2" {
		t.Errorf("different environments are shared: %v", pe.Spec.Containers[0].Env)
	}
	same("the unchanged container's env", pe.Spec.Containers[1].Env, pa.Spec.Containers[1].Env)
	if &raw(cc, 0)[0] == &raw(ca, 0)[0] {
		t.Error("different fields share bytes")
	}
	if &raw(cc, 1)[0] != &raw(ca, 1)[0] {
		t.Error("the status entries, identical, are not shared")
	}
	runtime.GC()
	if string(raw(ca, 0)) != fields || string(raw(cb, 0)) != fields || string(raw(cc, 0)) != `{"f:spec":{}}` {
		t.Errorf("fields changed: %s, %s, %s", raw(ca, 0), raw(cb, 0), raw(cc, 0))
	}
	// A copy is the caller's to change: its bytes are its own.
	cp := ca.DeepCopyObject().(*corev1.Pod)
	if &cp.ManagedFields[0].FieldsV1.Raw[0] == &raw(ca, 0)[0] {
		t.Fatal("a deep copy shares the cached bytes")
	}
	cp.ManagedFields[0].FieldsV1.Raw[0] = '['
	cp.Labels["app"] = "changed"
	cp.Spec.Containers[0].Resources.Limits[corev1.ResourceCPU] = resource.MustParse("3")
	cp.Spec.Containers[0].Env[0].Value = "changed"
	cp.Spec.Containers[0].LivenessProbe.HTTPGet.Path = "/changed"
	cp.Spec.Tolerations[0].Key = "changed"
	cp.OwnerReferences[0].Name = "changed"
	cp.Spec.Volumes[0].Projected.Sources[0].ServiceAccountToken.Path = "changed"
	if string(raw(cb, 0)) != fields || !apiequality.Semantic.DeepEqual(pb.Spec, podWithFields("b", fields).Spec) || pb.Labels["app"] != "web" || pb.OwnerReferences[0].Name != "web-5d8f" {
		t.Error("changing a copy changed the cached objects")
	}
	// A later object with the same fields gets the same bytes while one
	// holding them is cached.
	cd := NewCached(podWithFields("d", fields))
	if &raw(cd, 0)[0] != &raw(cb, 0)[0] {
		t.Error("a later Pod does not share the fields of the cached ones")
	}
	runtime.KeepAlive(ca)

	// Unstructured objects are left as they are.
	u := &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": "u"}}}
	if NewCached(u).shared != nil {
		t.Error("an Unstructured object has shared fields")
	}
}

// TestShareTableForgets: a value no cached object holds leaves the table.
func TestShareTableForgets(t *testing.T) {
	labels := map[string]string{"only-in": t.Name()}
	key := string(stringMapKey(new([]byte), labels))
	c := NewCached(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: labels}})
	present := func() bool {
		labelMaps.mu.Lock()
		defer labelMaps.mu.Unlock()
		_, ok := labelMaps.m[key]
		return ok
	}
	if !present() {
		t.Fatal("the labels of a cached object are not in the table")
	}
	runtime.KeepAlive(c)
	c = nil
	deadline := time.Now().Add(10 * time.Second)
	for present() {
		if time.Now().After(deadline) {
			t.Fatal("the labels stay in the table after their object is gone")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkShare: what sharing adds to each Pod the cache takes in (a
// restart decodes and shares every one).
func BenchmarkShare(b *testing.B) {
	const fields = `{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{}}}`
	keep := NewCached(podWithFields("kept", fields))
	pods := make([]*corev1.Pod, 1000)
	for i := range pods {
		pods[i] = podWithFields("p", fields)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		share(pods[i%len(pods)])
	}
	runtime.KeepAlive(keep)
}

// TestSharedSlicesAreClipped: appending to a shared slice copies it.
func TestSharedSlicesAreClipped(t *testing.T) {
	p := podWithFields("a", `{}`)
	p.Spec.Tolerations = append(make([]corev1.Toleration, 0, 8), p.Spec.Tolerations...)
	p.Spec.Tolerations[0].Key = t.Name() // no other object's
	env := &p.Spec.Containers[0].Env
	*env = append(make([]corev1.EnvVar, 0, 8), *env...)
	(*env)[0].Value = t.Name()
	c := NewCached(p).Object().(*corev1.Pod)
	if len(c.Spec.Tolerations) != cap(c.Spec.Tolerations) {
		t.Errorf("shared tolerations: len %d, cap %d", len(c.Spec.Tolerations), cap(c.Spec.Tolerations))
	}
	if len(c.Spec.Containers[0].Env) != cap(c.Spec.Containers[0].Env) {
		t.Errorf("shared env: len %d, cap %d", len(c.Spec.Containers[0].Env), cap(c.Spec.Containers[0].Env))
	}
}
