package e2e

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes/scheme"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	cradmission "sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// cmDefaulter gives every ConfigMap a "team" label.
type cmDefaulter struct{}

func (cmDefaulter) Default(_ context.Context, cm *corev1.ConfigMap) error {
	if cm.Labels == nil {
		cm.Labels = map[string]string{}
	}
	if cm.Labels["team"] == "" {
		cm.Labels["team"] = "platform"
	}
	return nil
}

// cmValidator refuses ConfigMaps without data, and warns of large ones.
type cmValidator struct{}

func (cmValidator) ValidateCreate(_ context.Context, cm *corev1.ConfigMap) (cradmission.Warnings, error) {
	if len(cm.Data) == 0 {
		return nil, errors.New("a ConfigMap needs data")
	}
	if len(cm.Data) > 2 {
		return cradmission.Warnings{"many keys"}, nil
	}
	return nil, nil
}

func (v cmValidator) ValidateUpdate(ctx context.Context, _, cm *corev1.ConfigMap) (cradmission.Warnings, error) {
	return v.ValidateCreate(ctx, cm)
}

func (cmValidator) ValidateDelete(context.Context, *corev1.ConfigMap) (cradmission.Warnings, error) {
	return nil, nil
}

// TestAdmissionControllerRuntimeWebhooks: a defaulting and a validating
// webhook built with controller-runtime's webhook server, a real client of
// kapi's AdmissionReviews, work as against kube-apiserver.
func TestAdmissionControllerRuntimeWebhooks(t *testing.T) {
	dir := t.TempDir()
	cert := selfSigned(t, []string{"localhost"})
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600); err != nil {
		t.Fatal(err)
	}
	// The server binds a port picked free a moment before; another
	// process may take it first, and then it starts again on another.
	var port int
	for attempt := 0; ; attempt++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		srv := crwebhook.NewServer(crwebhook.Options{Host: "127.0.0.1", Port: port, CertDir: dir})
		srv.Register("/default", cradmission.WithDefaulter[*corev1.ConfigMap](scheme.Scheme, cmDefaulter{}))
		srv.Register("/validate", cradmission.WithValidator[*corev1.ConfigMap](scheme.Scheme, cmValidator{}))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.Start(ctx) }()
		var failed error
		if err := waitUntil(20*time.Second, func() bool {
			select {
			case failed = <-done:
				return true
			default:
				return srv.StartedChecker()(nil) == nil
			}
		}); err != nil {
			cancel()
			t.Fatalf("the webhook server did not start: %v", err)
		}
		if failed != nil {
			cancel()
			if errors.Is(failed, syscall.EADDRINUSE) && attempt < 4 {
				continue
			}
			t.Fatalf("webhook server: %v", failed)
		}
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("webhook server: %v", err)
			}
		})
		break
	}

	k := startKapi(t)
	e := &webhookEnv{t: t, k: k}
	e.namespace(t, "cr-webhooks")
	// The certificate names localhost, which reaches the server.
	url := func(path string) admissionregistrationv1.WebhookClientConfig {
		return admissionregistrationv1.WebhookClientConfig{URL: ptr("https://localhost:" + strconv.Itoa(port) + path), CABundle: caPEM}
	}
	e.mutating(t, "default.cr.kapi.test", mutatingHook("default.cr.kapi.test", url("/default"), "cr-webhooks"))
	e.validating(t, "validate.cr.kapi.test", validatingHook("validate.cr.kapi.test", url("/validate"), "cr-webhooks"))
	cms := k.client.CoreV1().ConfigMaps("cr-webhooks")
	ctx := context.Background()
	var got *corev1.ConfigMap
	settle(t, "controller-runtime's webhooks", func() bool {
		cms.Delete(ctx, "c", metav1.DeleteOptions{})
		got, err = cms.Create(ctx, cm("c", nil), metav1.CreateOptions{})
		return err == nil && got.Labels["team"] == "platform"
	})
	_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "empty"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `admission webhook "validate.cr.kapi.test" denied the request: a ConfigMap needs data`) {
		t.Fatalf("the validating webhook's refusal: %v", err)
	}
	body := []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"a":"1","b":"2","c":"3"}}`)
	code, hdr, _ := k.request(t, "POST", "/api/v1/namespaces/cr-webhooks/configmaps", "application/json", body)
	if code != 201 || !strings.Contains(strings.Join(hdr.Values("Warning"), ";"), "many keys") {
		t.Fatalf("the validating webhook's warning: %d %v", code, hdr.Values("Warning"))
	}
}

// TestAdmissionWebhookEquivalentAndV1beta1: a webhook whose rules name one
// version of a custom resource sees writes through another version,
// converted (matchPolicy Equivalent), but not with matchPolicy Exact; a
// webhook asking for admission.k8s.io/v1beta1 reviews gets them.
func TestAdmissionWebhookEquivalentAndV1beta1(t *testing.T) {
	k := startKapi(t)
	srv := newAdmissionServer(t)
	e := &webhookEnv{t: t, k: k, srv: srv}
	ctx := context.Background()
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "gadgets.kapi.test"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{Group: "kapi.test", Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "gadgets", Singular: "gadget", Kind: "Gadget", ListKind: "GadgetList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{
				{Name: "v1", Served: true, Storage: true, Schema: openSchema()},
				{Name: "v2", Served: true, Schema: openSchema()},
			}},
	}
	crd = k.createCRD(t, crd)
	e.namespace(t, "equiv")
	rules := []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
		Rule: admissionregistrationv1.Rule{APIGroups: []string{"kapi.test"}, APIVersions: []string{"v1"}, Resources: []string{"gadgets"}}}}
	equivalent := mutatingHook("equivalent.kapi.test", srv.clientConfig("/equivalent"), "equiv")
	equivalent.Rules = rules
	equivalent.AdmissionReviewVersions = []string{"v1beta1", "v1"}
	exact := mutatingHook("exact.kapi.test", srv.clientConfig("/exact"), "equiv")
	exact.Rules, exact.MatchPolicy = rules, ptr(admissionregistrationv1.Exact)
	srv.on("/equivalent", func(r *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
		return patchResponse(map[string]any{"op": "add", "path": "/metadata/labels", "value": map[string]string{"seen-as": r.Kind.Version}})
	})
	e.mutating(t, "equivalent.kapi.test", equivalent, exact)
	v2 := k.crs(crd, "v2", "equiv")
	var got *unstructured.Unstructured
	settle(t, "the equivalent webhook", func() bool {
		v2.Delete(ctx, "g", metav1.DeleteOptions{})
		obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "kapi.test/v2", "kind": "Gadget", "metadata": map[string]any{"name": "g"}}}
		var err error
		got, err = v2.Create(ctx, obj, metav1.CreateOptions{})
		return err == nil && got.GetLabels()["seen-as"] != ""
	})
	if got.GetLabels()["seen-as"] != "v1" || got.GetAPIVersion() != "kapi.test/v2" {
		t.Fatalf("the webhook saw %q; the answer is %s", got.GetLabels()["seen-as"], got.GetAPIVersion())
	}
	reqs := srv.requests("/equivalent")
	last := reqs[len(reqs)-1]
	if last.Kind.Version != "v1" || last.RequestKind.Version != "v2" || last.Resource.Version != "v1" || last.RequestResource.Version != "v2" {
		t.Fatalf("kind %v requestKind %v resource %v requestResource %v", last.Kind, last.RequestKind, last.Resource, last.RequestResource)
	}
	if objectOf(t, last.Object.Raw).GetAPIVersion() != "kapi.test/v1" {
		t.Fatalf("the object was not converted: %s", last.Object.Raw)
	}
	srv.mu.Lock()
	versions := srv.versions["/equivalent"]
	srv.mu.Unlock()
	if versions[len(versions)-1] != "admission.k8s.io/v1beta1" {
		t.Fatalf("review versions %v", versions)
	}
	if n := len(srv.requests("/exact")); n != 0 {
		t.Fatalf("the Exact webhook saw %d writes through v2", n)
	}
}

func openSchema() *apiextensionsv1.CustomResourceValidation {
	return &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object",
		XPreserveUnknownFields: ptr(true)}}
}
