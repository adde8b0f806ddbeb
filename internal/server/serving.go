package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/klog/v2"
)

// CheckServing is kube-apiserver's validation of the secure-serving flags
// that take names or bounds, with kube's messages: --tls-min-version,
// --tls-cipher-suites (and the cipher HTTP/2 needs among them),
// --tls-curve-preferences, --goaway-chance,
// --strict-transport-security-directives, --cors-allowed-origins and the
// bounds of kube's ServerRunOptions. The command line checks them
// at once; Start checks them again for embedded configurations.
func CheckServing(cfg Config) error {
	var errs []error
	if _, err := tlsParameters(cfg); err != nil {
		errs = append(errs, err)
	}
	if cfg.GoawayChance < 0 || cfg.GoawayChance > 0.02 {
		errs = append(errs, errors.New("--goaway-chance can not be less than 0 or greater than 0.02"))
	}
	if err := checkHSTSDirectives(cfg.StrictTransportSecurityDirectives); err != nil {
		errs = append(errs, err)
	}
	// kube's ServerRunOptions.Validate.
	if cfg.LivezGracePeriod < 0 {
		errs = append(errs, errors.New("--livez-grace-period can not be a negative value"))
	}
	if cfg.MaxRequestsInFlight < 0 {
		errs = append(errs, errors.New("--max-requests-inflight can not be negative value"))
	}
	if cfg.MaxMutatingRequestsInFlight < 0 {
		errs = append(errs, errors.New("--max-mutating-requests-inflight can not be negative value"))
	}
	if cfg.RequestTimeout < 0 {
		errs = append(errs, errors.New("--request-timeout can not be negative value"))
	}
	if cfg.MinRequestTimeout < 0 {
		errs = append(errs, errors.New("--min-request-timeout can not be negative value"))
	}
	if err := checkCORSOrigins(cfg.CORSAllowedOrigins); err != nil {
		errs = append(errs, err)
	}
	if cfg.ShutdownDelayDuration < 0 {
		errs = append(errs, errors.New("--shutdown-delay-duration can not be negative value"))
	}
	if cfg.ShutdownWatchTerminationGracePeriod < 0 {
		errs = append(errs, errors.New("shutdown-watch-termination-grace-period, if provided, can not be a negative value"))
	}
	return utilerrors.NewAggregate(errs)
}

// corsHelp is kube's help for --cors-allowed-origins, in its errors.
const corsHelp = "List of allowed origins for CORS, comma separated. " +
	"An allowed origin can be a regular expression to support subdomain matching. " +
	"If this list is empty CORS will not be enabled. " +
	"Please ensure each expression matches the entire hostname by anchoring " +
	"to the start with '^' or including the '//' prefix, and by anchoring to the " +
	"end with '$' or including the ':' port separator suffix. " +
	"Examples of valid expressions are '//example\\.com(:|$)' and '^https://example\\.com(:|$)'"

// checkCORSOrigins is kube's validateCorsAllowedOriginList: each origin
// is a regular expression pinned to the start of the host ('^' or '//')
// and to its end ('$' or ':'), so that "example.com" cannot match
// "example.com.evil.org" (CVE-2022-1996).
func checkCORSOrigins(origins []string) error {
	var errs []error
	for _, o := range origins {
		if o == "" {
			errs = append(errs, fmt.Errorf("empty value in --cors-allowed-origins, help: %s", corsHelp))
			continue
		}
		_, err := regexp.Compile(o)
		pinStart := strings.Contains(o, "^") || strings.Contains(o, "//")
		pinEnd := strings.Contains(o, "$") || strings.Contains(o, ":")
		if err == nil && (!pinStart || !pinEnd) {
			err = errors.New("regular expression does not pin to start/end of host in the origin header")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("--cors-allowed-origins has an invalid regular expression: %v, help: %s", err, corsHelp))
		}
	}
	return utilerrors.NewAggregate(errs)
}

// checkHSTSDirectives is kube's validateHSTSDirectives: each directive is
// max-age=<seconds>, includeSubDomains or preload (RFC 6797 6.1).
func checkHSTSDirectives(directives []string) error {
	var errs []error
	for _, d := range directives {
		if strings.TrimSpace(d) == "" {
			errs = append(errs, errors.New("empty value in strict-transport-security-directives"))
			continue
		}
		if d == "includeSubDomains" || d == "preload" {
			continue
		}
		if parts := strings.Split(d, "="); len(parts) != 2 || parts[0] != "max-age" {
			errs = append(errs, errors.New("--strict-transport-security-directives invalid, allowed values: max-age=expireTime, includeSubDomains, preload. see https://tools.ietf.org/html/rfc6797#section-6.1 for more information"))
		}
	}
	return utilerrors.NewAggregate(errs)
}

