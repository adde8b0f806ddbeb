package controllers

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/workqueue"

	"kapi/internal/registry/certificates"
)

// CSRSigning signs approved CertificateSigningRequests of kube's own
// signers with kapi's CA, as kube-controller-manager's csrsigning
// controller does with --cluster-signing-cert-file and -key-file:
// kubernetes.io/kube-apiserver-client, kube-apiserver-client-kubelet,
// kubelet-serving and legacy-unknown. A request is signed once it is
// Approved (and not Denied or Failed) and has no certificate yet; one
// its signer's rules refuse (usages, and the subject of the kubelet
// signers) gets a Failed condition, reason SignerValidationFailure. The
// certificate lasts the shorter of Duration and the request's
// expirationSeconds (at least 10 minutes), starts 5 minutes back, and
// ends no later than the CA.
type CSRSigning struct {
	// CACert and CAKey are the CA's PEM files, read at each signing (a
	// CA replaced on disk is used from then on).
	CACert, CAKey string
	// Duration is --cluster-signing-duration.
	Duration time.Duration

	env    *Env
	client kubernetes.Interface
	queue  workqueue.TypedRateLimitingInterface[string]
	now    func() time.Time
}

// NewCSRSigning returns the loop; it acts as
// kube-system/certificate-controller.
func NewCSRSigning(env *Env, caCert, caKey string, duration time.Duration) *CSRSigning {
	return &CSRSigning{CACert: caCert, CAKey: caKey, Duration: duration, env: env,
		client: kubernetes.NewForConfigOrDie(env.ClientFor("certificate-controller")),
		queue:  NewQueue[string]("certificate"), now: time.Now}
}

var csrGVR = schema.GroupVersionResource{Group: "certificates.k8s.io", Version: "v1", Resource: "certificatesigningrequests"}

// Run works until ctx ends.
func (c *CSRSigning) Run(ctx context.Context) {
	workOnCSRs(ctx, c.env, c.queue, "signing certificate signing request", c.sync)
}

// workOnCSRs runs sync, on queue, for each CertificateSigningRequest
// added or changed, until ctx ends: the certificate controllers' loop.
func workOnCSRs(ctx context.Context, env *Env, queue workqueueOf[string], what string, sync func(ctx context.Context, csrs *Informer, name string) error) {
	csrs := env.Informers.For(csrGVR)
	if csrs == nil {
		return
	}
	csrs.Handle(ctx, func(ev Event) {
		if ev.Type != watch.Deleted {
			queue.Add(ev.Object.(*certificatesv1.CertificateSigningRequest).Name)
		}
	})
	work(ctx, queue, what, func(name string) error { return sync(ctx, csrs, name) }, csrs)
}

func (c *CSRSigning) sync(ctx context.Context, csrs *Informer, name string) error {
	obj, ok := csrs.Get("", name)
	if !ok {
		return nil
	}
	csr := obj.(*certificatesv1.CertificateSigningRequest)
	check, known := signerChecks[csr.Spec.SignerName]
	if len(csr.Status.Certificate) > 0 || !approved(csr) || hasTrueCondition(csr, certificatesv1.CertificateFailed) || !known {
		return nil
	}
	req, err := certificates.ParseRequest(csr.Spec.Request)
	if err != nil {
		return fmt.Errorf("unable to parse csr %q: %v", csr.Name, err)
	}
	up := csr.DeepCopy()
	if err := check(req, up.Spec.Usages); err != nil {
		up.Status.Conditions = append(up.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
			Type: certificatesv1.CertificateFailed, Status: corev1.ConditionTrue, Reason: "SignerValidationFailure",
			Message: err.Error(), LastUpdateTime: metav1.NewTime(c.now())})
		_, err = c.client.CertificatesV1().CertificateSigningRequests().UpdateStatus(ctx, up, metav1.UpdateOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("error adding failure condition for csr: %w", err)
		}
		return nil
	}
	caCert, caKey, err := loadCA(c.CACert, c.CAKey)
	if err != nil {
		return err
	}
	cert, err := signRequest(caCert, caKey, req, up.Spec.Usages, certDuration(c.Duration, up.Spec.ExpirationSeconds), c.now())
	if err != nil {
		return fmt.Errorf("error auto signing csr: %v", err)
	}
	up.Status.Certificate = cert
	if _, err := c.client.CertificatesV1().CertificateSigningRequests().UpdateStatus(ctx, up, metav1.UpdateOptions{}); err != nil &&
		!apierrors.IsNotFound(err) {
		return fmt.Errorf("error updating signature for csr: %v", err)
	}
	return nil
}

// approved: an Approved condition and no Denied one.
func approved(csr *certificatesv1.CertificateSigningRequest) bool {
	var a, d bool
	for _, c := range csr.Status.Conditions {
		a = a || c.Type == certificatesv1.CertificateApproved
		d = d || c.Type == certificatesv1.CertificateDenied
	}
	return a && !d
}

