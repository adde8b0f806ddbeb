package filters

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/authn"
	"kapi/internal/request"
)

func status(t *testing.T, rec *httptest.ResponseRecorder) metav1.Status {
	t.Helper()
	var st metav1.Status
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil || st.Kind != "Status" {
		t.Fatalf("body is not a Status: %v %s", err, rec.Body)
	}
	return st
}

func TestRecover(t *testing.T) {
	h := Recover(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/pods", nil))
	if rec.Code != 500 || status(t, rec).Code != 500 {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
}

func TestCORS(t *testing.T) {
	origins, err := CompileOrigins([]string{`//allowed\.example\.com$`, `^https://(.+\.)?corp\.example$`})
	if err != nil {
		t.Fatal(err)
	}
	reached := false
	h := CORS(origins)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true }))
	cases := []struct {
		method, origin string
		allowed        bool
		code           int
		reaches        bool
	}{
		{"OPTIONS", "https://allowed.example.com", true, 204, false},
		{"GET", "https://allowed.example.com", true, 200, true},
		{"GET", "https://a.corp.example", true, 200, true},
		{"GET", "https://evil.example.com", false, 200, true},
		{"OPTIONS", "https://allowed.example.com.evil.net", false, 200, true},
		{"GET", "", false, 200, true},
	}
	for _, c := range cases {
		reached = false
		r := httptest.NewRequest(c.method, "/api", nil)
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		got := rec.Header().Get("Access-Control-Allow-Origin")
		if (got == c.origin && c.allowed) != c.allowed || (!c.allowed && got != "") || rec.Code != c.code || reached != c.reaches {
			t.Errorf("%s from %q: allow-origin %q code %d reached %v", c.method, c.origin, got, rec.Code, reached)
		}
		if c.allowed && rec.Header().Get("Access-Control-Allow-Credentials") != "true" {
			t.Errorf("%s from %q: no credentials header", c.method, c.origin)
		}
	}
}

// TestMaxInFlight: beyond the limit, 429 with Retry-After, except to
// system:masters; watches are not counted.
func TestMaxInFlight(t *testing.T) {
	release := make(chan struct{})
	var started sync.WaitGroup
	h := RequestInfo(MaxInFlight(2, 1)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u := request.UserFrom(r.Context()); u != nil && u.Name == "admin" {
			return // served at once
		}
		started.Done()
		<-release
	})))
	started.Add(2)
	var done sync.WaitGroup
	for i := 0; i < 2; i++ {
		done.Add(1)
		go func() {
			defer done.Done()
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/v1/pods", nil))
		}()
	}
	started.Wait()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/pods", nil))
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "1" || status(t, rec).Reason != metav1.StatusReasonTooManyRequests {
		t.Fatalf("third read: %d %v", rec.Code, rec.Header())
	}
	// A member of system:masters is served with every slot taken, as
	// kube-apiserver serves it; another user's read still gets a 429.
	withUser := func(u *request.User) *http.Request {
		r := httptest.NewRequest("GET", "/api/v1/pods", nil)
		return r.WithContext(request.WithUser(r.Context(), u))
	}
	for _, c := range []struct {
		u    *request.User
		code int
	}{
		{&request.User{Name: "admin", Groups: []string{request.SystemPrivileged, request.AllAuthenticated}}, 200},
		{&request.User{Name: "alice", Groups: []string{request.AllAuthenticated}}, 429},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, withUser(c.u))
		if rec.Code != c.code {
			t.Errorf("a read of %s's with every slot taken: %d, want %d", c.u.Name, rec.Code, c.code)
		}
	}
	// A watch is not limited.
	started.Add(1)
	go func() {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/v1/pods?watch=true", nil))
	}()
	started.Wait()
	close(release)
	done.Wait()
}

func TestTimeout(t *testing.T) {
	h := RequestInfo(Timeout(50 * time.Millisecond)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		w.Write([]byte("too late"))
	})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/pods", nil))
	if rec.Code != 504 || status(t, rec).Reason != metav1.StatusReasonTimeout {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
	// A panic inside reaches Recover through the timeout goroutine.
	p := Recover(RequestInfo(Timeout(time.Second)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("x") }))))
	rec = httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/pods", nil))
	if rec.Code != 500 {
		t.Fatalf("panic under timeout: %d", rec.Code)
	}
}