// tlsParams are the flags' TLS settings in crypto/tls's terms.
type tlsParams struct {
	minVersion uint16
	suites     []uint16
	curves     []tls.CurveID
}

// tlsParameters reads the TLS flags as kube's SecureServingOptions.ApplyTo
// does (component-base's name tables), and refuses, as kube's
// http2.ConfigureServer at start, a TLS 1.2 cipher list without the
// cipher HTTP/2 requires while HTTP/2 is served.
func tlsParameters(cfg Config) (tlsParams, error) {
	var p tlsParams
	var err error
	if p.minVersion, err = cliflag.TLSVersion(cfg.TLSMinVersion); err != nil {
		return p, err
	}
	if p.suites, err = cliflag.TLSCipherSuites(cfg.TLSCipherSuites); err != nil {
		return p, err
	}
	if p.curves, err = cliflag.TLSCurvePreferences(cfg.TLSCurvePreferences); err != nil {
		return p, err
	}
	h2Required := func(id uint16) bool {
		return id == tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 || id == tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
	}
	if !cfg.DisableHTTP2Serving && p.suites != nil && p.minVersion < tls.VersionTLS13 && !slices.ContainsFunc(p.suites, h2Required) {
		return p, errors.New("error configuring http2: http2: TLSConfig.CipherSuites is missing an HTTP/2-required AES_128_GCM_SHA256 cipher (need at least one of TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 or TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)")
	}
	return p, nil
}

// insecureCiphers are the names of the suites among ids that crypto/tls
// calls insecure, for kube's start-up warning.
func insecureCiphers(ids []uint16) []string {
	var names []string
	all := cliflag.InsecureTLSCiphers()
	for _, id := range ids {
		for name, insecure := range all {
			if id == insecure {
				names = append(names, name)
			}
		}
	}
	return names
}

// newTLSConfig is kube's serving tls.Config (SecureServingInfo.tlsConfig):
// the flags' version, ciphers and curves; h2 and http/1.1 offered, or
// http/1.1 alone with --disable-http2-serving; the certificate chosen per
// handshake by certs (SNI, reloads). The handshake only asks for a client
// certificate; the x509 authenticator verifies it, so that a bad one is a
// 401 Status.
func newTLSConfig(cfg Config, certs *servingCerts) (*tls.Config, error) {
	p, err := tlsParameters(cfg)
	if err != nil {
		return nil, err
	}
	c := &tls.Config{
		MinVersion:       p.minVersion,
		CipherSuites:     p.suites,
		CurvePreferences: p.curves,
		GetCertificate:   certs.GetCertificate,
		ClientAuth:       tls.RequestClientCert,
		NextProtos:       []string{"h2", "http/1.1"},
	}
	if cfg.DisableHTTP2Serving {
		klog.Info("Forcing use of http/1.1 only")
		c.NextProtos = []string{"http/1.1"}
	}
	for _, name := range insecureCiphers(p.suites) {
		klog.Warningf("Use of insecure cipher '%s' detected.", name)
	}
	return c, nil
}

// serveProtocols are HTTP/1.1 and, unless --disable-http2-serving, HTTP/2.
func serveProtocols(cfg Config) *http.Protocols {
	p := &http.Protocols{}
	p.SetHTTP1(true)
	p.SetHTTP2(!cfg.DisableHTTP2Serving)
	return p
}

// http2Config is kube-apiserver's HTTP/2 server (secure_serving.go): at
// most --http2-max-streams-per-connection streams per connection (100
// when 0, the streams Go's clients assume before the server's settings
// arrive), frames and per-stream buffers of 256 KiB (room for 99% of API
// objects in one frame), and a connection buffer for every stream.
func http2Config(cfg Config) *http.HTTP2Config {
	const resourceBody99Percentile = 256 * 1024
	streams := cfg.HTTP2MaxStreamsPerConnection
	if streams <= 0 {
		streams = 100
	}
	return &http.HTTP2Config{
		MaxConcurrentStreams:          streams,
		MaxReadFrameSize:              resourceBody99Percentile,
		MaxReceiveBufferPerStream:     resourceBody99Percentile,
		MaxReceiveBufferPerConnection: resourceBody99Percentile * streams,
	}
}

// goawayChance is --goaway-chance when HTTP/2 is served (kube's filter
// applies only then), else 0.
func goawayChance(cfg Config) float64 {
	if cfg.DisableHTTP2Serving {
		return 0
	}
	return cfg.GoawayChance
}
