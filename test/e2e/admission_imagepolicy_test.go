package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	imagepolicyv1alpha1 "k8s.io/api/imagepolicy/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/server"
)

// TestImagePolicyWebhook: kube's ImagePolicyWebhook sends a pod's images,
// its image-policy annotations and its namespace to a real webhook as an
// ImageReview; the images the webhook denies refuse the pod with its
// reason (kube's message), the allowed ones pass, and an answer is cached
// for the configured TTL (the same review is not sent again).
func TestImagePolicyWebhook(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	var last atomic.Value
	hook := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var review imagepolicyv1alpha1.ImageReview
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		last.Store(review.Spec)
		review.Status.Allowed = true
		for _, c := range review.Spec.Containers {
			if strings.HasPrefix(c.Image, "evil/") {
				review.Status.Allowed, review.Status.Reason = false, c.Image+" is not signed"
			}
		}
		json.NewEncoder(w).Encode(review)
	}))
	t.Cleanup(hook.Close)
	dir := t.TempDir()
	policy := filepath.Join(dir, "imagepolicy.yaml")
	os.WriteFile(policy, []byte("imagePolicy:\n  kubeConfigFile: "+webhookKubeconfig(t, hook, "/review")+"\n  allowTTL: 60\n  denyTTL: 60\n  retryBackoff: 100\n  defaultAllow: false\n"), 0o600)
	config := filepath.Join(dir, "admission.yaml")
	os.WriteFile(config, []byte("apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n- name: ImagePolicyWebhook\n  path: "+policy+"\n"), 0o600)
	k := startKapi(t, func(c *server.Config) {
		c.EnableAdmissionPlugins, c.AdmissionControlConfigFile = []string{"ImagePolicyWebhook"}, config
	})
	ctx := context.Background()
	pods := k.client.CoreV1().Pods("default")
	pod := func(name, image string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{"mycorp.image-policy.k8s.io/ticket": "42", "other": "x"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}}}
	}
	if _, err := pods.Create(ctx, pod("good", "nginx:1.27"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	spec, _ := last.Load().(imagepolicyv1alpha1.ImageReviewSpec)
	if len(spec.Containers) != 1 || spec.Containers[0].Image != "nginx:1.27" || spec.Namespace != "default" ||
		len(spec.Annotations) != 1 || spec.Annotations["mycorp.image-policy.k8s.io/ticket"] != "42" {
		t.Errorf("the review sent: %+v", spec)
	}
	_, err := pods.Create(ctx, pod("bad", "evil/miner"), metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || err.Error() != `pods "bad" is forbidden: image policy webhook backend denied one or more images: evil/miner is not signed` {
		t.Fatalf("a denied image: %v", err)
	}
	before := calls.Load()
	if _, err := pods.Create(ctx, pod("good-2", "nginx:1.27"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != before {
		t.Errorf("the same review was sent again within its TTL (%d calls, then %d)", before, calls.Load())
	}
}
