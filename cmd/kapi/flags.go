package main

import (
	goflag "flag"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/component-base/featuregate"
	"k8s.io/klog/v2"

	"kapi/internal/admission"
	"kapi/internal/features"
	"kapi/internal/metrics"
	"kapi/internal/router"
	"kapi/internal/server"
)

// configFlags registers on fs the flags kapi implements, under
// kube-apiserver's --help sections in kube's order (kapi's own last):
// each sets a field of cfg or proc. Flags whose value needs converting
// once parsed come back in the result. Every other kube flag is
// addKubeFlags' (no effect).
func configFlags(fs *pflag.FlagSet, cfg *server.Config, proc *process) *parsed {
	p := &parsed{}
	// Generic flags
	p.advertise = fs.IP("advertise-address", nil, "The IP address on which to advertise the apiserver to members of the cluster. If blank, the --bind-address will be used.")
	fs.StringVar(&cfg.ExternalHostname, "external-hostname", cfg.ExternalHostname, "The hostname to use when generating externalized URLs for this master (e.g. Swagger API Docs or OpenID Discovery).")
	fs.StringSliceVar(&cfg.CORSAllowedOrigins, "cors-allowed-origins", nil, "List of allowed origins for CORS, comma separated. An allowed origin can be a regular expression to support subdomain matching.")
	fs.IntVar(&cfg.MaxMutatingRequestsInFlight, "max-mutating-requests-inflight", cfg.MaxMutatingRequestsInFlight, "This and --max-requests-inflight are summed to determine the server's total concurrency limit (which must be positive) if --enable-priority-and-fairness is true. Otherwise, this flag limits the maximum number of mutating requests in flight, or a zero value disables the limit completely.")
	fs.IntVar(&cfg.MaxRequestsInFlight, "max-requests-inflight", cfg.MaxRequestsInFlight, "This and --max-mutating-requests-inflight are summed to determine the server's total concurrency limit (which must be positive) if --enable-priority-and-fairness is true. Otherwise, this flag limits the maximum number of non-mutating requests in flight, or a zero value disables the limit completely.")
	fs.BoolVar(&cfg.EnablePriorityAndFairness, "enable-priority-and-fairness", cfg.EnablePriorityAndFairness, "If true, replace the max-in-flight handler with an enhanced one that queues and dispatches with priority and fairness")
	p.minRequestTimeout = fs.Int("min-request-timeout", int(cfg.MinRequestTimeout/time.Second), "An optional field indicating the minimum number of seconds a handler must keep a request open before timing it out. Currently only honored by the watch request handler, which picks a randomized value above this number as the connection timeout, to spread out load.")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", cfg.RequestTimeout, "The duration a handler must keep a request open before timing it out (not for watches).")
	fs.DurationVar(&cfg.LivezGracePeriod, "livez-grace-period", cfg.LivezGracePeriod, "This option represents the maximum amount of time it should take for apiserver to complete its startup sequence and become live. From apiserver's start time to when this amount of time has elapsed, /livez will assume that unfinished post-start hooks will complete successfully and therefore return true.")
	fs.DurationVar(&cfg.ShutdownDelayDuration, "shutdown-delay-duration", cfg.ShutdownDelayDuration, "Time to delay the termination. During that time the server keeps serving requests normally. The endpoints /healthz and /livez will return success, but /readyz immediately returns failure. Graceful termination starts after this delay has elapsed. This can be used to allow load balancer to stop sending traffic to this server.")
	fs.BoolVar(&cfg.ShutdownSendRetryAfter, "shutdown-send-retry-after", cfg.ShutdownSendRetryAfter, "If true the HTTP Server will continue listening until all non long running request(s) in flight have been drained, during this window all incoming requests will be rejected with a status code 429 and a 'Retry-After' response header, in addition 'Connection: close' response header is set in order to tear down the TCP connection when idle.")
	fs.DurationVar(&cfg.ShutdownWatchTerminationGracePeriod, "shutdown-watch-termination-grace-period", cfg.ShutdownWatchTerminationGracePeriod, "This option, if set, represents the maximum amount of grace period the apiserver will wait for active watch request(s) to drain during the graceful server shutdown window.")
	fs.Float64Var(&cfg.GoawayChance, "goaway-chance", cfg.GoawayChance, "To prevent HTTP/2 clients from getting stuck on a single apiserver, randomly close a connection (GOAWAY). The client's other in-flight requests won't be affected, and the client will reconnect, likely landing on a different apiserver after going through the load balancer again. This argument sets the fraction of requests that will be sent a GOAWAY. Clusters with single apiservers, or which don't use a load balancer, should NOT enable this. Min is 0 (off), Max is .02 (1/50 requests); .001 (1/1000) is a recommended starting point.")
	p.gate, p.featureGates = features.New(), map[string][]string{}
	fs.Var(cliflag.NewColonSeparatedMultimapStringStringAllowDefaultEmptyKey(&p.featureGates), "feature-gates", features.Usage(p.gate))
	fs.StringSliceVar(&cfg.StrictTransportSecurityDirectives, "strict-transport-security-directives", nil, "List of directives for HSTS, comma separated. If this list is empty, then HSTS directives will not be added. Example: 'max-age=31536000,includeSubDomains,preload'")

	// Etcd flags
	fs.StringVar(&cfg.EtcdCAFile, "etcd-cafile", "", "SSL Certificate Authority file used to secure etcd communication.")
	fs.StringVar(&cfg.EtcdCertFile, "etcd-certfile", "", "SSL certification file used to secure etcd communication.")
	fs.StringVar(&cfg.EtcdKeyFile, "etcd-keyfile", "", "SSL key file used to secure etcd communication.")
	fs.StringVar(&cfg.EtcdPrefix, "etcd-prefix", cfg.EtcdPrefix, "The prefix to prepend to all resource paths in etcd.")
	fs.StringVar(&cfg.EncryptionProviderConfig, "encryption-provider-config", "", "The file containing configuration for encryption providers to be used for storing secrets in etcd")
	fs.BoolVar(&cfg.EncryptionProviderConfigAutomaticReload, "encryption-provider-config-automatic-reload", false, "Determines if the file set by --encryption-provider-config should be automatically reloaded if the disk contents change. Setting this to true disables the ability to uniquely identify distinct KMS plugins via the API server healthz endpoints.")
	fs.DurationVar(&cfg.EtcdHealthcheckTimeout, "etcd-healthcheck-timeout", cfg.EtcdHealthcheckTimeout, "The timeout to use when checking etcd health.")
	fs.DurationVar(&cfg.EtcdReadycheckTimeout, "etcd-readycheck-timeout", cfg.EtcdReadycheckTimeout, "The timeout to use when checking etcd readiness")
	fs.DurationVar(&cfg.EtcdCompactionInterval, "etcd-compaction-interval", cfg.EtcdCompactionInterval, "The interval of compaction requests. If 0, the compaction request from apiserver is disabled.")
	fs.StringSliceVar(&cfg.EtcdServers, "etcd-servers", nil, "List of etcd servers to connect with (scheme://ip:port), comma separated. When set, no embedded etcd is started.")
	fs.DurationVar(&cfg.EventTTL, "event-ttl", cfg.EventTTL, "Amount of time to retain events.")
	p.storageBackend = fs.String("storage-backend", "", "The storage backend for persistence. Options: 'etcd3' (default).")
	p.leaseReuse = fs.Int64("lease-reuse-duration-seconds", int64(cfg.LeaseReuse/time.Second), "The time in seconds that each lease is reused. A lower value could avoid large number of objects reusing the same lease. Notice that a too small value may cause performance problems at storage layer.")
	fs.DurationVar(&cfg.EtcdCountMetricPollPeriod, "etcd-count-metric-poll-period", cfg.EtcdCountMetricPollPeriod, "Frequency of polling etcd for number of resources per type. 0 disables the metric collection.")
	fs.DurationVar(&cfg.EtcdDBMetricPollInterval, "etcd-db-metric-poll-interval", cfg.EtcdDBMetricPollInterval, "The interval of requests to poll etcd and update metric. 0 disables the metric collection")
	fs.IntVar(&cfg.DeleteCollectionWorkers, "delete-collection-workers", cfg.DeleteCollectionWorkers, "Number of workers spawned for DeleteCollection call. These are used to speed up namespace cleanup.")
	fs.BoolVar(&cfg.EnableGarbageCollector, "enable-garbage-collector", cfg.EnableGarbageCollector, "Enables the generic garbage collector. MUST be synced with the corresponding flag of the kube-controller-manager.")
	fs.BoolVar(&cfg.WatchCache, "watch-cache", cfg.WatchCache, "Serve gets, lists and watches from an in-memory cache of each resource, kept current by one etcd watch.")
	fs.StringSliceVar(&cfg.EtcdServersOverrides, "etcd-servers-overrides", cfg.EtcdServersOverrides, "Per-resource etcd servers overrides, comma separated. The individual override format: group/resource#servers, where servers are URLs, semicolon separated. Note that this applies only to resources compiled into this server binary. e.g. \"/pods#http://etcd4:2379;http://etcd5:2379,/events#http://etcd6:2379\"")
	fs.StringVar(&cfg.StorageMediaType, "storage-media-type", "application/vnd.kubernetes.protobuf", "The media type to use to store objects in storage. Some resources or storage backends may only support a specific media type and will ignore this setting. Supported media types: [application/json, application/yaml, application/vnd.kubernetes.protobuf]")
	// Deprecated and a no-op in kube too: warned about as kube does.
	fs.Int("default-watch-cache-size", 100, "Default watch cache size. If zero, watch cache will be disabled for resources that do not have a default watch size set.")
	fs.Lookup("default-watch-cache-size").Hidden = true
	fs.StringSliceVar(&cfg.WatchCacheSizes, "watch-cache-sizes", cfg.WatchCacheSizes, "Watch cache size settings for some resources (pods, nodes, etc.), comma separated. The individual setting format: resource[.group]#size, where resource is lowercase plural (no version), group is omitted for resources of apiVersion v1 (the legacy core API) and included for others, and size is a number. This option is only meaningful for resources built into the apiserver, not ones defined by CRDs or aggregated from external servers, and is only consulted if the watch-cache is enabled. The only meaningful size setting to supply here is zero, which means to disable watch caching for the associated resource; all non-zero values are equivalent and mean to not disable watch caching for that resource")

	// Secure serving flags
	fs.Var(kubeString{&cfg.BindAddress, "ip"}, "bind-address", "The IP address on which to listen for the --secure-port port.")
	fs.StringVar(&cfg.CertDir, "cert-dir", "", "The directory where the TLS certs are located (apiserver.crt, apiserver.key). If --tls-cert-file and --tls-private-key-file are provided, this flag will be ignored. Without --data-dir, kapi keeps its data here too.")
	fs.IntVar(&cfg.SecurePort, "secure-port", cfg.SecurePort, "The port on which to serve HTTPS (0 picks a free port).")
	fs.StringVar(&cfg.TLSCertFile, "tls-cert-file", "", "File containing the default x509 certificate for HTTPS. If not set, one is generated in <data-dir>/pki.")
	fs.StringVar(&cfg.TLSPrivateKeyFile, "tls-private-key-file", "", "File containing the default x509 private key matching --tls-cert-file.")
	fs.BoolVar(&cfg.DisableHTTP2Serving, "disable-http2-serving", cfg.DisableHTTP2Serving, "If true, HTTP2 serving will be disabled [default=false]")
	fs.IntVar(&cfg.HTTP2MaxStreamsPerConnection, "http2-max-streams-per-connection", cfg.HTTP2MaxStreamsPerConnection, "The limit that the server gives to clients for the maximum number of streams in an HTTP/2 connection. Zero means to use golang's default.")
	fs.BoolVar(&cfg.PermitAddressSharing, "permit-address-sharing", cfg.PermitAddressSharing, "If true, SO_REUSEADDR will be used when binding the port. This allows binding to wildcard IPs like 0.0.0.0 and specific IPs in parallel, and it avoids waiting for the kernel to release sockets in TIME_WAIT state. [default=false]")
	fs.BoolVar(&cfg.PermitPortSharing, "permit-port-sharing", cfg.PermitPortSharing, "If true, SO_REUSEPORT will be used when binding the port, which allows more than one instance to bind on the same address and port. [default=false]")
	// kube's lists of names, from Go's crypto/tls as kube makes them
	fs.StringSliceVar(&cfg.TLSCipherSuites, "tls-cipher-suites", nil, "Comma-separated list of cipher suites for the server. If omitted, the default Go cipher suites will be used. \nPreferred values: "+strings.Join(cliflag.PreferredTLSCipherNames(), ", ")+". \nInsecure values: "+strings.Join(cliflag.InsecureTLSCipherNames(), ", ")+".")
	fs.Int32SliceVar(&cfg.TLSCurvePreferences, "tls-curve-preferences", nil, "Comma-separated list of numeric Go crypto/tls CurveID values, as the allowed key exchange mechanisms for the server. The supported values depend on the Go version used. See https://pkg.go.dev/crypto/tls#CurveID for values supported for each Go version. The order of the list is ignored, and key exchange mechanisms are chosen by Go from this list using an internal preference order. If omitted, the default Go curves will be used.")
	fs.StringVar(&cfg.TLSMinVersion, "tls-min-version", cfg.TLSMinVersion, "Minimum TLS version supported. Possible values: "+strings.Join(cliflag.TLSPossibleVersions(), ", "))
	fs.Var(cliflag.NewNamedCertKeyArray(&cfg.TLSSNICertKeys), "tls-sni-cert-key", "A pair of x509 certificate and private key file paths, optionally suffixed with a list of domain patterns which are fully qualified domain names, possibly with prefixed wildcard segments. The domain patterns also allow IP addresses, but IPs should only be used if the apiserver has visibility to the IP address requested by a client. If no domain patterns are provided, the names of the certificate are extracted. Non-wildcard matches trump over wildcard matches, explicit domain patterns trump over extracted names. For multiple key/certificate pairs, use the --tls-sni-cert-key multiple times. Examples: \"example.crt,example.key\" or \"foo.crt,foo.key:*.foo.com,foo.com\".")

	// Auditing flags
	cfg.Audit.AddFlags(fs)
	// kube's deprecated, hidden spelling of --audit-webhook-initial-backoff sets the same value
	fs.VarPF(fs.Lookup("audit-webhook-initial-backoff").Value, "audit-webhook-batch-initial-backoff", "", "").Hidden = true

	// Features flags
	fs.BoolVar(&cfg.Profiling, "profiling", cfg.Profiling, "Enable profiling via web interface host:port/debug/pprof/.")
	fs.BoolVar(&cfg.ContentionProfiling, "contention-profiling", cfg.ContentionProfiling, "Enable block profiling, if profiling is enabled")
	fs.StringVar(&cfg.DebugSocketPath, "debug-socket-path", cfg.DebugSocketPath, "Use an unprotected (no authn/authz) unix-domain socket for profiling with the given path")
	fs.BoolVar(&cfg.EnableLogsHandler, "enable-logs-handler", cfg.EnableLogsHandler, "If true, install a /logs handler for the apiserver logs.")

	// Authentication flags
	fs.BoolVar(&cfg.AnonymousAuth, "anonymous-auth", cfg.AnonymousAuth, "Enables anonymous requests to the secure port. Anonymous requests have a username of system:anonymous, and a group name of system:unauthenticated.")
	fs.StringSliceVar(&cfg.APIAudiences, "api-audiences", nil, "Identifiers of the API. Service account tokens must carry one of them. Defaults to the first --service-account-issuer.")
	fs.StringVar(&cfg.ClientCAFile, "client-ca-file", "", "Clients presenting a certificate signed by one of the authorities in this file are accepted, besides the kapi CA.")
	fs.StringArrayVar(&cfg.ServiceAccountIssuers, "service-account-issuer", nil, "Identifier of the service account token issuer; the first issues, all are accepted. Default "+server.DefaultIssuer+".")
	fs.StringArrayVar(&cfg.ServiceAccountKeyFiles, "service-account-key-file", nil, "File containing PEM-encoded public keys (or private keys, or certificates) to verify service account tokens. May be given several times. Defaults to the signing key.")
	fs.StringVar(&cfg.ServiceAccountJWKSURI, "service-account-jwks-uri", "", "Overrides the URI for the JSON Web Key Set in the discovery doc served at /.well-known/openid-configuration (default: /openid/v1/jwks at the advertised address).")
	fs.DurationVar(&cfg.ServiceAccountMaxTokenExpiration, "service-account-max-token-expiration", 0, "The maximum validity duration of a token created by the service account token issuer (0: no limit).")
	fs.BoolVar(&cfg.ServiceAccountExtendTokenExpiration, "service-account-extend-token-expiration", cfg.ServiceAccountExtendTokenExpiration, "Turns on projected service account expiration extension during token generation, which helps safe transition from legacy token to bound service account token feature. If this flag is enabled, admission injected tokens would be extended up to 1 year to prevent unexpected failure during transition, ignoring value of service-account-max-token-expiration.")
	fs.StringVar(&cfg.AuthenticationConfig, "authentication-config", "", "File with Authentication Configuration to configure the JWT Token authenticator or the anonymous authenticator. Note: This feature is in Alpha since v1.29.--feature-gate=StructuredAuthenticationConfiguration=true needs to be set for enabling this feature.This feature is mutually exclusive with the oidc-* flags.")
	fs.StringVar(&cfg.OIDC.IssuerURL, "oidc-issuer-url", "", "The URL of the OpenID issuer, only HTTPS scheme will be accepted. If set, it will be used to verify the OIDC JSON Web Token (JWT).")
	fs.StringVar(&cfg.OIDC.ClientID, "oidc-client-id", "", "The client ID for the OpenID Connect client, must be set if oidc-issuer-url is set.")
	fs.StringVar(&cfg.OIDC.CAFile, "oidc-ca-file", "", "If set, the OpenID server's certificate will be verified by one of the authorities in the oidc-ca-file, otherwise the host's root CA set will be used.")
	fs.StringVar(&cfg.OIDC.UsernameClaim, "oidc-username-claim", "sub", "The OpenID claim to use as the user name. Note that claims other than the default ('sub') is not guaranteed to be unique and immutable. This flag is experimental, please see the authentication documentation for further details.")
	fs.StringVar(&cfg.OIDC.UsernamePrefix, "oidc-username-prefix", "", "If provided, all usernames will be prefixed with this value. If not provided, username claims other than 'email' are prefixed by the issuer URL to avoid clashes. To skip any prefixing, provide the value '-'.")
	fs.StringVar(&cfg.OIDC.GroupsClaim, "oidc-groups-claim", "", "If provided, the name of a custom OpenID Connect claim for specifying user groups. The claim value is expected to be a string or array of strings. This flag is experimental, please see the authentication documentation for further details.")
	fs.StringVar(&cfg.OIDC.GroupsPrefix, "oidc-groups-prefix", "", "If provided, all groups will be prefixed with this value to prevent conflicts with other authentication strategies.")
	fs.Var(cliflag.NewMapStringStringNoSplit(&cfg.OIDC.RequiredClaims), "oidc-required-claim", "A key=value pair that describes a required claim in the ID Token. If set, the claim is verified to be present in the ID Token with a matching value. Repeat this flag to specify multiple claims.")
	fs.StringSliceVar(&cfg.OIDC.SigningAlgs, "oidc-signing-algs", []string{"RS256"}, "Comma-separated list of allowed JOSE asymmetric signing algorithms. JWTs with a supported 'alg' header values are: RS256, RS384, RS512, ES256, ES384, ES512, PS256, PS384, PS512. Values are defined by RFC 7518 https://tools.ietf.org/html/rfc7518#section-3.1.")
	fs.StringVar(&cfg.AuthenticationTokenWebhookConfigFile, "authentication-token-webhook-config-file", "", "File with webhook configuration for token authentication in kubeconfig format. The API server will query the remote service to determine authentication for bearer tokens.")
	fs.StringVar(&cfg.AuthenticationTokenWebhookVersion, "authentication-token-webhook-version", cfg.AuthenticationTokenWebhookVersion, "The API version of the authentication.k8s.io TokenReview to send to and expect from the webhook.")
	fs.DurationVar(&cfg.AuthenticationTokenWebhookCacheTTL, "authentication-token-webhook-cache-ttl", cfg.AuthenticationTokenWebhookCacheTTL, "The duration to cache responses from the webhook token authenticator.")
	fs.Int64Var(&cfg.MaxConnectionBytesPerSec, "max-connection-bytes-per-sec", 0, "If non-zero, throttle each user connection to this number of bytes/sec. Currently only applies to long-running requests.")
	fs.StringVar(&cfg.AuthorizationPolicyFile, "authorization-policy-file", "", "File with authorization policy in json line by line format, used with --authorization-mode=ABAC, on the secure port.")
	fs.StringVar(&cfg.AuthorizationWebhookConfigFile, "authorization-webhook-config-file", "", "File with webhook configuration in kubeconfig format, used with --authorization-mode=Webhook. The API server will query the remote service to determine access on the API server's secure port.")
	fs.StringVar(&cfg.AuthorizationWebhookVersion, "authorization-webhook-version", cfg.AuthorizationWebhookVersion, "The API version of the authorization.k8s.io SubjectAccessReview to send to and expect from the webhook.")
	fs.DurationVar(&cfg.AuthorizationWebhookCacheAuthorizedTTL, "authorization-webhook-cache-authorized-ttl", cfg.AuthorizationWebhookCacheAuthorizedTTL, "The duration to cache 'authorized' responses from the webhook authorizer.")
	fs.DurationVar(&cfg.AuthorizationWebhookCacheUnauthorizedTTL, "authorization-webhook-cache-unauthorized-ttl", cfg.AuthorizationWebhookCacheUnauthorizedTTL, "The duration to cache 'unauthorized' responses from the webhook authorizer.")
	fs.BoolVar(&cfg.EnableBootstrapTokenAuth, "enable-bootstrap-token-auth", false, "Enable to allow secrets of type 'bootstrap.kubernetes.io/token' in the 'kube-system' namespace to be used for TLS bootstrapping authentication.")
	fs.StringVar(&cfg.TokenAuthFile, "token-auth-file", "", "If set, the file that will be used to secure the secure port of the API server via token authentication (CSV: token,user,uid,\"group1,group2\").")

	fs.StringVar(&cfg.RequestHeader.ClientCAFile, "requestheader-client-ca-file", "", "Root certificate bundle to use to verify client certificates on incoming requests before trusting usernames in headers specified by --requestheader-username-headers. WARNING: generally do not depend on authorization being already done for incoming requests.")
	fs.StringSliceVar(&cfg.RequestHeader.AllowedNames, "requestheader-allowed-names", nil, "List of client certificate common names to allow to provide usernames in headers specified by --requestheader-username-headers. If empty, any client certificate validated by the authorities in --requestheader-client-ca-file is allowed.")
	fs.StringSliceVar(&cfg.RequestHeader.UsernameHeaders, "requestheader-username-headers", nil, "List of request headers to inspect for usernames. X-Remote-User is common.")
	fs.StringSliceVar(&cfg.RequestHeader.UIDHeaders, "requestheader-uid-headers", nil, "List of request headers to inspect for UIDs. X-Remote-Uid is suggested. Requires the RemoteRequestHeaderUID feature to be enabled.")
	fs.StringSliceVar(&cfg.RequestHeader.GroupHeaders, "requestheader-group-headers", nil, "List of request headers to inspect for groups. X-Remote-Group is suggested.")
	fs.StringSliceVar(&cfg.RequestHeader.ExtraHeaderPrefixes, "requestheader-extra-headers-prefix", nil, "List of request header prefixes to inspect. X-Remote-Extra- is suggested.")

	// Authorization flags
	fs.StringSliceVar(&cfg.AuthorizationModes, "authorization-mode", cfg.AuthorizationModes, "Ordered list of plug-ins to do authorization on secure port. Defaults to RBAC if --authorization-config is not used. Comma-delimited list of: AlwaysAllow,AlwaysDeny,Webhook,RBAC,Node.")
	fs.StringVar(&cfg.AuthorizationConfig, "authorization-config", "", "File with Authorization Configuration to configure the authorizer chain. This flag is mutually exclusive with the other --authorization-mode and --authorization-webhook-* flags.")

	// Admission flags
	p.admissionControl = fs.StringSlice("admission-control", nil, admissionControlUsage+" Comma-delimited list of: "+strings.Join(admission.Ordered, ", ")+". (DEPRECATED: Use --enable-admission-plugins or --disable-admission-plugins instead. Will be removed in a future version.)")
	fs.StringVar(&cfg.AdmissionControlConfigFile, "admission-control-config-file", "", "File with admission control configuration (an apiserver.config.k8s.io/v1 AdmissionConfiguration).")
	fs.StringSliceVar(&cfg.DisableAdmissionPlugins, "disable-admission-plugins", nil, "admission plugins that should be disabled although they are in the default enabled plugins list. Comma-delimited list of admission plugins: "+strings.Join(admission.Ordered, ", ")+". The order of plugins in this flag does not matter.")
	fs.StringSliceVar(&cfg.EnableAdmissionPlugins, "enable-admission-plugins", nil, "admission plugins that should be enabled in addition to default enabled ones ("+strings.Join(admission.DefaultOn, ", ")+"). Comma-delimited list of admission plugins: "+strings.Join(admission.Ordered, ", ")+". The order of plugins in this flag does not matter.")

	// Logs flags
	klogFlags := goflag.NewFlagSet("klog", goflag.ContinueOnError)
	klog.InitFlags(klogFlags)
	for _, name := range []string{"v", "vmodule"} {
		fs.AddGoFlag(klogFlags.Lookup(name))
	}
	fs.Lookup("v").Usage = "number for the log level verbosity"
	fs.Lookup("vmodule").Usage = "comma-separated list of pattern=N settings for file-filtered logging (only works for text log format)"
	fs.Lookup("vmodule").Value = typed{fs.Lookup("vmodule").Value, "pattern=N,..."}
	fs.DurationVar(&proc.logFlush, "log-flush-frequency", 5*time.Second, "Maximum number of seconds between log flushes")
	fs.StringVar(&proc.showHiddenMetrics, "show-hidden-metrics-for-version", "", "The previous version for which you want to show hidden metrics. Only the previous minor version is meaningful, other values will not be allowed. The format is <major>.<minor>, e.g.: '1.16'. The purpose of this format is make sure you have the opportunity to notice if the next release hides additional metrics, rather than being surprised when they are permanently removed in the release after that.")
	fs.StringSliceVar(&proc.disabledMetrics, "disabled-metrics", nil, "This flag provides an escape hatch for misbehaving metrics. You must provide the fully qualified metric name in order to disable it. Disclaimer: disabling metrics is higher in precedence than showing hidden metrics.")
	fs.StringVar(&cfg.LoggingFormat, "logging-format", cfg.LoggingFormat, `Sets the log format. Permitted formats: "json", "text".`)

	// Traces flags
	fs.StringVar(&cfg.TracingConfigFile, "tracing-config-file", "", "File with apiserver tracing configuration.")

	// Misc flags
	fs.BoolVar(&cfg.AllowPrivileged, "allow-privileged", cfg.AllowPrivileged, "If true, allow privileged containers. [default=false]")
	fs.StringVar(&cfg.ProxyClientCertFile, "proxy-client-cert-file", "", "Client certificate used to prove the identity of the aggregator or kube-apiserver when it must call out during a request. This includes proxying requests to a user api-server and calling out to webhook admission plugins. It is expected that this cert includes a signature from the CA in the --requestheader-client-ca-file flag. That CA is published in the 'extension-apiserver-authentication' configmap in the kube-system namespace. Components receiving calls from kube-aggregator should use that CA to perform their half of the mutual TLS verification.")
	fs.StringVar(&cfg.ProxyClientKeyFile, "proxy-client-key-file", "", "Private key for the client certificate used to prove the identity of the aggregator or kube-apiserver when it must call out during a request. This includes proxying requests to a user api-server and calling out to webhook admission plugins.")
	fs.StringVar(&cfg.Kubelet.CertificateAuthority, "kubelet-certificate-authority", "", "Path to a cert file for the certificate authority.")
	fs.StringVar(&cfg.Kubelet.ClientCertificate, "kubelet-client-certificate", "", "Path to a client cert file for TLS.")
	fs.StringVar(&cfg.Kubelet.ClientKey, "kubelet-client-key", "", "Path to a client key file for TLS.")
	fs.StringSliceVar(&cfg.Kubelet.PreferredAddressTypes, "kubelet-preferred-address-types", []string{"Hostname", "InternalDNS", "InternalIP", "ExternalDNS", "ExternalIP"}, "List of the preferred NodeAddressTypes to use for kubelet connections.")
	fs.DurationVar(&cfg.Kubelet.Timeout, "kubelet-timeout", 5*time.Second, "Timeout for kubelet operations.")
	fs.BoolVar(&cfg.ServiceAccountLookup, "service-account-lookup", cfg.ServiceAccountLookup, "If true, validate ServiceAccount tokens exist in etcd as part of authentication.")
	fs.StringVar(&cfg.ServiceAccountSigningEndpoint, "service-account-signing-endpoint", "", "Path to socket where a external JWT signer is listening. This flag is mutually exclusive with --service-account-signing-key-file and --service-account-key-file. Requires enabling feature gate (ExternalServiceAccountTokenSigner)")
	fs.StringVar(&cfg.ServiceAccountSigningKeyFile, "service-account-signing-key-file", "", "Path to the file that contains the current private key of the service account token issuer. Defaults to <data-dir>/pki/sa.key, generated on first start.")
	fs.StringVar(&cfg.ServiceClusterIPRange, "service-cluster-ip-range", cfg.ServiceClusterIPRange, "A CIDR notation IP range from which to assign service cluster IPs. The first address goes to the kubernetes Service.")
	fs.BoolVar(&cfg.AggregatorRejectForwardingRedirect, "aggregator-reject-forwarding-redirect", cfg.AggregatorRejectForwardingRedirect, "Aggregator reject forwarding redirect response back to client.")
	fs.IntVar(&cfg.KubernetesServiceNodePort, "kubernetes-service-node-port", cfg.KubernetesServiceNodePort, "If non-zero, the Kubernetes master service (which apiserver creates/maintains) will be of type NodePort, using this as the value of the port. If zero, the Kubernetes master service will be of type ClusterIP.")
	fs.StringVar(&cfg.EndpointReconcilerType, "endpoint-reconciler-type", cfg.EndpointReconcilerType, "Use an endpoint reconciler (master-count, lease, none) master-count is deprecated, and will be removed in a future version.")
	fs.Var(kubeString{&cfg.ServiceNodePortRange, "portRange"}, "service-node-port-range", "A port range to reserve for services with NodePort visibility, e.g. '30000-32767'. Inclusive at both ends of the range.")

	// Global flags
	fs.Var(&proc.version, "version", "--version, --version=raw prints version information and quits; --version=vX.Y.Z... sets the reported version")
	fs.Lookup("version").NoOptDefVal = "true"

	// kapi's own flags (kube-apiserver has none of them)
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "Folder for the embedded etcd, the certificates and the admin kubeconfig.")
	fs.DurationVar(&cfg.EtcdSnapshotInterval, "etcd-snapshot-interval", 0, "How often to save a snapshot of etcd (0: never); `kapi etcd-snapshot save` saves one at once.")
	fs.StringVar(&cfg.EtcdSnapshotDir, "etcd-snapshot-dir", "", "Folder of the scheduled etcd snapshots. Defaults to <data-dir>/snapshots.")
	fs.IntVar(&cfg.EtcdSnapshotRetention, "etcd-snapshot-retention", cfg.EtcdSnapshotRetention, "How many scheduled etcd snapshots to keep (0: all).")
	fs.StringVar(&cfg.APIServerID, "apiserver-identity", "", "The server's identity: the name of its identity Lease in kube-system, and the id its spans, KMS plugins and reload metrics see. Defaults to kube-apiserver's, apiserver-<a hash of the host's name>; replicas on one host need identities of their own.")
	fs.StringVar(&cfg.Token, "token", "", "The cluster's join token: replicas on one etcd (--etcd-servers) started with the same token share the CA, the service-account key and the front-proxy CA, which the first replica keeps in etcd sealed with the token.")
	fs.BoolVar(&cfg.ProxyAllowLoopback, "proxy-allow-loopback", false, "Accept loopback and link-local addresses as the endpoints of services reached by admission and conversion webhooks and the proxy (for local development; off by default, as kube-apiserver refuses them).")
	fs.StringSliceVar(&cfg.Controllers, "controllers", cfg.Controllers, "A list of controllers to enable. '*' enables all on-by-default controllers, 'foo' enables the controller named 'foo', '-foo' disables the controller named 'foo'. All controllers: "+strings.Join(server.ControllerNames(), ", ")+".")
	fs.BoolVar(&cfg.LeaderElect, "leader-elect", cfg.LeaderElect, "Start a leader election client and gain leadership before executing the main loop. Enable this when running replicated components for high availability.")
	fs.DurationVar(&cfg.LeaderElection.LeaseDuration, "leader-elect-lease-duration", cfg.LeaderElection.LeaseDuration, "The duration that non-leader candidates will wait after observing a leadership renewal until attempting to acquire leadership of a led but unrenewed leader slot.")
	fs.DurationVar(&cfg.LeaderElection.RenewDeadline, "leader-elect-renew-deadline", cfg.LeaderElection.RenewDeadline, "The interval between attempts by the acting master to renew a leadership slot before it stops leading. This must be less than the lease duration.")
	fs.DurationVar(&cfg.LeaderElection.RetryPeriod, "leader-elect-retry-period", cfg.LeaderElection.RetryPeriod, "The duration the clients should wait between attempting acquisition and renewal of a leadership.")
	fs.StringVar(&cfg.LeaderElection.ResourceName, "leader-elect-resource-name", cfg.LeaderElection.ResourceName, "The name of resource object that is used for locking during leader election.")
	fs.StringVar(&cfg.LeaderElection.ResourceNamespace, "leader-elect-resource-namespace", cfg.LeaderElection.ResourceNamespace, "The namespace of resource object that is used for locking during leader election.")
	fs.DurationVar(&cfg.ClusterSigningDuration, "cluster-signing-duration", cfg.ClusterSigningDuration, "The max length of duration signed certificates will be given. Individual CSRs may request shorter certs by setting spec.expirationSeconds.")
	fs.DurationVar(&cfg.ResourceQuotaSyncPeriod, "resource-quota-sync-period", cfg.ResourceQuotaSyncPeriod, "The period for syncing quota usage status in the system.")
	return p
}

