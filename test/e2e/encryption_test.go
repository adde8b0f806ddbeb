package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/server/options/encryptionconfig"
	"k8s.io/apiserver/pkg/server/options/encryptionconfig/controller"
	storagevalue "k8s.io/apiserver/pkg/storage/value"
	"k8s.io/client-go/kubernetes/scheme"

	"kapi/internal/server"
)

func encryptionKey(b byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32))
}

// encryptionConfig is an EncryptionConfiguration: secrets with aescbc
// (secretKeys in that order, then identity to read what was stored
// before), ConfigMaps with secretbox, every resource of apps with
// aesgcm, every resource of the group example.com (custom resources)
// with secretbox, the rest of the core group (those kube stores outside
// the API as well: the master leases, the node-port bitmap) with aescbc.
func encryptionConfig(secretKeys ...string) string {
	var keys strings.Builder
	for _, k := range secretKeys {
		keys.WriteString("          - name: " + k + "\n            secret: " + encryptionKey(k[len(k)-1]) + "\n")
	}
	return `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - aescbc:
          keys:
` + keys.String() + `      - identity: {}
  - resources: [configmaps]
    providers:
      - secretbox:
          keys:
          - name: s1
            secret: ` + encryptionKey('s') + `
  - resources: ["*.apps"]
    providers:
      - aesgcm:
          keys:
          - name: g1
            secret: ` + encryptionKey('g') + `
  - resources: ["*.example.com"]
    providers:
      - secretbox:
          keys:
          - name: w1
            secret: ` + encryptionKey('w') + `
  - resources: ["*."]
    providers:
      - aescbc:
          keys:
          - name: core
            secret: ` + encryptionKey('c') + `
`
}

// shortKeyConfig is a file kube refuses: an aescbc key of 5 bytes.
const shortKeyConfig = "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n      - aescbc:\n          keys:\n          - name: short\n            secret: c2hvcnQ=\n"

// metricLine is the first line of a /metrics body that starts with
// prefix and holds every one of parts; "" when none does.
func metricLine(body, prefix string, parts ...string) string {
next:
	for _, l := range strings.Split(body, "\n") {
		if !strings.HasPrefix(l, prefix) {
			continue
		}
		for _, p := range parts {
			if !strings.Contains(l, p) {
				continue next
			}
		}
		return l
	}
	return ""
}

