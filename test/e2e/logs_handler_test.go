package e2e

import (
	"context"
	"net/http"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"kapi/internal/server"
)

// TestLogsHandler: --enable-logs-handler serves /var/log at /logs/, to
// those RBAC allows (cluster-admin), as kube-apiserver's; without it
// /logs/ is 404.
func TestLogsHandler(t *testing.T) {
	t.Parallel()
	on := startKapi(t, func(c *server.Config) { c.EnableLogsHandler = true })
	if code, _, body := on.do(t, "GET", "/logs/", "", nil); code != http.StatusOK {
		t.Errorf("/logs/ with --enable-logs-handler: %d %s", code, body)
	}
	if _, err := asUser(on, "alice").CoreV1().RESTClient().Get().AbsPath("/logs/").DoRaw(context.Background()); !apierrors.IsForbidden(err) {
		t.Errorf("/logs/ as a user without rights: %v", err)
	}
	off := startKapi(t)
	if code, _, _ := off.do(t, "GET", "/logs/", "", nil); code != http.StatusNotFound {
		t.Errorf("/logs/ without --enable-logs-handler: %d", code)
	}
}
