package main

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"slices"
	"testing"

	"github.com/spf13/pflag"
	cliflag "k8s.io/component-base/cli/flag"

	"kapi/internal/server"
)

// servingFlags are kube's secure-serving flags kapi implements (with
// --goaway-chance and --strict-transport-security-directives, kube's
// generic ones about serving).
var servingFlags = []string{"tls-min-version", "tls-cipher-suites", "tls-curve-preferences", "tls-sni-cert-key",
	"disable-http2-serving", "http2-max-streams-per-connection", "permit-port-sharing", "permit-address-sharing",
	"strict-transport-security-directives", "goaway-chance"}

// TestServingFlagsSetConfig: the serving flags land in the Config as
// kube reads them (the SNI pairs with kube's NamedCertKey syntax, one per
// flag), without a warning.
func TestServingFlagsSetConfig(t *testing.T) {
	var warned []string
	cfg, _, err := parseFlags("kube-apiserver", []string{
		"--tls-min-version=VersionTLS13", "--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_RSA_WITH_AES_128_CBC_SHA",
		"--tls-curve-preferences=29,23", "--tls-sni-cert-key=a.crt,a.key", "--tls-sni-cert-key=b.crt,b.key:*.b.example,b.example",
		"--disable-http2-serving", "--http2-max-streams-per-connection=42", "--permit-port-sharing", "--permit-address-sharing",
		"--strict-transport-security-directives=max-age=31536000,includeSubDomains,preload", "--goaway-chance=0.02",
	}, &bytes.Buffer{}, func(f string, a ...any) { warned = append(warned, fmt.Sprintf(f, a...)) })
	if err != nil || len(warned) != 0 {
		t.Fatalf("warnings %q, %v", warned, err)
	}
	want, _, err := parseFlags("kube-apiserver", nil, &bytes.Buffer{}, func(string, ...any) {})
	if err != nil {
		t.Fatal(err)
	}
	want.TLSMinVersion = "VersionTLS13"
	want.TLSCipherSuites = []string{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_128_CBC_SHA"}
	want.TLSCurvePreferences = []int32{29, 23}
	want.TLSSNICertKeys = []cliflag.NamedCertKey{{CertFile: "a.crt", KeyFile: "a.key"},
		{CertFile: "b.crt", KeyFile: "b.key", Names: []string{"*.b.example", "b.example"}}}
	want.DisableHTTP2Serving, want.HTTP2MaxStreamsPerConnection = true, 42
	want.PermitPortSharing, want.PermitAddressSharing = true, true
	want.StrictTransportSecurityDirectives = []string{"max-age=31536000", "includeSubDomains", "preload"}
	want.GoawayChance = 0.02
	got := cfg
	got.Flagz, want.Flagz = nil, nil
	got.FeatureGates, want.FeatureGates = nil, nil // two gates, each with its own state
	if !reflect.DeepEqual(got, want) {
		t.Errorf("config\n got %+v\nwant %+v", got, want)
	}
}

// TestServingFlagsAsKube: each serving flag has kube's type, default and
// usage text, without the no-effect note.
func TestServingFlagsAsKube(t *testing.T) {
	fs := pflag.NewFlagSet("kube-apiserver", pflag.ContinueOnError)
	cfg := server.Defaults()
	configFlags(fs, &cfg, &process{})
	kube := map[string]bool{}
	for _, k := range allKubeFlags() {
		kube[k.Name] = true
		f := fs.Lookup(k.Name)
		if f == nil || !slices.Contains(servingFlags, k.Name) {
			continue
		}
		if f.Usage != k.Usage || f.Value.Type() != k.Type || f.DefValue != k.Default {
			t.Errorf("--%s: %s %q %q; kube's %s %q %q", k.Name, f.Value.Type(), f.DefValue, f.Usage, k.Type, k.Default, k.Usage)
		}
	}
	for _, name := range servingFlags {
		if !kube[name] || fs.Lookup(name) == nil {
			t.Errorf("--%s: not defined by kapi, or not kube's", name)
		}
	}
}

// TestServingFlagErrors: values kube-apiserver refuses, with its messages.
func TestServingFlagErrors(t *testing.T) {
	for arg, want := range map[string]string{
		"--tls-min-version=VersionTLS14":                              `unknown tls version "VersionTLS14"`,
		"--tls-cipher-suites=TLS_NO_SUCH_CIPHER":                      "Cipher suite TLS_NO_SUCH_CIPHER not supported or doesn't exist",
		"--tls-curve-preferences=29,29":                               "duplicate curve preference 29",
		"--tls-curve-preferences=70000":                               "curve preference 70000 is out of range (must be 1-65535)",
		"--goaway-chance=0.021":                                       "--goaway-chance can not be less than 0 or greater than 0.02",
		"--strict-transport-security-directives=foo":                  "--strict-transport-security-directives invalid, allowed values: max-age=expireTime, includeSubDomains, preload. see https://tools.ietf.org/html/rfc6797#section-6.1 for more information",
		"--tls-cipher-suites=TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "error configuring http2: http2: TLSConfig.CipherSuites is missing an HTTP/2-required AES_128_GCM_SHA256 cipher (need at least one of TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 or TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)",
	} {
		_, _, err := parseFlags("kube-apiserver", []string{arg}, io.Discard, func(string, ...any) {})
		if err == nil || err.Error() != want {
			t.Errorf("%s: %v; want %q", arg, err, want)
		}
	}
	// Without HTTP/2, or with TLS 1.3 only, any cipher list goes.
	for _, args := range [][]string{{"--tls-cipher-suites=TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "--disable-http2-serving"},
		{"--tls-cipher-suites=TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "--tls-min-version=VersionTLS13"}} {
		if _, _, err := parseFlags("kube-apiserver", args, io.Discard, func(string, ...any) {}); err != nil {
			t.Errorf("%q: %v", args, err)
		}
	}
}
