package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	"k8s.io/klog/v2"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"

	"kapi/internal/admission"
	"kapi/internal/audit"
	"kapi/internal/authn"
	"kapi/internal/controllers"
	"kapi/internal/endpoints"
	"kapi/internal/features"
	"kapi/internal/filters"
	"kapi/internal/registry"
	"kapi/internal/registry/builtin"
	"kapi/internal/registry/certificates"
	"kapi/internal/registry/core"
	"kapi/internal/registry/discovery"
	"kapi/internal/registry/resource"
	"kapi/internal/request"
	"kapi/internal/router"
	"kapi/internal/router/openapi"
	"kapi/internal/storage/etcd"
	"kapi/internal/tracing"
)

// Server is a running kapi.
type Server struct {
	// URL is where it serves, e.g. https://127.0.0.1:6443.
	URL string
	// Kubeconfig is the admin kubeconfig it wrote.
	Kubeconfig string
	// PKI is its certificate material.
	PKI *PKI
	// FrontProxy is its request-header authentication and the client
	// certificate it proxies to aggregated API servers with.
	FrontProxy *FrontProxy

	http     *http.Server
	debug    *http.Server // --debug-socket-path's
	conns    *idleConns
	etcd     *etcdBackend
	stopping chan struct{}
	// shutdown is the graceful termination's state (filters.Shutdown),
	// resources the handler whose watches it ends, and cfg the flags.
	shutdown     *filters.Shutdown
	resources    *endpoints.Resources
	shutdownCfg  Config
	shuttingDown atomic.Bool
	auditor      *audit.Auditor
	// stopCaches ends the watch caches.
	stopCaches func()
	compaction *etcd.Compaction
	ready      atomic.Bool
	served     chan error
	// tokenSigner signs service-account tokens: the server's and the
	// token controller's legacy ones.
	tokenSigner authn.TokenSigner
	// enc is encryption at rest (--encryption-provider-config).
	enc *encryption
	// certs are the serving certificates, reloaded while serving.
	certs *servingCerts

	// controllers run until stopControllers; done tracks them.
	stopControllers context.CancelFunc
	controllers     sync.WaitGroup
	tracing         *tracing.Provider
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
	if err := applyLogging(cfg.LoggingFormat, cfg.LogOutput); err != nil {
		return nil, err
	}
	if cfg.EtcdPrefix == "" {
		cfg.EtcdPrefix = "/registry"
	}
	if cfg.APIServerID == "" {
		id, err := DefaultAPIServerID()
		if err != nil {
			return nil, err
		}
		cfg.APIServerID = id
	}
	if err := controllers.CheckNames(controllerLoops(nil, nil, nil), cfg.Controllers); err != nil {
		return nil, fmt.Errorf("--controllers: %w", err)
	}
	if err := CheckServing(cfg); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	features.RecordMetrics(cfg.FeatureGates)
	s := &Server{PKI: newPKI(filepath.Join(cfg.DataDir, "pki")), stopping: make(chan struct{}), served: make(chan error, 1), conns: newIdleConns()}
	var cleanups []func()
	fail := func(err error) (*Server, error) {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
		return nil, err
	}
	// etcd first: with --token, the CA and keys come from it.
	var err error
	if s.etcd, err = connectEtcd(ctx, cfg); err != nil {
		return nil, err
	}
	cleanups = append(cleanups, s.etcd.close)
	if err := joinCluster(ctx, s.etcd.client, cfg.EtcdPrefix, cfg.Token, s.PKI.Dir, func() error {
		return s.ensureClusterSecrets(cfg)
	}); err != nil {
		return fail(err)
	}
	tlsConfig, err := s.tlsConfig(cfg)
	if err != nil {
		return fail(err)
	}
	if s.FrontProxy, err = newFrontProxy(cfg, s.PKI.Dir); err != nil {
		return fail(err)
	}
	if s.tracing, err = newTracing(cfg); err != nil {
		return fail(err)
	}
	cleanups = append(cleanups, func() { s.tracing.Shutdown(context.Background()) })
	ln, err := listen(cfg)
	if err != nil {
		return fail(fmt.Errorf("listening on %s:%d: %w", cfg.BindAddress, cfg.SecurePort, err))
	}
	cleanups = append(cleanups, func() { ln.Close() })
	ctrlCtx, stopControllers := context.WithCancel(context.Background())
	s.stopControllers = stopControllers
	cleanups = append(cleanups, func() { stopControllers(); s.controllers.Wait() })
	s.runNow(ctrlCtx, s.certs.run)
	if cfg.EtcdSnapshotInterval > 0 {
		dir := cfg.EtcdSnapshotDir
		if dir == "" {
			dir = filepath.Join(cfg.DataDir, "snapshots")
		}
		s.runNow(ctrlCtx, func(ctx context.Context) {
			snapshots(ctx, s.etcd.client, dir, cfg.EtcdSnapshotInterval, cfg.EtcdSnapshotRetention)
		})
	}
	// etcd's compactions, this replica's and the others' (kube's
	// schedule, kube's compact_rev_key), known to the watch caches.
	s.compaction = &etcd.Compaction{}
	if cfg.EtcdCompactionInterval > 0 {
		s.runNow(ctrlCtx, func(ctx context.Context) {
			s.compaction.Run(ctx, s.etcd.client, cfg.EtcdCompactionInterval)
		})
	}
	if cfg.WatchCache {
		s.runNow(ctrlCtx, func(ctx context.Context) { s.compaction.Follow(ctx, s.etcd.client) })
	}
	// The clusters of --etcd-servers-overrides, each compacted and
	// followed as the main one.
	overrides, distinct, closeOverrides, err := connectOverrides(ctx, cfg)
	if err != nil {
		return fail(err)
	}
	cleanups = append(cleanups, closeOverrides)
	closeMain := s.etcd.close
	s.etcd.close = func() { closeOverrides(); closeMain() }
	for _, c := range distinct {
		if cfg.EtcdCompactionInterval > 0 {
			s.runNow(ctrlCtx, func(ctx context.Context) { c.compaction.Run(ctx, c.client, cfg.EtcdCompactionInterval) })
		}
		if cfg.WatchCache {
			s.runNow(ctrlCtx, func(ctx context.Context) { c.compaction.Follow(ctx, c.client) })
		}
	}
	clusters := &etcdClusters{main: &etcdCluster{client: s.etcd.client, compaction: s.compaction}, overrides: overrides}

	enc, err := newEncryption(ctrlCtx, cfg)
	if err != nil {
		return fail(err)
	}
	s.enc = enc
	if enc.reload != nil {
		s.runNow(ctrlCtx, enc.reload.Run)
	}
	// /healthz, /livez and /readyz: kube-apiserver's checks, its
	// post-start hooks' among them, each done as start-up gets there.
	health := router.NewHealth()
	health.LivezGracePeriod = cfg.LivezGracePeriod
	var nsStore *registry.Store
	etcdCheck := func(ctx context.Context) error {
		_, err := nsStore.Storage.Revision(ctx)
		return err
	}
	health.AddAll(router.Check{Name: "etcd", Fn: newEtcdProbe(etcdCheck, cfg.EtcdHealthcheckTimeout)})
	health.Add("readyz", router.Check{Name: "etcd-readiness", Fn: newEtcdProbe(etcdCheck, cfg.EtcdReadycheckTimeout)})
	for i, c := range distinct { // kube's names
		check := func(ctx context.Context) error { return etcdAnswers(ctx, c.client) }
		health.AddAll(router.Check{Name: fmt.Sprintf("etcd-override-%d", i), Fn: newEtcdProbe(check, cfg.EtcdHealthcheckTimeout)})
		health.Add("readyz", router.Check{Name: fmt.Sprintf("etcd-override-readiness-%d", i), Fn: newEtcdProbe(check, cfg.EtcdReadycheckTimeout)})
	}
	hooks := newPostStartHooks(health, cfg.EnablePriorityAndFairness, features.Enabled(cfg.FeatureGates, features.APIServerIdentity))
	stores, stopCaches, err := newStores(clusters, cfg, builtin.Resources(), enc)
	if err != nil {
		return fail(err)
	}
	s.stopCaches = stopCaches
	cleanups = append(cleanups, stopCaches)
	if err := waitCaches(ctx, stores); err != nil {
		return fail(err)
	}
	hooks.storage()
	nsStore = findStore(stores, "", "v1", "namespaces")
	if err := bootstrapNamespaces(ctx, nsStore); err != nil {
		return fail(err)
	}
	hooks.namespaces()
	if err := bootstrapPriorityClasses(ctx, findStore(stores, "scheduling.k8s.io", "v1", "priorityclasses")); err != nil {
		return fail(err)
	}
	hooks.priorityClasses()
	// Rows whose hooks need what exists only now get them before the
	// catalogue is published: Services their allocators, service
	// accounts their token subresource.
	alloc, err := serviceAllocators(cfg, s.etcd.client, stores, enc)
	if err != nil {
		return fail(err)
	}
	replaceRow(stores, "", "services", func(r *registry.Resource) *registry.Resource {
		return r.WithHooks(core.ServiceHooks(alloc))
	})
	leases, err := ensureKubernetesServices(ctx, cfg, s.etcd.client, stores, alloc.IPs, ln.Addr(), enc)
	if err != nil {
		return fail(err)
	}
	// Endpoints' addresses: never a loopback or link-local one unless
	// --proxy-allow-loopback (kapi's own, just written, may be: it serves
	// on the address it was given).
	replaceRow(stores, "", "endpoints", func(r *registry.Resource) *registry.Resource {
		return r.WithHooks(core.EndpointsHooks(cfg.ProxyAllowLoopback))
	})
	replaceRow(stores, "discovery.k8s.io", "endpointslices", func(r *registry.Resource) *registry.Resource {
		return r.WithHooks(discovery.Hooks(cfg.ProxyAllowLoopback))
	})
	// Privileged containers, in pods and in the workloads' pod
	// templates: refused unless --allow-privileged, as kube-apiserver
	// (false by default).
	if !cfg.AllowPrivileged {
		for _, row := range [][2]string{{"", "pods"}, {"", "podtemplates"}, {"", "replicationcontrollers"},
			{"apps", "deployments"}, {"apps", "replicasets"}, {"apps", "daemonsets"}, {"apps", "statefulsets"},
			{"batch", "jobs"}, {"batch", "cronjobs"}} {
			replaceRow(stores, row[0], row[1], core.ForbidPrivileged)
		}
	}
	an, err := s.newAuthn(ctrlCtx, cfg, stores)
	if err != nil {
		return fail(err)
	}
	// The control loops' client of kapi: requests made in process,
	// authenticated by a token that never leaves it.
	lb := newLoopback()
	an.union = append(authn.Union{lb}, an.union...)
	an.sa.LegacyTokenUsed = legacyTokenUsed(lb)
	s.tokenSigner = an.sa.Signer
	replaceRow(stores, "", "serviceaccounts", func(r *registry.Resource) *registry.Resource {
		return r.WithSubresource(an.token)
	})
	pods := findStore(stores, "", "v1", "pods")
	eviction := core.Eviction(pods, findStore(stores, "policy", "v1", "poddisruptionbudgets"))
	replaceRow(stores, "", "pods", func(r *registry.Resource) *registry.Resource {
		return r.WithSubresource(eviction).WithSubresource(core.Binding(pods))
	})
	az, err := s.newAuthz(ctrlCtx, cfg, stores)
	if err != nil {
		return fail(err)
	}
	hooks.rbac()
	// A pod certificate request's status changes only by who may sign
	// for its signer, as kube's status strategy asks the authorizer.
	replaceRow(stores, "certificates.k8s.io", "podcertificaterequests", func(r *registry.Resource) *registry.Resource {
		return r.WithSubresource(certificates.PodCertificateRequestStatus(func(ctx context.Context, u *request.User, signer string) bool {
			return admission.AuthorizedForSigner(ctx, az.authorizer, u, "sign", signer)
		}))
	})
	// ResourceClaims' admin access and their status's synthetic
	// subresources, as kube's strategies check them.
	draChecks := resource.Checks{Authorizer: az.authorizer, Namespace: func(ctx context.Context, name string) (*corev1.Namespace, error) {
		obj, err := nsStore.Get(ctx, "", name, nil)
		if err != nil {
			return nil, err
		}
		return obj.(*corev1.Namespace), nil
	}}
	replaceRow(stores, "resource.k8s.io", "resourceclaims", draChecks.Claims)
	replaceRow(stores, "resource.k8s.io", "resourceclaimtemplates", draChecks.ClaimTemplates)
	for _, r := range append(append(an.rows, az.rows...), builtin.Typed(core.LegacyBindings(pods))...) {
		stores = append(stores, registry.NewStore(r, nil))
	}
	csRow, csChecks := core.ComponentStatuses(controlPlaneComponents(cfg, s.etcd.client))
	stores = append(stores, registry.NewStore(builtin.Typed(csRow)[0], csChecks))
	cat := registry.NewCatalogue()
	cat.NoCollector = !cfg.EnableGarbageCollector
	proxySubresources(cfg, cat, stores)
	if err := kubeletSubresources(cfg, cat, stores, az.authorizer); err != nil {
		return fail(err)
	}
	if err := cat.Set(registry.BuiltinOwner, stores); err != nil {
		return fail(err)
	}
	adm, err := s.newAdmission(ctrlCtx, cfg, cat, az.authorizer, az.admission, lb)
	if err != nil {
		return fail(err)
	}
	hooks.admission()
	enc.addChecks(health)
	health.Add("readyz", router.Check{Name: "shutdown", Fn: func(context.Context) error {
		if s.shuttingDown.Load() {
			return errors.New("process is shutting down") // kube's
		}
		if !s.ready.Load() {
			return errors.New("not ready")
		}
		return nil
	}})
	resources := endpoints.NewResources(cat, adm)
	s.resources, s.shutdown, s.shutdownCfg = resources, filters.NewShutdown(), cfg
	resources.MinRequestTimeout = cfg.MinRequestTimeout
	resources.DeleteCollectionWorkers = cfg.DeleteCollectionWorkers
	resources.Fields = newFieldManagers(cat)
	resources.Authorizer = az.authorizer
	docs, err := openapi.New(cat)
	if err != nil {
		return fail(err)
	}
	// The APIServices backed by a Service are proxied to their servers,
	// and their OpenAPI documents merged into kapi's.
	agg := newAggregator(cfg, cat, s.FrontProxy)
	extra := agg.OpenAPIHandlers(docs.Handlers())
	instrumentOpenAPI(extra)
	for p, h := range cfg.Extra {
		extra[p] = h
	}
	extra["GET /metrics"] = metricsHandler()
	extra["GET /metrics/slis"] = sliHandler()
	storageMetrics.add(storageSource{cat: cat, client: s.etcd.client, done: s.stopping,
		counts: cfg.EtcdCountMetricPollPeriod > 0, dbSize: cfg.EtcdDBMetricPollInterval > 0})
	if cfg.EnableLogsHandler {
		extra["GET /logs/{path...}"] = logsHandler(logsDir)
	}
	if cfg.Profiling {
		for p, h := range profilingHandlers() {
			extra[p] = h
		}
	}
	if cfg.ContentionProfiling && (cfg.Profiling || cfg.DebugSocketPath != "") {
		runtime.SetBlockProfileRate(1) // the process's, as kube's
	}
	if cfg.DebugSocketPath != "" {
		// As kube, a socket that cannot be opened is logged, not fatal.
		if s.debug, err = debugSocket(cfg.DebugSocketPath); err != nil {
			klog.FromContext(ctx).Error(err, "the debug socket is not served")
		}
	}
	if err := issuerDiscovery(cfg, an.sa, ln, extra); err != nil {
		klog.FromContext(ctx).Error(err, "the service account issuer's discovery documents are not served")
	}
	mux := router.New(router.Config{Resources: resources, Discovery: router.NewDiscovery(cat).WithAggregator(agg).WithServerAddress(externalAddress(cfg, ln)).WithFeatures(cfg.FeatureGates), Health: health, Extra: extra, Aggregator: agg, Flagz: cfg.Flagz, Features: cfg.FeatureGates})
	auditor, err := audit.New(cfg.Audit)
	if err != nil {
		return fail(err)
	}
	s.auditor = auditor
	cleanups = append(cleanups, func() { auditor.Shutdown(context.Background()) })
	origins, err := filters.CompileOrigins(cfg.CORSAllowedOrigins)
	if err != nil {
		return fail(fmt.Errorf("--cors-allowed-origins: %w", err))
	}

	host := cfg.BindAddress
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	port := ln.Addr().(*net.TCPAddr).Port
	s.URL = "https://" + net.JoinHostPort(host, strconv.Itoa(port))
	s.Kubeconfig = filepath.Join(cfg.DataDir, "admin.kubeconfig")
	if err := writeKubeconfig(s.Kubeconfig, s.URL, s.PKI, cfg); err != nil {
		return fail(err)
	}

	apf, err := newFairness(cfg, lb, cat)
	if err != nil {
		return fail(err)
	}
	s.http = &http.Server{
		Handler: filters.Chain(mux, filters.Config{
			Features: cfg.FeatureGates, Authenticator: an.union, Anonymous: cfg.AnonymousAuth, Authorizer: az.authorizer,
			Audit:              filters.Audit(auditor),
			AuditFailed:        filters.AuditFailedAuthentication(auditor),
			OnImpersonate:      func(r *http.Request, u *request.User, c string) { audit.SetImpersonatedUser(r.Context(), u, c) },
			Annotate:           func(r *http.Request, k, v string) { audit.AddAnnotation(r.Context(), k, v) },
			CORSAllowedOrigins: origins, Fairness: apf.Filter(), MaxRequestsInFlight: cfg.MaxRequestsInFlight,
			MaxMutatingInFlight: cfg.MaxMutatingRequestsInFlight, RequestTimeout: cfg.RequestTimeout,
			Served: servedBy(cat), Tracer: s.tracing.TracerProvider(),
			HSTSDirectives: cfg.StrictTransportSecurityDirectives, GoawayChance: goawayChance(cfg),
			Shutdown: s.shutdown, SendRetryAfter: cfg.ShutdownSendRetryAfter,
		}),
		TLSConfig:         tlsConfig,
		Protocols:         serveProtocols(cfg),
		HTTP2:             http2Config(cfg),
		ReadHeaderTimeout: 30 * time.Second,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          tlsErrorLog(),
		ConnState:         s.conns.track,
	}
	go func() {
		err := s.http.Serve(tls.NewListener(ln, tlsConfig))
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.served <- err
	}()
	lb.handler = s.http.Handler
	crdClient, err := apiextensionsclient.NewForConfig(lb.Config(APIServerUser))
	if err != nil {
		s.Stop()
		return nil, err
	}
	crds := controllers.NewCRDs(findStore(stores, "apiextensions.k8s.io", "v1", "customresourcedefinitions"), crdClient, cat,
		customResourceStorage(s.etcd.client, cfg.EtcdPrefix, cfg.WatchCache, enc, s.compaction), serviceResolver(cat, cfg.ProxyAllowLoopback))
	// Every group-version served gets its APIService, as in kube: all at
	// once on a first start, then kept by their loop.
	apiServiceStore := findStore(stores, "apiregistration.k8s.io", "v1", "apiservices")
	if err := createBootstrapAPIServices(ctx, apiServiceStore, cat); err != nil {
		klog.FromContext(ctx).Error(err, "registering the APIServices at once; their loop will")
	}
	apiServices := &controllers.APIServices{Catalogue: cat, Client: aggregator.NewForConfigOrDie(lb.Config(APIServerUser)),
		Store: apiServiceStore}
	for _, f := range append(append(az.controllers, crds.Run, apiServices.Run), apf.loops()...) {
		s.runNow(ctrlCtx, f)
	}
	hooks.fairness()
	hooks.crds()
	hooks.autoregistration()
	health.AddAll(router.Check{Name: "autoregister-completion", Fn: apiServices.Completion})
	for _, f := range aggregatorLoops(cat, agg, apiServices.Client) {
		s.runNow(ctrlCtx, f)
	}
	hooks.aggregator()
	if err := s.runControllerLoops(ctrlCtx, cfg, cat, lb); err != nil {
		s.Stop()
		return nil, err
	}
	loops, apiserverInformers := s.apiserverLoops(ctrlCtx, cfg, cat, lb, leases)
	for _, f := range loops {
		s.runNow(ctrlCtx, f)
	}
	hooks.apiserverLoops()
	// kube's readyz "informer-sync": the informers of the loops every
	// replica runs (kube-apiserver's own) have their first lists. Those
	// of the leader-elected loops (kube-controller-manager's, and the
	// Service repair) do not count: they start when a replica becomes
	// leader, which must not make it unready for a moment.
	informersSynced := func(context.Context) error {
		if waiting := apiserverInformers.NotSynced(); len(waiting) > 0 {
			return fmt.Errorf("%d informers not started yet: %v", len(waiting), waiting)
		}
		return nil
	}
	health.Add("readyz", router.Check{Name: "informer-sync", Fn: informersSynced})
	// As kube-apiserver, ready once the custom resources that exist are
	// served, the APIServices registered and the informers listed:
	// /healthz (which envtest polls) turns 200 then, not before, and
	// Start returns.
	select {
	case <-crds.Synced():
		hooks.crdsServed()
	case <-ctx.Done():
		s.Stop()
		return nil, ctx.Err()
	}
	if err := waitPassing(ctx, 30*time.Second, apiServices.Completion, informersSynced); err != nil {
		if ctx.Err() != nil {
			s.Stop()
			return nil, ctx.Err()
		}
		// (An admission webhook that refuses APIServices, say: the
		// checks say so, and kapi serves.)
		klog.FromContext(ctx).Error(err, "kapi is serving with failing health checks")
	}
	s.ready.Store(true)
	out := cfg.Out
	if out == nil {
		out = os.Stdout
	}
	fmt.Fprintf(out, "kapi is serving on %s; use it with: kubectl --kubeconfig %s get namespaces\n", s.URL, s.Kubeconfig)
	return s, nil
}

