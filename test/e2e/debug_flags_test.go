package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"

	"kapi/internal/server"
)

// TestDebugFlagsAndSocket: /debug/flags/v sets klog's verbosity as kube's
// does (a PUT of the level; RBAC lets only the admins), and
// --debug-socket-path serves the profiling handlers and /debug/flags on a
// unix socket, without credentials, until the server stops.
func TestDebugFlagsAndSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "debug.sock")
	k := startKapi(t, func(c *server.Config) { c.DebugSocketPath = sock })
	ctx := context.Background()
	level := 0
	for klog.V(klog.Level(level + 1)).Enabled() {
		level++
	}
	unix := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, "http://kapi"+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := unix.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	defer func() {
		var l klog.Level
		l.Set(strconv.Itoa(level))
	}()

	if code, body := do(http.MethodGet, "/debug/pprof/", ""); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("/debug/pprof/ on the socket: %d %.200s", code, body)
	}
	if code, body := do(http.MethodGet, "/debug/flags/", ""); code != http.StatusOK || !strings.Contains(body, "flags:<br>\n<table>\n<tr>v<br>\n</table>") {
		t.Errorf("/debug/flags/ on the socket: %d %s", code, body)
	}
	up := strconv.Itoa(level + 1)
	for _, c := range []struct {
		method, body string
		code         int
		want         string
	}{
		{http.MethodPut, up, http.StatusOK, "successfully set klog.logging.verbosity to " + up + "\n"},
		{http.MethodPut, "x", http.StatusBadRequest, "strconv.ParseUint: parsing \"x\": invalid syntax\n"},
		{http.MethodGet, "", http.StatusNotAcceptable, "unsupported http method\n"},
	} {
		if code, body := do(c.method, "/debug/flags/v", c.body); code != c.code || body != c.want {
			t.Errorf("%s /debug/flags/v %q: %d %q, want %d %q", c.method, c.body, code, body, c.code, c.want)
		}
	}
	if !klog.V(klog.Level(level + 1)).Enabled() {
		t.Errorf("klog's verbosity was not raised to %s", up)
	}

	// On the secure port, behind authorization.
	raw, err := k.client.CoreV1().RESTClient().Put().AbsPath("/debug/flags/v").Body([]byte(strconv.Itoa(level))).DoRaw(ctx)
	if err != nil || string(raw) != "successfully set klog.logging.verbosity to "+strconv.Itoa(level)+"\n" {
		t.Errorf("an admin's PUT: %q %v", raw, err)
	}
	if _, err := asUser(k, "nobody").CoreV1().RESTClient().Put().AbsPath("/debug/flags/v").Body([]byte("9")).DoRaw(ctx); !apierrors.IsForbidden(err) {
		t.Errorf("a user without rights: %v", err)
	}

	if err := k.srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("the socket outlived the server: %v", err)
	}
}
