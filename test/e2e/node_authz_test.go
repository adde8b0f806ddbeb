package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"kapi/internal/server"
)

// asCertOf is a client of k with a client certificate for cn in the
// groups orgs, signed by kapi's own CA.
func (k *kapi) asCertOf(t testing.TB, cn string, orgs ...string) kubernetes.Interface {
	t.Helper()
	return k.asCertFor(t, pkix.Name{CommonName: cn, Organization: orgs})
}

// asCertFor is a client of k with a client certificate of subject, signed
// by kapi's own CA.
func (k *kapi) asCertFor(t testing.TB, subject pkix.Name) kubernetes.Interface {
	t.Helper()
	caCert := pemBlock(t, readFile(t, k.srv.PKI.CACert))
	ca, err := x509.ParseCertificate(caCert)
	if err != nil {
		t.Fatal(err)
	}
	caKey, err := parsePrivateKey(pemBlock(t, readFile(t, k.srv.PKI.CAKey)))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: subject,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	return kubernetes.NewForConfigOrDie(&rest.Config{Host: k.rest.Host, QPS: -1, TLSClientConfig: rest.TLSClientConfig{
		CAData: k.rest.CAData, CAFile: k.rest.CAFile,
		CertData: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyData:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})}})
}

func parsePrivateKey(der []byte) (any, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return x509.ParsePKCS1PrivateKey(der)
}

// forbiddenWith reports whether err is a 403 whose message holds msg.
func forbiddenWith(err error, msg string) bool {
	return apierrors.IsForbidden(err) && strings.Contains(err.Error(), msg)
}

