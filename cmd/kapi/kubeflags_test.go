package main

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"kapi/internal/admission"
	"kapi/internal/kubeflags"
	"kapi/internal/router"
)

// plausible is a value kube-apiserver would take for a flag of its type.
func plausible(f kubeflags.Flag) string {
	special := map[string]string{
		"tls-cert-file": "", "tls-private-key-file": "", "logging-format": "text", "authorization-mode": "RBAC",
		"enable-admission-plugins": "NodeRestriction", "disable-admission-plugins": "ServiceAccount",
		"admission-control": "NamespaceLifecycle", "service-node-port-range": "30000-32767",
		"service-cluster-ip-range": "10.96.0.0/12", "secure-port": "6443", "bind-address": "127.0.0.1",
		"show-hidden-metrics-for-version": "1.36", "goaway-chance": "0.01", "tls-min-version": "VersionTLS12",
		"tls-cipher-suites": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "strict-transport-security-directives": "max-age=31536000",
		"storage-backend": "etcd3", "kubernetes-service-node-port": "30443", "endpoint-reconciler-type": "none",
		"cors-allowed-origins": `//example\.com(:|$)`,
	}
	if v, ok := special[f.Name]; ok {
		return v
	}
	switch f.Type {
	case "bool":
		return "true"
	case "int", "int32", "int64", "uint", "Level":
		return "2"
	case "float", "float32", "float64":
		return "0.5"
	case "duration":
		return "5s"
	case "ip":
		return "127.0.0.1"
	case "mapStringString", "stringToString":
		return "a=b"
	case "mapStringBool":
		return "api/all=true"
	case "colonSeparatedMultimapStringString":
		return "kube:AllAlpha=false"
	case "moduleSpec", "pattern=N,...":
		return "server=2"
	case "namedCertKey":
		return "a.crt,a.key"
	case "portRange":
		return "30000-32767"
	case "int32Slice":
		return "23,29"
	case "quantity":
		return "64Ki"
	}
	return "value"
}

// TestEveryKubeFlagParses: each of kube-apiserver's flags, given a
// plausible value, parses; the ones kapi does not implement warn once
// each, the ones it implements not at all.
func TestEveryKubeFlagParses(t *testing.T) {
	n := 0
	for _, f := range allKubeFlags() {
		if f.Name == "help" || f.Name == "version" {
			continue
		}
		n++
		var warned []string
		warn := func(format string, args ...any) { warned = append(warned, fmt.Sprintf(format, args...)) }
		arg := "--" + f.Name + "=" + plausible(f)
		if _, _, err := parseFlags("kube-apiserver", []string{arg}, &bytes.Buffer{}, warn); err != nil {
			t.Errorf("%s (%s): %v", arg, f.Type, err)
			continue
		}
		implemented := slices.Contains(implementedForTest, f.Name)
		warned = slices.DeleteFunc(warned, func(w string) bool { return strings.HasPrefix(w, "Flag --"+f.Name+" has been deprecated,") })
		switch {
		case implemented && len(warned) != 0:
			t.Errorf("%s: kapi implements it, yet warned %q", arg, warned)
		case !implemented && (len(warned) != 1 || !strings.Contains(warned[0], "--"+f.Name+" has no effect in kapi")):
			t.Errorf("%s: want one warning that it has no effect, got %q", arg, warned)
		}
	}
	if n < 150 {
		t.Fatalf("only %d kube flags listed", n)
	}
}

// allKubeFlags are kube-apiserver's flags, those its help shows and the
// hidden ones.
func allKubeFlags() []kubeflags.Flag {
	var all []kubeflags.Flag
	for _, s := range kubeflags.Sections {
		all = append(all, s.Flags...)
	}
	return append(all, kubeflags.Hidden...)
}

