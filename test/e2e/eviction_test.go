package e2e

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// evictionPod is a Running pod labelled app=web, Ready or not.
func evictionPod(t *testing.T, k *kapi, ns, name string, ready bool) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	pod, err := k.client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	readiness := corev1.ConditionFalse
	if ready {
		readiness = corev1.ConditionTrue
	}
	pod.Status.Phase = corev1.PodRunning
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: readiness}}
	if pod, err = k.client.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	return pod
}

// budget sets the status of the PodDisruptionBudget ns/name as the
// disruption controller would: seen, with allowed disruptions.
func budget(t *testing.T, k *kapi, ns, name string, allowed, current, desired int32) *policyv1.PodDisruptionBudget {
	t.Helper()
	ctx := context.Background()
	pdb, err := k.client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pdb.Status = policyv1.PodDisruptionBudgetStatus{ObservedGeneration: pdb.Generation, DisruptionsAllowed: allowed,
		CurrentHealthy: current, DesiredHealthy: desired, ExpectedPods: current}
	if pdb, err = k.client.PolicyV1().PodDisruptionBudgets(ns).UpdateStatus(ctx, pdb, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	return pdb
}

// newBudget creates the PodDisruptionBudget ns/name over app=web pods,
// minAvailable 1; its status is empty until budget sets it.
func newBudget(t *testing.T, k *kapi, ns, name string) *policyv1.PodDisruptionBudget {
	t.Helper()
	one := intstr.FromInt32(1)
	pdb, err := k.client.PolicyV1().PodDisruptionBudgets(ns).Create(context.Background(), &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return pdb
}

func evict(k *kapi, ns, name string, dryRun ...string) error {
	ev := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	if len(dryRun) > 0 {
		ev.DeleteOptions = &metav1.DeleteOptions{DryRun: dryRun}
	}
	return k.client.PolicyV1().Evictions(ns).Evict(context.Background(), ev)
}

// causeOf is the message of err's DisruptionBudget cause.
func causeOf(err error) string {
	se, ok := err.(*apierrors.StatusError)
	if !ok || se.ErrStatus.Details == nil {
		return ""
	}
	for _, c := range se.ErrStatus.Details.Causes {
		if c.Type == policyv1.DisruptionBudgetCause {
			return c.Message
		}
	}
	return ""
}

// TestEviction: pods/eviction, through client-go's Evict, as
// kube-apiserver's: a pod no budget guards is deleted (gracefully, marked
// DisruptionTarget); a budget not yet seen by its controller, or with no
// disruption left, is a 429 with kube's causes; an allowed eviction takes
// a disruption from the budget's status; a dry run changes nothing; a
// Pending pod goes whatever its budget; two budgets are a 500.
func TestEviction(t *testing.T) {
	t.Parallel()
	k := startKapi(t, withoutLoops(rootCAPublisher))
	ctx := context.Background()
	ns := gcNamespace(t, k, "evict")
	pods := k.client.CoreV1().Pods(ns)

	// No budget: deleted with the pod's grace period, marked first.
	evictionPod(t, k, ns, "free", true)
	if err := evict(k, ns, "free"); err != nil {
		t.Fatalf("evicting a pod without a budget: %v", err)
	}
	got, err := pods.Get(ctx, "free", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.DeletionTimestamp == nil {
		t.Error("an evicted pod is not being deleted")
	}
	var mark *corev1.PodCondition
	for i, c := range got.Status.Conditions {
		if c.Type == corev1.DisruptionTarget {
			mark = &got.Status.Conditions[i]
		}
	}
	if mark == nil || mark.Status != corev1.ConditionTrue || mark.Reason != "EvictionByEvictionAPI" || mark.Message != "Eviction API: evicting" {
		t.Errorf("DisruptionTarget condition of an evicted pod: %+v", mark)
	}

	// A budget its controller has not seen.
	pdb := newBudget(t, k, ns, "web")
	evictionPod(t, k, ns, "a", true)
	evictionPod(t, k, ns, "b", true)
	err = evict(k, ns, "a")
	if !apierrors.IsTooManyRequests(err) || causeOf(err) != "The disruption budget web is still being processed by the server." {
		t.Fatalf("evicting under an unseen budget: %v (cause %q), want 429, still being processed", err, causeOf(err))
	}
	if !strings.Contains(err.Error(), "Cannot evict pod as it would violate the pod's disruption budget.") {
		t.Errorf("message of the 429: %v", err)
	}

	// No disruption left: 429 with the healthy counts; nothing changes.
	budget(t, k, ns, pdb.Name, 0, 2, 2)
	err = evict(k, ns, "a")
	if !apierrors.IsTooManyRequests(err) || causeOf(err) != "The disruption budget web needs 2 healthy pods and has 2 currently" {
		t.Fatalf("evicting with no disruption allowed: %v (cause %q)", err, causeOf(err))
	}
	if p, err := pods.Get(ctx, "a", metav1.GetOptions{}); err != nil || p.DeletionTimestamp != nil {
		t.Fatalf("a pod its budget kept: %v, deletionTimestamp %v", err, p.DeletionTimestamp)
	}

	// One disruption allowed: a dry run checks and changes nothing.
	budget(t, k, ns, pdb.Name, 1, 2, 1)
	if err := evict(k, ns, "a", metav1.DryRunAll); err != nil {
		t.Fatalf("dry-run eviction: %v", err)
	}
	if p, _ := pods.Get(ctx, "a", metav1.GetOptions{}); p.DeletionTimestamp != nil || len(p.Status.Conditions) != 1 {
		t.Errorf("a dry-run eviction changed the pod: %v, %+v", p.DeletionTimestamp, p.Status.Conditions)
	}
	if p, _ := k.client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "web", metav1.GetOptions{}); p.Status.DisruptionsAllowed != 1 || len(p.Status.DisruptedPods) != 0 {
		t.Errorf("a dry-run eviction changed the budget: %+v", p.Status)
	}

	// ... and the eviction takes it.
	if err := evict(k, ns, "a"); err != nil {
		t.Fatalf("eviction with a disruption allowed: %v", err)
	}
	after, err := k.client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := after.Status.DisruptedPods["a"]; after.Status.DisruptionsAllowed != 0 || !ok {
		t.Errorf("budget after an eviction: allowed %d, disrupted %v; want 0 and a", after.Status.DisruptionsAllowed, after.Status.DisruptedPods)
	}
	if len(after.Status.Conditions) != 1 || after.Status.Conditions[0].Type != policyv1.DisruptionAllowedCondition ||
		after.Status.Conditions[0].Status != metav1.ConditionFalse || after.Status.Conditions[0].Reason != policyv1.InsufficientPodsReason {
		t.Errorf("budget's conditions after its last disruption: %+v", after.Status.Conditions)
	}
	if p, err := pods.Get(ctx, "a", metav1.GetOptions{}); err != nil || p.DeletionTimestamp == nil {
		t.Errorf("an evicted pod: %v, deletionTimestamp %v", err, p.DeletionTimestamp)
	}
	// The next one is refused.
	if err := evict(k, ns, "b"); !apierrors.IsTooManyRequests(err) {
		t.Errorf("evicting past the budget: %v, want 429", err)
	}

	// A pod that is not Ready, while the budget has its healthy pods,
	// goes without taking a disruption.
	evictionPod(t, k, ns, "sick", false)
	budget(t, k, ns, pdb.Name, 0, 2, 2)
	if err := evict(k, ns, "sick"); err != nil {
		t.Errorf("evicting an unready pod of a healthy budget: %v", err)
	}

	// A Pending pod goes whatever its budget says.
	if _, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pending", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := evict(k, ns, "pending"); err != nil {
		t.Errorf("evicting a Pending pod: %v", err)
	}

	// Two budgets: 500, the pod stays.
	newBudget(t, k, ns, "web2")
	err = evict(k, ns, "b")
	if se, ok := err.(*apierrors.StatusError); !ok || se.ErrStatus.Code != 500 ||
		se.ErrStatus.Message != "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support." {
		t.Errorf("evicting under two budgets: %#v", err)
	}

	// The Eviction names another pod than the path: 400.
	err = k.client.CoreV1().RESTClient().Post().Namespace(ns).Resource("pods").Name("b").SubResource("eviction").
		Body(&policyv1.Eviction{TypeMeta: metav1.TypeMeta{APIVersion: "policy/v1", Kind: "Eviction"}, ObjectMeta: metav1.ObjectMeta{Name: "a"}}).Do(ctx).Error()
	if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "name in URL does not match name in Eviction object") {
		t.Errorf("an Eviction of another pod: %v", err)
	}
	// A missing pod: 404.
	if err := evict(k, ns, "missing"); !apierrors.IsNotFound(err) {
		t.Errorf("evicting a missing pod: %v", err)
	}
}

