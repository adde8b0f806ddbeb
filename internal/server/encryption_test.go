package server

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

func encryptionFile(t *testing.T, providers string) Config {
	t.Helper()
	f := filepath.Join(t.TempDir(), "encryption.yaml")
	body := "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n" + providers
	if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return Config{EncryptionProviderConfig: f}
}

// TestEncryptionNone: without a file no transformer is given to the
// stores (values are stored as encoded, at no cost), and the reload flag
// alone is refused as kube-apiserver refuses it.
func TestEncryptionNone(t *testing.T) {
	e, err := newEncryption(context.Background(), Config{})
	if err != nil || e.For(schema.GroupResource{Resource: "secrets"}) != nil || len(e.checks) != 0 {
		t.Fatalf("without a file: %v %v", e, err)
	}
	if _, err := newEncryption(context.Background(), Config{EncryptionProviderConfigAutomaticReload: true}); err == nil ||
		!strings.Contains(err.Error(), "--encryption-provider-config") {
		t.Fatalf("reload without a file: %v", err)
	}
}

// TestEncryptionKMS: a KMS v1 provider is refused with an error that says
// what to use instead; a KMS v2 provider whose plugin is not there starts
// (as in kube-apiserver) and its kms-providers check fails.
func TestEncryptionKMS(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := newEncryption(ctx, encryptionFile(t, "      - kms:\n          name: v1\n          endpoint: unix:///nonexistent/kms.sock\n          cachesize: 10\n"))
	if err == nil || !strings.Contains(err.Error(), "KMS v1 providers are not supported") || strings.Contains(err.Error(), "feature-gates") {
		t.Fatalf("KMS v1: %v", err)
	}
	sock := "unix://" + filepath.Join(t.TempDir(), "kms.sock")
	e, err := newEncryption(ctx, encryptionFile(t, "      - kms:\n          apiVersion: v2\n          name: v2\n          endpoint: "+sock+"\n          timeout: 1s\n"))
	if err != nil {
		t.Fatalf("KMS v2: %v", err)
	}
	if len(e.checks) != 1 || e.checks[0].Name() != "kms-providers" {
		t.Fatalf("KMS v2 checks: %v", e.checks)
	}
	r, _ := http.NewRequestWithContext(ctx, http.MethodGet, "/readyz", nil)
	if err := e.checks[0].Check(r); err == nil {
		t.Error("kms-providers passes without its plugin")
	}
}

// TestEncryptionReloadStops: a kapi that reloads its encryption file
// leaves neither its own goroutines nor the reload controller's behind
// when it stops.
func TestEncryptionReloadStops(t *testing.T) {
	cfg := Defaults()
	cfg.DataDir, cfg.SecurePort, cfg.Out = t.TempDir(), 0, io.Discard
	cfg.EncryptionProviderConfig = encryptionFile(t, "      - secretbox:\n          keys:\n          - name: k\n            secret: "+
		base64.StdEncoding.EncodeToString(make([]byte, 32))+"\n").EncryptionProviderConfig
	cfg.EncryptionProviderConfigAutomaticReload = true
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	var left []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		left = kapiGoroutines()
		buf := make([]byte, 1<<20)
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, "encryptionconfig") {
				left = append(left, g)
			}
		}
		if len(left) == 0 {
			return
		}
	}
	t.Fatalf("%d goroutines left after Stop:\n%s", len(left), strings.Join(left, "\n\n"))
}