// implementedForTest are the kube-apiserver flags kapi implements.
var implementedForTest = []string{
	"advertise-address", "cors-allowed-origins", "enable-priority-and-fairness", "max-mutating-requests-inflight", "max-requests-inflight",
	"min-request-timeout", "request-timeout", "etcd-cafile", "etcd-certfile", "etcd-keyfile", "etcd-prefix", "etcd-compaction-interval", "encryption-provider-config", "encryption-provider-config-automatic-reload", "authentication-config", "oidc-issuer-url", "oidc-client-id", "oidc-ca-file", "oidc-username-claim", "oidc-username-prefix", "oidc-groups-claim", "oidc-groups-prefix", "oidc-required-claim", "oidc-signing-algs", "authentication-token-webhook-config-file", "authentication-token-webhook-version", "authentication-token-webhook-cache-ttl", "authorization-webhook-config-file", "authorization-webhook-version", "authorization-webhook-cache-authorized-ttl", "authorization-webhook-cache-unauthorized-ttl", "authorization-config",
	"etcd-servers", "watch-cache", "bind-address", "cert-dir", "secure-port", "tls-cert-file", "tls-private-key-file",
	"profiling", "anonymous-auth", "api-audiences", "client-ca-file", "service-account-issuer", "service-account-key-file",
	"service-account-max-token-expiration", "service-account-extend-token-expiration", "service-account-jwks-uri", "token-auth-file", "enable-bootstrap-token-auth", "authorization-mode", "admission-control", "admission-control-config-file",
	"disable-admission-plugins", "enable-admission-plugins", "logging-format", "v", "vmodule", "log-flush-frequency", "tracing-config-file",
	"proxy-allow-loopback", "service-account-signing-key-file", "service-cluster-ip-range", "service-node-port-range",
	"audit-log-batch-buffer-size", "audit-log-compress", "audit-log-format", "audit-log-maxage", "audit-log-maxbackup",
	"audit-log-maxsize", "audit-log-path", "audit-policy-file", "audit-webhook-batch-buffer-size",
	"audit-webhook-batch-max-size", "audit-webhook-batch-max-wait", "audit-webhook-batch-throttle-burst",
	"audit-webhook-batch-throttle-enable", "audit-webhook-batch-throttle-qps", "audit-webhook-config-file",
	"audit-webhook-initial-backoff", "audit-webhook-batch-initial-backoff",
	"requestheader-client-ca-file", "requestheader-allowed-names", "requestheader-username-headers",
	"requestheader-uid-headers", "requestheader-group-headers", "requestheader-extra-headers-prefix",
	"proxy-client-cert-file", "proxy-client-key-file", "kubelet-certificate-authority", "kubelet-client-certificate",
	"kubelet-client-key", "kubelet-preferred-address-types", "kubelet-timeout", "allow-privileged",
	"event-ttl", "lease-reuse-duration-seconds", "show-hidden-metrics-for-version", "disabled-metrics",
	"tls-min-version", "tls-cipher-suites", "tls-curve-preferences", "tls-sni-cert-key", "disable-http2-serving",
	"http2-max-streams-per-connection", "permit-port-sharing", "permit-address-sharing",
	"strict-transport-security-directives", "goaway-chance", "shutdown-delay-duration", "shutdown-send-retry-after",
	"shutdown-watch-termination-grace-period", "watch-cache-sizes", "external-hostname", "livez-grace-period", "storage-media-type", "etcd-servers-overrides",
	"audit-log-truncate-enabled", "audit-log-truncate-max-batch-size", "audit-log-truncate-max-event-size", "audit-log-version",
	"audit-webhook-truncate-enabled", "audit-webhook-truncate-max-batch-size", "audit-webhook-truncate-max-event-size", "audit-webhook-version",
	"audit-log-mode", "audit-webhook-mode", "feature-gates", "enable-logs-handler",
	"contention-profiling", "debug-socket-path", "service-account-lookup", "storage-backend",
	"etcd-healthcheck-timeout", "etcd-readycheck-timeout", "kubernetes-service-node-port", "endpoint-reconciler-type",
	"aggregator-reject-forwarding-redirect", "delete-collection-workers", "enable-garbage-collector",
	"etcd-count-metric-poll-period", "etcd-db-metric-poll-interval", "service-account-signing-endpoint",
	"authorization-policy-file", "max-connection-bytes-per-sec", "default-watch-cache-size",
	"audit-log-batch-max-size", "audit-log-batch-max-wait", "audit-log-batch-throttle-enable", "audit-log-batch-throttle-qps", "audit-log-batch-throttle-burst",
}