// TestEncryptionAtRest: with --encryption-provider-config, values are
// stored with kube's k8s:enc:<provider>:v1:<key>: prefixes and no
// plaintext, by resource and *.group; kube's own transformer (from
// k8s.io/apiserver, as kube-apiserver builds it) reads what kapi wrote and
// kapi reads what it wrote; with automatic reload, a new first key takes
// effect without a restart, and rewriting the secrets with kubectl moves
// them all to it; a bad file is refused at start.
func TestEncryptionAtRest(t *testing.T) {
	poll := controller.EncryptionConfigFileChangePollDuration
	controller.EncryptionConfigFileChangePollDuration = 200 * time.Millisecond // kube's test hook: a minute is long
	t.Cleanup(func() { controller.EncryptionConfigFileChangePollDuration = poll })
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "encryption.yaml")
	if err := os.WriteFile(cfgFile, []byte(encryptionConfig("key1")), 0o600); err != nil {
		t.Fatal(err)
	}
	k := startKapi(t, withoutLoops(rootCAPublisher), func(c *server.Config) {
		c.EncryptionProviderConfig, c.EncryptionProviderConfigAutomaticReload = cfgFile, true
	})
	ctx := context.Background()
	etcd := k.srv.Etcd()
	raw := func(key string) []byte {
		t.Helper()
		resp, err := etcd.Get(ctx, key)
		if err != nil || len(resp.Kvs) != 1 {
			t.Fatalf("%s: %v %v", key, err, resp)
		}
		return resp.Kvs[0].Value
	}

	if _, err := k.client.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"},
		StringData: map[string]string{"password": "hunter2-secret"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"},
		Data: map[string]string{"colour": "ultramarine"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	replicas := int32(0)
	if _, err := k.client.AppsV1().Deployments("default").Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "d"},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"a": "b"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.example/secret-image"}}}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.client.CoreV1().Services("default").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "np"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	leases, err := etcd.Get(ctx, "/registry/masterleases/", clientv3.WithPrefix())
	if err != nil || len(leases.Kvs) != 1 {
		t.Fatalf("master leases: %v %v", err, leases)
	}
	k.createCRD(t, widgetCRD())
	if _, err := k.dynamic.Resource(widgetGVR).Namespace("default").Create(ctx, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "example.com/v1", "kind": "Widget", "metadata": map[string]any{"name": "w"},
		"spec": map[string]any{"note": "widget-note-plain"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// kube-apiserver's transformers, from the same file.
	kube, err := encryptionconfig.LoadEncryptionConfig(ctx, cfgFile, false, "kube-apiserver")
	if err != nil {
		t.Fatal(err)
	}
	kubeFor := func(gr schema.GroupResource) storagevalue.Transformer {
		return encryptionconfig.StaticTransformers(kube.Transformers).TransformerForResource(gr)
	}
	for key, want := range map[string]struct {
		gr            schema.GroupResource
		prefix, plain string
	}{
		"/registry/secrets/default/s":             {schema.GroupResource{Resource: "secrets"}, "k8s:enc:aescbc:v1:key1:", "hunter2-secret"},
		"/registry/configmaps/default/c":          {schema.GroupResource{Resource: "configmaps"}, "k8s:enc:secretbox:v1:s1:", "ultramarine"},
		"/registry/deployments/default/d":         {schema.GroupResource{Group: "apps", Resource: "deployments"}, "k8s:enc:aesgcm:v1:g1:", "secret-image"},
		"/registry/example.com/widgets/default/w": {schema.GroupResource{Group: "example.com", Resource: "widgets"}, "k8s:enc:secretbox:v1:w1:", "widget-note-plain"},
		"/registry/services/specs/default/np":     {schema.GroupResource{Resource: "services"}, "k8s:enc:aescbc:v1:core:", "NodePort"},
		"/registry/ranges/servicenodeports":       {schema.GroupResource{Resource: "servicenodeportallocations"}, "k8s:enc:aescbc:v1:core:", "30000-32767"},
		string(leases.Kvs[0].Key):                 {schema.GroupResource{Resource: "apiServerIPInfo"}, "k8s:enc:aescbc:v1:core:", "https"},
	} {
		v := raw(key)
		if !bytes.HasPrefix(v, []byte(want.prefix)) || bytes.Contains(v, []byte(want.plain)) {
			t.Errorf("%s is stored as %.40q, want the prefix %s and no %q", key, v, want.prefix, want.plain)
		}
		// The etcd key is the authenticated data (aesgcm, secretbox): kube
		// opens the value at that key only.
		if plain, stale, err := kubeFor(want.gr).TransformFromStorage(ctx, v, storagevalue.DefaultContext(key)); err != nil || stale || !bytes.Contains(plain, []byte(want.plain)) {
			t.Errorf("kube's transformer on %s: %v stale=%v %.40q", key, err, stale, plain)
		}
	}
	if s, err := k.client.CoreV1().Secrets("default").Get(ctx, "s", metav1.GetOptions{}); err != nil || string(s.Data["password"]) != "hunter2-secret" {
		t.Fatalf("the secret read back: %v %v", s, err)
	}
	// Not configured: stored as encoded.
	if !bytes.HasPrefix(raw("/registry/clusterroles/admin"), []byte("k8s\x00")) {
		t.Errorf("a ClusterRole is not stored as kube's protobuf")
	}

	secrets := kubeFor(schema.GroupResource{Resource: "secrets"})
	plain, _, err := secrets.TransformFromStorage(ctx, raw("/registry/secrets/default/s"), storagevalue.DefaultContext("/registry/secrets/default/s"))
	if err != nil || !bytes.HasPrefix(plain, []byte("k8s\x00")) || !bytes.Contains(plain, []byte("hunter2-secret")) {
		t.Fatalf("kube's transformer on what kapi wrote: %v %.40q", err, plain)
	}
	pb := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme)
	fromKube := &corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: "from-kube", Namespace: "default", UID: "0c6b2f42-0000-4000-8000-000000000001",
			CreationTimestamp: metav1.Now()}, Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"token": []byte("written-by-kube")}}
	encoded, err := runtime.Encode(pb, fromKube)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := secrets.TransformToStorage(ctx, encoded, storagevalue.DefaultContext("/registry/secrets/default/from-kube"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := etcd.Put(ctx, "/registry/secrets/default/from-kube", string(sealed)); err != nil {
		t.Fatal(err)
	}
	if err := waitUntil(10*time.Second, func() bool {
		s, err := k.client.CoreV1().Secrets("default").Get(ctx, "from-kube", metav1.GetOptions{})
		return err == nil && string(s.Data["token"]) == "written-by-kube"
	}); err != nil {
		t.Fatal("kapi did not read the secret kube's transformer wrote")
	}

	// Rotation: key2 first, reloaded without a restart; a rewrite of
	// every secret moves them to it.
	if err := os.WriteFile(cfgFile, []byte(encryptionConfig("key2", "key1")), 0o600); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := waitUntil(30*time.Second, func() bool {
		n++
		name := "probe-" + strings.Repeat("x", n%5+1)
		k.client.CoreV1().Secrets("default").Delete(ctx, name, metav1.DeleteOptions{})
		if _, err := k.client.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			return false
		}
		return bytes.HasPrefix(raw("/registry/secrets/default/"+name), []byte("k8s:enc:aescbc:v1:key2:"))
	}); err != nil {
		t.Fatal("the new first key never took effect")
	}
	out, err := k.kubectl("", "get", "secrets", "-A", "-o", "json")
	if err != nil {
		t.Fatalf("kubectl get: %v\n%s", err, out)
	}
	if out, err := k.kubectl(out, "replace", "-f", "-"); err != nil {
		t.Fatalf("kubectl replace: %v\n%s", err, out)
	}
	for _, name := range []string{"s", "from-kube"} {
		if v := raw("/registry/secrets/default/" + name); !bytes.HasPrefix(v, []byte("k8s:enc:aescbc:v1:key2:")) {
			t.Errorf("secret %s after the rewrite: %.30q", name, v)
		}
	}

	// A file that no longer loads is refused by the reload, which keeps
	// the transformers it has (key2 still writes); kube's metrics count
	// both reloads.
	if err := os.WriteFile(cfgFile, []byte(shortKeyConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	reloads := func(status string) bool {
		code, _, body := k.do(t, "GET", "/metrics", "", nil)
		return code == 200 && metricLine(string(body), "apiserver_encryption_config_controller_automatic_reloads_total{", `status="`+status+`"`) != ""
	}
	if err := waitUntil(30*time.Second, func() bool { return reloads("failure") }); err != nil {
		t.Fatal("the reload of a bad file was not counted as a failure")
	}
	if !reloads("success") {
		t.Error("the reload of key2 was not counted as a success")
	}
	if _, err := k.client.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "after-bad-file"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if v := raw("/registry/secrets/default/after-bad-file"); !bytes.HasPrefix(v, []byte("k8s:enc:aescbc:v1:key2:")) {
		t.Errorf("after a bad file was reloaded a secret is stored as %.30q, want key2", v)
	}
	_, _, body := k.do(t, "GET", "/metrics", "", nil)
	if metricLine(string(body), "apiserver_storage_transformation_operations_total{", `transformation_type="to_storage"`, `transformer_prefix="k8s:enc:aescbc:v1:"`) == "" {
		t.Error("/metrics has no apiserver_storage_transformation_operations_total of aescbc writes")
	}
	// kube's kms-providers check, on /readyz and /healthz, not /livez.
	for ep, want := range map[string]bool{"/readyz?verbose": true, "/healthz?verbose": true, "/livez?verbose": false} {
		if code, _, body := k.do(t, "GET", ep, "", nil); code != 200 || strings.Contains(string(body), "[+]kms-providers ok") != want {
			t.Errorf("%s: %d %s", ep, code, body)
		}
	}

	// A file kube would refuse is refused at start.
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(shortKeyConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := server.Defaults()
	cfg.DataDir, cfg.SecurePort, cfg.EncryptionProviderConfig = t.TempDir(), 0, bad
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if srv, err := server.Start(sctx, cfg); err == nil {
		srv.Stop()
		t.Fatal("kapi started with a 5-byte aescbc key")
	} else if !strings.Contains(err.Error(), "--encryption-provider-config") || !strings.Contains(err.Error(), "secret is not of the expected length") {
		t.Errorf("the bad file: %v", err)
	} else {
		t.Logf("refused: %v", err)
	}
}

// TestEncryptionIdentityFirst: kube's way out of encryption, without the
// watch cache (every read from etcd) and without reload (a restart takes
// the new file): with identity first and aescbc after it, new secrets
// are stored as plaintext and the ones stored with aescbc still read
// (get, list, a watch's events, a delete); rewriting them with kubectl
// stores them as plaintext.
func TestEncryptionIdentityFirst(t *testing.T) {
	secretsWith := func(providers ...string) string {
		p := map[string]string{"identity": "      - identity: {}\n",
			"aescbc": "      - aescbc:\n          keys:\n          - name: key1\n            secret: " + encryptionKey('1') + "\n"}
		s := "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n"
		for _, name := range providers {
			s += p[name]
		}
		return s
	}
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "encryption.yaml")
	if err := os.WriteFile(cfgFile, []byte(secretsWith("aescbc")), 0o600); err != nil {
		t.Fatal(err)
	}
	k := startKapi(t, withoutLoops(rootCAPublisher), func(c *server.Config) {
		c.EncryptionProviderConfig, c.WatchCache = cfgFile, false
	})
	ctx := context.Background()
	raw := func(key string) []byte {
		t.Helper()
		resp, err := k.srv.Etcd().Get(ctx, key)
		if err != nil || len(resp.Kvs) != 1 {
			t.Fatalf("%s: %v %v", key, err, resp)
		}
		return resp.Kvs[0].Value
	}
	secrets := k.client.CoreV1().Secrets("default")
	if _, err := secrets.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "old"},
		StringData: map[string]string{"v": "old-plaintext"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if v := raw("/registry/secrets/default/old"); !bytes.HasPrefix(v, []byte("k8s:enc:aescbc:v1:key1:")) {
		t.Fatalf("stored as %.30q", v)
	}

	if err := os.WriteFile(cfgFile, []byte(secretsWith("identity", "aescbc")), 0o600); err != nil {
		t.Fatal(err)
	}
	k.restart()
	secrets = k.client.CoreV1().Secrets("default")
	if _, err := secrets.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "new"},
		StringData: map[string]string{"v": "new-plaintext"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if v := raw("/registry/secrets/default/new"); !bytes.HasPrefix(v, []byte("k8s\x00")) || !bytes.Contains(v, []byte("new-plaintext")) {
		t.Errorf("with identity first a new secret is stored as %.30q", v)
	}
	if s, err := secrets.Get(ctx, "old", metav1.GetOptions{}); err != nil || string(s.Data["v"]) != "old-plaintext" {
		t.Fatalf("the aescbc secret after the restart: %v %v", s, err)
	}
	list, err := secrets.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range list.Items {
		got[s.Name] = string(s.Data["v"])
	}
	if got["old"] != "old-plaintext" || got["new"] != "new-plaintext" {
		t.Errorf("list: %v", got)
	}

	// A watch decrypts what it reads from etcd: a secret sealed by kube's
	// transformer with key1 (still configured, second), then its delete.
	w, err := secrets.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	kube, err := encryptionconfig.LoadEncryptionConfig(ctx, cfgFile, false, "kube-apiserver")
	if err != nil {
		t.Fatal(err)
	}
	kubeSecrets := encryptionconfig.StaticTransformers(kube.Transformers).TransformerForResource(schema.GroupResource{Resource: "secrets"})
	encoded, err := runtime.Encode(protobuf.NewSerializer(scheme.Scheme, scheme.Scheme), &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: "sealed", Namespace: "default", UID: "0c6b2f42-0000-4000-8000-000000000002", CreationTimestamp: metav1.Now()},
		Type:       corev1.SecretTypeOpaque, Data: map[string][]byte{"v": []byte("sealed-plaintext")}})
	if err != nil {
		t.Fatal(err)
	}
	// kube's transformer writes with its first provider, identity: seal
	// with the aescbc one by a file that has it first.
	if err := os.WriteFile(filepath.Join(dir, "key1.yaml"), []byte(secretsWith("aescbc")), 0o600); err != nil {
		t.Fatal(err)
	}
	kubeKey1, err := encryptionconfig.LoadEncryptionConfig(ctx, filepath.Join(dir, "key1.yaml"), false, "kube-apiserver")
	if err != nil {
		t.Fatal(err)
	}
	sealer := encryptionconfig.StaticTransformers(kubeKey1.Transformers).TransformerForResource(schema.GroupResource{Resource: "secrets"})
	sealed, err := sealer.TransformToStorage(ctx, encoded, storagevalue.DefaultContext("/registry/secrets/default/sealed"))
	if err != nil || !bytes.HasPrefix(sealed, []byte("k8s:enc:aescbc:v1:key1:")) {
		t.Fatalf("sealing: %v %.30q", err, sealed)
	}
	if _, err := k.srv.Etcd().Put(ctx, "/registry/secrets/default/sealed", string(sealed)); err != nil {
		t.Fatal(err)
	}
	if err := secrets.Delete(ctx, "sealed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []watch.EventType{watch.Added, watch.Deleted} {
		select {
		case ev, ok := <-w.ResultChan():
			s, _ := ev.Object.(*corev1.Secret)
			if !ok || ev.Type != want || s == nil || s.Name != "sealed" || string(s.Data["v"]) != "sealed-plaintext" {
				t.Fatalf("watch: want %s of the sealed secret, got %v %s %v", want, ok, ev.Type, ev.Object)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("watch: no %s event", want)
		}
	}

	// Rewriting every secret stores them as plaintext; kube's transformer
	// with this file reads them.
	out := k.mustKubectl("", "get", "secrets", "-A", "-o", "json")
	k.mustKubectl(out, "replace", "-f", "-")
	v := raw("/registry/secrets/default/old")
	if !bytes.HasPrefix(v, []byte("k8s\x00")) || !bytes.Contains(v, []byte("old-plaintext")) {
		t.Errorf("after the rewrite the old secret is stored as %.30q", v)
	}
	if plain, stale, err := kubeSecrets.TransformFromStorage(ctx, v, storagevalue.DefaultContext("/registry/secrets/default/old")); err != nil || stale || !bytes.Equal(plain, v) {
		t.Errorf("kube's transformer on the rewritten secret: %v stale=%v", err, stale)
	}
}
