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
	"sync"
	"syscall"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3rpc"
	"go.etcd.io/etcd/server/v3/proxy/grpcproxy/adapter"
	"google.golang.org/grpc"
)

// Etcd is a running embedded etcd.
type Etcd struct {
	etcd    *embed.Etcd
	watches *watches
	Client  *clientv3.Client
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
	// etcd's Close stops its gRPC server and then closes its database;
	// without this, gRPC's Stop does not wait for a watch stream's
	// handler, whose send loop may still read a previous value from the
	// closed database (a fault that ends the process: etcd-io/etcd#17223).
	cfg.GRPCAdditionalServerOptions = []grpc.ServerOption{grpc.WaitForHandlers(true)}
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
	w := &watches{WatchServer: v3rpc.NewWatchServer(e.Server)}
	return &Etcd{etcd: e, watches: w, Client: inProcessClient(e.Server, w), ClientURL: client.String()}, nil
}

// Close stops etcd, after its client and the watch streams the client
// had open.
func (e *Etcd) Close() {
	e.Client.Close()
	e.watches.drain(10 * time.Second)
	e.etcd.Close()
}

// inProcessClient is etcd's v3client.New (a client that calls the server's
// functions rather than going through a socket) with the watch server
// given, so that Close can wait for its streams.
func inProcessClient(s *etcdserver.EtcdServer, w pb.WatchServer) *clientv3.Client {
	c := clientv3.NewCtxClient(context.Background(), clientv3.WithZapLogger(s.Logger()))
	c.KV = clientv3.NewKVFromKVClient(adapter.KvServerToKvClient(v3rpc.NewQuotaKVServer(s)), c)
	c.Lease = clientv3.NewLeaseFromLeaseClient(adapter.LeaseServerToLeaseClient(v3rpc.NewQuotaLeaseServer(s)), c, time.Second)
	c.Watcher = blankWatcher{clientv3.NewWatchFromWatchClient(adapter.WatchServerToWatchClient(w), c)}
	c.Maintenance = clientv3.NewMaintenanceFromMaintenanceClient(adapter.MaintenanceServerToMaintenanceClient(v3rpc.NewMaintenanceServer(s, nil)), c)
	c.Cluster = clientv3.NewClusterFromClusterClient(adapter.ClusterServerToClusterClient(v3rpc.NewClusterServer(s)), c)
	c.Auth = clientv3.NewAuthFromAuthClient(adapter.AuthServerToAuthClient(v3rpc.NewAuthServer(s)), c)
	return c
}

// blankWatcher hides the watch's context values from etcd's tracing, as
// v3client's watchWrapper does (they race otherwise).
type blankWatcher struct{ clientv3.Watcher }

type blankContext struct{ context.Context }

func (blankContext) String() string { return "(blankCtx)" }

func (w blankWatcher) Watch(ctx context.Context, key string, opts ...clientv3.OpOption) clientv3.WatchChan {
	return w.Watcher.Watch(blankContext{ctx}, key, opts...)
}

// watches is etcd's watch server, counting the streams it serves. The
// in-process client's streams are not gRPC streams, so etcd's Close does
// not end them or wait for them: a stream's send loop still reading a
// previous value after the database closed faulted in bbolt and ended
// the process. Close waits for them to end (the client's Close cancels
// them) before it stops etcd.
type watches struct {
	pb.WatchServer
	mu      sync.Mutex
	serving int
	closing bool
	idle    chan struct{} // closed when the last stream ends, once closing
}

func (w *watches) Watch(stream pb.Watch_WatchServer) error {
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		return context.Canceled
	}
	w.serving++
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.serving--
		if w.serving == 0 && w.idle != nil {
			close(w.idle)
			w.idle = nil
		}
		w.mu.Unlock()
	}()
	return w.WatchServer.Watch(stream)
}

// drain refuses new streams and waits up to limit for the open ones to
// end; false when some did not.
func (w *watches) drain(limit time.Duration) bool {
	w.mu.Lock()
	w.closing = true
	if w.serving == 0 {
		w.mu.Unlock()
		return true
	}
	if w.idle == nil {
		w.idle = make(chan struct{})
	}
	idle := w.idle
	w.mu.Unlock()
	select {
	case <-idle:
		return true
	case <-time.After(limit):
		return false
	}
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
