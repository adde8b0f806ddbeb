package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"kapi/internal/storage/embedded"
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
	// kube-apiserver's keepalive: a member that stops answering (frozen,
	// or cut off) is found out and left for another within 40 s, before
	// a request's 60 s timeout.
	ccfg := clientv3.Config{Endpoints: cfg.EtcdServers, DialTimeout: 10 * time.Second, Logger: zap.NewNop(),
		DialKeepAliveTime: 30 * time.Second, DialKeepAliveTimeout: 10 * time.Second}
	if cfg.EtcdCAFile != "" || cfg.EtcdCertFile != "" {
		tc, err := etcdTLS(cfg)
		if err != nil {
			return nil, err
		}
		ccfg.TLS = tc
	}
	c, err := clientv3.New(ccfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to etcd %v: %w", cfg.EtcdServers, err)
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := etcdAnswers(sctx, c); err != nil {
		c.Close()
		return nil, fmt.Errorf("etcd %v does not answer: %w", cfg.EtcdServers, err)
	}
	return &etcdBackend{client: c, close: func() { c.Close() }}, nil
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
