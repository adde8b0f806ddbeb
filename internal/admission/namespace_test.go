package admission

import (
	"context"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestNamespaceLifecycle(t *testing.T) {
	nss := objects("namespaces",
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "live"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "going"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}},
	)
	p := NamespaceLifecycle{Get: func(ctx context.Context, name string) (runtime.Object, error) { return nss.Get(ctx, "", name) }}
	cm := func(ns, name string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	}
	ns := func(name string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	}
	lsar := &authorizationv1.LocalSubjectAccessReview{ObjectMeta: metav1.ObjectMeta{Namespace: "nowhere"}}
	generated := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "going", GenerateName: "gen-"}}
	cms := row("v1/configmaps", true)
	for _, tc := range []struct {
		name string
		a    *Attributes
		want string
		code int32
	}{
		{"create in a live namespace", attrs(Create, cms, "", cm("live", "a"), nil), "", 0},
		{"create in a missing namespace", attrs(Create, cms, "", cm("nowhere", "a"), nil), `namespaces "nowhere" not found`, 404},
		{"create in a terminating namespace", attrs(Create, cms, "", cm("going", "a"), nil),
			`configmaps "a" is forbidden: unable to create new content in namespace going because it is being terminated`, 403},
		{"generated name in a terminating namespace", attrs(Create, cms, "", generated, nil), `configmaps "gen-" is forbidden`, 403},
		{"update in a terminating namespace", attrs(Update, cms, "", cm("going", "a"), cm("going", "a")), "", 0},
		{"delete in a missing namespace", attrs(Delete, cms, "", nil, cm("nowhere", "a")), "", 0},
		{"access review in a missing namespace", attrs(Create, row("authorization.k8s.io/v1/localsubjectaccessreviews", true), "", lsar, nil), "", 0},
		{"delete default", attrs(Delete, namespacesRow, "", nil, ns("default")), `namespaces "default" is forbidden: this namespace may not be deleted`, 403},
		{"delete kube-system", attrs(Delete, namespacesRow, "", nil, ns("kube-system")), `namespaces "kube-system" is forbidden: this namespace may not be deleted`, 403},
		{"delete kube-public", attrs(Delete, namespacesRow, "", nil, ns("kube-public")), `this namespace may not be deleted`, 403},
		{"delete another namespace", attrs(Delete, namespacesRow, "", nil, ns("live")), "", 0},
		{"create a namespace", attrs(Create, namespacesRow, "", ns("new"), nil), "", 0},
		{"cluster-scoped object", attrs(Create, row("rbac.authorization.k8s.io/v1/clusterroles", false), "", &corev1.Node{}, nil), "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, p.Admit(context.Background(), tc.a), tc.want, tc.code)
		})
	}
	err := p.Admit(context.Background(), attrs(Create, cms, "", cm("going", "a"), nil))
	if se, ok := err.(interface{ Status() metav1.Status }); !ok || len(se.Status().Details.Causes) != 1 || se.Status().Details.Causes[0].Type != corev1.NamespaceTerminatingCause {
		t.Fatalf("terminating refusal without its cause: %#v", err)
	}
}