func hasTrueCondition(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) bool {
	for _, c := range csr.Status.Conditions {
		if c.Type == t && (c.Status == "" || c.Status == corev1.ConditionTrue) {
			return true
		}
	}
	return false
}

// signerChecks are what each signer requires of a request before it
// signs (kube's isRequestForSignerFn per signer).
var signerChecks = map[string]func(*x509.CertificateRequest, []certificatesv1.KeyUsage) error{
	certificatesv1.KubeAPIServerClientSignerName: func(_ *x509.CertificateRequest, usages []certificatesv1.KeyUsage) error {
		return apiServerClientUsages(usages)
	},
	certificatesv1.KubeAPIServerClientKubeletSignerName: kubeletClient,
	certificatesv1.KubeletServingSignerName:             kubeletServing,
	certificates.LegacyUnknownSignerName:                func(*x509.CertificateRequest, []certificatesv1.KeyUsage) error { return nil },
}

func apiServerClientUsages(usages []certificatesv1.KeyUsage) error {
	client := false
	for _, u := range usages {
		switch u {
		case certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment:
		case certificatesv1.UsageClientAuth:
			client = true
		default:
			return fmt.Errorf("invalid usage for client certificate: %s", u)
		}
	}
	if !client {
		return fmt.Errorf("missing required usage for client certificate: %s", certificatesv1.UsageClientAuth)
	}
	return nil
}

var (
	errNotSystemNodes  = errors.New("subject organization is not system:nodes")
	errNotSystemNode   = errors.New("subject common name does not begin with system:node:")
	errDNSOrIPRequired = errors.New("DNS or IP subjectAltName is required")
	errDNSSAN          = errors.New("DNS subjectAltNames are not allowed")
	errEmailSAN        = errors.New("Email subjectAltNames are not allowed")
	errIPSAN           = errors.New("IP subjectAltNames are not allowed")
	errURISAN          = errors.New("URI subjectAltNames are not allowed")

	kubeletServingUsages      = sets.New("digital signature", "key encipherment", "server auth")
	kubeletServingUsagesNoRSA = sets.New("digital signature", "server auth")
	kubeletClientUsages       = sets.New("digital signature", "key encipherment", "client auth")
	kubeletClientUsagesNoRSA  = sets.New("digital signature", "client auth")
)

func usageSet(usages []certificatesv1.KeyUsage) sets.Set[string] {
	s := sets.New[string]()
	for _, u := range usages {
		s.Insert(string(u))
	}
	return s
}

// kubeletServing is kube's ValidateKubeletServingCSR.
func kubeletServing(req *x509.CertificateRequest, usages []certificatesv1.KeyUsage) error {
	u := usageSet(usages)
	switch {
	case !reflect.DeepEqual([]string{"system:nodes"}, req.Subject.Organization):
		return errNotSystemNodes
	case len(req.DNSNames) == 0 && len(req.IPAddresses) == 0:
		return errDNSOrIPRequired
	case len(req.EmailAddresses) > 0:
		return errEmailSAN
	case len(req.URIs) > 0:
		return errURISAN
	case !u.Equal(kubeletServingUsages) && !u.Equal(kubeletServingUsagesNoRSA):
		return fmt.Errorf("usages did not match %v", sets.List(kubeletServingUsages))
	case !strings.HasPrefix(req.Subject.CommonName, "system:node:"):
		return errNotSystemNode
	}
	return nil
}

// kubeletClient is kube's ValidateKubeletClientCSR.
func kubeletClient(req *x509.CertificateRequest, usages []certificatesv1.KeyUsage) error {
	u := usageSet(usages)
	switch {
	case !reflect.DeepEqual([]string{"system:nodes"}, req.Subject.Organization):
		return errNotSystemNodes
	case len(req.DNSNames) > 0:
		return errDNSSAN
	case len(req.EmailAddresses) > 0:
		return errEmailSAN
	case len(req.IPAddresses) > 0:
		return errIPSAN
	case len(req.URIs) > 0:
		return errURISAN
	case !strings.HasPrefix(req.Subject.CommonName, "system:node:"):
		return errNotSystemNode
	case !u.Equal(kubeletClientUsages) && !u.Equal(kubeletClientUsagesNoRSA):
		return fmt.Errorf("usages did not match %v", sets.List(kubeletClientUsages))
	}
	return nil
}

// certDuration is kube's: the requested duration when shorter than the
// signer's, and no less than 10 minutes (twice the backdating).
func certDuration(signer time.Duration, expirationSeconds *int32) time.Duration {
	if expirationSeconds == nil {
		return signer
	}
	const least = 10 * time.Minute
	switch d := time.Duration(*expirationSeconds) * time.Second; {
	case d > signer:
		return signer
	case d < least:
		return least
	default:
		return d
	}
}