// TestNodeAuthorizer: with --authorization-mode=Node,RBAC and the
// NodeRestriction plugin, the kubelet of n1 (a certificate of kapi's CA
// for system:node:n1 in system:nodes) reads the secret of a pod bound to
// n1 and not the one of a pod bound to n2 (kube's reason), lists only its
// own pods, reads only its own Node, writes its own Node's status and not
// n2's, may not set restricted labels or change its taints, holds only
// its own Lease, creates only its own mirror pods, deletes only its own
// pods and asks tokens only for its own pods and their audiences; all
// with kube's messages.
func TestNodeAuthorizer(t *testing.T) {
	k := startKapi(t, withoutLoops(rootCAPublisher), func(c *server.Config) {
		c.AuthorizationModes = []string{"Node", "RBAC"}
		c.EnableAdmissionPlugins = []string{"NodeRestriction"}
	})
	ctx := context.Background()
	admin := k.client
	for _, n := range []string{"n1", "n2"} {
		if _, err := admin.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "secret-" + n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pod-" + n}, Spec: corev1.PodSpec{NodeName: n,
			AutomountServiceAccountToken: ptr(false), ServiceAccountName: "default",
			Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
			Volumes: []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "secret-" + n}}},
				{Name: "token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}}}}}}}}}
		if err := waitUntil(30*time.Second, func() bool {
			_, err := admin.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
			return err == nil
		}); err != nil {
			t.Fatalf("pod %s: %v", pod.Name, err)
		}
	}
	n1 := k.asCertOf(t, "system:node:n1", "system:nodes")

	// Reads through the graph (the informers see the pods a moment after
	// they are written).
	if err := waitUntil(30*time.Second, func() bool {
		_, err := n1.CoreV1().Secrets("default").Get(ctx, "secret-n1", metav1.GetOptions{})
		return err == nil
	}); err != nil {
		t.Fatal("n1 cannot read the secret of its own pod")
	}
	_, err := n1.CoreV1().Secrets("default").Get(ctx, "secret-n2", metav1.GetOptions{})
	if !forbiddenWith(err, `secrets "secret-n2" is forbidden: User "system:node:n1" cannot get resource "secrets" in API group "" in the namespace "default": no relationship found between node 'n1' and this object`) {
		t.Errorf("n1 reads the secret of a pod on n2: %v", err)
	}
	if _, err := n1.CoreV1().Pods("default").Get(ctx, "pod-n1", metav1.GetOptions{}); err != nil {
		t.Errorf("n1 gets its pod: %v", err)
	}
	if l, err := n1.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=n1"}); err != nil || len(l.Items) != 1 {
		t.Errorf("n1 lists its pods: %v", err)
	}
	_, err = n1.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if !forbiddenWith(err, "can only list/watch pods with spec.nodeName field selector") {
		t.Errorf("n1 lists every pod: %v", err)
	}
	// An access review carries the selector to the Node authorizer.
	for _, c := range []struct {
		fs    *authorizationv1.FieldSelectorAttributes
		allow bool
	}{
		{&authorizationv1.FieldSelectorAttributes{RawSelector: "spec.nodeName=n1"}, true},
		{&authorizationv1.FieldSelectorAttributes{Requirements: []metav1.FieldSelectorRequirement{{Key: "spec.nodeName", Operator: metav1.FieldSelectorOpIn, Values: []string{"n1"}}}}, true},
		{&authorizationv1.FieldSelectorAttributes{RawSelector: "spec.nodeName=n2"}, false},
		{nil, false},
	} {
		sar, err := admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: "system:node:n1", Groups: []string{"system:nodes"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "list", Resource: "pods", FieldSelector: c.fs}}}, metav1.CreateOptions{})
		if err != nil || sar.Status.Allowed != c.allow {
			t.Errorf("a review of n1 listing pods with %+v: %+v %v", c.fs, sar.Status, err)
		}
	}
	_, err = n1.CoreV1().Nodes().Get(ctx, "n2", metav1.GetOptions{})
	if !forbiddenWith(err, "node 'n1' cannot read 'n2', only its own Node object") {
		t.Errorf("n1 reads n2: %v", err)
	}

	// Its own Node's status, not n2's.
	own, err := n1.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	own.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: metav1.Now()}}
	if _, err := n1.CoreV1().Nodes().UpdateStatus(ctx, own, metav1.UpdateOptions{}); err != nil {
		t.Errorf("n1 updates its own status: %v", err)
	}
	patch := []byte(`{"status":{"conditions":[{"type":"Ready","status":"False","reason":"Spoofed"}]}}`)
	_, err = n1.CoreV1().Nodes().Patch(ctx, "n2", types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if !forbiddenWith(err, `nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"`) {
		t.Errorf("n1 patches n2's status: %v", err)
	}
	if n2, _ := admin.CoreV1().Nodes().Get(ctx, "n2", metav1.GetOptions{}); len(n2.Status.Conditions) != 0 {
		t.Errorf("n2's status changed: %+v", n2.Status.Conditions)
	}
	// Labels: the kubelet's own prefixes, not others under kubernetes.io.
	if _, err := n1.CoreV1().Nodes().Patch(ctx, "n1", types.MergePatchType,
		[]byte(`{"metadata":{"labels":{"node.kubernetes.io/instance-type":"big","example.com/x":"y"}}}`), metav1.PatchOptions{}); err != nil {
		t.Errorf("n1 sets allowed labels: %v", err)
	}
	_, err = n1.CoreV1().Nodes().Patch(ctx, "n1", types.MergePatchType,
		[]byte(`{"metadata":{"labels":{"node-role.kubernetes.io/control-plane":"","node-restriction.kubernetes.io/pool":"a"}}}`), metav1.PatchOptions{})
	if !forbiddenWith(err, `nodes "n1" is forbidden: is not allowed to modify labels: node-restriction.kubernetes.io/pool, node-role.kubernetes.io/control-plane`) {
		t.Errorf("n1 sets restricted labels: %v", err)
	}
	// (TaintNodesByCondition gave it the not-ready taint.)
	_, err = n1.CoreV1().Nodes().Patch(ctx, "n1", types.MergePatchType, []byte(`{"spec":{"taints":[]}}`), metav1.PatchOptions{})
	if !forbiddenWith(err, `node "n1" is not allowed to modify taints`) {
		t.Errorf("n1 changes its taints: %v", err)
	}

	// Leases: its own, in kube-node-lease.
	lease := func(name string) *coordinationv1.Lease {
		return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: coordinationv1.LeaseSpec{HolderIdentity: &name}}
	}
	if _, err := n1.CoordinationV1().Leases("kube-node-lease").Create(ctx, lease("n1"), metav1.CreateOptions{}); err != nil {
		t.Errorf("n1 creates its lease: %v", err)
	}
	_, err = n1.CoordinationV1().Leases("kube-node-lease").Create(ctx, lease("n2"), metav1.CreateOptions{})
	if !forbiddenWith(err, "can only access node lease with the same name as the requesting node") {
		t.Errorf("n1 creates n2's lease: %v", err)
	}
	_, err = n1.CoordinationV1().Leases("default").Get(ctx, "n1", metav1.GetOptions{})
	if !forbiddenWith(err, `can only access leases in the "kube-node-lease" system namespace`) {
		t.Errorf("n1 reads a lease elsewhere: %v", err)
	}

	// Pods: only mirror pods bound to itself.
	_, err = n1.CoreV1().Pods("default").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "plain"},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{})
	if !forbiddenWith(err, `pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can only create mirror pods`) {
		t.Errorf("n1 creates a plain pod: %v", err)
	}
	mirror := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "static-n1", Annotations: map[string]string{"kubernetes.io/config.mirror": "x"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: "n1", UID: own.UID, Controller: ptr(true)}}},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	if _, err := n1.CoreV1().Pods("default").Create(ctx, mirror, metav1.CreateOptions{}); err != nil {
		t.Errorf("n1 creates its mirror pod: %v", err)
	}
	mirror.Name, mirror.Spec.NodeName = "static-n2", "n2"
	_, err = n1.CoreV1().Pods("default").Create(ctx, mirror, metav1.CreateOptions{})
	if !forbiddenWith(err, `node "n1" can only create pods with spec.nodeName set to itself`) {
		t.Errorf("n1 creates a mirror pod on n2: %v", err)
	}
	err = n1.CoreV1().Pods("default").Delete(ctx, "pod-n2", metav1.DeleteOptions{})
	if !forbiddenWith(err, `pods "pod-n2" is forbidden: node "n1" can only delete pods with spec.nodeName set to itself`) {
		t.Errorf("n1 deletes a pod of n2: %v", err)
	}
	// Tokens: for the service account of its pods, bound to its pods, for
	// the audiences they use.
	for _, c := range []struct{ pod, audience, want string }{
		{"pod-n1", "", ""},
		{"pod-n2", "", "node requested token bound to a pod scheduled on a different node"},
		{"pod-n1", "vault", `system:node:n1 is not authorized to request tokens for audience "vault"`},
	} {
		p, err := admin.CoreV1().Pods("default").Get(ctx, c.pod, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		spec := authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: c.pod, UID: p.UID}}
		if c.audience != "" {
			spec.Audiences = []string{c.audience}
		}
		_, err = n1.CoreV1().ServiceAccounts("default").CreateToken(ctx, "default", &authenticationv1.TokenRequest{Spec: spec}, metav1.CreateOptions{})
		if (c.want == "" && err != nil) || (c.want != "" && !forbiddenWith(err, c.want)) {
			t.Errorf("n1 asks a token bound to %s for %q: %v", c.pod, c.audience, err)
		}
	}
	// Not a node: the Node authorizer has no opinion, RBAC refuses.
	stranger := k.asCertOf(t, "system:node:n1")
	if _, err := stranger.CoreV1().Secrets("default").Get(ctx, "secret-n1", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("system:node:n1 outside system:nodes reads a secret: %v", err)
	}
}
