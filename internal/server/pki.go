package server

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// PKI is the certificate material of a data folder: a CA, the serving
// certificate it signs and the admin client certificate (organisation
// system:masters). It is generated on the first start and reused after.
type PKI struct {
	Dir                     string
	CACert, CAKey           string
	ServingCert, ServingKey string
	AdminCert, AdminKey     string
}

func newPKI(dir string) *PKI {
	p := func(n string) string { return filepath.Join(dir, n) }
	return &PKI{Dir: dir,
		CACert: p("ca.crt"), CAKey: p("ca.key"),
		ServingCert: p("apiserver.crt"), ServingKey: p("apiserver.key"),
		AdminCert: p("admin.crt"), AdminKey: p("admin.key"),
	}
}

// ensure creates whatever is missing. The serving certificate covers
// 127.0.0.1, ::1, localhost and the extra hosts.
func (p *PKI) ensure(extraHosts []string) error {
	if err := os.MkdirAll(p.Dir, 0o700); err != nil {
		return err
	}
	if !exists(p.CACert) || !exists(p.CAKey) {
		if err := p.writeCA(); err != nil {
			return err
		}
	}
	caCert, caKey, err := loadPair(p.CACert, p.CAKey)
	if err != nil {
		return fmt.Errorf("reading the CA in %s: %w", p.Dir, err)
	}
	if !exists(p.ServingCert) || !exists(p.ServingKey) || !covers(p.ServingCert, extraHosts) {
		tmpl := &x509.Certificate{
			Subject:     pkix.Name{CommonName: "kube-apiserver"},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		}
		for _, h := range extraHosts {
			if ip := net.ParseIP(h); ip != nil {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			} else if h != "" {
				tmpl.DNSNames = append(tmpl.DNSNames, h)
			}
		}
		if err := issue(tmpl, caCert, caKey, p.ServingCert, p.ServingKey); err != nil {
			return err
		}
	}
	if !exists(p.AdminCert) || !exists(p.AdminKey) {
		tmpl := &x509.Certificate{
			Subject:     pkix.Name{CommonName: "kubernetes-admin", Organization: []string{"system:masters"}},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		if err := issue(tmpl, caCert, caKey, p.AdminCert, p.AdminKey); err != nil {
			return err
		}
	}
	return nil
}

func (p *PKI) writeCA() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "kapi-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	return writePair(p.CACert, p.CAKey, der, key)
}

// issue signs tmpl with the CA, valid for a year.
func issue(tmpl *x509.Certificate, ca *x509.Certificate, caKey crypto.Signer, certFile, keyFile string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl.SerialNumber = serial()
	tmpl.NotBefore = now.Add(-time.Hour)
	tmpl.NotAfter = now.Add(365 * 24 * time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	return writePair(certFile, keyFile, der, key)
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

func writePair(certFile, keyFile string, der []byte, key *ecdsa.PrivateKey) error {
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func loadPair(certFile, keyFile string) (*x509.Certificate, crypto.Signer, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, nil, err
	}
	signer, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("%s: key cannot sign", keyFile)
	}
	return cert, signer, nil
}

// covers reports whether the certificate in file is valid for every host.
func covers(file string, hosts []string) bool {
	b, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return false
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return false
	}
	for _, h := range hosts {
		if h != "" && cert.VerifyHostname(h) != nil {
			return false
		}
	}
	return time.Now().Before(cert.NotAfter)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// WritePKI writes into dir what a data folder's pki folder holds after a
// first start: the CA, the serving and admin certificates, the
// front-proxy CA and client certificate and the service-account signing
// key. A server whose <data-dir>/pki holds a
// copy uses it and generates nothing: kapitest generates one bundle per
// test process and copies it into each server's folder.
func WritePKI(dir string) error {
	if err := newPKI(dir).ensure(nil); err != nil {
		return err
	}
	if err := ensureFrontProxy(dir); err != nil {
		return err
	}
	return ensureSAKey(filepath.Join(dir, "sa.key"))
}
