package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/transport"
	"k8s.io/klog/v2"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"

	"kapi/internal/request"
)

// Aggregator proxies the group-versions of APIServices with a
// spec.service to their extension API servers, as kube-aggregator's
// proxy handler: kapi has authenticated, audited and authorized the
// request; the extension gets it over TLS (verified against the
// APIService's caBundle with the ServerName <service>.<namespace>.svc)
// from kapi's front-proxy client certificate, with the user in
// X-Remote-User, X-Remote-Uid, X-Remote-Group and X-Remote-Extra-<key>
// (the client's own copies removed).
//
// Which group-versions are aggregated changes while kapi serves: Update
// publishes a new routing table, read without locks by every request.
type Aggregator struct {
	// Resolve finds a ready endpoint (host:port) of a Service's port.
	Resolve func(ctx context.Context, namespace, name string, port int32) (string, error)
	// ClientCertificate is the front proxy's client certificate
	// (tls.Config.GetClientCertificate); nil sends none.
	ClientCertificate func(*tls.CertificateRequestInfo) (*tls.Certificate, error)
	// AllowLoopback lets the dialer reach loopback and link-local
	// endpoints (--proxy-allow-loopback).
	AllowLoopback bool
	// Error writes a failure as a Status.
	Error func(w http.ResponseWriter, r *http.Request, err error)
	// AllowRedirects passes an extension's redirects on to the client
	// (--aggregator-reject-forwarding-redirect=false); by default they
	// are refused with a 502, as kube's aggregator refuses them.
	AllowRedirects bool

	mu     sync.Mutex // one Update at a time
	routes atomic.Pointer[aggregatorRoutes]
	gen    atomic.Uint64
	subs   []chan struct{}
	// discovery and openapi are what the extensions last served.
	discovery discoveryState
}

// aggregatorRoutes are the APIServices of one moment.
type aggregatorRoutes struct {
	// byGV are the remote ones by "group/version".
	byGV map[string]*route
	// all are every APIService, local ones included (their priorities
	// order discovery).
	all []*apiregistrationv1.APIService
}

// route is one remote APIService and how to reach it.
type route struct {
	svc       *apiregistrationv1.APIService
	available bool
	key       string // what the transport was built from
	transport *http.Transport
	err       error // the transport could not be built (a bad caBundle)
}

// Update publishes the routing table of services (every APIService
// there is). A transport is kept while the APIService's service and TLS
// settings stay the same, so connections are reused.
func (a *Aggregator) Update(services []*apiregistrationv1.APIService) {
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.routes.Load()
	next := &aggregatorRoutes{byGV: map[string]*route{}, all: services}
	for _, s := range services {
		if s.Spec.Service == nil {
			continue
		}
		rt := &route{svc: s, available: IsAvailable(s), key: transportKey(s)}
		if prev := old.lookup(s.Spec.Group, s.Spec.Version); prev != nil && prev.key == rt.key {
			rt.transport, rt.err = prev.transport, prev.err
		} else {
			rt.transport, rt.err = a.newTransport(s)
		}
		next.byGV[s.Spec.Group+"/"+s.Spec.Version] = rt
	}
	a.routes.Store(next)
	a.gen.Add(1)
	if old != nil {
		for gv, prev := range old.byGV {
			if rt := next.byGV[gv]; prev.transport != nil && (rt == nil || rt.transport != prev.transport) {
				prev.transport.CloseIdleConnections()
			}
		}
	}
	a.notify()
}

func (t *aggregatorRoutes) lookup(group, version string) *route {
	if t == nil {
		return nil
	}
	return t.byGV[group+"/"+version]
}

// IsAvailable reports the APIService's Available condition.
func IsAvailable(s *apiregistrationv1.APIService) bool {
	for _, c := range s.Status.Conditions {
		if c.Type == apiregistrationv1.Available {
			return c.Status == apiregistrationv1.ConditionTrue
		}
	}
	return false
}

func transportKey(s *apiregistrationv1.APIService) string {
	ref := s.Spec.Service
	return fmt.Sprintf("%s/%s/%t/%x", ref.Namespace, ref.Name, s.Spec.InsecureSkipTLSVerify, s.Spec.CABundle)
}

// newTransport reaches s's service: HTTP/1.1 (so that upgrades pass),
// TLS verified as kube-aggregator verifies it.
func (a *Aggregator) newTransport(s *apiregistrationv1.APIService) (*http.Transport, error) {
	tc := &tls.Config{
		MinVersion:           tls.VersionTLS12,
		ServerName:           s.Spec.Service.Name + "." + s.Spec.Service.Namespace + ".svc",
		InsecureSkipVerify:   s.Spec.InsecureSkipTLSVerify, //nolint:gosec // the APIService asks for it, as in kube
		GetClientCertificate: a.ClientCertificate,
	}
	if len(s.Spec.CABundle) > 0 && !s.Spec.InsecureSkipTLSVerify {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(s.Spec.CABundle) {
			return nil, fmt.Errorf("unable to load root certificates: unable to parse bytes as PEM block")
		}
		tc.RootCAs = pool
	}
	d := Dialer(a.AllowLoopback)
	return &http.Transport{
		DialContext:           d.DialContext,
		TLSClientConfig:       tc,
		TLSHandshakeTimeout:   10 * time.Second,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}, nil
}

