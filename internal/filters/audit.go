package filters

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"kapi/internal/audit"
	"kapi/internal/request"
)

const (
	// auditMaxRequestBody is the most of a request body audit keeps; a
	// larger one (kapi refuses bodies over 3 MiB anyway) is not recorded.
	auditMaxRequestBody = 4 << 20
	// auditMaxStatusBody is the most of a response audit keeps below
	// RequestResponse, where it only looks for a Status to record as the
	// responseStatus.
	auditMaxStatusBody = 64 << 10
)

// Audit records each request as the audit policy says (it runs after
// authentication, to know the user, and before impersonation): the stages
// RequestReceived, ResponseStarted (long-running requests such as
// watches), ResponseComplete, or Panic when a later handler panics (the
// panic goes on). It captures the request body (from Request on; at
// Metadata only to name the object of a create or update) and the
// response body (the whole of it at RequestResponse; below, only to find
// a Status), never the stream of a watch. The response carries the
// request's Audit-Id (the client's, when it sent one), even when auditing
// is off. a nil is no auditing.
func Audit(a *audit.Auditor) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := auditID(w, r)
			if a == nil {
				next.ServeHTTP(w, r)
				return
			}
			received := time.Now()
			ctx := r.Context()
			info := request.InfoFrom(ctx)
			if info == nil {
				info = request.Parse(r)
			}
			cfg := a.Evaluate(request.UserFrom(ctx), info)
			log := request.LogFrom(ctx)
			log.Add("audit", string(cfg.Level))
			if cfg.Level == auditv1.LevelNone {
				next.ServeHTTP(w, r)
				return
			}
			rec := a.NewRecord(r, id, received, cfg)
			r = r.WithContext(audit.WithRecord(ctx, rec))
			if !rec.Stage(auditv1.StageRequestReceived) {
				// As kube: a blocking-strict sink that cannot take the
				// request's first event refuses the request.
				audit.Rejected()
				http.Error(w, htmlSanitizer.Replace(fmt.Sprintf("Internal Server Error: %q: %v", r.RequestURI, "failed to store audit event")), http.StatusInternalServerError)
				return
			}

			longRunning := isLongRunning(info)
			aw := &auditWriter{ResponseWriter: w, rec: rec, startedStage: longRunning}
			var body *auditBody
			if !longRunning {
				if r.Body != nil && r.Body != http.NoBody && (cfg.Level != auditv1.LevelMetadata || info.Verb == "create" || info.Verb == "update") {
					body = &auditBody{ReadCloser: r.Body, capture: capture{limit: auditMaxRequestBody}}
					r.Body = body
				}
				aw.capture = &capture{limit: auditMaxStatusBody}
				if cfg.Level == auditv1.LevelRequestResponse {
					aw.capture.limit = -1
				}
			}
			defer func() {
				if body != nil {
					rec.SetRequestBody(r.Header.Get("Content-Type"), body.bytes())
				}
				if v := recover(); v != nil {
					rec.Panicked(v)
					panic(v)
				}
				if b := aw.body(); b != nil {
					rec.SetResponseBody(w.Header().Get("Content-Type"), b)
				}
				if !rec.HasResponseStatus() {
					// Nothing was written: kube-apiserver calls it a success.
					rec.SetResponseStatus(&metav1.Status{Code: http.StatusOK, Status: metav1.StatusSuccess, Message: "Connection closed early"})
					if longRunning {
						rec.Stage(auditv1.StageResponseStarted)
					}
				}
				rec.Stage(auditv1.StageResponseComplete)
			}()
			next.ServeHTTP(aw, r)
		})
	}
}

// AuditFailedAuthentication wraps the handler that answers a request whose
// credentials were refused (401), to audit it as kube-apiserver does:
// without a user, as one event at the ResponseStarted stage whose
// responseStatus tells which credentials were tried ("Authentication
// failed, attempted: bearer, x509"). a nil is no auditing.
func AuditFailedAuthentication(a *audit.Auditor) func(http.Handler) http.Handler {
	return func(failed http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := auditID(w, r)
			if a == nil {
				failed.ServeHTTP(w, r)
				return
			}
			info := request.InfoFrom(r.Context())
			if info == nil {
				info = request.Parse(r)
			}
			cfg := a.Evaluate(nil, info)
			request.LogFrom(r.Context()).Add("audit", string(cfg.Level))
			if cfg.Level == auditv1.LevelNone {
				failed.ServeHTTP(w, r)
				return
			}
			rec := a.NewRecord(r, id, time.Now(), cfg)
			rec.SetResponseStatus(&metav1.Status{Message: attemptedAuthentication(r)})
			failed.ServeHTTP(&auditWriter{ResponseWriter: w, rec: rec, startedStage: true}, r)
		})
	}
}