// TestBadKubeValues: a value that is not of the flag's kube type fails,
// as in kube-apiserver, for implemented and no-effect flags alike.
func TestBadKubeValues(t *testing.T) {
	for _, arg := range []string{"--kubelet-timeout=soon", "--min-request-timeout=30s", "--apiserver-count=two",
		"--enable-aggregator-routing=maybe", "--advertise-address=not-an-ip", "--no-such-flag=1",
		"--bind-address=localhost", "--tls-sni-cert-key=only-a-cert", "--tls-curve-preferences=x25519",
		"--log-json-info-buffer-size=lots", "--allow-metric-labels=", "--feature-gates=AllAlpha=maybe", "--feature-gates=kube:AllAlpha",
		"--oidc-required-claim=aud", "--show-hidden-metrics-for-version=1.35", "--show-hidden-metrics-for-version=1.37", `--kubelet-preferred-address-types=Internal"IP`, "--service-node-port-range=abc", "--service-node-port-range=32767-30000",
		"--tls-min-version=VersionTLS14", "--tls-cipher-suites=TLS_NO_SUCH_CIPHER", "--tls-curve-preferences=0", "--tls-curve-preferences=29,29",
		"--tls-curve-preferences=7", "--tls-cipher-suites=TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "--tls-sni-cert-key=a.crt,a.key:",
		"--goaway-chance=0.03", "--goaway-chance=-0.01", "--goaway-chance=often", "--http2-max-streams-per-connection=many",
		"--strict-transport-security-directives=max-age", "--strict-transport-security-directives=min-age=5",
		"--strict-transport-security-directives=max-age=5,,preload", "--disable-http2-serving=maybe"} {
		if _, _, err := parseFlags("kube-apiserver", []string{arg}, &bytes.Buffer{}, func(string, ...any) {}); err == nil {
			t.Errorf("%s: no error", arg)
		}
	}
}

// TestAuthorizationModes: the modes stay, in order, ABAC among them,
// with its policy file. --authorization-config refuses the mode and
// webhook flags beside it, with kube's message.
func TestAuthorizationModes(t *testing.T) {
	var warned []string
	cfg, _, err := parseFlags("kube-apiserver", []string{"--authorization-mode=Node,ABAC,RBAC", "--authorization-policy-file=/p.jsonl"}, &bytes.Buffer{},
		func(f string, a ...any) { warned = append(warned, fmt.Sprintf(f, a...)) })
	if err != nil || !slices.Equal(cfg.AuthorizationModes, []string{"Node", "ABAC", "RBAC"}) || cfg.AuthorizationPolicyFile != "/p.jsonl" || len(warned) != 0 {
		t.Fatalf("modes %v, policy file %q, warnings %q, %v", cfg.AuthorizationModes, cfg.AuthorizationPolicyFile, warned, err)
	}
	for _, flag := range []string{"--authorization-mode=RBAC", "--authorization-webhook-config-file=/x", "--authorization-webhook-version=v1",
		"--authorization-webhook-cache-authorized-ttl=1s", "--authorization-webhook-cache-unauthorized-ttl=1s"} {
		_, _, err := parseFlags("kube-apiserver", []string{"--authorization-config=/authz.yaml", flag}, &bytes.Buffer{}, func(string, ...any) {})
		if err == nil || err.Error() != "--authorization-config can not be specified when --authorization-mode or --authorization-webhook-* flags are defined" {
			t.Errorf("%s beside --authorization-config: %v", flag, err)
		}
	}
	cfg, _, err = parseFlags("kube-apiserver", []string{"--authorization-config=/authz.yaml"}, &bytes.Buffer{}, func(string, ...any) {})
	if err != nil || cfg.AuthorizationConfig != "/authz.yaml" {
		t.Errorf("--authorization-config alone: %q, %v", cfg.AuthorizationConfig, err)
	}
}

