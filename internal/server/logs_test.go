package server

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLogsHandler: /logs/ serves the folder's files and listings, no
// file outside it, and a name too long as kube's 404 "file not found".
func TestLogsHandler(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "pods"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kapi.log"), []byte("line one\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(filepath.Dir(dir), "secret")
	os.WriteFile(outside, []byte("secret\n"), 0o600)
	defer os.Remove(outside)
	mux := http.NewServeMux()
	mux.Handle("GET /logs/{path...}", logsHandler(dir))
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.Path = path
		mux.ServeHTTP(rec, r)
		return rec.Code, rec.Body.String()
	}
	if code, body := get("/logs/"); code != 200 || !strings.Contains(body, `href="kapi.log"`) || !strings.Contains(body, `href="pods/"`) {
		t.Errorf("/logs/: %d %s", code, body)
	}
	if code, body := get("/logs/kapi.log"); code != 200 || body != "line one\n" {
		t.Errorf("/logs/kapi.log: %d %q", code, body)
	}
	if code, _ := get("/logs/nothing.log"); code != 404 {
		t.Errorf("/logs/nothing.log: %d", code)
	}
	if code, body := get("/logs/" + strings.Repeat("x", 300)); code != 404 || body != "file not found\n" {
		t.Errorf("a name too long: %d %q", code, body)
	}
	// The MUX redirects the unclean path to /secret, which is not /logs'.
	if code, body := get("/logs/../secret"); code == 200 || strings.Contains(body, "secret\n") {
		t.Errorf("/logs/../secret: %d %q", code, body)
	}
}