// TestKubectlDrainAndDebug: kubectl drain evicts through pods/eviction
// and waits on a budget that allows nothing (it deleted the pod when kapi
// had no eviction), and kubectl debug adds an ephemeral container through
// pods/ephemeralcontainers (it crashed on kapi's 404 without details).
func TestKubectlDrainAndDebug(t *testing.T) {
	t.Parallel()
	k := startKapi(t, withoutLoops(rootCAPublisher))
	ctx := context.Background()
	ns := gcNamespace(t, k, "drain")
	if _, err := k.client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	evictionPod(t, k, ns, "guarded", true)
	newBudget(t, k, ns, "web")
	budget(t, k, ns, "web", 0, 1, 1)
	out, err := k.kubectl("", "drain", "n1", "--force", "--timeout=3s")
	if err == nil || !strings.Contains(out, "Cannot evict pod as it would violate the pod's disruption budget.") {
		t.Errorf("kubectl drain of a node whose pod a budget keeps: %v\n%s", err, out)
	}
	if p, err := k.client.CoreV1().Pods(ns).Get(ctx, "guarded", metav1.GetOptions{}); err != nil || p.DeletionTimestamp != nil {
		t.Errorf("the guarded pod after the drain: %v, deletionTimestamp %v", err, p.DeletionTimestamp)
	}
	if n, err := k.client.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{}); err != nil || !n.Spec.Unschedulable {
		t.Errorf("the drained node is not cordoned: %v", err)
	}

	budget(t, k, ns, "web", 1, 1, 0)
	out, err = k.kubectl("", "drain", "n1", "--force", "--timeout=3s", "--grace-period=0")
	if !strings.Contains(out, `pod/guarded evicted`) {
		t.Errorf("kubectl drain with a disruption allowed: %v\n%s", err, out)
	}

	evictionPod(t, k, ns, "debugged", true)
	out, err = k.kubectl("", "-n", ns, "debug", "debugged", "--image=busybox", "--container=dbg", "--", "true")
	if err != nil {
		t.Fatalf("kubectl debug: %v\n%s", err, out)
	}
	p, err := k.client.CoreV1().Pods(ns).Get(ctx, "debugged", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e := p.Spec.EphemeralContainers; len(e) != 1 || e[0].Name != "dbg" || e[0].Image != "busybox" || strings.Join(e[0].Command, " ") != "true" {
		t.Errorf("ephemeral containers after kubectl debug: %+v", e)
	}
	// The pod's spec changed: a new generation, as in kube.
	if p.Generation != 2 {
		t.Errorf("generation %d after kubectl debug, want 2", p.Generation)
	}
	// Once there, an ephemeral container stays as it is.
	p.Spec.EphemeralContainers[0].Image = "alpine"
	_, err = k.client.CoreV1().Pods(ns).UpdateEphemeralContainers(ctx, "debugged", p, metav1.UpdateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `existing ephemeral containers "dbg" may not be changed`) {
		t.Errorf("changing an ephemeral container: %v", err)
	}
	p.Spec.EphemeralContainers = nil
	_, err = k.client.CoreV1().Pods(ns).UpdateEphemeralContainers(ctx, "debugged", p, metav1.UpdateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `existing ephemeral containers "dbg" may not be removed`) {
		t.Errorf("removing an ephemeral container: %v", err)
	}
}