// TestTimeoutParameter: a ?timeout= that is not a duration is kube's 400;
// 0s and one above the server's limit leave the limit as it is, a shorter
// one shortens it; a watch's is not read.
func TestTimeoutParameter(t *testing.T) {
	var left time.Duration
	h := RequestInfo(Timeout(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		left = 0
		if d, ok := r.Context().Deadline(); ok {
			left = time.Until(d)
		}
	})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/version?timeout=invalid", nil))
	st := status(t, rec)
	if rec.Code != 400 || st.Reason != metav1.StatusReasonBadRequest ||
		st.Message != `invalid timeout specified in the request URL - time: invalid duration "invalid"` {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
	for _, c := range []struct {
		timeout  string
		min, max time.Duration
	}{{"0s", 59 * time.Second, time.Minute}, {"3m", 59 * time.Second, time.Minute}, {"5s", 4 * time.Second, 5 * time.Second}} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/version?timeout="+c.timeout, nil))
		if rec.Code != 200 || left < c.min || left > c.max {
			t.Errorf("timeout=%s: %d, deadline in %v", c.timeout, rec.Code, left)
		}
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/pods?watch=true&timeout=invalid", nil))
	if rec.Code != 200 {
		t.Errorf("a watch with timeout=invalid: %d %s", rec.Code, rec.Body)
	}
}

type fakeAuthn struct {
	u   *request.User
	ok  bool
	err error
}

func (f fakeAuthn) AuthenticateRequest(*http.Request) (*request.User, bool, error) {
	return f.u, f.ok, f.err
}

func TestAuthenticate(t *testing.T) {
	var seen *request.User
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = request.UserFrom(r.Context()) })
	cases := []struct {
		name      string
		a         fakeAuthn
		anonymous bool
		token     string
		code      int
		user      string
		groups    int
	}{
		{"user", fakeAuthn{u: &request.User{Name: "alice", Groups: []string{"dev"}}, ok: true}, true, "", 200, "alice", 2},
		{"bad credential", fakeAuthn{err: context.DeadlineExceeded}, true, "", 401, "", 0},
		{"unknown token is not anonymous", fakeAuthn{}, true, "nobody-knows", 401, "", 0},
		{"anonymous", fakeAuthn{}, true, "", 200, request.Anonymous, 1},
		{"anonymous off", fakeAuthn{}, false, "", 401, "", 0},
	}
	for _, c := range cases {
		seen = nil
		r := httptest.NewRequest("GET", "/api", nil)
		r.TLS = &tls.ConnectionState{}
		if c.token != "" {
			r.Header.Set("Authorization", "Bearer "+c.token)
		}
		rec := httptest.NewRecorder()
		Authenticate(c.a, c.anonymous, nil)(next).ServeHTTP(rec, r)
		if rec.Code != c.code {
			t.Errorf("%s: code %d", c.name, rec.Code)
			continue
		}
		if c.code == 401 {
			if st := status(t, rec); st.Reason != metav1.StatusReasonUnauthorized || seen != nil {
				t.Errorf("%s: %+v, reached %v", c.name, st, seen)
			}
			continue
		}
		if seen == nil || seen.Name != c.user || len(seen.Groups) != c.groups {
			t.Errorf("%s: user %+v", c.name, seen)
		}
	}
}

// TestAuthenticateClearsFrontProxyHeaders: as kube, what comes after
// authentication (a proxy) never sees a client's X-Remote-* claims,
// whoever authenticated the request, anonymous included.
func TestAuthenticateClearsFrontProxyHeaders(t *testing.T) {
	var seen http.Header
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r.Header })
	for _, a := range []authn.Union{
		{fakeAuthn{u: &request.User{Name: "alice"}, ok: true}},
		{fakeAuthn{}},
	} {
		seen = nil
		r := httptest.NewRequest("GET", "/api", nil)
		r.Header = http.Header{"X-Remote-User": {"root"}, "X-Remote-Group": {"system:masters"}, "X-Remote-Extra-Scopes": {"all"}, "Accept": {"*/*"}}
		Authenticate(a, true, nil)(next).ServeHTTP(httptest.NewRecorder(), r)
		if want := (http.Header{"Accept": {"*/*"}}); !reflect.DeepEqual(seen, want) {
			t.Errorf("after authentication the request has %v", seen)
		}
	}
}

var _ = regexp.Compile
