package registry_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
	"kapi/internal/registry/builtin"
	"kapi/internal/storage"
)

// silentStorage is etcd that does not answer: every call waits for its
// context and ends with the context's error, as the watch cache waiting
// for etcd's revision does.
type silentStorage struct{ storage.Interface }

func (silentStorage) Get(ctx context.Context, _ string, _ storage.ReadOptions) (runtime.Object, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (silentStorage) List(ctx context.Context, _ string, _ storage.ListOptions) (*storage.ListResult, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (silentStorage) Create(ctx context.Context, _ string, _ runtime.Object, _ ...storage.Charge) (runtime.Object, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestSilentEtcd: when etcd does not answer, a read is answered (a moment
// before the request's deadline) with a 504 naming etcd and Retry-After, a
// write with a 504 naming etcd and no Retry-After (it may have been
// applied), rather than left to the timeout filter's anonymous 504 (the
// fault suite's TestEtcdOutage found reads without Retry-After).
func TestSilentEtcd(t *testing.T) {
	row := builtin.Find("", "configmaps")
	if row == nil {
		t.Fatal("no configmaps row")
	}
	store := registry.NewStore(row, silentStorage{})
	for _, c := range []struct {
		name  string
		call  func(context.Context) error
		retry bool
	}{
		{"get", func(ctx context.Context) error {
			_, err := store.Get(ctx, "ns", "a", &metav1.GetOptions{})
			return err
		}, true},
		{"list", func(ctx context.Context) error {
			_, err := store.List(ctx, "ns", &metav1.ListOptions{})
			return err
		}, true},
		{"create", func(ctx context.Context) error {
			_, err := store.Create(ctx, "ns", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "a"}}, nil, false)
			return err
		}, false},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		err := c.call(ctx)
		cancel()
		st, ok := err.(apierrors.APIStatus)
		if !ok || st.Status().Code != 504 || !strings.Contains(st.Status().Message, "etcd") {
			t.Errorf("%s: %v, want a 504 naming etcd", c.name, err)
			continue
		}
		if retry := st.Status().Details != nil && st.Status().Details.RetryAfterSeconds > 0; retry != c.retry {
			t.Errorf("%s: %+v: Retry-After %v, want %v", c.name, st.Status(), retry, c.retry)
		}
	}
}