// TestBinding: pods/binding, as client-go's Bind and kube-scheduler use
// it: the pod gets the node, the Binding's annotations and the
// PodScheduled condition; a second binding, a pod with scheduling gates
// and a stale precondition are 409s; a Binding without a target is
// kube's 500; a dry run binds nothing.
func TestBinding(t *testing.T) {
	t.Parallel()
	k := startKapi(t, withoutLoops(rootCAPublisher))
	ctx := context.Background()
	ns := gcNamespace(t, k, "bind")
	pods := k.client.CoreV1().Pods(ns)
	mk := func(name string, gates ...string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
		for _, g := range gates {
			p.Spec.SchedulingGates = append(p.Spec.SchedulingGates, corev1.PodSchedulingGate{Name: g})
		}
		p, err := pods.Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	bind := func(name, node string, mut ...func(*corev1.Binding)) error {
		b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: name}, Target: corev1.ObjectReference{Kind: "Node", Name: node}}
		for _, m := range mut {
			m(b)
		}
		return pods.Bind(ctx, b, metav1.CreateOptions{})
	}
	p := mk("web")
	if err := bind("web", "n1", func(b *corev1.Binding) { b.ResourceVersion = "1" }); !apierrors.IsConflict(err) || !strings.Contains(err.Error(), "Precondition failed") {
		t.Errorf("a binding with a stale resourceVersion: %v", err)
	}
	if err := pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Target: corev1.ObjectReference{Kind: "Node", Name: "n1"}},
		metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Errorf("dry-run binding: %v", err)
	}
	if got, _ := pods.Get(ctx, "web", metav1.GetOptions{}); got.Spec.NodeName != "" {
		t.Errorf("a dry-run binding bound the pod to %q", got.Spec.NodeName)
	}
	if err := bind("web", "n1", func(b *corev1.Binding) { b.UID, b.Annotations = p.UID, map[string]string{"scheduled-by": "test"} }); err != nil {
		t.Fatalf("binding: %v", err)
	}
	got, err := pods.Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scheduled := false
	for _, c := range got.Status.Conditions {
		scheduled = scheduled || (c.Type == corev1.PodScheduled && c.Status == corev1.ConditionTrue)
	}
	if got.Spec.NodeName != "n1" || got.Annotations["scheduled-by"] != "test" || !scheduled {
		t.Errorf("bound pod: node %q, annotations %v, conditions %+v", got.Spec.NodeName, got.Annotations, got.Status.Conditions)
	}
	err = bind("web", "n2")
	if !apierrors.IsConflict(err) || err.Error() != `Operation cannot be fulfilled on pods/binding "web": pod web is already assigned to node "n1"` {
		t.Errorf("binding a bound pod: %v", err)
	}
	mk("gated", "example.com/wait")
	if err := bind("gated", "n1"); !apierrors.IsConflict(err) || !strings.Contains(err.Error(), "pod gated has non-empty .spec.schedulingGates") {
		t.Errorf("binding a gated pod: %v", err)
	}
	mk("lost")
	err = bind("lost", "")
	if se, ok := err.(*apierrors.StatusError); !ok || se.ErrStatus.Code != 500 || se.ErrStatus.Message != "target.name: Required value" {
		t.Errorf("a binding without a node: %#v", err)
	}
	if err := bind("missing", "n1"); !apierrors.IsNotFound(err) {
		t.Errorf("binding a missing pod: %v", err)
	}

	// The legacy resource "bindings": the same binding, a Status of
	// Success with 201, listed in discovery for create only.
	mk("old")
	res := k.client.CoreV1().RESTClient().Post().Namespace(ns).Resource("bindings").
		Body(&corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "old"}, Target: corev1.ObjectReference{Kind: "Node", Name: "n3"}}).Do(ctx)
	var code int
	res.StatusCode(&code)
	raw, err := res.Raw()
	if err != nil || code != http.StatusCreated || !strings.Contains(string(raw), `"status":"Success"`) {
		t.Errorf("POST bindings: %d %s %v", code, raw, err)
	}
	if got, _ := pods.Get(ctx, "old", metav1.GetOptions{}); got.Spec.NodeName != "n3" {
		t.Errorf("the legacy binding bound the pod to %q", got.Spec.NodeName)
	}
	list, err := k.client.Discovery().ServerResourcesForGroupVersion("v1")
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(list.APIResources, func(r metav1.APIResource) bool { return r.Name == "bindings" }); i < 0 ||
		!slices.Equal(list.APIResources[i].Verbs, []string{"create"}) || !list.APIResources[i].Namespaced || list.APIResources[i].Kind != "Binding" {
		t.Errorf("discovery of bindings: %+v", list.APIResources)
	}

	// PodTopologyLabels (on by default since kube 1.35): a pod bound to
	// a node, or created on one, gets its zone and region labels, through
	// the Binding's labels, which overwrite the pod's; binding clears the
	// scheduler's nominated node.
	zoned := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "bind-zoned", Labels: map[string]string{
		corev1.LabelTopologyZone: "zone-a", corev1.LabelTopologyRegion: "region-1", corev1.LabelHostname: "bind-zoned"}}}
	if _, err := k.client.CoreV1().Nodes().Create(ctx, zoned, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.client.CoreV1().Nodes().Delete(context.Background(), zoned.Name, metav1.DeleteOptions{}) })
	nominated := mk("nominated")
	nominated.Labels = map[string]string{corev1.LabelTopologyZone: "stale", "app": "web"}
	if nominated, err = pods.Update(ctx, nominated, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	nominated.Status.NominatedNodeName = zoned.Name
	if _, err := pods.UpdateStatus(ctx, nominated, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	topology := func(p *corev1.Pod) string {
		return p.Labels[corev1.LabelTopologyZone] + "/" + p.Labels[corev1.LabelTopologyRegion] + "/" + p.Labels[corev1.LabelHostname]
	}
	// The node reaches the plugin's cache in a moment: a pod created on
	// it shows when.
	var onNode *corev1.Pod
	waitUntil(10*time.Second, func() bool {
		pods.Delete(ctx, "on-node", metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
		onNode, err = pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "on-node"},
			Spec: corev1.PodSpec{NodeName: zoned.Name, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{})
		return err == nil && topology(onNode) == "zone-a/region-1/"
	})
	if err != nil || topology(onNode) != "zone-a/region-1/" {
		t.Errorf("a pod created on a zoned node: %v, labels %v", err, onNode.Labels)
	}
	if err := bind("nominated", zoned.Name); err != nil {
		t.Fatal(err)
	}
	if got, err = pods.Get(ctx, "nominated", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if topology(got) != "zone-a/region-1/" || got.Labels["app"] != "web" || got.Status.NominatedNodeName != "" {
		t.Errorf("a pod bound to a zoned node: labels %v, nominated node %q", got.Labels, got.Status.NominatedNodeName)
	}
}
