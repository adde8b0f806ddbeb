// Command kapi-bench measures kapi against the raw etcd it stores in, in
// one run: flags -> bench.Run.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"kapi/internal/bench"
)

func main() {
	cfg := bench.Defaults()
	fs := pflag.NewFlagSet("kapi-bench", pflag.ExitOnError)
	fs.IntVar(&cfg.Objects, "objects", cfg.Objects, "ConfigMaps created (each of --object-size bytes)")
	fs.IntVar(&cfg.ObjectSize, "object-size", cfg.ObjectSize, "bytes of data per ConfigMap")
	fs.IntVar(&cfg.Clients, "clients", cfg.Clients, "concurrent clients")
	fs.IntVar(&cfg.Watchers, "watchers", cfg.Watchers, "watchers in the fan-out scenario")
	fs.IntVar(&cfg.WatchUpdates, "watch-updates", cfg.WatchUpdates, "updates in the fan-out scenario")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long each timed scenario runs")
	fs.StringVar(&cfg.ProfileDir, "profile", "", "write kapi's CPU and allocation profiles of each scenario to this folder (<scenario>.pprof, <scenario>.allocs.pprof; --large: restart.pprof, the restarted kapi's start-up)")
	fs.BoolVar(&cfg.CPU, "cpu", false, "print the cores the client, kapi and etcd used in each scenario")
	fs.BoolVar(&cfg.NoGzip, "no-gzip", false, "the kapi client does not ask for gzip (client-go's DisableCompression)")
	fs.BoolVar(&cfg.CRDMode, "crds", false, "run the CRD benchmark: CRDs at once, custom resources against ConfigMaps, many CRDs")
	fs.IntVar(&cfg.CRDs, "crd-count", cfg.CRDs, "--crds: CRDs created at once")
	fs.IntVar(&cfg.CRDsMany, "crd-many", cfg.CRDsMany, "--crds: CRDs in all, for the discovery and OpenAPI latencies")
	fs.IntVar(&cfg.CRDProperties, "crd-properties", cfg.CRDProperties, "--crds: properties of the large schema")
	fs.StringVar(&cfg.Kubectl, "kubectl", "", "--crds: the kubectl to run (default: built from kapi/test/kubectl)")
	fs.BoolVar(&cfg.AdmissionMode, "admission", false, "run the admission benchmark: creates with no webhook, with 100 configurations matching nothing, with one matching validating webhook")
	fs.BoolVar(&cfg.ProxyMode, "proxy", false, "run the service proxy benchmark: small requests through services/proxy against direct, a 100 MB stream, kapi's memory around a 1 GiB download")
	fs.BoolVar(&cfg.LargeMode, "large", false, "run the large benchmark: --objects (default 100000 here) ConfigMaps and Pods in 100 namespaces; memory against their encoded size, a restart, every Pod listed at once, namespaced and 1% selector lists")
	fs.BoolVar(&cfg.StartMode, "start", false, "run the start-up benchmark: exec to /readyz = 200 of kapi with its embedded etcd, empty and filled data folder")
	fs.IntVar(&cfg.Starts, "starts", cfg.Starts, "--start: starts of each kind")
	fs.StringVar(&cfg.Child, "child", "", "internal: run as the kapi (\"kapi\") or etcd (\"etcd\") process of a benchmark")
	fs.StringVar(&cfg.Dir, "dir", "", "internal: the child's data folder")
	fs.IntVar(&cfg.Port, "port", 0, "internal: the child's port")
	fs.StringVar(&cfg.EtcdURL, "etcd", "", "internal: the etcd kapi stores in")
	fs.Parse(os.Args[1:])
	if cfg.LargeMode && !fs.Changed("objects") {
		cfg.Objects = 100000
	}
	if err := bench.Run(context.Background(), cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "kapi-bench:", err)
		os.Exit(1)
	}
}