// parsed are the flags read into a value of their own, converted into
// the Config after parsing.
type parsed struct {
	advertise         *net.IP   // --advertise-address: kube's ip, a string in the Config
	minRequestTimeout *int      // --min-request-timeout: kube's seconds, a Duration in the Config
	leaseReuse        *int64    // --lease-reuse-duration-seconds: the same
	storageBackend    *string   // --storage-backend: etcd3, the only one, as kube's
	admissionControl  *[]string // --admission-control: applied over the two plugin lists
	// --feature-gates, by component: set on gate (kube's gates, whose
	// help the flag shows) once parsed, as kube's
	// ComponentGlobalsRegistry.Set does.
	featureGates map[string][]string
	gate         featuregate.MutableVersionedFeatureGate
}

// process is what the command line says to the process itself.
type process struct {
	version  versionFlag   // --version
	logFlush time.Duration // --log-flush-frequency: klog's flush daemon, as kube starts it
	// --show-hidden-metrics-for-version and --disabled-metrics: what
	// /metrics leaves out (the process's registry, as kube's).
	showHiddenMetrics string
	disabledMetrics   []string
}

// applyMetrics applies the metrics flags to the process's registry.
func (p process) applyMetrics() {
	if p.showHiddenMetrics != "" {
		metrics.ShowHidden()
	}
	metrics.Disable(p.disabledMetrics)
}

// checkShowHidden is kube's validation of --show-hidden-metrics-for-version:
// empty, or the minor before the served one.
func checkShowHidden(v string) error {
	if v == "" {
		return nil
	}
	minor, _ := strconv.Atoi(router.Version.Minor)
	if want := fmt.Sprintf("%s.%d", router.Version.Major, minor-1); v != want {
		return fmt.Errorf("invalid showHiddenMetricsForVersion: showHiddenMetricsForVersion: Invalid value: %q: must be omitted or have the value '%s'; only the previous minor version is allowed", v, want)
	}
	return nil
}

// typed shows a flag's value under kube's type name in --help (klog's
// --vmodule is a moduleSpec to pflag, "pattern=N,..." in kube's help).
type typed struct {
	pflag.Value
	name string
}

func (t typed) Type() string { return t.name }
