package e2e

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestCorruptObjects: an object in etcd that does not decode (or
// decrypt) is "corrupt", as kube-apiserver 1.37 calls it
// (AllowUnsafeMalformedObjectDeletion): reading it is a 500, a list that
// meets it is a 500 StoreReadError naming every such key, and it can be
// deleted, by whoever may also "unsafe-delete-ignore-read-errors", with
// DeleteOptions' ignoreStoreReadErrorWithClusterBreakingPotential, after
// which the list answers again.
func TestCorruptObjects(t *testing.T) {
	t.Parallel()
	k := startKapi(t)
	ctx := context.Background()
	ns := gcNamespace(t, k, "corrupt")
	cms := k.client.CoreV1().ConfigMaps(ns)
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "good"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"bad-a", "bad-b"} {
		if _, err := k.srv.Etcd().Put(ctx, "/registry/configmaps/"+ns+"/"+name, "k8s\x00\x0a\x02not a configmap"); err != nil {
			t.Fatal(err)
		}
	}
	keyA, keyB := "/registry/configmaps/"+ns+"/bad-a", "/registry/configmaps/"+ns+"/bad-b"

	_, err := cms.Get(ctx, "bad-a", metav1.GetOptions{})
	if !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), "StorageError: corrupt object, Code: 7, Key: "+keyA+", ResourceVersion: 0, AdditionalErrorMsg: object not decodable revision=") {
		t.Errorf("a corrupt object's get: %v", err)
	}
	_, err = cms.List(ctx, metav1.ListOptions{})
	st, ok := err.(apierrors.APIStatus)
	if !ok || st.Status().Code != 500 || st.Status().Reason != metav1.StatusReasonStoreReadError {
		t.Fatalf("a list with corrupt objects: %v", err)
	}
	s := st.Status()
	if !strings.HasPrefix(s.Message, "failed to read one or more configmaps from the storage: StorageError: corrupt object, Code: 7, Key: "+keyA) ||
		!strings.HasSuffix(s.Message, " (and 1 more)") {
		t.Errorf("message %q", s.Message)
	}
	if d := s.Details; d == nil || d.Name != "list" || d.Kind != "configmaps" || len(d.Causes) != 2 || d.Causes[0].Field != keyA || d.Causes[1].Field != keyB ||
		d.Causes[1].Type != metav1.CauseTypeUnexpectedServerResponse || !strings.HasPrefix(d.Causes[1].Message, "StorageError: corrupt object") {
		t.Errorf("details %+v", s.Details)
	}
	if err := cms.Delete(ctx, "bad-a", metav1.DeleteOptions{}); !apierrors.IsInternalError(err) {
		t.Errorf("a plain delete of a corrupt object: %v", err)
	}

	unsafe := func(o metav1.DeleteOptions) metav1.DeleteOptions {
		yes := true
		o.IgnoreStoreReadErrorWithClusterBreakingPotential = &yes
		return o
	}
	// The options an unsafe deletion cannot honour, and a collection.
	err = cms.Delete(ctx, "bad-a", unsafe(metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationForeground), GracePeriodSeconds: ptr(int64(0))}))
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "ignoreStoreReadErrorWithClusterBreakingPotential: Invalid value: true: cannot be set together with .propagationPolicy") ||
		!strings.Contains(err.Error(), "cannot be set together with .gracePeriodSeconds") {
		t.Errorf("unsafe with a propagation policy: %v", err)
	}
	err = cms.DeleteCollection(ctx, unsafe(metav1.DeleteOptions{}), metav1.ListOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "ignoreStoreReadErrorWithClusterBreakingPotential: Invalid value: true: is not allowed with DELETECOLLECTION, try again after removing the option") {
		t.Errorf("an unsafe deletecollection: %v", err)
	}
	// Allowed to delete configmaps, not to delete them unsafely.
	if _, err := k.client.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "carol-edits"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "edit"},
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "carol"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	carol := asUser(k, "carol").CoreV1().ConfigMaps(ns)
	settle(t, "carol's role", func() bool {
		_, err := carol.Get(ctx, "good", metav1.GetOptions{})
		return err == nil
	})
	err = carol.Delete(ctx, "bad-a", unsafe(metav1.DeleteOptions{}))
	if !apierrors.IsForbidden(err) || !strings.HasPrefix(err.Error(), `configmaps "bad-a" is forbidden: not permitted to do "unsafe-delete-ignore-read-errors", reason: `) {
		t.Errorf("carol's unsafe delete: %v", err)
	}
	// An object that reads is not deleted so.
	err = cms.Delete(ctx, "good", unsafe(metav1.DeleteOptions{}))
	if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), "unsafe deletion is not allowed because the object is decodable from storage") {
		t.Errorf("an unsafe delete of a good object: %v", err)
	}
	if err := cms.Delete(ctx, "missing", unsafe(metav1.DeleteOptions{})); !apierrors.IsNotFound(err) {
		t.Errorf("an unsafe delete of nothing: %v", err)
	}
	// A dry run deletes nothing.
	if err := cms.Delete(ctx, "bad-a", unsafe(metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})); err != nil {
		t.Errorf("a dry run: %v", err)
	}
	if _, err := cms.Get(ctx, "bad-a", metav1.GetOptions{}); !apierrors.IsInternalError(err) {
		t.Errorf("after the dry run: %v", err)
	}
	// The administrator deletes both; the answer is kube's Status.
	for _, name := range []string{"bad-a", "bad-b"} {
		var out metav1.Status
		if err := k.client.CoreV1().RESTClient().Delete().Namespace(ns).Resource("configmaps").Name(name).
			Body(&metav1.DeleteOptions{IgnoreStoreReadErrorWithClusterBreakingPotential: ptr(true)}).Do(ctx).Into(&out); err != nil {
			t.Fatalf("the unsafe delete of %s: %v", name, err)
		}
		if out.Status != metav1.StatusSuccess || out.Details == nil || out.Details.Name != name || out.Details.Kind != "ConfigMap" {
			t.Errorf("the answer: %+v", out)
		}
	}
	if resp, err := k.srv.Etcd().Get(ctx, keyA); err != nil || len(resp.Kvs) != 0 {
		t.Errorf("etcd still has %s: %v", keyA, err)
	}
	// The list answers again (the namespace's kube-root-ca.crt beside
	// "good"), from etcd and from the cache.
	names := func(l *corev1.ConfigMapList) string {
		var out []string
		for _, c := range l.Items {
			out = append(out, c.Name)
		}
		return strings.Join(out, ",")
	}
	settle(t, "the list", func() bool {
		l, err := cms.List(ctx, metav1.ListOptions{})
		return err == nil && names(l) == "good,kube-root-ca.crt"
	})
	if l, err := cms.List(ctx, metav1.ListOptions{ResourceVersion: "0"}); err != nil || names(l) != "good,kube-root-ca.crt" {
		t.Errorf("a list from the cache: %v", err)
	}
}