func loadCA(certFile, keyFile string) (*x509.Certificate, crypto.Signer, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the signing CA: %w", err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, nil, err
	}
	key, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("%s: the key cannot sign", keyFile)
	}
	return cert, key, nil
}

const (
	backdate = 5 * time.Minute
	// short certificates are not backdated at their end.
	short = 8 * time.Hour
)

// signRequest is kube's CertificateAuthority.Sign with its permissive
// policy: the request's subject, names and key, the usages asked for,
// not a CA, valid from now less the backdating for ttl, never beyond
// the CA's own end. It answers the certificate's PEM.
func signRequest(ca *x509.Certificate, key crypto.Signer, req *x509.CertificateRequest, usages []certificatesv1.KeyUsage,
	ttl time.Duration, now time.Time) ([]byte, error) {
	if err := req.CheckSignature(); err != nil {
		return nil, fmt.Errorf("unable to verify certificate request signature: %v", err)
	}
	notBefore := now.Add(-backdate)
	if !notBefore.Before(ca.NotAfter) {
		return nil, fmt.Errorf("the signer has expired: NotAfter=%v", ca.NotAfter)
	}
	if !now.Before(ca.NotAfter) {
		return nil, fmt.Errorf("refusing to sign a certificate that expired in the past: NotAfter=%v", ca.NotAfter)
	}
	keyUsage, extUsages, err := x509Usages(usages)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(math.MaxInt64-1))
	if err != nil {
		return nil, fmt.Errorf("unable to generate a serial number for %s: %v", req.Subject.CommonName, err)
	}
	serial.Add(serial, big.NewInt(1))
	notAfter := notBefore.Add(ttl)
	if ttl < short {
		notAfter = now.Add(ttl)
	}
	if !notAfter.Before(ca.NotAfter) {
		notAfter = ca.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: req.Subject,
		DNSNames: req.DNSNames, IPAddresses: req.IPAddresses, EmailAddresses: req.EmailAddresses, URIs: req.URIs,
		PublicKeyAlgorithm: req.PublicKeyAlgorithm, PublicKey: req.PublicKey,
		NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: keyUsage, ExtKeyUsage: extUsages, BasicConstraintsValid: true, IsCA: false,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, req.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("failed to sign certificate: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

var (
	keyUsages = map[certificatesv1.KeyUsage]x509.KeyUsage{
		"signing": x509.KeyUsageDigitalSignature, "digital signature": x509.KeyUsageDigitalSignature,
		"content commitment": x509.KeyUsageContentCommitment, "key encipherment": x509.KeyUsageKeyEncipherment,
		"key agreement": x509.KeyUsageKeyAgreement, "data encipherment": x509.KeyUsageDataEncipherment,
		"cert sign": x509.KeyUsageCertSign, "crl sign": x509.KeyUsageCRLSign,
		"encipher only": x509.KeyUsageEncipherOnly, "decipher only": x509.KeyUsageDecipherOnly,
	}
	extKeyUsages = map[certificatesv1.KeyUsage]x509.ExtKeyUsage{
		"any": x509.ExtKeyUsageAny, "server auth": x509.ExtKeyUsageServerAuth, "client auth": x509.ExtKeyUsageClientAuth,
		"code signing": x509.ExtKeyUsageCodeSigning, "email protection": x509.ExtKeyUsageEmailProtection,
		"s/mime": x509.ExtKeyUsageEmailProtection, "ipsec end system": x509.ExtKeyUsageIPSECEndSystem,
		"ipsec tunnel": x509.ExtKeyUsageIPSECTunnel, "ipsec user": x509.ExtKeyUsageIPSECUser,
		"timestamping": x509.ExtKeyUsageTimeStamping, "ocsp signing": x509.ExtKeyUsageOCSPSigning,
		"microsoft sgc": x509.ExtKeyUsageMicrosoftServerGatedCrypto, "netscape sgc": x509.ExtKeyUsageNetscapeServerGatedCrypto,
	}
)

// x509Usages are the key usages and extended key usages named (sorted,
// without repeats).
func x509Usages(usages []certificatesv1.KeyUsage) (x509.KeyUsage, []x509.ExtKeyUsage, error) {
	var ku x509.KeyUsage
	var ext []x509.ExtKeyUsage
	for _, u := range usages {
		if k, ok := keyUsages[u]; ok {
			ku |= k
		} else if e, ok := extKeyUsages[u]; ok {
			if !slices.Contains(ext, e) {
				ext = append(ext, e)
			}
		} else {
			return 0, nil, fmt.Errorf("unrecognized usage: %s", u)
		}
	}
	slices.Sort(ext)
	return ku, ext, nil
}
