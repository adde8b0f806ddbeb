package kapitest

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
	"sync"
	"time"

	"kapi/internal/server"
)

// bundle is the certificate material of every server of a test process,
// generated once: the files of a data folder's pki folder, the CA's key
// for the client certificates of ConfigFor, and the webhook server's
// certificate.
type bundle struct {
	files                   map[string][]byte // pki/ file name -> contents
	caCert                  []byte
	ca                      *x509.Certificate
	caKey                   crypto.Signer
	adminCert, adminKey     []byte
	webhookCert, webhookKey []byte
}

var (
	bundleOnce sync.Once
	shared     *bundle
	sharedErr  error
)

// sharedBundle generates the process's bundle on first use: in a
// temporary folder, by the code that generates a data folder's on a
// first start, read into memory and the folder removed.
func sharedBundle() (*bundle, error) {
	bundleOnce.Do(func() { shared, sharedErr = newBundle() })
	return shared, sharedErr
}

func newBundle() (*bundle, error) {
	dir, err := os.MkdirTemp("", "kapitest-pki-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := server.WritePKI(dir); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	b := &bundle{files: map[string][]byte{}}
	for _, e := range entries {
		if b.files[e.Name()], err = os.ReadFile(filepath.Join(dir, e.Name())); err != nil {
			return nil, err
		}
	}
	b.caCert, b.adminCert, b.adminKey = b.files["ca.crt"], b.files["admin.crt"], b.files["admin.key"]
	pair, err := tls.X509KeyPair(b.caCert, b.files["ca.key"])
	if err != nil {
		return nil, fmt.Errorf("the generated CA: %w", err)
	}
	if b.ca, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
		return nil, err
	}
	var ok bool
	if b.caKey, ok = pair.PrivateKey.(crypto.Signer); !ok {
		return nil, fmt.Errorf("the generated CA key cannot sign")
	}
	b.webhookCert, b.webhookKey, err = b.sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "kapitest-webhooks"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	})
	return b, err
}

// writeTo writes the pki files into dir, as a first start would have.
func (b *bundle) writeTo(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for name, data := range b.files {
		mode := os.FileMode(0o600)
		if filepath.Ext(name) == ".crt" {
			mode = 0o644
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, mode); err != nil {
			return err
		}
	}
	return nil
}

// clientCert is a client certificate of user in groups.
func (b *bundle) clientCert(user string, groups []string) (cert, key []byte, err error) {
	return b.sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: user, Organization: groups},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

// sign issues tmpl with a new P-256 key, signed by the CA, valid for a day.
func (b *bundle) sign(tmpl *x509.Certificate) (cert, key []byte, err error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(24*time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, b.ca, &k.PublicKey, b.caKey)
	if err != nil {
		return nil, nil, err
	}
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), nil
}
