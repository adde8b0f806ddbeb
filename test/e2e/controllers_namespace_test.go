package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"kapi/internal/audit"
	"kapi/internal/server"
)

// namespaceKinds are ten namespaced kinds, a custom resource among them,
// and how to make the i-th object of each.
var namespaceKinds = []struct {
	gvr  schema.GroupVersionResource
	make func(k *kapi, ns string, i int) error
}{
	{schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, func(k *kapi, ns string, i int) error {
		_, err := k.client.CoreV1().ConfigMaps(ns).Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("cm-", i)}, Data: map[string]string{"k": strings.Repeat("v", 512)}}, metav1.CreateOptions{})
		return err
	}},
	{schema.GroupVersionResource{Version: "v1", Resource: "secrets"}, func(k *kapi, ns string, i int) error {
		_, err := k.client.CoreV1().Secrets(ns).Create(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("s-", i)}, StringData: map[string]string{"k": "v"}}, metav1.CreateOptions{})
		return err
	}},
	{schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, func(k *kapi, ns string, i int) error {
		_, err := k.client.CoreV1().ServiceAccounts(ns).Create(context.Background(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("sa-", i)}}, metav1.CreateOptions{})
		return err
	}},
	{schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"}, func(k *kapi, ns string, i int) error {
		_, err := k.client.RbacV1().Roles(ns).Create(context.Background(), &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("r-", i)},
			Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"configmaps"}}}}, metav1.CreateOptions{})
		return err
	}},
	{schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"}, func(k *kapi, ns string, i int) error {
		_, err := k.client.RbacV1().RoleBindings(ns).Create(context.Background(), &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("rb-", i)},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "view"},
			Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: fmt.Sprint("user-", i)}}}, metav1.CreateOptions{})
		return err
	}},
	{schema.GroupVersionResource{Group: "coordination.k8s.io", Version: "v1", Resource: "leases"}, func(k *kapi, ns string, i int) error {
		_, err := k.client.CoordinationV1().Leases(ns).Create(context.Background(), &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("l-", i)}}, metav1.CreateOptions{})
		return err
	}},
	{schema.GroupVersionResource{Version: "v1", Resource: "podtemplates"}, func(k *kapi, ns string, i int) error {
		_, err := k.client.CoreV1().PodTemplates(ns).Create(context.Background(), &corev1.PodTemplate{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("pt-", i)},
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}}}, metav1.CreateOptions{})
		return err
	}},
	{schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}, func(k *kapi, ns string, i int) error {
		_, err := k.client.NetworkingV1().NetworkPolicies(ns).Create(context.Background(), &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("np-", i)}}, metav1.CreateOptions{})
		return err
	}},
	{schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}, func(k *kapi, ns string, i int) error {
		_, err := k.client.CoreV1().PersistentVolumeClaims(ns).Create(context.Background(), &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("pvc-", i)},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}, metav1.CreateOptions{})
		return err
	}},
	{widgetGVR, func(k *kapi, ns string, i int) error {
		_, err := k.dynamic.Resource(widgetGVR).Namespace(ns).Create(context.Background(), &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "example.com/v1", "kind": "Widget", "metadata": map[string]any{"name": fmt.Sprint("w-", i)}, "spec": map[string]any{"replicas": int64(i)}}}, metav1.CreateOptions{})
		return err
	}},
}

