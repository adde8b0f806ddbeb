package webhook

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/client-go/rest"

	"kapi/internal/x509metrics"
)

// client calls one webhook endpoint: a URL, or a Service's port resolved
// through its EndpointSlices at each new connection. Clients are shared by
// every hook with the same endpoint and CA bundle, and outlive reloads of
// the configurations, so connections stay open between requests.
type client struct {
	url  string
	http *http.Client
	// token is the bearer token kapi authenticates with, if any.
	token string
}

type clientKey struct {
	url, service, path string
	port               int32
	ca                 [sha256.Size]byte
}

// clients caches clients by endpoint and CA bundle.
type clients struct {
	resolve func(ctx context.Context, namespace, name string, port int32) (string, error)
	auth    func(hostPort, svcName, svcNamespace string, svcPort int) (*rest.Config, error)
	mu      sync.Mutex
	byKey   map[clientKey]*client
}

func newClients(resolve func(ctx context.Context, namespace, name string, port int32) (string, error),
	auth func(hostPort, svcName, svcNamespace string, svcPort int) (*rest.Config, error)) *clients {
	return &clients{resolve: resolve, auth: auth, byKey: map[clientKey]*client{}}
}

// get returns the client of cc, made on first use.
func (c *clients) get(cc admissionregistrationv1.WebhookClientConfig) (*client, error) {
	key := clientKey{ca: sha256.Sum256(cc.CABundle)}
	switch {
	case cc.URL != nil:
		key.url = *cc.URL
	case cc.Service != nil:
		key.service = cc.Service.Namespace + "/" + cc.Service.Name
		key.port = 443
		if cc.Service.Port != nil {
			key.port = *cc.Service.Port
		}
		if cc.Service.Path != nil {
			key.path = *cc.Service.Path
		}
	default:
		return nil, errors.New("webhook has neither clientConfig.url nor clientConfig.service")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.byKey[key]; ok {
		return cl, nil
	}
	cl, err := c.make(cc, key)
	if err != nil {
		return nil, err
	}
	c.byKey[key] = cl
	return cl, nil
}

// keep drops the clients no hook of hooks uses, closing their idle
// connections.
func (c *clients) keep(hooks []*hook) {
	used := map[*client]bool{}
	for _, h := range hooks {
		used[h.client] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, cl := range c.byKey {
		if !used[cl] {
			cl.http.CloseIdleConnections()
			delete(c.byKey, k)
		}
	}
}

func (c *clients) make(cc admissionregistrationv1.WebhookClientConfig, key clientKey) (*client, error) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(cc.CABundle) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(cc.CABundle) {
			return nil, errors.New("clientConfig.caBundle holds no PEM certificate")
		}
		tlsConfig.RootCAs = pool
	}
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		TLSClientConfig:     tlsConfig,
		DialContext:         dialer.DialContext,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	cl := &client{http: &http.Client{Transport: x509metrics.Wrap(transport)}}
	if cc.URL != nil {
		u, err := url.Parse(*cc.URL)
		if err != nil {
			return nil, fmt.Errorf("invalid clientConfig.url: %w", err)
		}
		cl.url = u.String()
		hostPort := u.Host
		if u.Port() == "" {
			hostPort = net.JoinHostPort(u.Hostname(), "443")
		}
		return cl, c.authenticate(cl, tlsConfig, hostPort, "", "", 0)
	}
	// A Service: the certificate names <service>.<namespace>.svc, and each
	// connection goes to a ready endpoint of the Service.
	svc := cc.Service
	host := svc.Name + "." + svc.Namespace + ".svc"
	tlsConfig.ServerName = host
	cl.url = "https://" + net.JoinHostPort(host, strconv.Itoa(int(key.port))) + key.path
	if err := c.authenticate(cl, tlsConfig, "", svc.Name, svc.Namespace, int(key.port)); err != nil {
		return nil, err
	}
	transport.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		if c.resolve == nil {
			return nil, errors.New("services cannot be resolved")
		}
		addr, err := c.resolve(ctx, svc.Namespace, svc.Name, key.port)
		if err != nil {
			return nil, err
		}
		return dialer.DialContext(ctx, network, addr)
	}
	return cl, nil
}

// authenticate gives cl the client certificate and bearer token the
// AdmissionConfiguration's kubeconfig has for the webhook's host.
func (c *clients) authenticate(cl *client, tlsConfig *tls.Config, hostPort, svcName, svcNamespace string, svcPort int) error {
	if c.auth == nil {
		return nil
	}
	cfg, err := c.auth(hostPort, svcName, svcNamespace, svcPort)
	if err != nil || cfg == nil {
		return err
	}
	tc, err := rest.TLSConfigFor(cfg)
	if err != nil {
		return fmt.Errorf("client certificate for the webhook: %w", err)
	}
	if tc != nil {
		tlsConfig.Certificates = tc.Certificates
		tlsConfig.GetClientCertificate = tc.GetClientCertificate
	}
	cl.token = cfg.BearerToken
	if cl.token == "" && cfg.BearerTokenFile != "" {
		b, err := os.ReadFile(cfg.BearerTokenFile)
		if err != nil {
			return fmt.Errorf("bearer token for the webhook: %w", err)
		}
		cl.token = strings.TrimSpace(string(b))
	}
	return nil
}
