package server

import (
	"encoding/base64"
	"fmt"
	"os"
)

// writeKubeconfig writes an admin kubeconfig for server (https://host:port)
// that embeds the CA and the admin client certificate. With a serving
// certificate of the user's (--tls-cert-file, --cert-dir) it trusts that certificate.
func writeKubeconfig(path, server string, p *PKI, cfg Config) error {
	read := func(f string) (string, error) {
		b, err := os.ReadFile(f)
		return base64.StdEncoding.EncodeToString(b), err
	}
	caFile := p.CACert
	if cert, _ := servingFiles(cfg, p); cert != p.ServingCert {
		caFile = cert
	}
	ca, err := read(caFile)
	if err != nil {
		return err
	}
	cert, err := read(p.AdminCert)
	if err != nil {
		return err
	}
	key, err := read(p.AdminKey)
	if err != nil {
		return err
	}
	doc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kapi
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: kapi-admin
  user:
    client-certificate-data: %s
    client-key-data: %s
contexts:
- name: kapi
  context:
    cluster: kapi
    user: kapi-admin
current-context: kapi
`, server, ca, cert, key)
	return os.WriteFile(path, []byte(doc), 0o600)
}
