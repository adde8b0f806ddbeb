package e2e

import (
	"context"
	"encoding/json"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestUpdateLeavingOutDefaults: an update that leaves out fields the
// server defaults changes nothing, as in kube, which defaults what it
// decodes: no new generation, no new resourceVersion (kubectl replace
// of the manifest an object was made from).
func TestUpdateLeavingOutDefaults(t *testing.T) {
	t.Parallel()
	k := startKapi(t, withoutLoops(rootCAPublisher))
	ctx := context.Background()
	ns := gcNamespace(t, k, "defaults")
	labels := map[string]string{"app": "web"}
	manifest := func() *appsv1.Deployment {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}}}}
	}
	deployments := k.client.AppsV1().Deployments(ns)
	created, err := deployments.Create(ctx, manifest(), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if created.Spec.RevisionHistoryLimit == nil || created.Spec.Template.Spec.RestartPolicy == "" {
		t.Fatalf("the created deployment lacks its defaults: %+v", created.Spec)
	}
	again := manifest()
	again.ResourceVersion = created.ResourceVersion
	updated, err := deployments.Update(ctx, again, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if updated.Generation != created.Generation || updated.ResourceVersion != created.ResourceVersion {
		t.Errorf("an update of the same manifest: generation %d -> %d, resourceVersion %s -> %s",
			created.Generation, updated.Generation, created.ResourceVersion, updated.ResourceVersion)
	}
	// The same through kubectl replace.
	k.mustKubectl(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"`+ns+`"},`+
		`"spec":{"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},`+
		`"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}`, "replace", "-f", "-")
	got, err := deployments.Get(ctx, "web", metav1.GetOptions{})
	if err != nil || got.Generation != created.Generation || got.ResourceVersion != created.ResourceVersion {
		t.Errorf("kubectl replace of the same manifest: %v generation %d, resourceVersion %s", err, got.Generation, got.ResourceVersion)
	}
	// A mutating webhook sees an update with the kind's defaults, as kube's
	// see what it decoded.
	e := &webhookEnv{t: t, k: k, srv: newAdmissionServer(t)}
	hook := mutatingHook("defaults.kapi.test", e.srv.clientConfig("/seen"), ns)
	hook.Rules = []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Update},
		Rule: admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments"}}}}
	e.mutating(t, "defaults.kapi.test", hook)
	settle(t, "the webhook", func() bool {
		if _, err := deployments.Update(ctx, manifest(), metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		return len(e.srv.requests("/seen")) > 0
	})
	reqs := e.srv.requests("/seen")
	var seen appsv1.Deployment
	if err := json.Unmarshal(reqs[len(reqs)-1].Object.Raw, &seen); err != nil {
		t.Fatal(err)
	}
	if seen.Spec.RevisionHistoryLimit == nil || seen.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		t.Errorf("the webhook saw an update without the defaults: %s", reqs[len(reqs)-1].Object.Raw)
	}

	// A real change still counts.
	changed := manifest()
	changed.Spec.Template.Spec.Containers[0].Image = "nginx:2"
	if got, err = deployments.Update(ctx, changed, metav1.UpdateOptions{}); err != nil || got.Generation != created.Generation+1 {
		t.Errorf("a new image: %v generation %d", err, got.Generation)
	}
}
