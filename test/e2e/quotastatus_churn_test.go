package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestQuotaStatusChurn: 100 creates and 48 deletes by four writers at
// once leave status.used equal to what the namespace holds; once used
// reaches hard the next create is refused with kube's message; deletes
// give it back.
func TestQuotaStatusChurn(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	ns := "rq-churn"
	quotaNamespace(t, k, ns)
	mkQuota(t, k, ns, "churn", rl("count/podtemplates", "60", "count/secrets", "100"))
	waitUsed(t, k, ns, "churn", fixed(rl("count/podtemplates", "0", "count/secrets", "0")))
	templates := k.client.CoreV1().PodTemplates(ns)
	tmpl := func(name string) *corev1.PodTemplate {
		return &corev1.PodTemplate{ObjectMeta: metav1.ObjectMeta{Name: name}, Template: corev1.PodTemplateSpec{
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}}}
	}
	// Each writer creates 25 and deletes the even-numbered one before
	// each odd-numbered one it made: 100 creates, 48 deletes, 52 left.
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				name := fmt.Sprintf("t-%d-%d", w, i)
				if _, err := templates.Create(ctx, tmpl(name), metav1.CreateOptions{}); err != nil {
					errs <- fmt.Errorf("create %s: %w", name, err)
					continue
				}
				if i%2 == 1 {
					prev := fmt.Sprintf("t-%d-%d", w, i-1)
					if err := templates.Delete(ctx, prev, metav1.DeleteOptions{}); err != nil {
						errs <- fmt.Errorf("delete %s: %w", prev, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	count := func() string {
		l, err := templates.List(ctx, metav1.ListOptions{})
		if err != nil {
			return "-1"
		}
		return fmt.Sprint(len(l.Items))
	}
	if got := count(); got != "52" {
		t.Fatalf("%s pod templates left, want 52", got)
	}
	waitUsed(t, k, ns, "churn", func() corev1.ResourceList { return rl("count/podtemplates", count()) })
	// Fill up to hard, then one more is refused.
	for i := 0; count() != "60"; i++ {
		if _, err := templates.Create(ctx, tmpl(fmt.Sprintf("fill-%d", i)), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitUsed(t, k, ns, "churn", fixed(rl("count/podtemplates", "60")))
	_, err := templates.Create(ctx, tmpl("one-too-many"), metav1.CreateOptions{})
	mustForbidden(t, "a create beyond hard", err)
	if !strings.Contains(err.Error(), "exceeded quota: churn, requested: count/podtemplates=1, used: count/podtemplates=60, limited: count/podtemplates=60") {
		t.Fatalf("refusal: %v", err)
	}
	// Deletes give the usage back, and a create fits again.
	for i := 1; i < 25; i += 2 {
		if err := templates.Delete(ctx, fmt.Sprintf("t-0-%d", i), metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitUsed(t, k, ns, "churn", func() corev1.ResourceList { return rl("count/podtemplates", count()) })
	if _, err := templates.Create(ctx, tmpl("fits-again"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUsed(t, k, ns, "churn", func() corev1.ResourceList { return rl("count/podtemplates", count()) })
}
