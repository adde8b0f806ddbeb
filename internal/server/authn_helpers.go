package server

import (
	"crypto/x509"
	"fmt"
	"os"
)

// clientCAs are the CAs whose client certificates are accepted: the kapi
// CA (so the admin kubeconfig always works) and --client-ca-file.
func (s *Server) clientCAs(cfg Config) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	for _, f := range []string{s.PKI.CACert, cfg.ClientCAFile} {
		if f == "" {
			continue
		}
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no certificate", f)
		}
	}
	return pool, nil
}
