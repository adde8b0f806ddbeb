package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"k8s.io/klog/v2"

	"kapi/internal/authn"
	"kapi/internal/controllers"
)

// FrontProxy is kapi as a front proxy: the request-header authentication
// it accepts (and publishes in kube-system/extension-apiserver-authentication)
// and the client certificate it shows an aggregated API server when it
// proxies a request there, as kube-apiserver's --requestheader-* and
// --proxy-client-cert-file/--proxy-client-key-file flags.
//
// Without --requestheader-client-ca-file kapi configures itself as kubeadm
// configures kube-apiserver, with material it generates once in
// <data-dir>/pki under kubeadm's names: front-proxy-ca.crt/.key (the
// request-header CA), front-proxy-client.crt/.key (CN front-proxy-client,
// the only allowed name), headers X-Remote-User, X-Remote-Group and
// X-Remote-Extra-. So aggregation works out of the box, and an extension
// server reading the ConfigMap trusts kapi.
type FrontProxy struct {
	// RequestHeader is what kapi accepts: the flags, or kubeadm's values
	// with the generated CA.
	RequestHeader RequestHeaderConfig
	// CertFile and KeyFile are the proxy client certificate; empty when
	// --requestheader-client-ca-file is given without
	// --proxy-client-cert-file (kube then proxies without one).
	CertFile, KeyFile string

	mu      sync.Mutex
	cert    *tls.Certificate
	certKey fileStamp
}

// ProxyHeaders are the headers kapi sends an aggregated API server the
// user in. They are kube-aggregator's, fixed whatever the
// --requestheader-*-headers flags say (client-go's
// transport.SetAuthProxyHeaders): the flags say what kapi accepts, not
// what it sends.
type ProxyHeaders struct {
	User, UID, Group, ExtraPrefix string
}

// KubeProxyHeaders are kube-aggregator's X-Remote-* headers.
var KubeProxyHeaders = ProxyHeaders{User: "X-Remote-User", UID: "X-Remote-Uid", Group: "X-Remote-Group", ExtraPrefix: "X-Remote-Extra-"}

// kubeadm's names of the front-proxy material.
const (
	frontProxyCAName     = "front-proxy-ca"
	frontProxyClientName = "front-proxy-client"
)

// newFrontProxy reads the flags, or generates the front-proxy material in
// pkiDir when --requestheader-client-ca-file is not given.
func newFrontProxy(cfg Config, pkiDir string) (*FrontProxy, error) {
	f := &FrontProxy{RequestHeader: cfg.RequestHeader, CertFile: cfg.ProxyClientCertFile, KeyFile: cfg.ProxyClientKeyFile}
	if (f.CertFile == "") != (f.KeyFile == "") {
		return nil, fmt.Errorf("--proxy-client-cert-file and --proxy-client-key-file must be given together")
	}
	if err := checkRequestHeader(cfg.RequestHeader); err != nil {
		return nil, err
	}
	if cfg.RequestHeader.ClientCAFile == "" {
		if err := ensureFrontProxy(pkiDir); err != nil {
			return nil, fmt.Errorf("generating the front-proxy certificates: %w", err)
		}
		p := func(n string) string { return filepath.Join(pkiDir, n) }
		f.RequestHeader = RequestHeaderConfig{
			ClientCAFile:        p(frontProxyCAName + ".crt"),
			AllowedNames:        []string{frontProxyClientName},
			UsernameHeaders:     []string{KubeProxyHeaders.User},
			GroupHeaders:        []string{KubeProxyHeaders.Group},
			ExtraHeaderPrefixes: []string{KubeProxyHeaders.ExtraPrefix},
		}
		if f.CertFile == "" {
			f.CertFile, f.KeyFile = p(frontProxyClientName+".crt"), p(frontProxyClientName+".key")
		}
	}
	if f.CertFile != "" {
		if _, err := f.ClientCertificate(); err != nil {
			return nil, fmt.Errorf("--proxy-client-cert-file: %w", err)
		}
	}
	return f, nil
}

