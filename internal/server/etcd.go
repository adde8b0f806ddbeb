package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kapi/internal/metrics"
	"kapi/internal/storage/embedded"
	"kapi/internal/storage/etcd"
)

// etcdBackend is the etcd kapi stores in, and how to let go of it.
type etcdBackend struct {
	client *clientv3.Client
	close  func()
}

// connectEtcd starts the embedded etcd in <data-dir>/etcd, or connects to
// --etcd-servers.
func connectEtcd(ctx context.Context, cfg Config) (*etcdBackend, error) {
	if len(cfg.EtcdServers) == 0 {
		e, err := embedded.StartWith(ctx, filepath.Join(cfg.DataDir, "etcd"), embedded.Options{ForTests: cfg.EtcdForTests})
		if err != nil {
			return nil, err
		}
		// Where etcdctl and `kapi etcd-snapshot save` reach it, while it
		// runs.
		urlFile := EtcdURLFile(cfg.DataDir)
		if err := os.WriteFile(urlFile, []byte(e.ClientURL+"\n"), 0o600); err != nil {
			e.Close()
			return nil, err
		}
		return &etcdBackend{client: e.Client, close: func() { os.Remove(urlFile); e.Close() }}, nil
	}
	c, err := dialEtcd(ctx, cfg, cfg.EtcdServers)
	if err != nil {
		return nil, err
	}
	return &etcdBackend{client: c, close: func() { c.Close() }}, nil
}

// etcdClientMetrics are kube-apiserver's grpc_client_* of its etcd
// client: the calls started and handled, by code, and the messages sent
// and received, by gRPC service and method (grpc-ecosystem's metrics, as
// kube's storage factory registers them). An embedded etcd is called in
// process, without gRPC, so only an external one is counted.
var etcdClientMetrics = func() *grpcprom.ClientMetrics {
	m := grpcprom.NewClientMetrics()
	metrics.Registry.MustRegister(m)
	return m
}()

// dialEtcd connects to the etcd cluster of servers with the --etcd-*
// TLS files, and waits until it answers.
func dialEtcd(ctx context.Context, cfg Config, servers []string) (*clientv3.Client, error) {
	// kube-apiserver's keepalive: a member that stops answering (frozen,
	// or cut off) is found out and left for another within 40 s, before
	// a request's 60 s timeout.
	ccfg := clientv3.Config{Endpoints: servers, DialTimeout: 10 * time.Second, Logger: zap.NewNop(),
		DialKeepAliveTime: 30 * time.Second, DialKeepAliveTimeout: 10 * time.Second,
		// Chained after the client's own (retries): each attempt counted.
		DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(etcdClientMetrics.UnaryClientInterceptor()),
			grpc.WithChainStreamInterceptor(etcdClientMetrics.StreamClientInterceptor())}}
	if cfg.EtcdCAFile != "" || cfg.EtcdCertFile != "" {
		tc, err := etcdTLS(cfg)
		if err != nil {
			return nil, err
		}
		ccfg.TLS = tc
	}
	c, err := clientv3.New(ccfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to etcd %v: %w", servers, err)
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := etcdAnswers(sctx, c); err != nil {
		c.Close()
		return nil, fmt.Errorf("etcd %v does not answer: %w", servers, err)
	}
	return c, nil
}

// etcdCluster is an etcd cluster kapi stores resources in: its client,
// and what is known of its compactions.
type etcdCluster struct {
	client     *clientv3.Client
	compaction *etcd.Compaction
}

// etcdClusters are the clusters the resources are stored in: the main
// one (--etcd-servers, or the embedded etcd) and those of
// --etcd-servers-overrides, by resource.
type etcdClusters struct {
	main      *etcdCluster
	overrides map[schema.GroupResource]*etcdCluster
}

// etcdOverride is one of --etcd-servers-overrides.
type etcdOverride struct {
	gr      schema.GroupResource
	servers []string
}

// errOverridesInvalid is kube's message for a bad override.
var errOverridesInvalid = errors.New("--etcd-servers-overrides invalid, must be of format: group/resource#servers, where servers are URLs, semicolon separated")

// parseEtcdOverrides reads --etcd-servers-overrides as kube's
// ParseEtcdServersOverrides: group/resource#server;server, the group
// empty for the core group ("/events#http://etcd-events:2379").
func parseEtcdOverrides(list []string) ([]etcdOverride, error) {
	var out []etcdOverride
	for _, o := range list {
		tokens := strings.Split(o, "#")
		if len(tokens) != 2 {
			return nil, errOverridesInvalid
		}
		gr := strings.Split(tokens[0], "/")
		if len(gr) != 2 {
			return nil, errOverridesInvalid
		}
		servers := strings.Split(tokens[1], ";")
		if slices.Contains(servers, "") {
			return nil, errOverridesInvalid
		}
		out = append(out, etcdOverride{gr: schema.GroupResource{Group: gr[0], Resource: gr[1]}, servers: servers})
	}
	return out, nil
}

// connectOverrides connects to the clusters of --etcd-servers-overrides,
// one client for each set of servers, as kube (overrides naming the same
// servers in another order share it); close lets go of them.
func connectOverrides(ctx context.Context, cfg Config) (overrides map[schema.GroupResource]*etcdCluster, distinct []*etcdCluster, closeAll func(), err error) {
	parsed, err := parseEtcdOverrides(cfg.EtcdServersOverrides)
	if err != nil {
		return nil, nil, nil, err
	}
	bySet := map[string]*etcdCluster{}
	closeAll = func() {
		for _, c := range distinct {
			c.client.Close()
		}
	}
	overrides = map[schema.GroupResource]*etcdCluster{}
	for _, o := range parsed {
		key := strings.Join(slices.Sorted(slices.Values(o.servers)), ";")
		c := bySet[key]
		if c == nil {
			client, err := dialEtcd(ctx, cfg, o.servers)
			if err != nil {
				closeAll()
				return nil, nil, nil, fmt.Errorf("--etcd-servers-overrides: %w", err)
			}
			c = &etcdCluster{client: client, compaction: &etcd.Compaction{}}
			bySet[key] = c
			distinct = append(distinct, c)
		}
		overrides[o.gr] = c
	}
	return overrides, distinct, closeAll, nil
}

// etcdAnswers asks etcd for the count of one key: an error when it does
// not answer.
func etcdAnswers(ctx context.Context, c *clientv3.Client) error {
	_, err := c.Get(ctx, "health-check-kapi", clientv3.WithCountOnly())
	return err
}

func etcdTLS(cfg Config) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.EtcdCAFile != "" {
		pem, err := os.ReadFile(cfg.EtcdCAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--etcd-cafile %s holds no certificate", cfg.EtcdCAFile)
		}
		tc.RootCAs = pool
	}
	if cfg.EtcdCertFile != "" {
		pair, err := tls.LoadX509KeyPair(cfg.EtcdCertFile, cfg.EtcdKeyFile)
		if err != nil {
			return nil, err
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil
}
