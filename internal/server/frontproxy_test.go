package server

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"kapi/internal/authn"
)

// TestFrontProxyGenerated: without --requestheader-client-ca-file kapi
// makes kubeadm's files once and configures itself as kubeadm does; the
// client certificate is read again when its files change.
func TestFrontProxyGenerated(t *testing.T) {
	dir := t.TempDir()
	f, err := newFrontProxy(Defaults(), dir)
	if err != nil {
		t.Fatal(err)
	}
	want := RequestHeaderConfig{ClientCAFile: filepath.Join(dir, "front-proxy-ca.crt"), AllowedNames: []string{"front-proxy-client"},
		UsernameHeaders: []string{"X-Remote-User"}, GroupHeaders: []string{"X-Remote-Group"}, ExtraHeaderPrefixes: []string{"X-Remote-Extra-"}}
	if !reflect.DeepEqual(f.RequestHeader, want) {
		t.Fatalf("request header %+v", f.RequestHeader)
	}
	cert, err := f.ClientCertificate()
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	ca, err := authn.NewCAFile(want.ClientCAFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil || leaf.Subject.CommonName != "front-proxy-client" {
		t.Fatalf("client certificate %q: %v", leaf.Subject.CommonName, err)
	}
	before, _ := os.ReadFile(want.ClientCAFile)
	if _, err := newFrontProxy(Defaults(), dir); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(want.ClientCAFile); !bytes.Equal(before, after) {
		t.Fatal("a second start made a new CA")
	}

	// A rotated certificate is used without a restart.
	other := t.TempDir()
	if err := ensureFrontProxy(other); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"front-proxy-client.crt", "front-proxy-client.key"} {
		b, _ := os.ReadFile(filepath.Join(other, n))
		if err := os.WriteFile(filepath.Join(dir, n), append(b, '\n'), 0o600); err != nil { // another size: a change whatever the clock
			t.Fatal(err)
		}
	}
	rotated, err := f.ClientCertificate()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(rotated.Certificate[0], cert.Certificate[0]) {
		t.Fatal("the rotated certificate was not read")
	}
}

// TestFrontProxyFlags: with the flags kapi generates nothing and uses
// the files given; a certificate without its key is refused.
func TestFrontProxyFlags(t *testing.T) {
	files, dir := t.TempDir(), t.TempDir()
	if err := ensureFrontProxy(files); err != nil {
		t.Fatal(err)
	}
	cfg := Defaults()
	cfg.RequestHeader = RequestHeaderConfig{ClientCAFile: filepath.Join(files, "front-proxy-ca.crt"), UsernameHeaders: []string{"X-User"}}
	cfg.ProxyClientCertFile, cfg.ProxyClientKeyFile = filepath.Join(files, "front-proxy-client.crt"), filepath.Join(files, "front-proxy-client.key")
	f, err := newFrontProxy(cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.RequestHeader, cfg.RequestHeader) || f.CertFile != cfg.ProxyClientCertFile {
		t.Fatalf("front proxy %+v", f)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("kapi generated %v", entries)
	}
	for _, c := range []struct {
		rh   RequestHeaderConfig
		want string
	}{
		{RequestHeaderConfig{UsernameHeaders: []string{"X-Remote-User", " "}}, `empty value in "requestheader-username-headers"`},
		{RequestHeaderConfig{AllowedNames: []string{""}}, `empty value in "requestheader-allowed-names"`},
		{RequestHeaderConfig{UIDHeaders: []string{"X-User-Id"}}, "--requestheader-uid-headers is set without specifying the standard X-Remote-Uid header - API aggregation will not work"},
	} {
		bad := cfg
		c.rh.ClientCAFile = cfg.RequestHeader.ClientCAFile
		bad.RequestHeader = c.rh
		if _, err := newFrontProxy(bad, dir); err == nil || err.Error() != c.want {
			t.Errorf("%+v: %v, want %q", c.rh, err, c.want)
		}
	}
	cfg.ProxyClientKeyFile = ""
	if _, err := newFrontProxy(cfg, dir); err == nil {
		t.Fatal("a client certificate without its key was accepted")
	}
	// --requestheader-client-ca-file alone: kapi proxies without a client
	// certificate, as kube.
	cfg.ProxyClientCertFile = ""
	f, err = newFrontProxy(cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := f.ClientCertificate(); c != nil || err != nil {
		t.Fatalf("a client certificate without the flags: %v %v", c, err)
	}
}