// Stop shuts down gracefully, as kube-apiserver: /readyz turns 503 and,
// for --shutdown-delay-duration, kapi serves as before; then it takes no
// new requests (drain), its watches end, the requests in flight drain (up
// to 60 s), and etcd stops.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.ready.Store(false)
		s.shuttingDown.Store(true)
		watchesEnded := s.drain()
		close(s.stopping)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		httpCtx := ctx
		if s.shutdownCfg.ShutdownSendRetryAfter {
			// As kube: the requests in flight have drained already.
			var cancel context.CancelFunc
			httpCtx, cancel = context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
		}
		s.conns.shutdown()
		if err := s.http.Shutdown(httpCtx); err != nil {
			klog.ErrorS(err, "shutting down the HTTP server")
			s.http.Close()
			s.stopErr = err
		}
		if watchesEnded != nil {
			<-watchesEnded
		}
		if s.debug != nil {
			s.debug.Close()
		}
		s.auditor.Shutdown(ctx)
		s.tracing.Shutdown(ctx)
		s.stopControllers()
		s.controllers.Wait()
		s.stopCaches()
		s.etcd.close()
	})
	return s.stopErr
}

// drain is the graceful termination before the HTTP server stops: the
// delay, then no new requests (a 503, or with --shutdown-send-retry-after
// a 429 and the server listening until the requests in flight drained),
// and the watches ended, all at once or paced over
// --shutdown-watch-termination-grace-period.
func (s *Server) drain() (watchesEnded <-chan struct{}) {
	cfg := s.shutdownCfg
	if s.shutdown == nil { // stopped before it served
		return nil
	}
	if cfg.ShutdownDelayDuration > 0 {
		klog.InfoS("[graceful-termination] serving on for the shutdown delay", "duration", cfg.ShutdownDelayDuration)
		time.Sleep(cfg.ShutdownDelayDuration)
	}
	s.shutdown.StopAccepting()
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		s.resources.EndWatches(cfg.ShutdownWatchTerminationGracePeriod)
	}()
	if !cfg.ShutdownSendRetryAfter {
		// As kube: the HTTP server stops listening now, and its shutdown
		// waits for the watches ending meanwhile.
		return ended
	}
	// Until the requests in flight have drained (at most the 60 s that
	// the HTTP server's own shutdown would wait).
	select {
	case <-s.shutdown.Drained():
	case <-time.After(60 * time.Second):
	}
	<-ended
	return ended
}

