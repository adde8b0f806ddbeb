// Package embedded runs a single-member etcd inside the kapi process, for
// the "no flags" start: data in <data-dir>/etcd, a client that talks to
// the server in-process, and a loopback client URL for etcdctl.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
)

// Etcd is a running embedded etcd.
type Etcd struct {
	etcd   *embed.Etcd
	Client *clientv3.Client
	// ClientURL is where etcdctl can reach it.
	ClientURL string
}

// Start starts etcd with its data in dir and waits until it serves.
//
// It is tuned for one member: a 10 ms tick with a 100 ms election, so a
// fresh member elects itself at once, and no peer listener beyond the one
// etcd insists on (loopback, on a free port).
func Start(ctx context.Context, dir string) (*Etcd, error) {
	return StartAt(ctx, dir, "")
}

// StartAt is Start with the client URL given ("" picks a free loopback
// port), for an etcd that other processes reach.
func StartAt(ctx context.Context, dir, clientURL string) (*Etcd, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.Name = "kapi"
	// etcd's own log goes beside its data, not into kapi's output.
	cfg.LogLevel = "warn"
	cfg.LogOutputs = []string{filepath.Join(dir, "..", "etcd.log")}
	cfg.TickMs = 10
	cfg.ElectionMs = 100
	cfg.WatchProgressNotifyInterval = 5 * time.Second
	cfg.MaxRequestBytes = 2 * 1024 * 1024
	// A port free a moment ago may be taken by the time etcd binds it
	// (another process picked it too): then etcd starts again on others.
	var e *embed.Etcd
	var client *url.URL
	for attempt := 0; ; attempt++ {
		peer, err := freeURL()
		if err != nil {
			return nil, err
		}
		client, err = freeURL()
		if clientURL != "" {
			client, err = url.Parse(clientURL)
		}
		if err != nil {
			return nil, err
		}
		cfg.ListenPeerUrls = []url.URL{*peer}
		cfg.AdvertisePeerUrls = []url.URL{*peer}
		cfg.ListenClientUrls = []url.URL{*client}
		cfg.AdvertiseClientUrls = []url.URL{*client}
		cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
		e, err = embed.StartEtcd(cfg)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EADDRINUSE) || attempt >= 4 {
			return nil, fmt.Errorf("starting embedded etcd in %s: %w", dir, err)
		}
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, fmt.Errorf("embedded etcd in %s did not become ready in 60s", dir)
	}
	return &Etcd{etcd: e, Client: v3client.New(e.Server), ClientURL: client.String()}, nil
}

// Close stops etcd, after its client.
func (e *Etcd) Close() {
	e.Client.Close()
	e.etcd.Close()
}

// freeURL returns an http URL on a loopback port that was free just now
// (a variable for the tests).
var freeURL = loopbackURL

func loopbackURL() (*url.URL, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	return url.Parse("http://" + addr)
}
