package bench

import (
	"context"
	"net/http/httptest"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// TestBareCreatesAndGets: the bare server's creates and gets answer
// client-go as kapi would, in either encoding (the floor must do the work
// it stands for), with kube's codes for a second create and a missing
// object.
func TestBareCreatesAndGets(t *testing.T) {
	s := &bareServer{watchers: map[*bareWatcher]struct{}{}, stopping: make(chan struct{}), objects: map[string]*bareObject{}}
	srv := httptest.NewUnstartedServer(s)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	client := func(contentType string) kubernetes.Interface {
		c, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL, ContentConfig: rest.ContentConfig{ContentType: contentType},
			TLSClientConfig: rest.TLSClientConfig{Insecure: true}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx := context.Background()
	pb, js := client("application/vnd.kubernetes.protobuf"), client("application/json")

	made, err := pb.CoreV1().ConfigMaps("x").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a"},
		Data: map[string]string{"d": "data"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if made.Namespace != "x" || made.ResourceVersion != "1" || made.UID == "" || made.CreationTimestamp.IsZero() || made.Data["d"] != "data" {
		t.Fatalf("created %+v", made)
	}
	for name, c := range map[string]kubernetes.Interface{"protobuf": pb, "json": js} {
		got, err := c.CoreV1().ConfigMaps("x").Get(ctx, "a", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s get: %v", name, err)
		}
		if got.UID != made.UID || got.ResourceVersion != "1" || got.Data["d"] != "data" {
			t.Fatalf("%s get: %+v, created %+v", name, got, made)
		}
	}
	if _, err := js.CoreV1().ConfigMaps("x").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("second create of a: %v, want already exists", err)
	}
	if _, err := pb.CoreV1().ConfigMaps("y").Get(ctx, "a", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("get of y/a: %v, want not found", err)
	}
}

// TestConfigMapPath: the bare server takes ConfigMaps' paths, a
// collection or one object of a namespace, and nothing else.
func TestConfigMapPath(t *testing.T) {
	for path, want := range map[string][3]string{
		"/api/v1/namespaces/x/configmaps":     {"x", "", "ok"},
		"/api/v1/namespaces/x/configmaps/a":   {"x", "a", "ok"},
		"/api/v1/namespaces/x/configmaps/":    {},
		"/api/v1/namespaces/x/configmaps/a/b": {},
		"/api/v1/namespaces//configmaps/a":    {},
		"/api/v1/namespaces/x/secrets/a":      {},
		"/api/v1/namespaces/x/y/configmaps/a": {},
		"/api/v1/namespaces/x/configmapsa":    {},
		"/apis/v1/namespaces/x/configmaps/a":  {},
	} {
		ns, name, ok := configMapPath(path)
		if got := [3]string{ns, name, map[bool]string{true: "ok"}[ok]}; ok != (want[2] == "ok") || ok && got != want {
			t.Errorf("%s: %q %q %v, want %v", path, ns, name, ok, want)
		}
	}
}
