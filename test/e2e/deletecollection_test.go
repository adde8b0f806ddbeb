package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/server"
)

// TestDeleteCollectionAsKube: a deletecollection answers the objects as
// they were listed (one kept by a finalizer without the deletionTimestamp
// its deletion gave it), a limit deletes one page and answers its continue
// token, and --delete-collection-workers deletes that many objects at
// once (a validating webhook on deletes sees them side by side).
func TestDeleteCollectionAsKube(t *testing.T) {
	t.Parallel()
	e := &webhookEnv{t: t, k: startKapi(t, func(c *server.Config) { c.DeleteCollectionWorkers = 4 }), srv: newAdmissionServer(t)}
	ctx := context.Background()
	cms := e.k.client.CoreV1().ConfigMaps
	create := func(ns, name string, labels map[string]string, finalizers ...string) {
		t.Helper()
		c := cm(name, labels)
		c.Finalizers = finalizers
		if _, err := cms(ns).Create(ctx, c, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	deleteCollection := func(ns string, params map[string]string) *corev1.ConfigMapList {
		t.Helper()
		req := e.k.client.CoreV1().RESTClient().Delete().Namespace(ns).Resource("configmaps")
		for k, v := range params {
			req = req.Param(k, v)
		}
		out := &corev1.ConfigMapList{}
		if err := req.Do(ctx).Into(out); err != nil {
			t.Fatal(err)
		}
		return out
	}

	t.Run("answer and limit", func(t *testing.T) {
		e.namespace(t, "dc-answer")
		for i := range 20 {
			var fin []string
			if i%7 == 0 {
				fin = []string{"example.com/keep"}
			}
			create("dc-answer", fmt.Sprintf("cm-%02d", i), map[string]string{"app": "dc"}, fin...)
		}
		create("dc-answer", "other", map[string]string{"app": "other"})
		answer := deleteCollection("dc-answer", map[string]string{"labelSelector": "app=dc"})
		if len(answer.Items) != 20 {
			t.Fatalf("answer lists %d, want the 20 selected", len(answer.Items))
		}
		for _, it := range answer.Items {
			if it.DeletionTimestamp != nil {
				t.Errorf("%s answered with a deletionTimestamp: kube answers the objects as listed", it.Name)
			}
		}
		left, err := cms("dc-answer").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		kept := 0
		for _, it := range left.Items {
			switch {
			case it.Name == "other" || it.Name == "kube-root-ca.crt":
			case it.DeletionTimestamp != nil && len(it.Finalizers) == 1:
				kept++
			default:
				t.Errorf("%s left undeleted", it.Name)
			}
		}
		if kept != 3 {
			t.Errorf("%d objects kept by their finalizer, want 3", kept)
		}
		for _, n := range []string{"cm-00", "cm-07", "cm-14"} {
			cms("dc-answer").Patch(ctx, n, "application/merge-patch+json", []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
		}

		for i := range 10 {
			create("dc-answer", fmt.Sprintf("lim-%02d", i), map[string]string{"app": "lim"})
		}
		page := deleteCollection("dc-answer", map[string]string{"labelSelector": "app=lim", "limit": "4"})
		if len(page.Items) != 4 || page.Continue == "" {
			t.Errorf("a limit of 4: %d answered, continue %q; want 4 and a token", len(page.Items), page.Continue)
		}
		if rest, err := cms("dc-answer").List(ctx, metav1.ListOptions{LabelSelector: "app=lim"}); err != nil || len(rest.Items) != 6 {
			t.Errorf("after a limit of 4, %d of 10 left (%v), want 6", len(rest.Items), err)
		}
	})

	t.Run("workers", func(t *testing.T) {
		e.namespace(t, "dc-workers")
		var mu sync.Mutex
		inFlight, most := 0, 0
		e.srv.on("/deletes", func(r *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
			if r.Name == "probe" {
				return &admissionv1.AdmissionResponse{Allowed: true}
			}
			mu.Lock()
			inFlight++
			most = max(most, inFlight)
			mu.Unlock()
			// Hold the deletion until a second one arrives, or 2 s.
			waitUntil(2*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return inFlight >= 2 })
			mu.Lock()
			inFlight--
			mu.Unlock()
			return &admissionv1.AdmissionResponse{Allowed: true}
		})
		hook := validatingHook("deletes.kapi.test", e.srv.clientConfig("/deletes"), "dc-workers")
		hook.Rules = configMapRules(admissionregistrationv1.Delete)
		e.validating(t, "deletes.kapi.test", hook)
		settle(t, "the webhook on deletes", func() bool {
			create("dc-workers", "probe", nil)
			cms("dc-workers").Delete(ctx, "probe", metav1.DeleteOptions{})
			for _, r := range e.srv.requests("/deletes") {
				if r.Name == "probe" {
					return true
				}
			}
			return false
		})
		for i := range 8 {
			create("dc-workers", "w-"+strconv.Itoa(i), map[string]string{"app": "w"})
		}
		answer := deleteCollection("dc-workers", map[string]string{"labelSelector": "app=w"})
		mu.Lock()
		defer mu.Unlock()
		if len(answer.Items) != 8 || most < 2 || most > 4 {
			t.Errorf("%d deleted, at most %d at once; want 8, 2 to 4 at once with 4 workers", len(answer.Items), most)
		}
	})
}

// TestNoGarbageCollector: with --enable-garbage-collector=false, a delete
// sets none of the collector's finalizers, whatever its propagation
// policy, and leaves the object's own; the collector's loop does not run,
// so a dependent outlives its owner.
func TestNoGarbageCollector(t *testing.T) {
	t.Parallel()
	k := startKapi(t, func(c *server.Config) { c.EnableGarbageCollector = false })
	ctx := context.Background()
	ns := gcNamespace(t, k, "no-gc")
	cms := k.client.CoreV1().ConfigMaps(ns)
	owner, err := cms.Create(ctx, cm("owner", nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dep := cm("dependent", nil)
	dep.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID}}
	if _, err := cms.Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []metav1.DeletionPropagation{metav1.DeletePropagationForeground, metav1.DeletePropagationOrphan} {
		c := cm("del-"+strings.ToLower(string(p)), nil)
		if _, err := cms.Create(ctx, c, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := cms.Delete(ctx, c.Name, metav1.DeleteOptions{PropagationPolicy: &p}); err != nil {
			t.Fatal(err)
		}
		if _, err := cms.Get(ctx, c.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("deleted with %s: %v, want it gone at once (no collector's finalizer)", p, err)
		}
	}
	// An object's own collector's finalizer stays as it is.
	kept := cm("kept", nil)
	kept.Finalizers = []string{metav1.FinalizerOrphanDependents}
	if _, err := cms.Create(ctx, kept, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	fg := metav1.DeletePropagationForeground
	if err := cms.Delete(ctx, "kept", metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
		t.Fatal(err)
	}
	if got, err := cms.Get(ctx, "kept", metav1.GetOptions{}); err != nil || got.DeletionTimestamp == nil ||
		len(got.Finalizers) != 1 || got.Finalizers[0] != metav1.FinalizerOrphanDependents {
		t.Errorf("kept: %v, %v; want it marked, with only its orphan finalizer", got.GetFinalizers(), err)
	}
	cms.Patch(ctx, "kept", "application/merge-patch+json", []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})

	if err := cms.Delete(ctx, "owner", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// With the collector, the dependent goes within a second or so
	// (TestGCPropagationClientGo); give it five.
	time.Sleep(5 * time.Second)
	if _, err := cms.Get(ctx, "dependent", metav1.GetOptions{}); err != nil {
		t.Errorf("the owner's dependent: %v; want it kept, no collector running", err)
	}
}
