package embedded

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/proxy/grpcproxy/adapter"
	"go.uber.org/zap"
)

// TestStartPortTaken: a port that was free when picked but is taken when
// etcd binds it (another process picked it too) makes etcd start on
// other ports, not fail.
func TestStartPortTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	calls := 0
	freeURL = func() (*url.URL, error) {
		calls++
		if calls == 1 {
			return url.Parse("http://" + taken.Addr().String())
		}
		return loopbackURL()
	}
	defer func() { freeURL = loopbackURL }()
	e, err := Start(context.Background(), t.TempDir()+"/etcd")
	if err != nil {
		t.Fatalf("start with its first port taken: %v", err)
	}
	defer e.Close()
	if calls < 4 {
		t.Fatalf("ports picked %d times: the taken one was not given up", calls)
	}
	if _, err := e.Client.Put(context.Background(), "k", "v"); err != nil {
		t.Fatal(err)
	}
}

// TestCloseDuringWatch: closing etcd while its client's watches (with
// previous values, as kapi's) still receive events must not touch the
// closed database. The in-process client's watch streams are not gRPC
// streams, so etcd's own Close does not end them: without waiting for
// them, a stream still reading a previous value after the database closed
// crashed the process (a fault in bbolt, seen in CI).
func TestCloseDuringWatch(t *testing.T) {
	rounds := 20
	if testing.Short() {
		rounds = 5
	}
	for round := 0; round < rounds; round++ {
		e, err := StartWith(context.Background(), t.TempDir()+"/etcd", Options{ForTests: true})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		writers := watchAndWrite(ctx, e.Client, 8)
		time.Sleep(30 * time.Millisecond)
		e.Close()
		cancel()
		writers.Wait()
	}
}

// slowWatch is a watch server whose streams take a while to end once
// their client has gone, as etcd's do while a send loop finishes.
type slowWatch struct {
	pb.WatchServer
	ended atomic.Int32
}

func (s *slowWatch) Watch(stream pb.Watch_WatchServer) error {
	<-stream.Context().Done()
	time.Sleep(50 * time.Millisecond)
	s.ended.Add(1)
	return nil
}

// TestDrainWaitsForStreams: drain returns only once every stream has
// ended, and refuses streams opened after it began.
func TestDrainWaitsForStreams(t *testing.T) {
	slow := &slowWatch{}
	w := &watches{WatchServer: slow}
	client := adapter.WatchServerToWatchClient(w)
	ctx, cancel := context.WithCancel(context.Background())
	for i := 0; i < 3; i++ {
		if _, err := client.Watch(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		w.mu.Lock()
		n := w.serving
		w.mu.Unlock()
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d streams served, want 3", n)
		}
	}
	cancel()
	if !w.drain(5 * time.Second) {
		t.Fatal("drain gave up with streams open")
	}
	if n := slow.ended.Load(); n != 3 {
		t.Fatalf("drain returned with %d of 3 streams ended", n)
	}
	if err := w.Watch(nil); err == nil {
		t.Fatal("a stream opened after drain was served")
	}
}

// TestCloseDuringRemoteWatch: the same for a client that reaches etcd
// through its socket, as etcdctl or another kapi does: etcd's Close waits
// for the gRPC handlers (WaitForHandlers) before closing the database.
func TestCloseDuringRemoteWatch(t *testing.T) {
	e, err := StartWith(context.Background(), t.TempDir()+"/etcd", Options{ForTests: true})
	if err != nil {
		t.Fatal(err)
	}
	remote, err := clientv3.New(clientv3.Config{Endpoints: []string{e.ClientURL}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	writers := watchAndWrite(ctx, remote, 1)
	time.Sleep(50 * time.Millisecond)
	e.Close()
	cancel()
	writers.Wait()
}

// watchAndWrite opens watchers watches of /k with previous values, each
// drained, and starts four writers putting /k/0-49 until ctx ends or a
// put fails; the writers are returned.
func watchAndWrite(ctx context.Context, c *clientv3.Client, watchers int) *sync.WaitGroup {
	for i := 0; i < watchers; i++ {
		w := c.Watch(ctx, "/k", clientv3.WithPrefix(), clientv3.WithPrevKV())
		go func() {
			for range w {
			}
		}()
	}
	var writers sync.WaitGroup
	for i := 0; i < 4; i++ {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for j := 0; ctx.Err() == nil; j++ {
				if _, err := c.Put(ctx, fmt.Sprintf("/k/%d", j%50), fmt.Sprint(j)); err != nil {
					return
				}
			}
		}()
	}
	return &writers
}
