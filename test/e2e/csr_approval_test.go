package e2e

import (
	"context"
	"crypto/x509/pkix"
	"slices"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"kapi/internal/server"
)

func approvedCondition(typ certificatesv1.RequestConditionType, at time.Time) certificatesv1.CertificateSigningRequestCondition {
	c := certificatesv1.CertificateSigningRequestCondition{Type: typ, Status: corev1.ConditionTrue, Reason: "Test", Message: "by the test"}
	if !at.IsZero() {
		c.LastUpdateTime = metav1.NewTime(at)
	}
	return c
}

func mustInvalid(t *testing.T, what string, err error, message string) {
	t.Helper()
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), message) {
		t.Fatalf("%s: want 422 with %q, got %v", what, message, err)
	}
}

// TestCSRApproval: the approval subresource changes only the conditions,
// and kube's rules hold on it (Approved and Denied exclusive, no removal,
// True only); the status subresource cannot approve; who approves needs
// "approve" on the signer, by name or by its domain's wildcard.
func TestCSRApproval(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	csrs := k.client.CertificatesV1().CertificateSigningRequests()

	resources, err := k.client.Discovery().ServerResourcesForGroupVersion("certificates.k8s.io/v1")
	if err != nil {
		t.Fatal(err)
	}
	var listed bool
	for _, r := range resources.APIResources {
		if r.Name == "certificatesigningrequests/approval" {
			listed = strings.Join(r.Verbs, ",") == "get,patch,update"
		}
	}
	if !listed {
		t.Fatalf("discovery does not list certificatesigningrequests/approval with get, patch, update: %+v", resources.APIResources)
	}

	// A CSR for a signer kapi does not run: nothing but the test writes
	// its status.
	request, _ := csrFor(t, pkix.Name{CommonName: "grace"})
	mkCSR(t, k, "grace", "example.com/signer", request, nil, certificatesv1.UsageClientAuth)
	csr, err := csrs.Get(ctx, "grace", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// Through approval: the conditions change, a changed spec does not.
	csr.Spec.Usages = []certificatesv1.KeyUsage{certificatesv1.UsageServerAuth}
	csr.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{approvedCondition(certificatesv1.CertificateApproved, time.Time{})}
	got, err := csrs.UpdateApproval(ctx, "grace", csr, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Spec.Usages) != 1 || got.Spec.Usages[0] != certificatesv1.UsageClientAuth {
		t.Fatalf("the approval changed the spec: %v", got.Spec.Usages)
	}
	if c := csrCond(got, certificatesv1.CertificateApproved); c == nil || c.LastUpdateTime.IsZero() || c.LastTransitionTime.IsZero() {
		t.Fatalf("approved condition %+v", c)
	}

	// Removing it, denying as well, a False approval: refused.
	removed := got.DeepCopy()
	removed.Status.Conditions = nil
	_, err = csrs.UpdateApproval(ctx, "grace", removed, metav1.UpdateOptions{})
	mustInvalid(t, "removing Approved", err, `status.conditions: Forbidden: updates may not remove a condition of type "Approved"`)
	both := got.DeepCopy()
	both.Status.Conditions = append(both.Status.Conditions, approvedCondition(certificatesv1.CertificateDenied, time.Time{}))
	_, err = csrs.UpdateApproval(ctx, "grace", both, metav1.UpdateOptions{})
	mustInvalid(t, "approved and denied", err, `status.conditions[1].type: Invalid value: "Denied": Approved and Denied conditions are mutually exclusive`)

	mkCSR(t, k, "heidi", "example.com/signer", request, nil, certificatesv1.UsageClientAuth)
	heidi, err := csrs.Get(ctx, "heidi", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	falseApproval := heidi.DeepCopy()
	falseApproval.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionFalse}}
	_, err = csrs.UpdateApproval(ctx, "heidi", falseApproval, metav1.UpdateOptions{})
	mustInvalid(t, "a False approval", err, `status.conditions[0].status: Unsupported value: "False": supported values: "True"`)

	// The status subresource cannot approve; the object itself changes
	// neither status nor spec.
	viaStatus := heidi.DeepCopy()
	viaStatus.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{approvedCondition(certificatesv1.CertificateApproved, time.Time{})}
	_, err = csrs.UpdateStatus(ctx, viaStatus, metav1.UpdateOptions{})
	mustInvalid(t, "approval through status", err, `updates may not add a condition of type "Approved"`)
	viaObject := heidi.DeepCopy()
	viaObject.Status.Conditions = viaStatus.Status.Conditions
	viaObject.Spec.SignerName = "example.com/other"
	viaObject.Labels = map[string]string{"seen": "yes"}
	up, err := csrs.Update(ctx, viaObject, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(up.Status.Conditions) != 0 || up.Spec.SignerName != "example.com/signer" || up.Labels["seen"] != "yes" {
		t.Fatalf("an update of the object: conditions %v signer %s labels %v", up.Status.Conditions, up.Spec.SignerName, up.Labels)
	}

	// A creation that breaks kube's rules is refused.
	_, err = csrs.Create(ctx, &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: "bad"},
		Spec: certificatesv1.CertificateSigningRequestSpec{Request: []byte("not a request"), SignerName: "nodomain",
			ExpirationSeconds: ptr(int32(60))}}, metav1.CreateOptions{})
	for _, m := range []string{"spec.request: Invalid value", "PEM block type must be CERTIFICATE REQUEST", "spec.usages: Required value: usages must be provided",
		`spec.signerName: Invalid value: "nodomain": must be a fully qualified domain and path of the form 'example.com/signer-name'`,
		"spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 600 seconds (10 minutes)"} {
		mustInvalid(t, "an invalid CSR", err, m)
	}

	// eve may update approvals, but approve for no signer: the
	// CertificateApproval admission plugin refuses her, until she may
	// approve for kubernetes.io/*.
	rbac := k.client.RbacV1()
	if _, err := rbac.ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "csr-approver"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"certificatesigningrequests", "certificatesigningrequests/approval"},
			Verbs: []string{"get", "list", "update"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := rbac.ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "eve-approver"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "csr-approver"},
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "eve"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eveCfg := rest.CopyConfig(k.rest)
	eveCfg.Impersonate = rest.ImpersonationConfig{UserName: "eve"}
	eve := kubernetes.NewForConfigOrDie(eveCfg).CertificatesV1().CertificateSigningRequests()
	clientRequest, _ := csrFor(t, pkix.Name{CommonName: "ivan"})
	// Made by eve (impersonated), claiming another requestor: kapi
	// records eve.
	if _, err := rbac.ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "csr-creator"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"certificatesigningrequests"},
			Verbs: []string{"create"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := rbac.ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "eve-creator"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "csr-creator"},
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "eve"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var made *certificatesv1.CertificateSigningRequest
	settle(t, "eve's creator role", func() bool {
		made, err = eve.Create(ctx, &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: "ivan"},
			Spec: certificatesv1.CertificateSigningRequestSpec{Request: clientRequest, SignerName: certificatesv1.KubeAPIServerClientSignerName,
				Usages: []certificatesv1.KeyUsage{certificatesv1.UsageClientAuth}, Username: "root", Groups: []string{"system:masters"}}},
			metav1.CreateOptions{})
		return err == nil
	})
	if made.Spec.Username != "eve" || slices.Contains(made.Spec.Groups, "system:masters") || !slices.Contains(made.Spec.Groups, "system:authenticated") {
		t.Fatalf("requestor %q %v", made.Spec.Username, made.Spec.Groups)
	}
	approve := func() error {
		c, err := eve.Get(ctx, "ivan", metav1.GetOptions{})
		if err != nil {
			return err
		}
		c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{approvedCondition(certificatesv1.CertificateApproved, time.Time{})}
		_, err = eve.UpdateApproval(ctx, "ivan", c, metav1.UpdateOptions{})
		return err
	}
	var last error
	settle(t, "eve's role", func() bool {
		last = approve()
		return !apierrors.IsForbidden(last) || strings.Contains(last.Error(), "not permitted to approve")
	})
	want := `certificatesigningrequests.certificates.k8s.io "ivan" is forbidden: user not permitted to approve requests with signerName "kubernetes.io/kube-apiserver-client"`
	if !apierrors.IsForbidden(last) || last.Error() != want {
		t.Fatalf("eve's approval: want %q, got %v", want, last)
	}
	if _, err := rbac.ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "kubernetes-signers"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"signers"},
			ResourceNames: []string{"kubernetes.io/*"}, Verbs: []string{"approve"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := rbac.ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "eve-signers"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "kubernetes-signers"},
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "eve"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	settle(t, "eve's signer permission", func() bool { last = approve(); return last == nil })
	waitCSR(t, k, "ivan", "signed after eve's approval", issued)
}