// tlsConfig serves the certificate from --tls-cert-file or the generated
// one, and the --tls-sni-cert-key ones, reloaded when their files change
// (servingcerts.go), with the --tls-* flags' versions, ciphers and curves
// (serving.go); it asks for client certificates signed by the kapi CA or
// --client-ca-file.
func (s *Server) tlsConfig(cfg Config) (*tls.Config, error) {
	if err := s.PKI.ensure(servingHosts(cfg)); err != nil {
		return nil, err
	}
	certFile, keyFile := servingFiles(cfg, s.PKI)
	certs, err := newServingCerts(certFile, keyFile, cfg.TLSSNICertKeys, cfg.ServingCertReloadInterval)
	if err != nil {
		return nil, err
	}
	s.certs = certs
	return newTLSConfig(cfg, certs)
}

// ensureClusterSecrets makes what the replicas of a cluster share, when
// this replica is the first: the CA (with this replica's serving and
// admin certificates), the service-account key and the front-proxy CA.
func (s *Server) ensureClusterSecrets(cfg Config) error {
	if err := s.PKI.ensure(servingHosts(cfg)); err != nil {
		return err
	}
	if err := ensureSAKey(filepath.Join(s.PKI.Dir, "sa.key")); err != nil {
		return err
	}
	return ensureFrontProxy(s.PKI.Dir)
}