// fillNamespace makes namespace ns with perKind objects of each of the
// ten kinds, eight writers at a time (the widgets' CRD must exist).
func fillNamespace(t testing.TB, k *kapi, ns string, perKind int) {
	t.Helper()
	if _, err := k.client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	jobs := make(chan func() error)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if err := j(); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, kind := range namespaceKinds {
		for i := 0; i < perKind; i++ {
			jobs <- func() error { return kind.make(k, ns, i) }
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
}

// remainingIn counts what is left in ns of the ten kinds.
func remainingIn(k *kapi, ns string) (int, error) {
	n := 0
	for _, kind := range namespaceKinds {
		l, err := k.dynamic.Resource(kind.gvr).Namespace(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return 0, err
		}
		n += len(l.Items)
	}
	return n, nil
}

// deleteNamespace deletes ns and waits until it is gone.
func deleteNamespace(t testing.TB, k *kapi, ns string, timeout time.Duration) {
	t.Helper()
	ctx := context.Background()
	if err := k.client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deleteNamespaceWait(t, k, ns, timeout)
}

// TestNamespaceDeletionContents: a namespace of 1,000 objects of ten
// kinds, custom resources among them, is deleted completely; while a
// custom resource's finalizer holds it the namespace says so in kube's
// conditions, and it goes once the finalizer is removed.
func TestNamespaceDeletionContents(t *testing.T) {
	t.Parallel()
	k := startKapi(t)
	k.createCRD(t, widgetCRD())
	k.waitEstablished(t, "widgets.example.com")
	ctx := context.Background()
	fillNamespace(t, k, "full", 100)
	held := k.dynamic.Resource(widgetGVR).Namespace("full")
	if _, err := held.Patch(ctx, "w-0", types.MergePatchType, []byte(`{"metadata":{"finalizers":["e2e.kapi.dev/hold"]}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := k.client.CoreV1().Namespaces().Delete(ctx, "full", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want := map[corev1.NamespaceConditionType]corev1.NamespaceCondition{
		corev1.NamespaceDeletionDiscoveryFailure: {Status: corev1.ConditionFalse, Reason: "ResourcesDiscovered", Message: "All resources successfully discovered"},
		corev1.NamespaceDeletionGVParsingFailure: {Status: corev1.ConditionFalse, Reason: "ParsedGroupVersions", Message: "All legacy kube types successfully parsed"},
		corev1.NamespaceDeletionContentFailure:   {Status: corev1.ConditionFalse, Reason: "ContentDeleted", Message: "All content successfully deleted, may be waiting on finalization"},
		corev1.NamespaceContentRemaining:         {Status: corev1.ConditionTrue, Reason: "SomeResourcesRemain", Message: "Some resources are remaining: widgets.example.com has 1 resource instances"},
		corev1.NamespaceFinalizersRemaining:      {Status: corev1.ConditionTrue, Reason: "SomeFinalizersRemain", Message: "Some content in the namespace has finalizers remaining: e2e.kapi.dev/hold in 1 resource instances"},
	}
	var last []corev1.NamespaceCondition
	if err := waitUntil(60*time.Second, func() bool {
		ns, err := k.client.CoreV1().Namespaces().Get(ctx, "full", metav1.GetOptions{})
		if err != nil {
			return false
		}
		last = ns.Status.Conditions
		return conditionsMatch(ns.Status.Conditions, want)
	}); err != nil {
		t.Fatalf("conditions of the held namespace: %+v", last)
	}
	if n, err := remainingIn(k, "full"); err != nil || n != 1 {
		t.Fatalf("held namespace: %d objects left, want only the held widget (%v)", n, err)
	}
	if _, err := held.Patch(ctx, "w-0", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	deleteNamespaceWait(t, k, "full", time.Minute)
	if n, err := remainingIn(k, "full"); err != nil || n != 0 {
		t.Fatalf("%d objects left behind (%v)", n, err)
	}
}

// TestNamespaceDeletesPodsFirst: a terminating namespace's pods go
// before anything else in it (kube's OrderedNamespaceDeletion, and its
// conformance test): while a finalizer holds a pod, the namespace says
// that the pod remains and its ConfigMap and Secret are still there;
// once the pod goes, they go, and so does the namespace.
func TestNamespaceDeletesPodsFirst(t *testing.T) {
	t.Parallel()
	k := startKapi(t)
	ctx := context.Background()
	if _, err := k.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ordered"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Finalizers: []string{"e2e.kapi.dev/hold"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "pause"}}}}
	if _, err := k.client.CoreV1().Pods("ordered").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.client.CoreV1().ConfigMaps("ordered").Create(ctx, cm("settings", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.client.CoreV1().Secrets("ordered").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := k.client.CoreV1().Namespaces().Delete(ctx, "ordered", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// The conditions are written at the end of a pass over the contents:
	// once they name the held pod, the pass has deleted what it would.
	want := map[corev1.NamespaceConditionType]corev1.NamespaceCondition{
		corev1.NamespaceContentRemaining:    {Status: corev1.ConditionTrue, Reason: "SomeResourcesRemain", Message: "Some resources are remaining: pods. has 1 resource instances"},
		corev1.NamespaceFinalizersRemaining: {Status: corev1.ConditionTrue, Reason: "SomeFinalizersRemain", Message: "Some content in the namespace has finalizers remaining: e2e.kapi.dev/hold in 1 resource instances"},
	}
	var last []corev1.NamespaceCondition
	if err := waitUntil(60*time.Second, func() bool {
		ns, err := k.client.CoreV1().Namespaces().Get(ctx, "ordered", metav1.GetOptions{})
		if err != nil {
			return false
		}
		last = ns.Status.Conditions
		return conditionsMatch(ns.Status.Conditions, want)
	}); err != nil {
		t.Fatalf("conditions of the namespace held by its pod: %+v", last)
	}
	held, err := k.client.CoreV1().Pods("ordered").Get(ctx, "p", metav1.GetOptions{})
	if err != nil || held.DeletionTimestamp == nil {
		t.Fatalf("the held pod is not being deleted: %v", err)
	}
	if _, err := k.client.CoreV1().ConfigMaps("ordered").Get(ctx, "settings", metav1.GetOptions{}); err != nil {
		t.Fatalf("the ConfigMap went before the pod: %v", err)
	}
	if _, err := k.client.CoreV1().Secrets("ordered").Get(ctx, "creds", metav1.GetOptions{}); err != nil {
		t.Fatalf("the Secret went before the pod: %v", err)
	}
	if _, err := k.client.CoreV1().Pods("ordered").Patch(ctx, "p", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	deleteNamespaceWait(t, k, "ordered", time.Minute)
	if _, err := k.client.CoreV1().ConfigMaps("ordered").Get(ctx, "settings", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the ConfigMap outlived its namespace: %v", err)
	}
}

func conditionsMatch(got []corev1.NamespaceCondition, want map[corev1.NamespaceConditionType]corev1.NamespaceCondition) bool {
	seen := 0
	for _, c := range got {
		w, ok := want[c.Type]
		if !ok {
			continue
		}
		if c.Status != w.Status || c.Reason != w.Reason || c.Message != w.Message || c.LastTransitionTime.IsZero() {
			return false
		}
		seen++
	}
	return seen == len(want)
}

// TestNamespaceDeletionThroughAdmission: the namespace loop deletes
// through the front door, as kube-system/namespace-controller: a
// ValidatingAdmissionPolicy that refuses its deletes of guarded objects
// holds the namespace, which reports the refusal in its
// NamespaceDeletionContentFailure condition; the requests are in the
// audit log under the loop's user; once the policy goes, so does the
// namespace.
func TestNamespaceDeletionThroughAdmission(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	logPath, policyPath := filepath.Join(dir, "audit.log"), filepath.Join(dir, "policy.yaml")
	policy := "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n  users: [\"system:serviceaccount:kube-system:namespace-controller\"]\n- level: None\n"
	if err := os.WriteFile(policyPath, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	k := startKapi(t, func(c *server.Config) {
		c.Audit = audit.DefaultOptions()
		c.Audit.PolicyFile, c.Audit.LogPath = policyPath, logPath
	})
	ctx := context.Background()
	vap := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "guard"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Delete},
					Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}}}}}},
			Validations: []admissionregistrationv1.Validation{{
				Expression: `request.userInfo.username != "system:serviceaccount:kube-system:namespace-controller" || !has(oldObject.metadata.labels) || !("guard" in oldObject.metadata.labels)`,
				Message:    "guarded from the namespace controller"}},
		},
	}
	if _, err := k.client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, vap, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: "guard"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "guard", ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}}}
	if _, err := k.client.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The policy is in force once an impersonated delete by the loop's
	// user is refused (each probe a fresh object: refused ones stay).
	probe := 0
	settle(t, "the guard policy", func() bool {
		probe++
		name := fmt.Sprint("probe-", probe)
		if _, err := k.client.CoreV1().ConfigMaps("default").Create(ctx, cm(name, map[string]string{"guard": "yes"}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		err := asUser(k, "system:serviceaccount:kube-system:namespace-controller").CoreV1().ConfigMaps("default").Delete(ctx, name, metav1.DeleteOptions{})
		return apierrors.IsInvalid(err) || apierrors.IsForbidden(err)
	})

	if _, err := k.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "guarded"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*corev1.ConfigMap{cm("kept", map[string]string{"guard": "yes"}), cm("plain", nil)} {
		if _, err := k.client.CoreV1().ConfigMaps("guarded").Create(ctx, c, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := k.client.CoreV1().Namespaces().Delete(ctx, "guarded", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	var failure corev1.NamespaceCondition
	if err := waitUntil(60*time.Second, func() bool {
		ns, err := k.client.CoreV1().Namespaces().Get(ctx, "guarded", metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, c := range ns.Status.Conditions {
			if c.Type == corev1.NamespaceDeletionContentFailure {
				failure = c
			}
		}
		return failure.Status == corev1.ConditionTrue
	}); err != nil {
		t.Fatalf("no content failure reported: %+v", failure)
	}
	if failure.Reason != "ContentDeletionFailed" || !strings.Contains(failure.Message, "guarded from the namespace controller") ||
		!strings.HasPrefix(failure.Message, "Failed to delete all resource types, 1 remaining: ") {
		t.Fatalf("content failure condition: %+v", failure)
	}
	if _, err := k.client.CoreV1().ConfigMaps("guarded").Get(ctx, "kept", metav1.GetOptions{}); err != nil {
		t.Fatalf("the guarded ConfigMap went past the policy: %v", err)
	}

	if err := k.client.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Delete(ctx, "guard", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deleteNamespaceWait(t, k, "guarded", time.Minute)

	// The loop's requests are in the audit log under its user: its
	// refused deletes, its status updates and the finalize.
	var refused, finalize, status int
	if err := waitUntil(30*time.Second, func() bool {
		refused, finalize, status = 0, 0, 0
		for _, ev := range auditEvents(t, logPath) {
			if ev.ObjectRef == nil || ev.ObjectRef.Namespace != "guarded" && ev.ObjectRef.Name != "guarded" {
				continue
			}
			switch {
			case ev.ObjectRef.Resource == "configmaps" && strings.HasPrefix(ev.Verb, "delete") && ev.ResponseStatus != nil && ev.ResponseStatus.Code >= 400:
				refused++
			case ev.ObjectRef.Resource == "namespaces" && ev.ObjectRef.Subresource == "finalize":
				finalize++
			case ev.ObjectRef.Resource == "namespaces" && ev.ObjectRef.Subresource == "status":
				status++
			}
		}
		return refused > 0 && finalize > 0 && status > 0
	}); err != nil {
		t.Fatalf("audit log of the namespace loop: %d refused deletes, %d finalize, %d status updates", refused, finalize, status)
	}
}

// deleteNamespaceWait waits until namespace ns (being deleted) is gone.
func deleteNamespaceWait(t testing.TB, k *kapi, ns string, timeout time.Duration) {
	t.Helper()
	if err := waitUntil(timeout, func() bool {
		_, err := k.client.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}); err != nil {
		t.Fatalf("namespace %s is not gone", ns)
	}
}

// BenchmarkNamespaceDeletion: from the delete of a namespace of 1,000
// objects of ten kinds (100 custom resources among them) until it is
// gone. The goal is under 10 s.
func BenchmarkNamespaceDeletion(b *testing.B) {
	k := startKapi(b)
	k.createCRD(b, widgetCRD())
	k.waitEstablished(b, "widgets.example.com")
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ns := fmt.Sprint("bench-", i)
		fillNamespace(b, k, ns, 100)
		b.StartTimer()
		start := time.Now()
		deleteNamespace(b, k, ns, 5*time.Minute)
		b.ReportMetric(time.Since(start).Seconds(), "s/namespace")
	}
}