// TestCSRCleaner: after kube's retention the cleaner deletes approved
// and issued requests (an hour after approval), denied ones (an hour
// after denial), and leaves recent and pending ones. The cleaner passes
// at its start and hourly: a restart makes it pass now.
func TestCSRCleaner(t *testing.T) {
	k := startKapi(t, func(c *server.Config) { c.LeaderElect = false })
	ctx := context.Background()
	csrs := k.client.CertificatesV1().CertificateSigningRequests()
	setConditions := func(name string, conds ...certificatesv1.CertificateSigningRequestCondition) {
		t.Helper()
		c, err := csrs.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c.Status.Conditions = conds
		if _, err := csrs.UpdateApproval(ctx, name, c, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	longAgo := time.Now().Add(-2 * time.Hour)
	for _, name := range []string{"old-denied", "recent-denied", "old-issued", "recent-issued", "pending"} {
		req, _ := csrFor(t, pkix.Name{CommonName: name})
		mkCSR(t, k, name, certificatesv1.KubeAPIServerClientSignerName, req, nil, certificatesv1.UsageClientAuth)
	}
	setConditions("old-denied", approvedCondition(certificatesv1.CertificateDenied, longAgo))
	setConditions("recent-denied", approvedCondition(certificatesv1.CertificateDenied, time.Time{}))
	setConditions("old-issued", approvedCondition(certificatesv1.CertificateApproved, longAgo))
	setConditions("recent-issued", approvedCondition(certificatesv1.CertificateApproved, time.Time{}))
	waitCSR(t, k, "old-issued", "signed", issued)
	waitCSR(t, k, "recent-issued", "signed", issued)

	k.restart()
	csrs = k.client.CertificatesV1().CertificateSigningRequests()
	for _, name := range []string{"old-denied", "old-issued"} {
		if err := waitUntil(time.Minute, func() bool {
			_, err := csrs.Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		}); err != nil {
			t.Fatalf("%s was not cleaned: %v", name, err)
		}
	}
	for _, name := range []string{"recent-denied", "recent-issued", "pending"} {
		if _, err := csrs.Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}
