package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/klog/v2"
	netutils "k8s.io/utils/net"
)

// servingCerts are the serving certificate (--tls-cert-file, --cert-dir's
// or the generated one) and the SNI pairs (--tls-sni-cert-key), loaded at
// start and again when their files change, as kube-apiserver reloads
// them: a watch on their folders (fsnotify) and a look every interval
// (kube's minute). A pair that no longer loads (a half-written rotation,
// a key that does not match) keeps its last good certificate, with
// kube's log line. The handshake's GetCertificate reads the current set
// without locks; a reload swaps it whole.
//
// kube-apiserver does this with k8s.io/apiserver's dynamiccertificates,
// whose controller owns the whole tls.Config (client CAs included) and
// has no interval a test can shorten; kapi keeps its own tls.Config and
// borrows only that package's certificate description for its log lines.
type servingCerts struct {
	pairs    []*certPair // the serving pair, then the SNI pairs in the flags' order
	interval time.Duration
	current  atomic.Pointer[certSet]
}

// certSet is what the handshake serves: the default certificate and the
// SNI ones by name (a name may be a wildcard, "*.example.com").
type certSet struct {
	def    *tls.Certificate
	byName map[string]*tls.Certificate
}

// certPair is one certificate and key file pair and its last good load.
type certPair struct {
	purpose           string // kube's: "serving-cert" or "sni-serving-cert"
	certFile, keyFile string
	names             []string // the SNI names given after ':'; none: the certificate's
	certPEM, keyPEM   []byte
	cert              *tls.Certificate
}

// newServingCerts loads every pair, failing as kube-apiserver fails to
// start when one does not load. interval 0 is kube's minute.
func newServingCerts(certFile, keyFile string, sni []cliflag.NamedCertKey, interval time.Duration) (*servingCerts, error) {
	if interval <= 0 {
		interval = time.Minute
	}
	c := &servingCerts{interval: interval, pairs: []*certPair{{purpose: "serving-cert", certFile: certFile, keyFile: keyFile}}}
	if _, err := c.pairs[0].load(); err != nil {
		return nil, fmt.Errorf("loading the serving certificate: %w", err)
	}
	for _, nck := range sni {
		p := &certPair{purpose: "sni-serving-cert", certFile: nck.CertFile, keyFile: nck.KeyFile, names: nck.Names}
		if _, err := p.load(); err != nil {
			return nil, fmt.Errorf("failed to load SNI cert and key: %v", err)
		}
		c.pairs = append(c.pairs, p)
	}
	c.publish()
	return c, nil
}

func (p *certPair) name() string { return p.purpose + "::" + p.certFile + "::" + p.keyFile }

// load reads the pair; changed is whether it differs from the last good
// one, which an error leaves in place.
func (p *certPair) load() (changed bool, err error) {
	if p.certFile == "" || p.keyFile == "" {
		return false, errors.New("missing filename for serving cert")
	}
	cert, err := os.ReadFile(p.certFile)
	if err != nil {
		return false, err
	}
	key, err := os.ReadFile(p.keyFile)
	if err != nil {
		return false, err
	}
	if len(cert) == 0 || len(key) == 0 {
		return false, fmt.Errorf("missing content for serving cert %q", p.name())
	}
	if p.cert != nil && bytes.Equal(cert, p.certPEM) && bytes.Equal(key, p.keyPEM) {
		return false, nil
	}
	pair, err := tls.X509KeyPair(cert, key)
	if err != nil {
		return false, err
	}
	p.certPEM, p.keyPEM, p.cert = cert, key, &pair
	klog.V(2).InfoS("Loaded a new cert/key pair", "name", p.name())
	return true, nil
}

// reload loads every pair again and publishes the set when one changed.
// One goroutine at a time (run's, or a test's).
func (c *servingCerts) reload() {
	changed := false
	for _, p := range c.pairs {
		ch, err := p.load()
		if err != nil {
			// kube's line: dynamiccertificates' work queue, whose one item is "key".
			utilruntime.HandleError(fmt.Errorf("%v failed with : %v", "key", err))
			continue
		}
		changed = changed || ch
	}
	if changed {
		c.publish()
	}
}

