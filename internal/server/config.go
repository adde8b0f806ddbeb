// Package server assembles the parts, owns start-up, readiness and
// graceful shutdown, and the TLS material and admin kubeconfig in the data
// folder.
package server

import (
	"io"
	"net/http"
	"os"
	"time"

	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/component-base/featuregate"

	"kapi/internal/audit"
	"kapi/internal/authn"
	"kapi/internal/controllers"
)

// Config is everything the flags set. Names follow kube-apiserver's flags.
type Config struct {
	DataDir     string // --data-dir
	BindAddress string // --bind-address
	SecurePort  int    // --secure-port; 0 picks a free port

	EtcdServers  []string // --etcd-servers; empty starts an embedded etcd
	EtcdCAFile   string   // --etcd-cafile
	EtcdCertFile string   // --etcd-certfile
	EtcdKeyFile  string   // --etcd-keyfile
	EtcdPrefix   string   // --etcd-prefix
	// EtcdCompactionInterval (--etcd-compaction-interval) is how often
	// etcd is compacted, as kube-apiserver compacts it; 0 is never.
	EtcdCompactionInterval time.Duration
	// EtcdHealthcheckTimeout and EtcdReadycheckTimeout
	// (--etcd-healthcheck-timeout, --etcd-readycheck-timeout) bound each
	// probe of etcd by the health checks etcd and etcd-readiness.
	EtcdHealthcheckTimeout time.Duration
	EtcdReadycheckTimeout  time.Duration
	// EtcdSnapshotInterval (--etcd-snapshot-interval) is how often kapi
	// saves a snapshot of etcd into EtcdSnapshotDir (default
	// <data-dir>/snapshots), keeping the newest EtcdSnapshotRetention
	// (--etcd-snapshot-retention); 0 is never.
	EtcdSnapshotInterval  time.Duration
	EtcdSnapshotDir       string
	EtcdSnapshotRetention int
	// EncryptionProviderConfig (--encryption-provider-config) is kube's
	// EncryptionConfiguration file: how values are encrypted in etcd.
	// With EncryptionProviderConfigAutomaticReload
	// (--encryption-provider-config-automatic-reload) a change of the file
	// takes effect without a restart.
	EncryptionProviderConfig                string
	EncryptionProviderConfigAutomaticReload bool
	WatchCache                              bool // --watch-cache
	// EtcdCountMetricPollPeriod (--etcd-count-metric-poll-period) is how
	// often API Priority and Fairness learns each resource's count; 0
	// turns the counts off, and with them apiserver_storage_objects,
	// apiserver_resource_objects and apiserver_resource_size_estimate_bytes
	// (read at each scrape otherwise). EtcdDBMetricPollInterval
	// (--etcd-db-metric-poll-interval) 0 turns apiserver_storage_size_bytes
	// off (read at each scrape otherwise).
	EtcdCountMetricPollPeriod time.Duration
	EtcdDBMetricPollInterval  time.Duration
	// DeleteCollectionWorkers (--delete-collection-workers) is how many
	// deletes of one deletecollection run at once.
	DeleteCollectionWorkers int
	// EnableGarbageCollector (--enable-garbage-collector) runs the garbage
	// collector's loop, and lets deletes set its finalizers (orphan,
	// foregroundDeletion); off, they leave an object's finalizers as
	// they are, as kube's stores do without the collector.
	EnableGarbageCollector bool
	// EtcdServersOverrides (--etcd-servers-overrides) store resources in
	// other etcd clusters: group/resource#server;server, e.g.
	// "/events#https://etcd-events:2379".
	EtcdServersOverrides []string
	// StorageMediaType (--storage-media-type) is how built-in objects are
	// written to etcd: application/vnd.kubernetes.protobuf (empty),
	// application/json or application/yaml.
	StorageMediaType string
	// WatchCacheSizes (--watch-cache-sizes) are resource[.group]#size;
	// a size of 0 serves the resource without a watch cache.
	WatchCacheSizes []string
	// EventTTL (--event-ttl, kube's hour) is how long an Event lives
	// after its last write (0: for ever); LeaseReuse
	// (--lease-reuse-duration-seconds, kube's 60 s) is the most by which
	// one outlives it, the window in which Events share an etcd lease.
	EventTTL, LeaseReuse time.Duration
	// EtcdForTests tunes the embedded etcd for a server that lives as
	// long as a test (no fsync, small snapshots, a quicker first
	// election): kapitest sets it; no flag.
	EtcdForTests bool

	TLSCertFile       string // --tls-cert-file
	TLSPrivateKeyFile string // --tls-private-key-file
	// CertDir (--cert-dir) is where the serving certificate is when
	// --tls-cert-file is not given: apiserver.crt and apiserver.key, as
	// kube-apiserver reads them (envtest writes its own there). When they
	// are absent kapi serves the one it generates in <data-dir>/pki.
	CertDir string
	// TLSSNICertKeys (--tls-sni-cert-key) are more serving certificates,
	// each chosen by the name a client asks for (SNI): its Names, or when
	// it has none the names in the certificate (serving.go).
	TLSSNICertKeys []cliflag.NamedCertKey
	// ServingCertReloadInterval is how often the serving and SNI
	// certificate files are read again besides when a watch sees them
	// change (kube's minute when 0; no flag: tests shorten it).
	ServingCertReloadInterval time.Duration
	TLSMinVersion             string   // --tls-min-version: kube's names (VersionTLS12...); empty is TLS 1.2
	TLSCipherSuites           []string // --tls-cipher-suites: Go's names; empty is Go's defaults
	TLSCurvePreferences       []int32  // --tls-curve-preferences: Go's CurveIDs; empty is Go's defaults
	DisableHTTP2Serving       bool     // --disable-http2-serving
	// HTTP2MaxStreamsPerConnection (--http2-max-streams-per-connection)
	// is the concurrent streams an HTTP/2 client may open on one
	// connection; 0 is kube-apiserver's 100.
	HTTP2MaxStreamsPerConnection int
	PermitPortSharing            bool // --permit-port-sharing: SO_REUSEPORT on the listener
	PermitAddressSharing         bool // --permit-address-sharing: SO_REUSEADDR on the listener
	// StrictTransportSecurityDirectives (--strict-transport-security-directives)
	// are the Strict-Transport-Security header of every response, joined
	// by "; "; empty sends none.
	StrictTransportSecurityDirectives []string
	// GoawayChance (--goaway-chance, 0 to 0.02) is the fraction of HTTP/2
	// requests whose connection is told to go away (GOAWAY) once they
	// are answered, so that clients behind a load balancer spread again.
	GoawayChance float64

	// Graceful termination, as kube-apiserver's: for
	// ShutdownDelayDuration (--shutdown-delay-duration) after Stop begins
	// /readyz fails and kapi serves as before (a load balancer stops
	// sending it requests meanwhile); then it stops taking new requests.
	// With ShutdownSendRetryAfter (--shutdown-send-retry-after) it keeps
	// listening, answering new requests with a 429 and Retry-After, until
	// those in flight have drained. Its watches end then: all at once, or
	// over at most ShutdownWatchTerminationGracePeriod
	// (--shutdown-watch-termination-grace-period).
	ShutdownDelayDuration time.Duration
	// LivezGracePeriod (--livez-grace-period) lets /livez pass the
	// post-start hooks' checks for this long after start.
	LivezGracePeriod                    time.Duration
	ShutdownSendRetryAfter              bool
	ShutdownWatchTerminationGracePeriod time.Duration

	ClientCAFile string // --client-ca-file
	// AdvertiseAddress (--advertise-address) is the address the
	// kubernetes Service's endpoints give for this replica; empty: the
	// bind address, or 127.0.0.1 when kapi binds to all interfaces.
	AdvertiseAddress string
	// ExternalHostname (--external-hostname) is the host, or host:port,
	// clients outside reach kapi at (externalAddress); empty: the
	// advertised address and the serving port.
	ExternalHostname string

	AnonymousAuth bool   // --anonymous-auth
	TokenAuthFile string // --token-auth-file
	// EnableBootstrapTokenAuth (--enable-bootstrap-token-auth) accepts
	// bootstrap tokens, kube-system's Secrets of type
	// bootstrap.kubernetes.io/token, as bearer tokens.
	EnableBootstrapTokenAuth bool
	// AuthenticationConfig (--authentication-config) is kube's
	// AuthenticationConfiguration file: JWT (OIDC) issuers. OIDC is the
	// legacy --oidc-* flags, for one issuer; the two exclude each other.
	AuthenticationConfig string
	OIDC                 authn.OIDCFlags
	// The webhook token authenticator (--authentication-token-webhook-*):
	// a kubeconfig naming a TokenReview service, the version sent, how
	// long answers are cached.
	AuthenticationTokenWebhookConfigFile string
	AuthenticationTokenWebhookVersion    string
	AuthenticationTokenWebhookCacheTTL   time.Duration
	// The webhook authorizer (--authorization-webhook-*), for the Webhook
	// mode: a kubeconfig naming a SubjectAccessReview service, the version
	// sent, how long allowed and refused answers are cached.
	AuthorizationWebhookConfigFile           string
	AuthorizationWebhookVersion              string
	AuthorizationWebhookCacheAuthorizedTTL   time.Duration
	AuthorizationWebhookCacheUnauthorizedTTL time.Duration
	// MaxConnectionBytesPerSec (--max-connection-bytes-per-sec)
	// throttles each upgraded connection kapi proxies (exec, attach, port
	// forwarding, WebSockets through services, pods and nodes proxies) to
	// this many bytes a second each way; 0 does not.
	MaxConnectionBytesPerSec int64
	// AuthorizationPolicyFile (--authorization-policy-file) is the ABAC
	// mode's policies, one JSON policy a line.
	AuthorizationPolicyFile string
	// AuthorizationConfig (--authorization-config) is kube's
	// AuthorizationConfiguration file; it replaces AuthorizationModes and
	// the webhook flags.
	AuthorizationConfig string
	// AuthorizationConfigReloadInterval is how often that file is
	// checked for changes (0: kube's minute).
	AuthorizationConfigReloadInterval time.Duration
	// Token (--token) is the cluster's join token: the replicas on one
	// etcd that share it share the CA, the service-account key and the
	// front-proxy CA, kept in etcd sealed with it (join.go).
	Token string
	// APIServerID (--apiserver-identity, kapi's own) is this server's
	// identity: the name of its kube-system Lease (APIServerIdentity),
	// the instance its spans name, and the id that KMS plugins, the
	// authentication configuration and the reload metrics (hashed) see.
	// Empty is kube-apiserver's: DefaultAPIServerID, from the host's
	// name, so replicas on one host need ids of their own.
	APIServerID string
	// IdentityLease times the identity Lease (no flags, as kube's; tests
	// shorten it): zero is kube's hour, 10 s renewals and hourly GC.
	IdentityLease                controllers.IdentityLeaseTiming
	ServiceAccountKeyFiles       []string // --service-account-key-file
	ServiceAccountSigningKeyFile string   // --service-account-signing-key-file
	// ServiceAccountSigningEndpoint (--service-account-signing-endpoint)
	// is the unix socket of kube's external JWT signer, which then signs
	// every service-account token and whose keys verify them.
	ServiceAccountSigningEndpoint    string
	ServiceAccountLookup             bool          // --service-account-lookup: legacy tokens checked against their Secret and account
	ServiceAccountIssuers            []string      // --service-account-issuer
	APIAudiences                     []string      // --api-audiences
	ServiceAccountMaxTokenExpiration time.Duration // --service-account-max-token-expiration
	// ServiceAccountExtendTokenExpiration (--service-account-extend-token-expiration,
	// default true): a pod-bound token asked for an hour and 7 seconds
	// (a kubelet's projected token) is valid a year, warning after the hour.
	ServiceAccountExtendTokenExpiration bool
	// ServiceAccountJWKSURI (--service-account-jwks-uri) is the key set's
	// URL in the issuer's OpenID configuration; empty: kapi's own
	// /openid/v1/jwks at its advertised address.
	ServiceAccountJWKSURI string

	AuthorizationModes []string // --authorization-mode

	// ProxyAllowLoopback (--proxy-allow-loopback) accepts loopback and
	// link-local addresses as the endpoints of services that webhooks,
	// conversion and the proxy reach: for local development, where
	// kapi's services are processes on the same machine.
	ProxyAllowLoopback bool

	// AllowPrivileged (--allow-privileged) admits privileged containers
	// (and Windows hostProcess ones) in pods and in the pod templates of
	// the workloads. False, kube-apiserver's default, refuses them as
	// kube does ("disallowed by cluster policy"); envtest and kapitest
	// set it, as envtest sets it for kube-apiserver.
	AllowPrivileged bool

	// RequestHeader is request-header authentication: kapi behind a
	// front proxy (another API server aggregating kapi) believes the
	// user named in headers of a request whose client certificate the
	// CA signed, as kube-apiserver's --requestheader-* flags.
	RequestHeader RequestHeaderConfig
	// ProxyClientCertFile and ProxyClientKeyFile
	// (--proxy-client-cert-file, --proxy-client-key-file) are the client
	// certificate kapi shows an aggregated API server when it proxies a
	// request to it, as the front proxy.
	ProxyClientCertFile string
	ProxyClientKeyFile  string
	// Kubelet is how kapi reaches a node's kubelet (pods/log, exec,
	// attach, portforward, nodes/proxy), as kube's --kubelet-* flags.
	Kubelet KubeletClientConfig

	EnableAdmissionPlugins  []string // --enable-admission-plugins
	DisableAdmissionPlugins []string // --disable-admission-plugins
	// AdmissionControlConfigFile is --admission-control-config-file: an
	// AdmissionConfiguration with the plugins' configurations (the
	// webhooks' kubeconfig, PodSecurity's defaults and exemptions).
	AdmissionControlConfigFile string

	ServiceClusterIPRange string // --service-cluster-ip-range
	ServiceNodePortRange  string // --service-node-port-range
	// KubernetesServiceNodePort (--kubernetes-service-node-port), when
	// not 0, makes the kubernetes Service a NodePort one on this port.
	KubernetesServiceNodePort int
	// EndpointReconcilerType (--endpoint-reconciler-type) is "lease"
	// (kube's default: each replica in the kubernetes endpoints while its
	// lease lives) or "none" (kapi leaves them alone).
	EndpointReconcilerType string
	// AggregatorRejectForwardingRedirect
	// (--aggregator-reject-forwarding-redirect, true as in kube): an
	// aggregated API server's redirect is answered with a 502 rather than
	// passed to the client.
	AggregatorRejectForwardingRedirect bool

	CORSAllowedOrigins []string // --cors-allowed-origins
	// EnablePriorityAndFairness replaces the two in-flight limits by API
	// Priority and Fairness, whose seats are their sum
	// (--enable-priority-and-fairness, on by default as in kube).
	EnablePriorityAndFairness   bool
	MaxRequestsInFlight         int           // --max-requests-inflight
	MaxMutatingRequestsInFlight int           // --max-mutating-requests-inflight
	RequestTimeout              time.Duration // --request-timeout
	MinRequestTimeout           time.Duration // --min-request-timeout
	Profiling                   bool          // --profiling
	ContentionProfiling         bool          // --contention-profiling: block profiles too
	DebugSocketPath             string        // --debug-socket-path: the profiling handlers on a unix socket, unprotected
	EnableLogsHandler           bool          // --enable-logs-handler: /logs/ serves /var/log

	Audit audit.Options // --audit-*

	// LoggingFormat (--logging-format) is "text" (klog's, the default) or
	// "json".
	LoggingFormat string
	// TracingConfigFile (--tracing-config-file) is kube's
	// TracingConfiguration (apiserver.config.k8s.io): where to export
	// OpenTelemetry spans, and how many of every million requests.
	TracingConfigFile string
	// LogOutput is where log lines go; nil is stderr, as kube-apiserver.
	// Like the format, it is the process's (klog's): the last server
	// started sets both.
	LogOutput io.Writer

	// Controllers (--controllers) turns kapi's control loops on and off,
	// with kube-controller-manager's syntax: "*" the loops on by default,
	// "name" on, "-name" off. Nil is "*".
	Controllers []string
	// LeaderElect (--leader-elect) runs the loops on one replica at a
	// time, elected through the Lease LeaderElection names.
	LeaderElect    bool
	LeaderElection LeaderElection
	// ClusterSigningDuration (--cluster-signing-duration) is the longest a
	// certificate signed for a CertificateSigningRequest lasts.
	ClusterSigningDuration time.Duration
	// ResourceQuotaSyncPeriod (--resource-quota-sync-period) is how often
	// every quota's usage is computed again, besides on changes.
	ResourceQuotaSyncPeriod time.Duration
	// ServiceRepairInterval is how often the Service repair loops go over
	// every cluster IP and node port (kube-apiserver's 3 minutes when 0;
	// no flag: tests shorten it).
	ServiceRepairInterval time.Duration

	// ComponentHealthz are the healthz URLs that componentstatuses checks
	// for the scheduler and the controller manager; nil is kube's
	// (https://127.0.0.1:10259/healthz and :10257). No flag: tests set
	// servers of their own.
	ComponentHealthz map[string]string

	// Extra are more handlers on the MUX, by ServeMux pattern, behind
	// every filter (for embedding, and for tests).
	Extra map[string]http.Handler
	// Flagz reads the command line for /flagz (router.Flagz); nil (an
	// embedded kapi, tests) serves no /flagz.
	Flagz func() map[string]string
	// FeatureGates is --feature-gates: kube's gates (features.New), set.
	// nil is every gate at kube's default.
	FeatureGates featuregate.FeatureGate

	// Out receives the start-up line; nil means stdout.
	Out io.Writer
}