// checkRequestHeader is kube's check of the --requestheader-* flags
// (RequestHeaderAuthenticationOptions.Validate): blank values are
// refused, and so are UID headers without X-Remote-Uid; username, group
// and extra headers without kube's standard one are warned about, since
// kube-aggregator always sends the standard ones.
func checkRequestHeader(rh RequestHeaderConfig) error {
	for _, f := range []struct {
		flag   string
		values []string
	}{
		{"requestheader-username-headers", rh.UsernameHeaders},
		{"requestheader-group-headers", rh.GroupHeaders},
		{"requestheader-extra-headers-prefix", rh.ExtraHeaderPrefixes},
		{"requestheader-allowed-names", rh.AllowedNames},
		{"requestheader-uid-headers", rh.UIDHeaders},
	} {
		for _, v := range f.values {
			if strings.TrimSpace(v) == "" {
				return fmt.Errorf("empty value in %q", f.flag)
			}
		}
	}
	for _, w := range []struct {
		flag, what, standard string
		values               []string
	}{
		{"username-headers", "header", KubeProxyHeaders.User, rh.UsernameHeaders},
		{"group-headers", "header", KubeProxyHeaders.Group, rh.GroupHeaders},
		{"extra-headers-prefix", "header prefix", KubeProxyHeaders.ExtraPrefix, rh.ExtraHeaderPrefixes},
	} {
		if len(w.values) > 0 && !containsFold(w.values, w.standard) {
			klog.Warningf("--requestheader-%s is set without specifying the standard %s %s - API aggregation will not work", w.flag, w.standard, w.what)
		}
	}
	if len(rh.UIDHeaders) > 0 && !containsFold(rh.UIDHeaders, KubeProxyHeaders.UID) {
		return fmt.Errorf("--requestheader-uid-headers is set without specifying the standard X-Remote-Uid header - API aggregation will not work")
	}
	return nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// ClientCertificate is the proxy client certificate, read again when its
// files change (a rotated certificate is used without a restart); nil
// without error when kapi has none.
func (f *FrontProxy) ClientCertificate() (*tls.Certificate, error) {
	if f == nil || f.CertFile == "" {
		return nil, nil
	}
	stamp := stampOf(f.CertFile, f.KeyFile)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cert != nil && stamp == f.certKey {
		return f.cert, nil
	}
	pair, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		if f.cert != nil {
			// A half-written rotation: keep the last good one.
			return f.cert, nil
		}
		return nil, err
	}
	f.cert, f.certKey = &pair, stamp
	return f.cert, nil
}

// GetClientCertificate is ClientCertificate in the shape of
// tls.Config.GetClientCertificate. Without a certificate it sends none,
// as a tls.Config without certificates does.
func (f *FrontProxy) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	c, err := f.ClientCertificate()
	if c == nil && err == nil {
		return &tls.Certificate{}, nil
	}
	return c, err
}

// fileStamp tells whether files changed: size and modification time.
type fileStamp [2]struct {
	size int64
	mod  time.Time
}

func stampOf(certFile, keyFile string) fileStamp {
	var s fileStamp
	for i, name := range []string{certFile, keyFile} {
		if fi, err := os.Stat(name); err == nil {
			s[i].size, s[i].mod = fi.Size(), fi.ModTime()
		}
	}
	return s
}

// ensureFrontProxy generates what is missing of kubeadm's front-proxy
// files in dir: a CA of its own (not kapi's client CA, so that a
// front-proxy certificate never authenticates as itself) and the client
// certificate it signs.
func ensureFrontProxy(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	caCert, caKey := filepath.Join(dir, frontProxyCAName+".crt"), filepath.Join(dir, frontProxyCAName+".key")
	if !exists(caCert) || !exists(caKey) {
		if err := writeSelfSignedCA(frontProxyCAName, caCert, caKey); err != nil {
			return err
		}
	}
	cert, key := filepath.Join(dir, frontProxyClientName+".crt"), filepath.Join(dir, frontProxyClientName+".key")
	if exists(cert) && exists(key) {
		return nil
	}
	ca, signer, err := loadPair(caCert, caKey)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: frontProxyClientName},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	return issue(tmpl, ca, signer, cert, key)
}

// writeSelfSignedCA writes a ten-year ECDSA P-256 CA named cn.
func writeSelfSignedCA(cn, certFile, keyFile string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: cn},
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
	return writePair(certFile, keyFile, der, key)
}

// requestHeaderAuthn is the request-header authenticator of rh; its CA
// file is read again when it changes.
func requestHeaderAuthn(rh RequestHeaderConfig) (*authn.RequestHeader, error) {
	ca, err := authn.NewCAFile(rh.ClientCAFile)
	if err != nil {
		return nil, fmt.Errorf("--requestheader-client-ca-file: %w", err)
	}
	return authn.NewRequestHeader(ca.Pool, rh.AllowedNames, rh.UsernameHeaders, rh.UIDHeaders, rh.GroupHeaders, rh.ExtraHeaderPrefixes)
}

// authenticationInfo is what kube-system/extension-apiserver-authentication
// publishes, read from the files at each call: kapi's client CAs (its own
// CA, which signs the admin certificate, and --client-ca-file) and the
// request-header configuration.
func (s *Server) authenticationInfo(cfg Config) func() (controllers.AuthenticationInfo, error) {
	return func() (controllers.AuthenticationInfo, error) {
		var info controllers.AuthenticationInfo
		for _, f := range []string{s.PKI.CACert, cfg.ClientCAFile} {
			if f == "" {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				return info, err
			}
			info.ClientCA = append(info.ClientCA, b...)
		}
		rh := s.FrontProxy.RequestHeader
		b, err := os.ReadFile(rh.ClientCAFile)
		if err != nil {
			return info, err
		}
		info.RequestHeaderCA = b
		info.AllowedNames, info.UsernameHeaders, info.UIDHeaders = rh.AllowedNames, rh.UsernameHeaders, rh.UIDHeaders
		info.GroupHeaders, info.ExtraPrefixes = rh.GroupHeaders, rh.ExtraHeaderPrefixes
		return info, nil
	}
}
