package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/server"
)

// clientCert is a client certificate for cn signed by a new CA; caPEM is
// the CA, certPEM and keyPEM the certificate and its key.
func clientCert(t *testing.T, cn string) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "webhook-client-ca"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

// TestAdmissionConfiguration: --admission-control-config-file gives the
// webhooks a kubeconfig whose user for the webhook's host is a client
// certificate; a webhook that requires one is reached. Unknown plugin
// names in the flags or in the file fail start-up, naming them.
func TestAdmissionConfiguration(t *testing.T) {
	caPEM, certPEM, keyPEM := clientCert(t, "kapi-webhook-client")
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	srv := &admissionServer{answers: map[string]func(*admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse{},
		raw: map[string]func(http.ResponseWriter, *admissionv1.AdmissionReview){}, calls: map[string][]*admissionv1.AdmissionRequest{}, versions: map[string][]string{}}
	var clients []string
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) > 0 {
			srv.mu.Lock()
			clients = append(clients, r.TLS.PeerCertificates[0].Subject.CommonName)
			srv.mu.Unlock()
		}
		srv.serve(w, r)
	}))
	hs.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	hs.StartTLS()
	t.Cleanup(hs.Close)
	srv.srv = hs
	srv.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hs.Certificate().Raw})
	srv.on("/auth", addLabel("authenticated", "yes"))

	dir := t.TempDir()
	host := strings.TrimPrefix(hs.URL, "https://")
	kubeconfig := `apiVersion: v1
kind: Config
users:
- name: "` + host + `"
  user:
    client-certificate-data: ` + b64(certPEM) + `
    client-key-data: ` + b64(keyPEM) + `
`
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("webhooks.kubeconfig", kubeconfig)
	config := write("admission.yaml", `apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: MutatingAdmissionWebhook
  configuration:
    apiVersion: apiserver.config.k8s.io/v1
    kind: WebhookAdmissionConfiguration
    kubeConfigFile: webhooks.kubeconfig
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    defaults:
      enforce: baseline
      enforce-version: latest
    exemptions:
      namespaces: ["exempt"]
`)
	// (privileged containers allowed, for PodSecurity to judge them)
	k := startKapi(t, func(c *server.Config) { c.AdmissionControlConfigFile, c.AllowPrivileged = config, true })
	e := &webhookEnv{t: t, k: k, srv: srv}
	e.namespace(t, "wh-auth")
	e.mutating(t, "auth.kapi.test", mutatingHook("auth.kapi.test", srv.clientConfig("/auth"), "wh-auth"))
	ctx := context.Background()
	settle(t, "the webhook that requires a client certificate", func() bool {
		k.client.CoreV1().ConfigMaps("wh-auth").Delete(ctx, "a", metav1.DeleteOptions{})
		got, err := k.client.CoreV1().ConfigMaps("wh-auth").Create(ctx, cm("a", nil), metav1.CreateOptions{})
		return err == nil && got.Labels["authenticated"] == "yes"
	})
	srv.mu.Lock()
	if len(clients) == 0 || clients[0] != "kapi-webhook-client" {
		t.Errorf("client certificates seen: %v", clients)
	}
	srv.mu.Unlock()

	// PodSecurity's defaults and exemptions from the file.
	privileged := func(ns string) error {
		p := pod("privileged", nil)
		p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr(true)}
		_, err := k.client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
		return err
	}
	if err := privileged("wh-auth"); err == nil || !strings.Contains(err.Error(), `violates PodSecurity "baseline:latest": privileged`) {
		t.Errorf("a privileged pod under the file's baseline default: %v", err)
	}
	e.namespace(t, "exempt")
	settle(t, "the exempt namespace's service account", func() bool { return privileged("exempt") == nil })

	for _, c := range []struct {
		name string
		set  func(*server.Config)
		want string
	}{
		{"flag", func(c *server.Config) { c.EnableAdmissionPlugins = []string{"NoSuchPlugin"} }, `enable-admission-plugins plugin "NoSuchPlugin" is unknown`},
		{"file", func(c *server.Config) {
			c.AdmissionControlConfigFile = write("bad.yaml", "apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n- name: NoSuchPlugin\n")
		}, `plugin "NoSuchPlugin" is unknown`},
	} {
		t.Run(c.name, func(t *testing.T) { startRefused(t, c.want, c.set) })
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
