package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/controllers"
)

// extensionGet sends GET url to an extension server with the client
// certificates and headers given, trusting caBundle; it returns the code
// and body.
func extensionGet(t *testing.T, url string, caBundle []byte, certs []tls.Certificate, header http.Header) (int, string) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caBundle)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: certs}}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestFrontProxyExtensionServer: with no --requestheader-* flag kapi
// generates kubeadm's front-proxy files and publishes them; a standard
// extension server (k8s.io/apiserver's delegated authentication and
// authorization, configured from kapi's ConfigMap only) believes a
// request signed with kapi's front-proxy client certificate to be the
// user in its X-Remote-* headers, and kapi's RBAC decides what that user
// may do; without the certificate, the headers make no one.
func TestFrontProxyExtensionServer(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	for _, f := range []string{"front-proxy-ca.crt", "front-proxy-ca.key", "front-proxy-client.crt", "front-proxy-client.key"} {
		if _, err := os.Stat(filepath.Join(k.cfg.DataDir, "pki", f)); err != nil {
			t.Errorf("kubeadm's %s: %v", f, err)
		}
	}
	proxyCert, err := k.srv.FrontProxy.ClientCertificate()
	if err != nil || proxyCert == nil {
		t.Fatalf("front-proxy client certificate: %v", err)
	}
	if leaf, _ := x509.ParseCertificate(proxyCert.Certificate[0]); leaf.Subject.CommonName != "front-proxy-client" {
		t.Fatalf("front-proxy client CN %q", leaf.Subject.CommonName)
	}

	// alice's group may read flunders in namespace default, as a cluster
	// admin grants access to an aggregated API.
	if _, err := k.client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "flunder-reader"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"wardle.example.com"}, Resources: []string{"flunders"}, Verbs: []string{"get", "list"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.client.RbacV1().RoleBindings("default").Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "flunder-readers"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "flunder-reader"},
		Subjects: []rbacv1.Subject{{Kind: "Group", APIGroup: rbacv1.GroupName, Name: "wardle-readers"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	url, caBundle := serveExtension(t, delegatedAuth(t, k)(extensionUser))
	flunders := url + "/apis/wardle.example.com/v1alpha1/namespaces/default/flunders"
	asUser := func(user string, groups ...string) http.Header {
		h := http.Header{"X-Remote-User": {user}, "X-Remote-Extra-Acme.com%2Fproject": {"p1"}}
		for _, g := range groups {
			h.Add("X-Remote-Group", g)
		}
		return h
	}
	proxy := []tls.Certificate{*proxyCert}

	code, body := extensionGet(t, flunders, caBundle, proxy, asUser("alice", "wardle-readers"))
	if code != http.StatusOK {
		t.Fatalf("alice through the front proxy: %d %s", code, body)
	}
	var got authenticationv1.UserInfo
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	want := authenticationv1.UserInfo{Username: "alice", Groups: []string{"wardle-readers", "system:authenticated"},
		Extra: map[string]authenticationv1.ExtraValue{"acme.com/project": {"p1"}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("the extension server saw %+v, want %+v", got, want)
	}

	// kapi's RBAC says no to bob.
	code, body = extensionGet(t, flunders, caBundle, proxy, asUser("bob"))
	if code != http.StatusForbidden || !strings.Contains(body, `User \"bob\" cannot list resource \"flunders\"`) {
		t.Fatalf("bob through the front proxy: %d %s", code, body)
	}
	// Without the front proxy's certificate the headers are nobody's:
	// the request is anonymous and forbidden.
	code, body = extensionGet(t, flunders, caBundle, nil, asUser("alice", "wardle-readers"))
	if code != http.StatusForbidden || !strings.Contains(body, "system:anonymous") {
		t.Fatalf("alice without the certificate: %d %s", code, body)
	}
	// kapi's admin certificate is a client certificate of the ConfigMap's
	// client-ca-file: the extension server knows the admin, not alice.
	admin, err := tls.LoadX509KeyPair(k.srv.PKI.AdminCert, k.srv.PKI.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	code, body = extensionGet(t, flunders, caBundle, []tls.Certificate{admin}, asUser("alice"))
	if code != http.StatusOK || !strings.Contains(body, `"username":"kubernetes-admin"`) {
		t.Fatalf("the admin certificate with alice's headers: %d %s", code, body)
	}
}

// TestAuthenticationConfigMap: kube-system/extension-apiserver-authentication
// holds what kapi trusts, as kube writes it, and comes back when deleted.
func TestAuthenticationConfigMap(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	cms := k.client.CoreV1().ConfigMaps("kube-system")
	var data map[string]string
	if err := waitUntil(30*time.Second, func() bool {
		cm, err := cms.Get(ctx, controllers.AuthenticationConfigMap, metav1.GetOptions{})
		if err == nil {
			data = cm.Data
		}
		return err == nil
	}); err != nil {
		t.Fatal("no ConfigMap")
	}
	pki := filepath.Join(k.cfg.DataDir, "pki")
	want := map[string]string{
		"client-ca-file":                     readFile(t, filepath.Join(pki, "ca.crt")),
		"requestheader-client-ca-file":       readFile(t, filepath.Join(pki, "front-proxy-ca.crt")),
		"requestheader-allowed-names":        `["front-proxy-client"]`,
		"requestheader-username-headers":     `["X-Remote-User"]`,
		"requestheader-uid-headers":          `[]`,
		"requestheader-group-headers":        `["X-Remote-Group"]`,
		"requestheader-extra-headers-prefix": `["X-Remote-Extra-"]`,
	}
	if !reflect.DeepEqual(data, want) {
		t.Fatalf("ConfigMap data:\n%v\nwant\n%v", data, want)
	}
	if err := cms.Delete(ctx, controllers.AuthenticationConfigMap, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := waitUntil(30*time.Second, func() bool {
		cm, err := cms.Get(ctx, controllers.AuthenticationConfigMap, metav1.GetOptions{})
		return err == nil && reflect.DeepEqual(cm.Data, want)
	}); err != nil {
		t.Fatal("the ConfigMap did not come back after its deletion")
	}
	// A change is undone, and what another replica added is kept.
	cm, err := cms.Get(ctx, controllers.AuthenticationConfigMap, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["requestheader-allowed-names"] = `["other-proxy"]`
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := waitUntil(30*time.Second, func() bool {
		cm, err := cms.Get(ctx, controllers.AuthenticationConfigMap, metav1.GetOptions{})
		return err == nil && cm.Data["requestheader-allowed-names"] == `["other-proxy","front-proxy-client"]`
	}); err != nil {
		t.Fatal("the allowed names were not merged back")
	}
}