// servingHosts are the names the generated serving certificate covers
// besides localhost: the address kapi binds, when it is one.
func servingHosts(cfg Config) []string {
	if cfg.BindAddress != "" && cfg.BindAddress != "0.0.0.0" && cfg.BindAddress != "::" {
		return []string{cfg.BindAddress}
	}
	return nil
}

// servingFiles are the serving certificate and key: --tls-cert-file and
// --tls-private-key-file; else apiserver.crt and apiserver.key in
// --cert-dir when both are there; else the ones kapi generated.
func servingFiles(cfg Config, p *PKI) (cert, key string) {
	if cfg.TLSCertFile != "" {
		return cfg.TLSCertFile, cfg.TLSPrivateKeyFile
	}
	if cfg.CertDir != "" {
		cert, key = filepath.Join(cfg.CertDir, "apiserver.crt"), filepath.Join(cfg.CertDir, "apiserver.key")
		if fileExists(cert) && fileExists(key) {
			return cert, key
		}
	}
	return p.ServingCert, p.ServingKey
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// Etcd is the client kapi stores with (for compaction, and for tests that
// look at what is stored).
func (s *Server) Etcd() *clientv3.Client { return s.etcd.client }

// waitPassing waits until every check passes, looking again every few
// milliseconds, for at most limit: the last check's error then (or ctx's
// when it ends first).
func waitPassing(ctx context.Context, limit time.Duration, checks ...func(context.Context) error) error {
	give := time.After(limit)
	for _, check := range checks {
		for {
			err := check(ctx)
			if err == nil {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-give:
				return err
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	return nil
}
