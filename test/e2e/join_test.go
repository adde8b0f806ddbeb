package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"kapi/internal/server"
)

// TestJoinToken: replicas on one etcd given the same --token share the
// CA, the service-account key and the front-proxy CA with nothing else
// in common: the first publishes them sealed in etcd, the second takes
// them. An admin certificate of one is an admin of the other, a token
// minted on one authenticates on the other, an RBAC change through one is
// in force on the other; a replica with another token is refused at
// start, and etcd never holds the keys in the clear.
func TestJoinToken(t *testing.T) {
	url := startEtcd(t)
	join := func(token string) func(*server.Config) {
		return func(c *server.Config) { c.EtcdServers, c.Token = []string{url}, token }
	}
	k1 := startKapi(t, join("correct horse battery staple"), aggAllowLoopback)
	k2 := startKapi(t, join("correct horse battery staple"), aggAllowLoopback)
	ctx := context.Background()

	for _, f := range []string{"ca.crt", "ca.key", "sa.key", "front-proxy-ca.crt", "front-proxy-ca.key"} {
		a, b := readFile(t, filepath.Join(k1.srv.PKI.Dir, f)), readFile(t, filepath.Join(k2.srv.PKI.Dir, f))
		if a != b {
			t.Errorf("%s differs between the replicas", f)
		}
	}
	if a, b := readFile(t, k1.srv.PKI.ServingCert), readFile(t, k2.srv.PKI.ServingCert); a == b {
		t.Errorf("the replicas share a serving certificate; each should make its own")
	}
	// Replica one's admin kubeconfig, pointed at replica two.
	cross := rest.CopyConfig(k1.rest)
	cross.Host = k2.rest.Host
	if u := whoami(t, kubernetes.NewForConfigOrDie(cross)); !strings.Contains(strings.Join(u.Groups, ","), "system:masters") {
		t.Errorf("replica one's admin on replica two: %+v", u)
	}

	// A service account's token minted by replica one, used on replica two.
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "joiner"}}
	if _, err := k1.client.CoreV1().ServiceAccounts("default").Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := k1.client.CoreV1().ServiceAccounts("default").CreateToken(ctx, "joiner", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	asSA := k2.asToken(t, tr.Status.Token)
	if u := whoami(t, asSA); u.Username != "system:serviceaccount:default:joiner" {
		t.Errorf("replica one's token on replica two: %+v", u)
	}
	// An RBAC change through replica one lets it list on replica two.
	if _, err := asSA.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{}); err == nil {
		t.Fatal("the service account lists ConfigMaps before any grant")
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "joiner-view"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "view"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "joiner", Namespace: "default"}}}
	start := time.Now()
	if _, err := k1.client.RbacV1().RoleBindings("default").Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := waitUntil(30*time.Second, func() bool {
		_, err := asSA.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
		return err == nil
	}); err != nil {
		t.Fatal("replica one's RoleBinding never took effect on replica two")
	}
	t.Logf("a RoleBinding written through replica one was in force on replica two after %v", time.Since(start).Round(time.Millisecond))

	// An APIService written through replica one: replica two proxies
	// its group (with the front-proxy certificate of the shared CA).
	ext := startAggExtension(t, k1, "ext", "joined", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(metav1.APIResourceList{GroupVersion: "joined.example.com/v1", APIResources: []metav1.APIResource{}})
	}))
	aggService(t, k1, "ext", "joined", ext.Port, true)
	start = time.Now()
	aggAPIService(t, k1, "joined.example.com", "v1", "ext", "joined", ext.CA, 100, 10)
	if err := waitUntil(30*time.Second, func() bool {
		b, err := aggregatorRaw(t, k2.rest, "/apis/joined.example.com/v1")
		return err == nil && strings.Contains(string(b), `"groupVersion":"joined.example.com/v1"`)
	}); err != nil {
		t.Fatal("replica two never proxied the APIService written through replica one")
	}
	t.Logf("an APIService written through replica one was served by replica two after %v", time.Since(start).Round(time.Millisecond))

	// etcd holds the secrets sealed.
	resp, err := k1.srv.Etcd().Get(ctx, "/registry/kapi/cluster-secrets")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("the sealed secrets: %v %v", err, resp)
	}
	key := readFile(t, filepath.Join(k1.srv.PKI.Dir, "ca.key"))
	keyBody := strings.Split(strings.TrimSpace(key), "\n")[1]
	if v := resp.Kvs[0].Value; bytes.Contains(v, []byte("PRIVATE KEY")) || bytes.Contains(v, []byte(keyBody)) {
		t.Errorf("etcd holds the CA key in the clear")
	}

	// Another token: refused at start, with nothing of the cluster taken.
	cfg := server.Defaults()
	cfg.DataDir, cfg.SecurePort, cfg.Out = t.TempDir(), 0, io.Discard
	join("wrong")(&cfg)
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if srv, err := server.Start(sctx, cfg); err == nil {
		srv.Stop()
		t.Fatal("a replica with another token started")
	} else if !strings.Contains(err.Error(), "--token does not match") {
		t.Errorf("another token: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "pki", "ca.key")); err == nil {
		t.Errorf("the refused replica wrote a CA")
	}
}