// TestHelp: --help lists kube's sections in kube's order, every flag, and
// no --insecure-port (envtest reads the help to tell kube versions apart).
func TestHelp(t *testing.T) {
	var out bytes.Buffer
	if _, _, err := parseFlags("/bin/kube-apiserver", []string{"--help"}, &out, func(string, ...any) {}); err == nil {
		t.Fatal("--help: no ErrHelp")
	}
	help := out.String()
	if !strings.Contains(help, "Usage:\n  kube-apiserver [flags]") {
		t.Fatalf("usage line: %.300s", help)
	}
	at := 0
	for _, s := range kubeflags.Sections {
		i := strings.Index(help[at:], "\n"+s.Name+":\n")
		if i < 0 {
			t.Fatalf("section %q missing or out of order", s.Name)
		}
		at += i + 1
		for _, f := range s.Flags {
			if !strings.Contains(help, "--"+f.Name+" ") && !strings.Contains(help, "--"+f.Name+"\n") && !strings.Contains(help, "--"+f.Name+"[") {
				t.Errorf("--%s not in the help", f.Name)
			}
		}
	}
	for _, line := range []string{"-v, --v Level", "--vmodule pattern=N,...", "--version version[=true]", "--log-flush-frequency duration"} {
		if !strings.Contains(help, line) {
			t.Errorf("help has no %q, as kube's", line)
		}
	}
	for _, f := range kubeflags.Hidden {
		if strings.Contains(help, "--"+f.Name+" ") {
			t.Errorf("hidden --%s is in the help", f.Name)
		}
	}
	if strings.Contains(help, "insecure-port") {
		t.Error("--insecure-port is in the help")
	}
}

// TestVersionFlag: --version as kube's verflag: true and raw quit,
// vX.Y.Z of kapi's own release sets the reported gitVersion and runs on,
// anything else fails.
func TestVersionFlag(t *testing.T) {
	for _, c := range []struct {
		arg  string
		quit bool
		bad  bool
	}{{"--version", true, false}, {"--version=raw", true, false}, {"--version=false", false, false},
		{"--version=" + router.Version.GitVersion, false, false}, {"--version=v1.36.0", false, true}, {"--version=maybe", false, true}} {
		_, proc, err := parseFlags("kube-apiserver", []string{c.arg}, &bytes.Buffer{}, func(string, ...any) {})
		if (err != nil) != c.bad {
			t.Errorf("%s: error %v", c.arg, err)
			continue
		}
		var printed []string
		if quit := proc.version.apply(func(s string) { printed = append(printed, s) }); !c.bad && quit != c.quit {
			t.Errorf("%s: quit %v, printed %q", c.arg, quit, printed)
		}
	}
}