// LeaderElection is kube-controller-manager's --leader-elect-* flags.
// The lease is shorter than kube's 15 s so that the loops move to another
// replica within 15 s of the leader's death.
type LeaderElection struct {
	LeaseDuration     time.Duration // --leader-elect-lease-duration
	RenewDeadline     time.Duration // --leader-elect-renew-deadline
	RetryPeriod       time.Duration // --leader-elect-retry-period
	ResourceName      string        // --leader-elect-resource-name
	ResourceNamespace string        // --leader-elect-resource-namespace
}

// DefaultLeaderElection is the lease kapi's loops take when no flag says
// otherwise: kube-system/kapi-controllers, apart from
// kube-controller-manager's kube-system/kube-controller-manager so that
// one can run beside kapi.
func DefaultLeaderElection() LeaderElection {
	return LeaderElection{LeaseDuration: 10 * time.Second, RenewDeadline: 7 * time.Second, RetryPeriod: 2 * time.Second,
		ResourceName: "kapi-controllers", ResourceNamespace: "kube-system"}
}

// Defaults returns the configuration of a plain `kapi`.
func Defaults() Config {
	return Config{
		DataDir:                "./kapi-data",
		BindAddress:            "127.0.0.1",
		SecurePort:             6443,
		EtcdPrefix:             "/registry",
		EtcdCompactionInterval: 5 * time.Minute,
		EtcdHealthcheckTimeout: 2 * time.Second,
		EtcdReadycheckTimeout:  2 * time.Second,
		EtcdSnapshotRetention:  5,

		AuthenticationTokenWebhookVersion:        "v1beta1",
		AuthenticationTokenWebhookCacheTTL:       2 * time.Minute,
		AuthorizationWebhookVersion:              "v1beta1",
		AuthorizationWebhookCacheAuthorizedTTL:   5 * time.Minute,
		AuthorizationWebhookCacheUnauthorizedTTL: 30 * time.Second,
		WatchCache:                               true,
		DeleteCollectionWorkers:                  1,
		EtcdCountMetricPollPeriod:                time.Minute,
		EtcdDBMetricPollInterval:                 30 * time.Second,
		EnableGarbageCollector:                   true,
		EventTTL:                                 time.Hour,
		LeaseReuse:                               60 * time.Second,
		Out:                                      os.Stdout,

		LoggingFormat: "text",

		AnonymousAuth:                       true,
		AuthorizationModes:                  []string{"RBAC"},
		ServiceClusterIPRange:               "10.96.0.0/12",
		ServiceNodePortRange:                "30000-32767",
		EndpointReconcilerType:              "lease",
		AggregatorRejectForwardingRedirect:  true,
		EnablePriorityAndFairness:           true,
		MaxRequestsInFlight:                 400,
		MaxMutatingRequestsInFlight:         200,
		RequestTimeout:                      60 * time.Second,
		MinRequestTimeout:                   1800 * time.Second,
		Profiling:                           true,
		Audit:                               audit.DefaultOptions(),
		ServiceAccountExtendTokenExpiration: true,
		ServiceAccountLookup:                true,
		Controllers:                         []string{"*"},
		LeaderElect:                         true,
		LeaderElection:                      DefaultLeaderElection(),
		ClusterSigningDuration:              365 * 24 * time.Hour,
		ResourceQuotaSyncPeriod:             5 * time.Minute,
	}
}

// RequestHeaderConfig is kube-apiserver's --requestheader-* flags.
type RequestHeaderConfig struct {
	ClientCAFile        string   // --requestheader-client-ca-file
	AllowedNames        []string // --requestheader-allowed-names
	UsernameHeaders     []string // --requestheader-username-headers
	UIDHeaders          []string // --requestheader-uid-headers
	GroupHeaders        []string // --requestheader-group-headers
	ExtraHeaderPrefixes []string // --requestheader-extra-headers-prefix
}

// KubeletClientConfig is kube-apiserver's --kubelet-* flags.
type KubeletClientConfig struct {
	CertificateAuthority  string        // --kubelet-certificate-authority
	ClientCertificate     string        // --kubelet-client-certificate
	ClientKey             string        // --kubelet-client-key
	PreferredAddressTypes []string      // --kubelet-preferred-address-types
	Timeout               time.Duration // --kubelet-timeout
}
