package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/klog/v2"

	"kapi/internal/admission"
	"kapi/internal/controllers"
	"kapi/internal/endpoints"
	"kapi/internal/filters"
	"kapi/internal/registry"
	"kapi/internal/registry/builtin"
	"kapi/internal/router"
	"kapi/internal/router/openapi"
)

// Server is a running kapi.
type Server struct {
	// URL is where it serves, e.g. https://127.0.0.1:6443.
	URL string
	// Kubeconfig is the admin kubeconfig it wrote.
	Kubeconfig string
	// PKI is its certificate material.
	PKI *PKI

	http     *http.Server
	etcd     *etcdBackend
	stopping chan struct{}
	ready    atomic.Bool
	served   chan error
	// controllers run until stopControllers; done tracks them.
	stopControllers context.CancelFunc
	controllers     sync.WaitGroup
	stopOnce        sync.Once
	stopErr         error
}

// Run starts kapi and serves until ctx ends, then shuts down gracefully.
func Run(ctx context.Context, cfg Config) error {
	s, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case err := <-s.served:
		if err != nil {
			s.Stop()
			return err
		}
	}
	return s.Stop()
}

// Start brings kapi up: certificates, etcd, the catalogue's stores, the
// bootstrap namespaces, then the HTTPS listener. It returns once kapi
// serves and is ready.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.EtcdPrefix == "" {
		cfg.EtcdPrefix = "/registry"
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	s := &Server{PKI: newPKI(filepath.Join(cfg.DataDir, "pki")), stopping: make(chan struct{}), served: make(chan error, 1)}
	tlsConfig, err := s.tlsConfig(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.BindAddress, strconv.Itoa(cfg.SecurePort)))
	if err != nil {
		return nil, fmt.Errorf("listening on %s:%d: %w", cfg.BindAddress, cfg.SecurePort, err)
	}
	if s.etcd, err = connectEtcd(ctx, cfg); err != nil {
		ln.Close()
		return nil, err
	}

	stores := newStores(s.etcd.client, cfg.EtcdPrefix, builtin.Resources())
	nsStore := findStore(stores, "", "v1", "namespaces")
	adm := admission.Chain{admission.NamespaceLifecycle{Get: func(ctx context.Context, name string) (runtimeObject, error) {
		return nsStore.Get(ctx, "", name, nil)
	}}}
	health := router.NewHealth()
	etcdCheck := router.Check{Name: "etcd", Fn: func(ctx context.Context) error {
		_, err := nsStore.Storage.Revision(ctx)
		return err
	}}
	for _, ep := range []string{"healthz", "livez", "readyz"} {
		health.Add(ep, etcdCheck)
	}
	health.Add("readyz", router.Check{Name: "shutdown", Fn: func(context.Context) error {
		if !s.ready.Load() {
			return errors.New("not ready")
		}
		return nil
	}})
	resources := endpoints.NewResources(stores, adm, s.stopping)
	docs, err := openapi.New(builtin.Resources())
	if err != nil {
		ln.Close()
		s.etcd.close()
		return nil, err
	}
	mux := router.New(router.Config{Resources: resources, Discovery: router.NewDiscovery(builtin.Resources()),
		Health: health, Extra: docs.Handlers()})

	if err := bootstrapNamespaces(ctx, nsStore); err != nil {
		ln.Close()
		s.etcd.close()
		return nil, err
	}

	host := cfg.BindAddress
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	port := ln.Addr().(*net.TCPAddr).Port
	s.URL = "https://" + net.JoinHostPort(host, strconv.Itoa(port))
	s.Kubeconfig = filepath.Join(cfg.DataDir, "admin.kubeconfig")
	if err := writeKubeconfig(s.Kubeconfig, s.URL, s.PKI, cfg); err != nil {
		ln.Close()
		s.etcd.close()
		return nil, err
	}

	s.http = &http.Server{
		Handler:           filters.Chain(mux),
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 30 * time.Second,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          nil,
	}
	go func() {
		err := s.http.Serve(tls.NewListener(ln, tlsConfig))
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.served <- err
	}()
	s.startControllers(stores, nsStore)
	s.ready.Store(true)
	out := cfg.Out
	if out == nil {
		out = os.Stdout
	}
	fmt.Fprintf(out, "kapi is serving on %s; use it with: kubectl --kubeconfig %s get namespaces\n", s.URL, s.Kubeconfig)
	return s, nil
}

// Stop shuts down gracefully: /readyz turns 503, watches end, in-flight
// requests drain (up to 60 s), then etcd stops.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.ready.Store(false)
		close(s.stopping)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := s.http.Shutdown(ctx); err != nil {
			klog.ErrorS(err, "shutting down the HTTP server")
			s.http.Close()
			s.stopErr = err
		}
		s.stopControllers()
		s.controllers.Wait()
		s.etcd.close()
	})
	return s.stopErr
}

// tlsConfig serves the certificate from --tls-cert-file or the generated
// one, and asks for client certificates signed by the kapi CA or
// --client-ca-file.
func (s *Server) tlsConfig(cfg Config) (*tls.Config, error) {
	var hosts []string
	if cfg.BindAddress != "" && cfg.BindAddress != "0.0.0.0" && cfg.BindAddress != "::" {
		hosts = append(hosts, cfg.BindAddress)
	}
	if err := s.PKI.ensure(hosts); err != nil {
		return nil, err
	}
	certFile, keyFile := s.PKI.ServingCert, s.PKI.ServingKey
	if cfg.TLSCertFile != "" {
		certFile, keyFile = cfg.TLSCertFile, cfg.TLSPrivateKeyFile
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("loading the serving certificate: %w", err)
	}
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
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{pair},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    pool,
		NextProtos:   []string{"h2", "http/1.1"},
	}, nil
}

// startControllers runs the control loops in the background until Stop.
func (s *Server) startControllers(stores []*registry.Store, nsStore *registry.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	s.stopControllers = cancel
	var contents []*registry.Store
	seen := map[string]bool{}
	for _, st := range stores {
		if st.R.Namespaced && !seen[st.R.Key()] {
			seen[st.R.Key()] = true
			contents = append(contents, st)
		}
	}
	run := func(f func(context.Context)) {
		s.controllers.Add(1)
		go func() {
			defer s.controllers.Done()
			f(ctx)
		}()
	}
	run((&controllers.Namespaces{Namespaces: nsStore, Contents: contents}).Run)
}

// Etcd is the client kapi stores with (for compaction, and for tests that
// look at what is stored).
func (s *Server) Etcd() *clientv3.Client { return s.etcd.client }
