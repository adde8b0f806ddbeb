package admission

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestImagePolicyWebhookConfigAndFailures: kube's configuration bounds,
// and a webhook that fails: the pod refused, or let through with
// defaultAllow.
func TestImagePolicyWebhookConfigAndFailures(t *testing.T) {
	broken := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer broken.Close()
	ca := base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: broken.Certificate().Raw}))
	kubeconfig := filepath.Join(t.TempDir(), "hook.kubeconfig")
	os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\nclusters:\n- name: hook\n  cluster:\n    server: "+broken.URL+
		"\n    certificate-authority-data: "+ca+"\nusers:\n- name: kapi\ncontexts:\n- name: hook\n  context: {cluster: hook, user: kapi}\ncurrent-context: hook\n"), 0o600)
	config := func(extra string) []byte {
		return []byte(`{"imagePolicy":{"kubeConfigFile":"` + kubeconfig + `","retryBackoff":1,"allowTTL":-1,"denyTTL":-1` + extra + `}}`)
	}
	for c, want := range map[string]string{
		``: "no config specified",
		`{"imagePolicy":{"kubeConfigFile":"x","retryBackoff":-5}}`: "valid value is between 1ns and 5m0s, got -5ms",
		`{"imagePolicy":{"kubeConfigFile":"x","allowTTL":3600}}`:   "valid value is between 1s and 30m0s, got 1h0m0s",
	} {
		if _, err := NewImagePolicyWebhook([]byte(c)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("configuration %q: %v, want %q", c, err, want)
		}
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}}
	closed, err := NewImagePolicyWebhook(config(`,"defaultAllow":false`))
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, closed.Validate(context.Background(), attrs(Create, podsRow, "", pod, nil)), `pods "p" is forbidden: an error on the server ("down") has prevented the request from succeeding`, 403)
	open, err := NewImagePolicyWebhook(config(`,"defaultAllow":true`))
	if err != nil {
		t.Fatal(err)
	}
	if err := open.Validate(context.Background(), attrs(Create, podsRow, "", pod, nil)); err != nil {
		t.Fatalf("defaultAllow: %v", err)
	}
	// Not its business: a pod's status.
	if err := closed.Validate(context.Background(), attrs(Update, podsRow, "status", pod, pod)); err != nil {
		t.Fatal(err)
	}
}