// publish makes the set of the pairs' current certificates, by kube's
// rules (BuildNamedCertificates): the names given win over the names read
// from the certificates, and among pairs the earlier one wins.
func (c *servingCerts) publish() {
	def := c.pairs[0]
	klog.V(2).InfoS("Loaded serving cert", "certName", def.name(), "certDetail", dynamiccertificates.GetHumanCertDetail(def.cert.Leaf))
	set := &certSet{def: def.cert, byName: map[string]*tls.Certificate{}}
	explicit := map[string]*tls.Certificate{}
	sni := c.pairs[1:]
	for i := len(sni) - 1; i >= 0; i-- {
		p := sni[i]
		klog.V(2).InfoS("Loaded SNI cert", "index", i, "certName", p.name(), "certDetail", dynamiccertificates.GetHumanCertDetail(p.cert.Leaf))
		for _, n := range p.names {
			explicit[n] = p.cert
		}
		if len(p.names) == 0 {
			for _, n := range certificateNames(p.cert.Leaf) {
				set.byName[n] = p.cert
			}
		}
	}
	maps.Copy(set.byName, explicit)
	c.current.Store(set)
}

// certificateNames are the names an SNI pair without names of its own
// serves (kube's getCertificateNames): the common name when it is a DNS
// name (or "*"), not an IP, and the DNS names. IP addresses in the
// certificate are left out, as SNI never carries an IP.
func certificateNames(cert *x509.Certificate) []string {
	var names []string
	cn := cert.Subject.CommonName
	isIP := netutils.ParseIPSloppy(cn) != nil
	isDomain := cn == "*" || len(validation.IsDNS1123Subdomain(strings.TrimPrefix(cn, "*."))) == 0
	if !isIP && isDomain {
		names = append(names, cn)
	}
	return append(names, cert.DNSNames...)
}

// GetCertificate is tls.Config's: the SNI certificate for the name the
// client asks for (an exact name before a wildcard: "*.example.com"
// serves a.example.com), else the default one. A client that sends no
// name (it dialled an IP) gets the certificate named by the address it
// reached, if a pair was given that IP as a name, as kube's.
func (c *servingCerts) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	set := c.current.Load()
	name := strings.ToLower(hello.ServerName)
	if name == "" {
		if hello.Conn != nil {
			if host, _, err := net.SplitHostPort(hello.Conn.LocalAddr().String()); err == nil {
				if cert, ok := set.byName[host]; ok {
					return cert, nil
				}
			}
		}
		return set.def, nil
	}
	if cert, ok := set.byName[name]; ok {
		return cert, nil
	}
	labels := strings.Split(name, ".")
	labels[0] = "*"
	if cert, ok := set.byName[strings.Join(labels, ".")]; ok {
		return cert, nil
	}
	return set.def, nil
}

// run reloads the pairs every interval and shortly after a change in
// their folders, until ctx ends. Without a watch (fsnotify failing) the
// interval alone serves.
func (c *servingCerts) run(ctx context.Context) {
	var events <-chan fsnotify.Event
	var watchErrs <-chan error
	if w, err := fsnotify.NewWatcher(); err != nil {
		klog.ErrorS(err, "Failed to watch cert and key file, will retry later")
	} else {
		defer w.Close()
		for _, dir := range c.dirs() {
			if err := w.Add(dir); err != nil {
				klog.ErrorS(err, "Failed to watch cert and key file, will retry later", "dir", dir)
			}
		}
		events, watchErrs = w.Events, w.Errors
	}
	tick := time.NewTicker(c.interval)
	defer tick.Stop()
	// A rotation writes two files, often in several steps: reload once
	// they settled rather than at each step.
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			c.reload()
		case <-settle.C:
			c.reload()
		case _, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			settle.Reset(100 * time.Millisecond)
		case err, ok := <-watchErrs:
			if !ok {
				watchErrs = nil
				continue
			}
			klog.ErrorS(err, "Failed to watch cert and key file, will retry later")
		}
	}
}

// dirs are the folders of the pairs' files, each once.
func (c *servingCerts) dirs() []string {
	seen := map[string]bool{}
	var dirs []string
	for _, p := range c.pairs {
		for _, f := range []string{p.certFile, p.keyFile} {
			if d := filepath.Dir(f); !seen[d] {
				seen[d] = true
				dirs = append(dirs, d)
			}
		}
	}
	return dirs
}
