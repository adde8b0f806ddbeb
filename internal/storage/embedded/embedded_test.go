package embedded

import (
	"context"
	"net"
	"net/url"
	"testing"
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
