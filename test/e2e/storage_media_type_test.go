package e2e

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/server"
)

// TestStorageMediaType: --storage-media-type=application/json writes the
// built-in objects to etcd as JSON of their storage version (readable
// with etcdctl), the kubernetes Service's master leases too; after a
// restart with the default (protobuf) the JSON ones are still read, and
// what is written from then on is protobuf; YAML is the third choice,
// and anything else stops the start with kube's message.
func TestStorageMediaType(t *testing.T) {
	ctx := context.Background()
	k := startKapi(t, func(c *server.Config) { c.StorageMediaType = "application/json" })
	raw := func(key string) []byte {
		t.Helper()
		resp, err := k.srv.Etcd().Get(ctx, key)
		if err != nil || len(resp.Kvs) != 1 {
			t.Fatalf("etcd %s: %v %v", key, resp, err)
		}
		return resp.Kvs[0].Value
	}
	if _, err := k.client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c1"},
		Data: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	replicas := int32(1)
	labels := map[string]string{"app": "web"}
	if _, err := k.client.AppsV1().Deployments("default").Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "d1"},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for key, prefix := range map[string]string{
		"/registry/configmaps/default/c1":             `{"kind":"ConfigMap","apiVersion":"v1",`,
		"/registry/deployments/default/d1":            `{"kind":"Deployment","apiVersion":"apps/v1",`,
		"/registry/services/specs/default/kubernetes": `{"kind":"Service","apiVersion":"v1",`,
	} {
		if v := raw(key); !bytes.HasPrefix(v, []byte(prefix)) {
			t.Errorf("%s stored as %.60q, want JSON %s...", key, v, prefix)
		}
	}

	leases, err := k.srv.Etcd().Get(ctx, "/registry/masterleases/", clientv3.WithPrefix())
	if err != nil || len(leases.Kvs) != 1 || !bytes.HasPrefix(leases.Kvs[0].Value, []byte(`{"kind":"Endpoints","apiVersion":"v1",`)) {
		t.Errorf("master leases: %v %v, want one, JSON", leases, err)
	}

	k.cfg.StorageMediaType = ""
	k.restart()
	cm, err := k.client.CoreV1().ConfigMaps("default").Get(ctx, "c1", metav1.GetOptions{})
	if err != nil || cm.Data["k"] != "v" {
		t.Fatalf("the JSON ConfigMap after the restart: %v %v", cm, err)
	}
	cm.Data["k"] = "w"
	if _, err := k.client.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if v := raw("/registry/configmaps/default/c1"); !bytes.HasPrefix(v, []byte("k8s\x00")) {
		t.Errorf("rewritten with the default: %.40q, want protobuf", v)
	}
	if d, err := k.client.AppsV1().Deployments("default").Get(ctx, "d1", metav1.GetOptions{}); err != nil || *d.Spec.Replicas != 1 {
		t.Fatalf("the JSON Deployment after the restart: %v %v", d, err)
	}

	k.cfg.StorageMediaType = "application/yaml"
	k.restart()
	if _, err := k.client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c2"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if v := raw("/registry/configmaps/default/c2"); !bytes.HasPrefix(v, []byte("apiVersion: v1\nkind: ConfigMap\n")) {
		t.Errorf("stored with application/yaml: %.60q", v)
	}

	cfg := server.Defaults()
	cfg.DataDir, cfg.SecurePort, cfg.Out, cfg.StorageMediaType = t.TempDir(), 0, io.Discard, "application/cbor"
	if srv, err := server.Start(ctx, cfg); err == nil {
		srv.Stop()
		t.Fatal("--storage-media-type=application/cbor: started")
	} else if want := `--storage-media-type "application/cbor" invalid, allowed values: application/json, application/vnd.kubernetes.protobuf, application/yaml`; !strings.Contains(err.Error(), want) {
		t.Errorf("--storage-media-type=application/cbor: %v, want %q", err, want)
	}
}
