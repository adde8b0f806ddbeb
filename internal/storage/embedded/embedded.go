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

// Options tune an embedded etcd.
type Options struct {
	// ClientURL is where other processes reach it; "" picks a free
	// loopback port.
	ClientURL string
	// ForTests trades durability for speed, for a server that lives as
	// long as a test: no fsync (a crash of the machine loses the data,
	// which a test's temporary folder loses anyway), a snapshot every
	// 1,000 writes rather than 10,000 (less memory held per server, when
	// many run side by side), and a 2 ms tick (the first election within
	// 2-10 ms rather than 5-25 ms, for ~1% of a core while idle).
	ForTests bool
}

// memberName is the embedded etcd's member name (a restore makes a member
// of the same name).
const memberName = "kapi"

// Start starts etcd with its data in dir and waits until it serves.
//
// It is tuned for one member: a 5 ms tick with a 25 ms election (etcd's
// least, 5 ticks), so a member elects itself within 5-25 ms of starting
// (etcd fast-forwards all but the last of a lone member's election ticks,
// and the last one is drawn between 1 and 5 ticks), and no peer listener
// beyond the one etcd insists on (loopback, on a free port). A lone
// member never loses its leadership, whatever the tick.
func Start(ctx context.Context, dir string) (*Etcd, error) {
	return StartWith(ctx, dir, Options{})
}

// StartAt is Start with the client URL given ("" picks a free loopback
// port), for an etcd that other processes reach.
func StartAt(ctx context.Context, dir, clientURL string) (*Etcd, error) {
	return StartWith(ctx, dir, Options{ClientURL: clientURL})
}

// StartWith is Start with options.
func StartWith(ctx context.Context, dir string, opts Options) (*Etcd, error) {
	clientURL := opts.ClientURL
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.Name = memberName
	// etcd's own log goes beside its data, not into kapi's output.
	cfg.LogLevel = "warn"
	cfg.LogOutputs = []string{filepath.Join(dir, "..", "etcd.log")}
	cfg.TickMs = 5
	cfg.ElectionMs = 25
	cfg.WatchProgressNotifyInterval = 5 * time.Second
	cfg.MaxRequestBytes = 2 * 1024 * 1024
	if opts.ForTests {
		cfg.UnsafeNoFsync = true
		cfg.SnapshotCount = 1000
		cfg.SnapshotCatchUpEntries = 1000
		cfg.TickMs = 2
		cfg.ElectionMs = 10
	}
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
