package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"strings"
	"sync"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"kapi/internal/server"
)

// syncBuffer is a log output the test reads while kapi writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Split(b.buf.String(), "\n")
}

// verbosity sets klog's -v for the test.
func verbosity(t *testing.T, v string) {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	old := fs.Lookup("v").Value.String()
	if err := fs.Set("v", v); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Set("v", old) })
}

// TestLoggingRequestID: every line logged during a request carries the
// request's audit ID (kube's request id, the Audit-ID response header)
// under auditID, in both --logging-format: a webhook that fails open
// logs at -v 0, the request's HTTP line at -v 3. JSON lines are kube's:
// one object a line with ts, caller, msg, v and the key/value pairs.
func TestLoggingRequestID(t *testing.T) {
	verbosity(t, "3")
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			out := &syncBuffer{}
			k := startKapi(t, func(c *server.Config) { c.LoggingFormat, c.LogOutput = format, out })
			srv := newAdmissionServer(t)
			srv.onRaw("/broken", func(w http.ResponseWriter, _ *admissionv1.AdmissionReview) {
				http.Error(w, "broken", http.StatusInternalServerError)
			})
			e := &webhookEnv{t: t, k: k, srv: srv}
			ns := "logged-" + format
			e.namespace(t, ns)
			hook := validatingHook("broken.kapi.test", srv.clientConfig("/broken"), ns)
			hook.FailurePolicy = ignore
			e.validating(t, "broken-"+format, hook)
			ctx := context.Background()
			settle(t, "the webhook", func() bool {
				before := len(srv.requests("/broken"))
				k.client.CoreV1().ConfigMaps(ns).Delete(ctx, "probe", metav1.DeleteOptions{})
				k.client.CoreV1().ConfigMaps(ns).Create(ctx, cm("probe", nil), metav1.CreateOptions{})
				return len(srv.requests("/broken")) > before
			})

			body, _ := json.Marshal(cm("logged", nil))
			code, header, b := k.request(t, "POST", "/api/v1/namespaces/"+ns+"/configmaps", "application/json", body)
			if code != http.StatusCreated {
				t.Fatalf("create: %d %s", code, b)
			}
			id := header.Get("Audit-Id")
			if id == "" {
				t.Fatal("the response has no Audit-ID")
			}
			k.stop()
			var webhook, httpLine bool
			for _, line := range out.lines() {
				if !strings.Contains(line, id) {
					continue
				}
				var fields map[string]any
				if format == "json" {
					if err := json.Unmarshal([]byte(line), &fields); err != nil {
						t.Fatalf("not a JSON line: %q: %v", line, err)
					}
					for _, key := range []string{"ts", "caller", "msg"} {
						if fields[key] == nil {
							t.Errorf("JSON line without %s: %s", key, line)
						}
					}
				} else {
					fields = textFields(line)
				}
				switch {
				case fields["msg"] == "Failed calling webhook, failing open" && fields["webhook"] == "broken.kapi.test":
					webhook = true
					if format == "json" && fields["v"] != float64(0) {
						t.Errorf("the webhook's line has v %v, want 0: %s", fields["v"], line)
					}
				case fields["msg"] == "HTTP" && fields["verb"] == "POST":
					httpLine = true
					if format == "json" && fields["v"] != float64(3) {
						t.Errorf("the HTTP line has v %v, want 3: %s", fields["v"], line)
					}
				default:
					continue
				}
				if fields["auditID"] != id {
					t.Errorf("a line of request %s has auditID %v: %s", id, fields["auditID"], line)
				}
			}
			if !webhook || !httpLine {
				t.Errorf("the request's lines: webhook failing open %v, HTTP %v; the log:\n%s", webhook, httpLine, strings.Join(out.lines(), "\n"))
			}
		})
	}
}

// textFields reads a klog text line: I0102 15:04:05.000000 1 file.go:1] "msg" key="value" key=value.
func textFields(line string) map[string]any {
	_, rest, ok := strings.Cut(line, "] ")
	if !ok {
		return nil
	}
	f := map[string]any{}
	sc := bufio.NewScanner(strings.NewReader(rest))
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		start := 0
		for start < len(data) && data[start] == ' ' {
			start++
		}
		quoted := false
		for i := start; i < len(data); i++ {
			switch {
			case data[i] == '\\' && quoted:
				i++
			case data[i] == '"':
				quoted = !quoted
			case data[i] == ' ' && !quoted:
				return i + 1, data[start:i], nil
			}
		}
		if atEOF && start < len(data) {
			return len(data), data[start:], nil
		}
		return start, nil, nil
	})
	first := true
	for sc.Scan() {
		tok := sc.Text()
		if first {
			f["msg"], first = unquote(tok), false
			continue
		}
		if k, v, ok := strings.Cut(tok, "="); ok {
			f[k] = unquote(v)
		}
	}
	return f
}

func unquote(s string) string {
	var v string
	if json.Unmarshal([]byte(s), &v) == nil {
		return v
	}
	return s
}

// TestLoggingFormatInvalid: an unknown --logging-format stops start-up
// with kube's message.
func TestLoggingFormatInvalid(t *testing.T) {
	cfg := server.Defaults()
	cfg.DataDir, cfg.SecurePort, cfg.LoggingFormat = t.TempDir(), 0, "xml"
	if _, err := server.Start(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), `Unsupported value: "xml": supported values: "json", "text"`) {
		t.Fatalf("start with --logging-format=xml: %v", err)
	}
}