// attemptedAuthentication names the credentials r carries.
func attemptedAuthentication(r *http.Request) string {
	var methods []string
	if _, _, ok := r.BasicAuth(); ok {
		methods = append(methods, "basic")
	}
	if parts := strings.Split(strings.TrimSpace(r.Header.Get("Authorization")), " "); len(parts) > 1 && strings.EqualFold(parts[0], "bearer") {
		methods = append(methods, "bearer")
	}
	if strings.TrimSpace(r.URL.Query().Get("access_token")) != "" {
		methods = append(methods, "access_token")
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		methods = append(methods, "x509")
	}
	if len(methods) == 0 {
		return "Authentication failed, no credentials provided"
	}
	return "Authentication failed, attempted: " + strings.Join(methods, ", ")
}

// auditID is the request's audit ID: AuditInit's, else the client's
// Audit-ID header, or a new UUID. The response carries it.
func auditID(w http.ResponseWriter, r *http.Request) string {
	id := request.AuditIDFrom(r.Context())
	if id == "" {
		id = r.Header.Get(audit.HeaderAuditID)
	}
	if id == "" {
		id = uuid.NewString()
	}
	if w.Header().Get(audit.HeaderAuditID) == "" {
		w.Header().Set(audit.HeaderAuditID, id)
	}
	return id
}

// capture keeps a copy of what goes through, up to limit bytes (-1: no
// limit); beyond, it keeps nothing.
type capture struct {
	buf   bytes.Buffer
	limit int
	over  bool
}

func (c *capture) write(p []byte) {
	if c.over {
		return
	}
	if c.limit >= 0 && c.buf.Len()+len(p) > c.limit {
		c.over = true
		c.buf = bytes.Buffer{}
		return
	}
	c.buf.Write(p)
}

func (c *capture) bytes() []byte {
	if c.over {
		return nil
	}
	return c.buf.Bytes()
}

// auditBody copies the request body as the handler reads it.
type auditBody struct {
	io.ReadCloser
	mu sync.Mutex
	capture
}

func (b *auditBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.mu.Lock()
	b.write(p[:n])
	b.mu.Unlock()
	return n, err
}

func (b *auditBody) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.capture.bytes()
}

// auditWriter records the status code of the response (and, when
// startedStage is set, as for long-running requests, sends the
// ResponseStarted stage then) and copies the body when asked (capture
// non-nil).
type auditWriter struct {
	http.ResponseWriter
	rec          *audit.Record
	startedStage bool
	once         sync.Once
	mu           sync.Mutex
	capture      *capture
}

func (w *auditWriter) started(code int) {
	w.once.Do(func() {
		w.rec.SetResponseCode(code)
		if w.startedStage {
			w.rec.Stage(auditv1.StageResponseStarted)
		}
	})
}

func (w *auditWriter) WriteHeader(code int) {
	w.started(code)
	w.ResponseWriter.WriteHeader(code)
}

func (w *auditWriter) Write(p []byte) (int, error) {
	w.started(http.StatusOK)
	if w.capture != nil {
		w.mu.Lock()
		w.capture.write(p)
		w.mu.Unlock()
	}
	return w.ResponseWriter.Write(p)
}

// body is the response body captured, or nil.
func (w *auditWriter) body() []byte {
	if w.capture == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.capture.bytes()
}

// Flush passes on, for watches.
func (w *auditWriter) Flush() {
	w.started(http.StatusOK)
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack passes on, for upgraded connections (exec, attach, port
// forwarding), recorded as 101 Switching Protocols as kube-apiserver does.
func (w *auditWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.started(http.StatusSwitchingProtocols)
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the connection.
func (w *auditWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// htmlSanitizer is kube's responsewriters' for its plain-text errors.
var htmlSanitizer = strings.NewReplacer(`&`, "&amp;", `<`, "&lt;", `>`, "&gt;")
