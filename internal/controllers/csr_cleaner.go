package controllers

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
)

// CSRCleaner deletes CertificateSigningRequests that have served their
// time, as kube-controller-manager's csrcleaner does: at its start and
// then every PollingInterval (an hour), a request approved and issued
// more than an hour ago, denied or failed more than an hour ago, pending
// for more than a day, or whose certificate has expired.
type CSRCleaner struct {
	PollingInterval time.Duration

	env    *Env
	client kubernetes.Interface
	now    func() time.Time
}

// kube's retention.
const (
	csrApprovedExpiration = time.Hour
	csrDeniedExpiration   = time.Hour
	csrPendingExpiration  = 24 * time.Hour
)

// NewCSRCleaner returns the loop; it acts as
// kube-system/certificate-controller.
func NewCSRCleaner(env *Env) *CSRCleaner {
	return &CSRCleaner{PollingInterval: time.Hour, env: env,
		client: kubernetes.NewForConfigOrDie(env.ClientFor("certificate-controller")), now: time.Now}
}

// Run works until ctx ends.
func (c *CSRCleaner) Run(ctx context.Context) {
	csrs := c.env.Informers.For(csrGVR)
	if csrs == nil || !waitSynced(ctx, csrs) {
		return
	}
	t := time.NewTicker(c.PollingInterval)
	defer t.Stop()
	for {
		for _, o := range csrs.List("") {
			c.handle(ctx, o.(*certificatesv1.CertificateSigningRequest))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *CSRCleaner) handle(ctx context.Context, csr *certificatesv1.CertificateSigningRequest) {
	why, err := csrDone(csr, c.now())
	if err != nil {
		klog.Errorf("Error while attempting to clean CSR %q: %v", csr.Name, err)
		return
	}
	if why == "" {
		return
	}
	klog.InfoS("Cleaning CSR "+why, "csr", csr.Name)
	uid := csr.UID
	err = c.client.CertificatesV1().CertificateSigningRequests().Delete(ctx, csr.Name,
		metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		klog.Errorf("Error while attempting to clean CSR %q: unable to delete CSR: %v", csr.Name, err)
	}
}

// csrDone says why csr may go at now, or "" while it stays.
func csrDone(csr *certificatesv1.CertificateSigningRequest, now time.Time) (string, error) {
	older := func(t metav1.Time, d time.Duration) bool { return !t.IsZero() && now.Sub(t.Time) > d }
	issued := len(csr.Status.Certificate) > 0
	for _, c := range csr.Status.Conditions {
		switch {
		case c.Type == certificatesv1.CertificateApproved && issued && older(c.LastUpdateTime, csrApprovedExpiration):
			return "as it is more than 1h0m0s old and approved", nil
		case c.Type == certificatesv1.CertificateDenied && older(c.LastUpdateTime, csrDeniedExpiration):
			return "as it is more than 1h0m0s old and denied", nil
		case c.Type == certificatesv1.CertificateFailed && older(c.LastUpdateTime, csrDeniedExpiration):
			return "as it is more than 1h0m0s old and failed", nil
		}
	}
	if len(csr.Status.Conditions) == 0 && older(csr.CreationTimestamp, csrPendingExpiration) {
		return "as it is more than 24h0m0s old and unhandled", nil
	}
	if issued && hasCondition(csr, certificatesv1.CertificateApproved) {
		block, _ := pem.Decode(csr.Status.Certificate)
		if block == nil {
			return "", errors.New("expected the certificate associated with the CSR to be PEM encoded")
		}
		certs, err := x509.ParseCertificates(block.Bytes)
		if err != nil {
			return "", err
		}
		if len(certs) > 0 && now.After(certs[0].NotAfter) {
			return "as the associated certificate is expired", nil
		}
	}
	return "", nil
}

func hasCondition(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) bool {
	for _, c := range csr.Status.Conditions {
		if c.Type == t {
			return true
		}
	}
	return false
}
