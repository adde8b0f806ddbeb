package controllers

import (
	"context"
	"crypto/x509"
	"fmt"

	authorizationv1 "k8s.io/api/authorization/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"kapi/internal/registry/certificates"
)

// CSRApproving approves kubelets' client certificate requests whose
// requester may have them, as kube-controller-manager's csrapproving
// controller does; it is the step of TLS bootstrapping between a kubelet
// (with a bootstrap token, or its expiring certificate) asking for a
// certificate and the signer signing it. A pending request for the
// kube-apiserver-client-kubelet signer that is a kubelet's client
// certificate (O=system:nodes, CN=system:node:<name>, no subject
// alternative names, kube's usages) is approved when a
// SubjectAccessReview says its requester may create
// certificatesigningrequests/selfnodeclient (renewing its own: CN equal
// to the requester) or certificatesigningrequests/nodeclient (any node's).
// One refused is tried again with the queue's back-off, as RBAC may
// change.
type CSRApproving struct {
	env    *Env
	client kubernetes.Interface
	queue  workqueueOf[string]
}

// NewCSRApproving returns the loop; it acts as
// kube-system/certificate-controller.
func NewCSRApproving(env *Env) *CSRApproving {
	return &CSRApproving{env: env, client: kubernetes.NewForConfigOrDie(env.ClientFor("certificate-controller")),
		queue: NewQueue[string]("csrapproving")}
}

// csrRecognizer is one kind of request the approver knows: the
// subresource a requester needs, and the condition's message.
type csrRecognizer struct {
	recognize   func(*certificatesv1.CertificateSigningRequest, *x509.CertificateRequest) bool
	subresource string
	message     string
}

var csrRecognizers = []csrRecognizer{
	{isSelfNodeClientCert, "selfnodeclient", "Auto approving self kubelet client certificate after SubjectAccessReview."},
	{isNodeClientCert, "nodeclient", "Auto approving kubelet client certificate after SubjectAccessReview."},
}

func isNodeClientCert(csr *certificatesv1.CertificateSigningRequest, req *x509.CertificateRequest) bool {
	return csr.Spec.SignerName == certificatesv1.KubeAPIServerClientKubeletSignerName && kubeletClient(req, csr.Spec.Usages) == nil
}

func isSelfNodeClientCert(csr *certificatesv1.CertificateSigningRequest, req *x509.CertificateRequest) bool {
	return csr.Spec.Username == req.Subject.CommonName && isNodeClientCert(csr, req)
}

// Run works until ctx ends.
func (c *CSRApproving) Run(ctx context.Context) {
	workOnCSRs(ctx, c.env, c.queue, "approving certificate signing request", c.sync)
}

func (c *CSRApproving) sync(ctx context.Context, csrs *Informer, name string) error {
	obj, ok := csrs.Get("", name)
	if !ok {
		return nil
	}
	csr := obj.(*certificatesv1.CertificateSigningRequest)
	if len(csr.Status.Certificate) > 0 {
		return nil
	}
	for _, cond := range csr.Status.Conditions {
		if cond.Type == certificatesv1.CertificateApproved || cond.Type == certificatesv1.CertificateDenied {
			return nil
		}
	}
	req, err := certificates.ParseRequest(csr.Spec.Request)
	if err != nil {
		return fmt.Errorf("unable to parse csr %q: %v", csr.Name, err)
	}
	var tried []string
	for _, r := range csrRecognizers {
		if !r.recognize(csr, req) {
			continue
		}
		tried = append(tried, r.subresource)
		allowed, err := c.authorize(ctx, csr, r.subresource)
		if err != nil {
			return err
		}
		if !allowed {
			continue
		}
		up := csr.DeepCopy()
		up.Status.Conditions = append(up.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
			Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "AutoApproved", Message: r.message})
		if _, err := c.client.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, csr.Name, up, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("error updating approval for csr: %v", err)
		}
		return nil
	}
	if len(tried) > 0 {
		return waitError{fmt.Errorf("recognized csr %q as %v but subject access review was not approved", csr.Name, tried)}
	}
	return nil
}

// authorize asks whether the requester may create
// certificatesigningrequests/<subresource>.
func (c *CSRApproving) authorize(ctx context.Context, csr *certificatesv1.CertificateSigningRequest, subresource string) (bool, error) {
	extra := map[string]authorizationv1.ExtraValue{}
	for k, v := range csr.Spec.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	sar, err := c.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{User: csr.Spec.Username, UID: csr.Spec.UID, Groups: csr.Spec.Groups, Extra: extra,
			ResourceAttributes: &authorizationv1.ResourceAttributes{Group: "certificates.k8s.io", Version: "*",
				Resource: "certificatesigningrequests", Subresource: subresource, Verb: "create"}},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return sar.Status.Allowed, nil
}