// Handler is the handler of an aggregated group-version, or nil when
// kapi serves it itself (or nobody does).
func (a *Aggregator) Handler(group, version string) http.Handler {
	rt := a.routes.Load().lookup(group, version)
	if rt == nil {
		return nil
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.serve(rt, w, r) })
}

// serve proxies r to rt's service, answering kube-aggregator's errors
// as a Status: 503 "service unavailable" while the APIService is not
// Available or has no endpoint.
func (a *Aggregator) serve(rt *route, w http.ResponseWriter, r *http.Request) {
	if !rt.available {
		a.Error(w, r, apierrors.NewServiceUnavailable("service unavailable"))
		return
	}
	if rt.err != nil {
		a.Error(w, r, apierrors.NewInternalError(rt.err))
		return
	}
	user := request.UserFrom(r.Context())
	if user == nil {
		a.Error(w, r, apierrors.NewInternalError(errors.New("missing user")))
		return
	}
	ref := rt.svc.Spec.Service
	host, err := a.Resolve(r.Context(), ref.Namespace, ref.Name, port(ref))
	if err != nil {
		klog.ErrorS(err, "resolving an aggregated API server", "apiservice", rt.svc.Name)
		a.Error(w, r, apierrors.NewServiceUnavailable("service unavailable"))
		return
	}
	u := &url.URL{Scheme: "https", Host: host, Path: r.URL.Path, RawPath: r.URL.RawPath}
	out := r.WithContext(r.Context())
	out.Header = r.Header.Clone()
	out.Header.Del("Authorization")
	transport.SetAuthProxyHeaders(out, user.Name, user.UID, user.Groups, user.Extra)
	Handler(Location{URL: u, Transport: rt.transport}, Options{Error: a.Error, KeepQuery: true, RejectRedirects: !a.AllowRedirects}).ServeHTTP(w, out)
}

func port(ref *apiregistrationv1.ServiceReference) int32 {
	if ref.Port == nil {
		return 443
	}
	return *ref.Port
}

// Probe is kube-aggregator's discovery check of a remote APIService: a
// GET of /apis/<group>/<version> on an endpoint of its service, as
// system:kube-aggregator in system:masters, answered 2xx within five
// seconds. Its errors read as kube's (the Available condition's
// message).
func (a *Aggregator) Probe(ctx context.Context, s *apiregistrationv1.APIService) error {
	if s.Spec.Service == nil {
		return nil
	}
	tr, err := a.newTransport(s)
	if err != nil {
		return err
	}
	defer tr.CloseIdleConnections()
	host, err := a.Resolve(ctx, s.Spec.Service.Namespace, s.Spec.Service.Name, port(s.Spec.Service))
	if err != nil {
		return err
	}
	u := &url.URL{Scheme: "https", Host: host, Path: "/apis/" + s.Spec.Group + "/" + s.Spec.Version}
	if s.Name == "v1." {
		u.Path = "/api/" + s.Spec.Version
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	transport.SetAuthProxyHeaders(req, "system:kube-aggregator", "", []string{"system:masters"}, nil)
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode < http.StatusOK || resp.StatusCode >= http.StatusMultipleChoices {
			err = fmt.Errorf("bad status from %v: %d", u, resp.StatusCode)
		}
	}
	if err != nil {
		return fmt.Errorf("failing or missing response from %v: %w", u, err)
	}
	return nil
}

// fetch GETs path from s's service as system:kube-aggregator, for the
// discovery and OpenAPI documents kapi merges.
func (a *Aggregator) fetch(ctx context.Context, rt *route, path, accept string) ([]byte, error) {
	if rt.err != nil {
		return nil, rt.err
	}
	ref := rt.svc.Spec.Service
	host, err := a.Resolve(ctx, ref.Namespace, ref.Name, port(ref))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, (&url.URL{Scheme: "https", Host: host, Path: path}).String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	transport.SetAuthProxyHeaders(req, "system:kube-aggregator", "", []string{"system:masters"}, nil)
	resp, err := (&http.Client{Transport: rt.transport}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(nil, resp.Body, 64<<20)); err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return buf.Bytes(), nil
}

// Subscribe returns a channel told (without blocking) after every change
// of the routing table or of a fetched document.
func (a *Aggregator) Subscribe() <-chan struct{} {
	ch := make(chan struct{}, 1)
	a.mu.Lock()
	a.subs = append(a.subs, ch)
	a.mu.Unlock()
	return ch
}

// notify is called with a.mu held.
func (a *Aggregator) notify() {
	for _, ch := range a.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