// TestAdmissionControl: kube's deprecated --admission-control names the
// exact plugins (every other one off), warns that it is deprecated, and
// refuses --enable-admission-plugins beside it and names kube lacks.
func TestAdmissionControl(t *testing.T) {
	var warned []string
	cfg, _, err := parseFlags("kube-apiserver", []string{"--admission-control=NamespaceLifecycle,ServiceAccount"}, &bytes.Buffer{},
		func(f string, a ...any) { warned = append(warned, fmt.Sprintf(f, a...)) })
	if err != nil || !slices.Equal(cfg.EnableAdmissionPlugins, []string{"NamespaceLifecycle", "ServiceAccount"}) ||
		!slices.Contains(cfg.DisableAdmissionPlugins, "ResourceQuota") || slices.Contains(cfg.DisableAdmissionPlugins, "ServiceAccount") ||
		len(warned) != 1 || !strings.Contains(warned[0], "deprecated") {
		t.Fatalf("enable %v, disable %v, warnings %q, %v", cfg.EnableAdmissionPlugins, cfg.DisableAdmissionPlugins, warned, err)
	}
	for _, args := range [][]string{{"--admission-control=NamespaceLifecycle", "--enable-admission-plugins=NodeRestriction"},
		{"--admission-control=NoSuchPlugin"}} {
		if _, _, err := parseFlags("kube-apiserver", args, &bytes.Buffer{}, func(string, ...any) {}); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}

// TestKubeAdmissionPluginsKnown: every plugin kube-apiserver's help names
// is a name kapi knows (implemented, or accepted with a warning), so
// --enable-admission-plugins refuses only names kube would refuse too.
func TestKubeAdmissionPluginsKnown(t *testing.T) {
	const marker = "Comma-delimited list of admission plugins: "
	for _, s := range kubeflags.Sections {
		for _, f := range s.Flags {
			if f.Name != "enable-admission-plugins" {
				continue
			}
			_, list, ok := strings.Cut(f.Usage, marker)
			list, _, _ = strings.Cut(list, ". ")
			if !ok || list == "" {
				t.Fatalf("no plugin list in %q", f.Usage)
			}
			for _, name := range strings.Split(list, ", ") {
				if !slices.Contains(admission.Ordered, name) {
					t.Errorf("kube's admission plugin %s is unknown to kapi", name)
				}
			}
			return
		}
	}
	t.Fatal("no --enable-admission-plugins in kube's flags")
}

// TestPortRange: --service-node-port-range takes kube's notations and
// hands kapi low-high.
func TestPortRange(t *testing.T) {
	for in, want := range map[string]string{"30000-32767": "30000-32767", "30000+2767": "30000-32767", "8080": "8080-8080", " 1-2 ": "1-2"} {
		cfg, _, err := parseFlags("kube-apiserver", []string{"--service-node-port-range=" + in}, &bytes.Buffer{}, func(string, ...any) {})
		if err != nil || cfg.ServiceNodePortRange != want {
			t.Errorf("%q: %q, %v; want %q", in, cfg.ServiceNodePortRange, err, want)
		}
	}
}

// TestAllowPrivileged: --allow-privileged is kube's bool, false unless
// given (kube's default), true given alone, and warns nothing.
func TestAllowPrivileged(t *testing.T) {
	for _, c := range []struct {
		args []string
		want bool
	}{{nil, false}, {[]string{"--allow-privileged"}, true}, {[]string{"--allow-privileged=true"}, true},
		{[]string{"--allow-privileged=false"}, false}, {[]string{"--allow-privileged=true", "--allow-privileged=false"}, false}} {
		var warned []string
		cfg, _, err := parseFlags("kube-apiserver", c.args, &bytes.Buffer{}, func(f string, a ...any) { warned = append(warned, fmt.Sprintf(f, a...)) })
		if err != nil || cfg.AllowPrivileged != c.want || len(warned) != 0 {
			t.Errorf("%q: AllowPrivileged %v, warnings %q, %v; want %v", c.args, cfg.AllowPrivileged, warned, err, c.want)
		}
	}
	if _, _, err := parseFlags("kube-apiserver", []string{"--allow-privileged=maybe"}, &bytes.Buffer{}, func(string, ...any) {}); err == nil {
		t.Error("--allow-privileged=maybe: no error")
	}
	var help bytes.Buffer
	parseFlags("kube-apiserver", []string{"--help"}, &help, func(string, ...any) {})
	if !regexp.MustCompile(`\n +--allow-privileged +If true, allow privileged containers\. \[default=false\]\n`).MatchString(help.String()) {
		t.Errorf("--allow-privileged in the help is not kube's line")
	}
}

// TestHiddenKubeFlags: kube's deprecated spelling of
// --audit-webhook-initial-backoff sets it, with kube's deprecation
// warning; --default-watch-cache-size parses, with kube's deprecation
// warning (a no-op in kube too).
func TestHiddenKubeFlags(t *testing.T) {
	var warned []string
	cfg, _, err := parseFlags("kube-apiserver", []string{"--audit-webhook-batch-initial-backoff=3s", "--default-watch-cache-size=0"}, &bytes.Buffer{},
		func(f string, a ...any) { warned = append(warned, fmt.Sprintf(f, a...)) })
	if err != nil || len(warned) != 2 {
		t.Fatalf("warnings %q, %v", warned, err)
	}
	if !strings.HasPrefix(warned[1], "Flag --default-watch-cache-size has been deprecated, Watch caches are sized automatically.") {
		t.Errorf("--default-watch-cache-size warned %q", warned[1])
	}
	if cfg.Audit.WebhookInitialBackoff != 3*time.Second {
		t.Errorf("--audit-webhook-batch-initial-backoff=3s: the webhook's initial backoff is %s", cfg.Audit.WebhookInitialBackoff)
	}
}

// TestNoEffectWarnsOnce: a no-effect flag given twice is one warning
// line, and kube flags left unset warn nothing.
func TestNoEffectWarnsOnce(t *testing.T) {
	var warned []string
	_, _, err := parseFlags("kube-apiserver", []string{"--apiserver-count=2", "--apiserver-count=3", "--secure-port=6443"}, &bytes.Buffer{},
		func(f string, a ...any) { warned = append(warned, fmt.Sprintf(f, a...)) })
	if err != nil || !slices.Equal(warned, []string{"--apiserver-count has no effect in kapi"}) {
		t.Fatalf("warnings %q, %v", warned, err)
	}
}

// TestRuntimeConfigKeyAlone: --runtime-config takes a key without a
// value, as kube's ConfigurationMap does.
func TestRuntimeConfigKeyAlone(t *testing.T) {
	if _, _, err := parseFlags("kube-apiserver", []string{"--runtime-config=api/all,batch/v1=true"}, &bytes.Buffer{}, func(string, ...any) {}); err != nil {
		t.Fatal(err)
	}
}

// TestEveryKubeTypeChecked: each type in kube's flag table has a check in
// kubeTypes, takes any string as in kube, or belongs to a flag kapi
// implements itself, so no kube value goes unchecked by oversight.
func TestEveryKubeTypeChecked(t *testing.T) {
	free := map[string]bool{"string": true, "stringArray": true}
	for _, f := range allKubeFlags() {
		if _, ok := kubeTypes[f.Type]; !ok && !free[f.Type] && !slices.Contains(implementedForTest, f.Name) && f.Name != "version" {
			t.Errorf("--%s: kube type %s is not checked", f.Name, f.Type)
		}
	}
}

// TestFeatureGates: --feature-gates knows kube 1.37's gates (kube's own,
// not only the libraries'), refuses what kube refuses with kube's
// message, warns about each gate it sets that kapi does not honour, and
// gives the server the gate; --help lists kube's gates.
func TestFeatureGates(t *testing.T) {
	var warned []string
	warn := func(f string, a ...any) { warned = append(warned, fmt.Sprintf(f, a...)) }
	cfg, _, err := parseFlags("kube-apiserver", []string{"--feature-gates=WatchList=false,MutablePVNodeAffinity=true", "--feature-gates=PodLevelResources=true"}, &bytes.Buffer{}, warn)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.FeatureGates == nil || cfg.FeatureGates.Enabled("WatchList") || !cfg.FeatureGates.Enabled("MutablePVNodeAffinity") {
		t.Fatalf("the server's gate does not hold the settings")
	}
	// WatchList is honoured, PodLevelResources=true is its default.
	if !slices.Equal(warned, []string{"--feature-gates: MutablePVNodeAffinity=true has no effect in kapi"}) {
		t.Errorf("warnings %q", warned)
	}
	for arg, want := range map[string]string{
		"--feature-gates=NoSuchGate=true":                                            "unrecognized feature gate: NoSuchGate",
		"--feature-gates=WatchCacheInitializationPostStartHook=false":                "cannot set feature gate WatchCacheInitializationPostStartHook to false, feature is locked to true",
		"--feature-gates=wardle:featureA=true":                                       "component not registered: wardle",
		"--feature-gates=DRAConsumableCapacity=true,DynamicResourceAllocation=false": "cannot set feature gate DynamicResourceAllocation to false",
	} {
		_, _, err := parseFlags("kube-apiserver", []string{arg}, &bytes.Buffer{}, func(string, ...any) {})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", arg, err, want)
		}
	}
	var help bytes.Buffer
	parseFlags("kube-apiserver", []string{"--help"}, &help, func(string, ...any) {})
	for _, want := range []string{"kube:WatchList=true|false (BETA - default=true)", "kube:MutablePVNodeAffinity=true|false (ALPHA - default=false)"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}

// TestNewlyHonouredFlags: flags that took no effect before and do now,
// read into the Config, with kube's checks: --storage-backend takes only
// etcd3, with kube's message.
func TestNewlyHonouredFlags(t *testing.T) {
	cfg, _, err := parseFlags("kube-apiserver", []string{"--service-account-lookup=false", "--contention-profiling", "--debug-socket-path=/run/kapi.sock",
		"--storage-backend=etcd3", "--audit-log-batch-max-size=7", "--audit-log-batch-throttle-enable"}, &bytes.Buffer{}, func(string, ...any) {})
	if err != nil || cfg.ServiceAccountLookup || !cfg.ContentionProfiling || cfg.DebugSocketPath != "/run/kapi.sock" ||
		cfg.Audit.LogBatchMaxSize != 7 || !cfg.Audit.LogBatchThrottleEnable {
		t.Errorf("%+v, %v", cfg, err)
	}
	if cfg, _, _ := parseFlags("kube-apiserver", nil, &bytes.Buffer{}, func(string, ...any) {}); !cfg.ServiceAccountLookup || cfg.Audit.LogBatchMaxSize != 1 {
		t.Errorf("defaults: lookup %v, log batch %d; want kube's true, 1", cfg.ServiceAccountLookup, cfg.Audit.LogBatchMaxSize)
	}
	_, _, err = parseFlags("kube-apiserver", []string{"--storage-backend=etcd2"}, &bytes.Buffer{}, func(string, ...any) {})
	if err == nil || err.Error() != "--storage-backend invalid, allowed values: etcd3. If not specified, it will default to 'etcd3'" {
		t.Errorf("--storage-backend=etcd2: %v", err)
	}
}

// TestKubernetesServiceFlags: --kubernetes-service-node-port and
// --endpoint-reconciler-type, checked with kube's messages.
func TestKubernetesServiceFlags(t *testing.T) {
	var warned []string
	warn := func(f string, a ...any) { warned = append(warned, fmt.Sprintf(f, a...)) }
	cfg, _, err := parseFlags("kube-apiserver", []string{"--kubernetes-service-node-port=30443", "--endpoint-reconciler-type=none"}, &bytes.Buffer{}, warn)
	if err != nil || cfg.KubernetesServiceNodePort != 30443 || cfg.EndpointReconcilerType != "none" || len(warned) != 0 {
		t.Errorf("%d %q %v %q", cfg.KubernetesServiceNodePort, cfg.EndpointReconcilerType, err, warned)
	}
	cfg, _, err = parseFlags("kube-apiserver", []string{"--endpoint-reconciler-type=master-count"}, &bytes.Buffer{}, warn)
	if err != nil || cfg.EndpointReconcilerType != "lease" || len(warned) != 1 || !strings.Contains(warned[0], "master-count has no effect in kapi") {
		t.Errorf("master-count: %q %v %q", cfg.EndpointReconcilerType, err, warned)
	}
	for arg, want := range map[string]string{
		"--kubernetes-service-node-port=70000":      "--kubernetes-service-node-port 70000 must be between 0 and 65535, inclusive. If 0, the Kubernetes master service will be of type ClusterIP",
		"--kubernetes-service-node-port=443":        "kubernetes service node port range 30000-32767 doesn't contain 443",
		"--endpoint-reconciler-type=something-else": "Reconciler not implemented: something-else",
	} {
		if _, _, err := parseFlags("kube-apiserver", []string{arg}, &bytes.Buffer{}, warn); err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", arg, err, want)
		}
	}
}
