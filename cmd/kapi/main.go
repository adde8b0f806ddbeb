// Command kapi is a Kubernetes-compatible API server: flags -> config ->
// server.Run.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	// client-go's metrics (rest_client_*) of this process's clients, kapi's
	// loopback ones, in component-base's registry, as kube-apiserver
	// imports it. Only the binary: an embedded kapi (kapitest) leaves
	// client-go's metrics to its host process (controller-runtime
	// registers its own, once per process).
	_ "k8s.io/component-base/metrics/prometheus/restclient"
	"k8s.io/klog/v2"

	"kapi/internal/features"
	"kapi/internal/registry/core/allocation"
	"kapi/internal/router"
	"kapi/internal/server"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "console" { // a subcommand, before kube-apiserver's flags
		os.Exit(runConsole(os.Args[2:], os.Stdout, os.Stderr))
	}
	if len(os.Args) > 1 && os.Args[1] == "etcd-snapshot" {
		os.Exit(runSnapshot(os.Args[2:], os.Stdout, os.Stderr))
	}
	cfg, proc, err := parseFlags(os.Args[0], os.Args[1:], os.Stdout, klog.Warningf)
	switch {
	case errors.Is(err, pflag.ErrHelp):
		return
	case err != nil:
		fmt.Fprintln(os.Stderr, "kapi:", err)
		os.Exit(2)
	case proc.version.apply(func(s string) { fmt.Println(s) }):
		return
	}
	klog.StartFlushDaemon(proc.logFlush)
	proc.applyMetrics()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := server.Run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "kapi:", err)
		os.Exit(1)
	}
}

// parseFlags reads kube-apiserver's command line into a Config: the flags
// kapi implements set it; every other kube-apiserver flag is accepted
// (checked as its kube type) and warned about, once each, as having no
// effect. --help writes the sectioned help to help. What concerns the
// process rather than the server (--version, --log-flush-frequency) is
// returned beside the Config, for main to apply.
func parseFlags(program string, args []string, help io.Writer, warn func(string, ...any)) (server.Config, process, error) {
	cfg := server.Defaults()
	proc := process{version: "false"}
	fs := pflag.NewFlagSet(filepath.Base(program), pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	late := configFlags(fs, &cfg, &proc)
	noEffect := addKubeFlags(fs)
	cfg.Flagz = router.Flagz(fs)
	fs.Usage = func() { printHelp(help, fs, program) }
	if err := fs.Parse(args); err != nil {
		return cfg, proc, err // pflag has written the help for --help
	}
	if proc.version == "true" || proc.version == "raw" {
		return cfg, proc, nil
	}
	for _, name := range noEffect {
		if fs.Changed(name) {
			warn("--%s has no effect in kapi", name)
		}
	}
	if cfg.AuthorizationConfig != "" {
		// kube's AreLegacyFlagsSet.
		for _, f := range []string{"authorization-mode", "authorization-webhook-config-file", "authorization-webhook-version",
			"authorization-webhook-cache-authorized-ttl", "authorization-webhook-cache-unauthorized-ttl"} {
			if fs.Changed(f) {
				return cfg, proc, errors.New("--authorization-config can not be specified when --authorization-mode or --authorization-webhook-* flags are defined")
			}
		}
	}
	if err := features.Set(late.gate, late.featureGates); err != nil {
		return cfg, proc, err
	}
	if set := features.NoEffect(late.gate); len(set) > 0 {
		warn("--feature-gates: %s has no effect in kapi", strings.Join(set, ","))
	}
	cfg.FeatureGates = late.gate
	if fs.Changed("audit-webhook-batch-initial-backoff") {
		warn("Flag --audit-webhook-batch-initial-backoff has been deprecated, Deprecated, use --audit-webhook-initial-backoff instead.")
	}
	if fs.Changed("default-watch-cache-size") {
		warn("Flag --default-watch-cache-size has been deprecated, Watch caches are sized automatically. This flag is no-op and it will be removed in a future version.")
	}
	if fs.Changed("admission-control") {
		if err := applyAdmissionControl(&cfg, *late.admissionControl, warn); err != nil {
			return cfg, proc, err
		}
	}
	if *late.advertise != nil {
		cfg.AdvertiseAddress = late.advertise.String()
	}
	cfg.MinRequestTimeout = time.Duration(*late.minRequestTimeout) * time.Second
	if err := checkShowHidden(proc.showHiddenMetrics); err != nil {
		return cfg, proc, err
	}
	cfg.LeaseReuse = time.Duration(*late.leaseReuse) * time.Second
	if err := checkKubernetesService(&cfg, warn); err != nil {
		return cfg, proc, err
	}
	if b := *late.storageBackend; b != "" && b != "etcd3" {
		return cfg, proc, errors.New("--storage-backend invalid, allowed values: etcd3. If not specified, it will default to 'etcd3'")
	}
	if fs.Changed("cert-dir") && !fs.Changed("data-dir") {
		cfg.DataDir = cfg.CertDir
	}
	if (cfg.TLSCertFile == "") != (cfg.TLSPrivateKeyFile == "") {
		return cfg, proc, errors.New("--tls-cert-file and --tls-private-key-file go together")
	}
	if err := server.CheckServing(cfg); err != nil {
		return cfg, proc, err
	}
	return cfg, proc, nil
}

// checkKubernetesService checks the flags of the kubernetes Service and
// its endpoints as kube-apiserver does: the node port within 0-65535 and
// the node port range; the reconciler lease or none (master-count, which
// kube deprecates, is warned about and runs as lease; any other kube
// refuses at start).
func checkKubernetesService(cfg *server.Config, warn func(string, ...any)) error {
	if p := cfg.KubernetesServiceNodePort; p < 0 || p > 65535 {
		return fmt.Errorf("--kubernetes-service-node-port %v must be between 0 and 65535, inclusive. If 0, the Kubernetes master service will be of type ClusterIP", p)
	}
	if p := cfg.KubernetesServiceNodePort; p > 0 {
		base, size, err := allocation.ParsePortRange(cfg.ServiceNodePortRange)
		if err == nil && (p < base || p >= base+size) {
			return fmt.Errorf("kubernetes service node port range %d-%d doesn't contain %v", base, base+size-1, p)
		}
	}
	switch cfg.EndpointReconcilerType {
	case "lease", "none":
	case "master-count":
		warn("--endpoint-reconciler-type=master-count has no effect in kapi: the lease reconciler runs")
		cfg.EndpointReconcilerType = "lease"
	default:
		return fmt.Errorf("Reconciler not implemented: %v", cfg.EndpointReconcilerType)
	}
	return nil
}
