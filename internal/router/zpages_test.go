package router

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	flagzv1alpha1 "k8s.io/apiserver/pkg/server/flagz/api/v1alpha1"
	flagzv1beta1 "k8s.io/apiserver/pkg/server/flagz/api/v1beta1"
	statuszv1alpha1 "k8s.io/apiserver/pkg/server/statusz/api/v1alpha1"
	statuszv1beta1 "k8s.io/apiserver/pkg/server/statusz/api/v1beta1"
	"sigs.k8s.io/yaml"

	"kapi/internal/features"
)

// zpagesTestConfig serves what kube-apiserver's integration test
// (TestStatusz) expects at /statusz: besides the router's own paths,
// kapi's Extra handlers (metrics, OpenAPI, profiling, the issuer's
// discovery), of which statusz lists only /metrics.
func zpagesTestConfig(flags map[string]string) Config {
	h := http.NotFoundHandler()
	cfg := Config{Extra: map[string]http.Handler{"GET /metrics": h, "GET /metrics/slis": h, "/debug/pprof/": h,
		"/debug/pprof/profile": h, "GET /openapi/v2": h, "GET /openapi/v3/{path...}": h,
		"GET /.well-known/openid-configuration": h, "GET /openid/v1/jwks": h}}
	if flags != nil {
		cfg.Flagz = func() map[string]string { return flags }
	}
	return cfg
}

func serveZpage(t *testing.T, cfg Config, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	h := zpages(cfg)[path]
	if h == nil {
		t.Fatalf("%s is not served", path)
	}
	r := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// withDelimiter fixes the text pages' delimiter for a test, as kube's
// tests do.
func withDelimiter(t *testing.T, d string) {
	saved := zpagesDelimiters
	zpagesDelimiters = []string{d}
	t.Cleanup(func() { zpagesDelimiters = saved })
}

// TestStatuszText: kube's text page, field by field, with kube's header
// and warning, and the paths kube-apiserver lists.
func TestStatuszText(t *testing.T) {
	withDelimiter(t, ":")
	rec := serveZpage(t, zpagesTestConfig(map[string]string{}), "/statusz")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("got %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	up := int64(time.Since(processStart).Seconds())
	want := fmt.Sprintf(`
apiserver statusz
Warning: This endpoint is not meant to be machine parseable, has no formatting compatibility guarantees and is for debugging purposes only.

Started: %s
Up: %d hr %02d min %02d sec
Go version: %s
Binary version: %s
Emulation version: 1.37
Paths: /flagz /healthz /livez /metrics /readyz /statusz /version
`, processStart.Format(time.UnixDate), up/3600, (up/60)%60, up%60, runtime.Version(), strings.TrimPrefix(Version.GitVersion, "v"))
	if rec.Body.String() != want {
		t.Errorf("got\n%s\nwant\n%s", rec.Body, want)
	}
	// No command line: no /flagz, and statusz does not list it.
	rec = serveZpage(t, zpagesTestConfig(nil), "/statusz")
	if !strings.Contains(rec.Body.String(), "\nPaths: /healthz /livez /metrics /readyz /statusz /version\n") {
		t.Errorf("without flags:\n%s", rec.Body)
	}
	if zpages(zpagesTestConfig(nil))["/flagz"] != nil {
		t.Error("/flagz is served without a command line")
	}
}

// TestStatuszDelimiters: every delimiter kube picks from makes kube's
// lines ("Up= ...", "Up  ...").
func TestStatuszDelimiters(t *testing.T) {
	for _, d := range []string{":", ": ", "=", " "} {
		withDelimiter(t, d)
		body := serveZpage(t, zpagesTestConfig(nil), "/statusz").Body.String()
		if !strings.Contains(body, "\nGo version"+d+" "+runtime.Version()+"\n") {
			t.Errorf("delimiter %q:\n%s", d, body)
		}
	}
}

// TestZpagesNegotiation follows kube's TestHandleStatusz and
// TestHandleFlagz, and its integration tests: the Accept headers that get
// text, an object of which version, or a 406.
func TestZpagesNegotiation(t *testing.T) {
	const beta, alpha = "application/json;v=v1beta1;g=config.k8s.io;as=", "application/json;v=v1alpha1;g=config.k8s.io;as="
	cfg := zpagesTestConfig(map[string]string{"v": "2", "secure-port": "6443"})
	for _, page := range []struct{ path, kind string }{{"/statusz", "Statusz"}, {"/flagz", "Flagz"}} {
		for _, c := range []struct {
			accept      string
			code        int
			contentType string // "text" for the text page
			warning     bool
		}{
			{"", 200, "text", false},
			{"text/plain", 200, "text", false},
			{"text/*", 200, "text", false},
			{"*/*", 200, "text", false},
			{"application/json;v=foo;g=config.k8s.io;as=" + page.kind + ",*/*", 200, "text", false},
			{"application/json, */*", 200, "text", false}, // client-go's default
			{beta + page.kind, 200, "application/json;g=config.k8s.io;v=v1beta1;as=" + page.kind, false},
			{"application/yaml;v=v1beta1;g=config.k8s.io;as=" + page.kind, 200, "application/yaml;g=config.k8s.io;v=v1beta1;as=" + page.kind, false},
			{"application/*;v=v1beta1;g=config.k8s.io;as=" + page.kind, 200, "application/json;g=config.k8s.io;v=v1beta1;as=" + page.kind, false},
			{alpha + page.kind, 200, "application/json;g=config.k8s.io;v=v1alpha1;as=" + page.kind, true},
			{alpha + page.kind + "," + beta + page.kind, 200, "application/json;g=config.k8s.io;v=v1alpha1;as=" + page.kind, true},
			{beta + page.kind + "," + alpha + page.kind, 200, "application/json;g=config.k8s.io;v=v1beta1;as=" + page.kind, false},
			{"text/plain;q=0.5," + beta + page.kind, 200, "application/json;g=config.k8s.io;v=v1beta1;as=" + page.kind, false},
			{"application/xml", 406, "application/json", false},
			{"application/json", 406, "application/json", false},
			{"application/yaml", 406, "application/yaml", false},
			{"application/json;v=v1beta1;g=config.k8s.io", 406, "application/json", false},
			{"application/vnd.kubernetes.protobuf", 406, "application/json", false},
			{"application/cbor;v=v1beta1;g=config.k8s.io;as=" + page.kind, 406, "application/json", false},
			{"text/plain;v=v1beta1;g=config.k8s.io;as=" + page.kind, 406, "application/json", false},
			{beta + "Other", 406, "application/json", false},
		} {
			rec := serveZpage(t, cfg, page.path, "Accept", c.accept)
			want := c.contentType
			if want == "text" {
				want = "text/plain; charset=utf-8"
			}
			if rec.Code != c.code || rec.Header().Get("Content-Type") != want {
				t.Errorf("%s %q: got %d %q, want %d %q\n%s", page.path, c.accept, rec.Code, rec.Header().Get("Content-Type"), c.code, want, rec.Body)
				continue
			}
			if got := rec.Header().Get("Warning"); (got != "") != c.warning ||
				c.warning && got != `299 - "This version of the `+page.path[1:]+` endpoint is deprecated. Please use a newer version."` {
				t.Errorf("%s %q: Warning %q", page.path, c.accept, got)
			}
			switch {
			case c.contentType == "text":
				if !strings.HasPrefix(rec.Body.String(), "\napiserver "+page.path[1:]+"\nWarning: This endpoint is not meant to be machine parseable") {
					t.Errorf("%s %q: text %q", page.path, c.accept, rec.Body)
				}
			case c.code == 406:
				var st metav1.Status
				if err := yaml.Unmarshal(rec.Body.Bytes(), &st); err != nil || st.Kind != "Status" || st.APIVersion != "v1" || st.Code != 406 ||
					st.Reason != metav1.StatusReasonNotAcceptable || st.Status != metav1.StatusFailure ||
					st.Message != "only the following media types are accepted: application/json, application/yaml, text/plain" {
					t.Errorf("%s %q: 406 body %s (%v)", page.path, c.accept, rec.Body, err)
				}
			default:
				var obj struct {
					metav1.TypeMeta   `json:",inline"`
					metav1.ObjectMeta `json:"metadata"`
				}
				if err := yaml.Unmarshal(rec.Body.Bytes(), &obj); err != nil || obj.Kind != page.kind || obj.Name != "apiserver" ||
					!strings.Contains(c.contentType, ";v="+strings.TrimPrefix(obj.APIVersion, "config.k8s.io/")+";") {
					t.Errorf("%s %q: object %s (%v)", page.path, c.accept, rec.Body, err)
				}
			}
		}
	}
}

// TestZpagesErrorRaw: an Accept header that takes no format of the page's
// gets kube's raw JSON Status (indented, as WriteRawJSON), a JSON one the
// Status as the JSON serializer writes it.
func TestZpagesErrorRaw(t *testing.T) {
	rec := serveZpage(t, zpagesTestConfig(nil), "/statusz", "Accept", "application/xml")
	want := `{
  "kind": "Status",
  "apiVersion": "v1",
  "metadata": {},
  "status": "Failure",
  "message": "only the following media types are accepted: application/json, application/yaml, text/plain",
  "reason": "NotAcceptable",
  "code": 406
}`
	if rec.Code != 406 || rec.Body.String() != want {
		t.Errorf("got %d\n%s", rec.Code, rec.Body)
	}
	rec = serveZpage(t, zpagesTestConfig(nil), "/statusz", "Accept", "application/json")
	want = `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"only the following media types are accepted: application/json, application/yaml, text/plain","reason":"NotAcceptable","code":406}` + "\n"
	if rec.Code != 406 || rec.Body.String() != want {
		t.Errorf("got %d\n%s", rec.Code, rec.Body)
	}
}

// TestStatuszObject: the v1beta1 and v1alpha1 objects carry the text's
// fields: the start, the uptime, the versions of /version and the paths.
func TestStatuszObject(t *testing.T) {
	for _, c := range []struct {
		accept string
		into   interface {
			GetName() string
		}
	}{
		{"application/json;as=Statusz;v=v1beta1;g=config.k8s.io", &statuszv1beta1.Statusz{}},
		{"application/yaml;as=Statusz;v=v1alpha1;g=config.k8s.io", &statuszv1alpha1.Statusz{}},
	} {
		rec := serveZpage(t, zpagesTestConfig(map[string]string{}), "/statusz", "Accept", c.accept)
		if err := yaml.Unmarshal(rec.Body.Bytes(), c.into); err != nil {
			t.Fatal(err)
		}
		var s statuszv1beta1.Statusz
		b, _ := json.Marshal(c.into)
		json.Unmarshal(b, &s)
		if s.Name != "apiserver" || !s.StartTime.Time.Equal(processStart) || s.UptimeSeconds < 0 || s.UptimeSeconds > int64(time.Since(processStart).Seconds())+1 ||
			s.GoVersion != runtime.Version() || s.BinaryVersion != strings.TrimPrefix(Version.GitVersion, "v") || s.EmulationVersion != "1.37" ||
			!slices.Equal(s.Paths, []string{"/flagz", "/healthz", "/livez", "/metrics", "/readyz", "/statusz", "/version"}) {
			t.Errorf("%q: %+v", c.accept, s)
		}
	}
}

// TestZpagesPretty: JSON is indented for ?pretty=true and for curl, as
// kube's isPrettyPrint.
func TestZpagesPretty(t *testing.T) {
	accept := "application/json;as=Statusz;v=v1beta1;g=config.k8s.io"
	if body := serveZpage(t, zpagesTestConfig(nil), "/statusz", "Accept", accept, "User-Agent", "curl/8.5.0").Body.String(); !strings.Contains(body, "\n  \"kind\": \"Statusz\"") {
		t.Errorf("curl gets %s", body)
	}
	if body := serveZpage(t, zpagesTestConfig(nil), "/statusz", "Accept", accept, "User-Agent", "kubectl/v1.37.2").Body.String(); strings.Contains(body, "\n  ") {
		t.Errorf("kubectl gets %s", body)
	}
}

// TestFlagzText: the flags sorted, "name=value" a line; the text is made
// once (its delimiter too), as kube caches it.
func TestFlagzText(t *testing.T) {
	withDelimiter(t, "=")
	reads := 0
	cfg := Config{Flagz: func() map[string]string {
		reads++
		return map[string]string{"v": "2", "bind-address": "127.0.0.1", "audit-log-path": ""}
	}}
	h := zpages(cfg)["/flagz"]
	want := "\napiserver flagz\nWarning: This endpoint is not meant to be machine parseable, has no formatting compatibility guarantees and is for debugging purposes only.\n" +
		"audit-log-path=\nbind-address=127.0.0.1\nv=2\n"
	for range 2 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/flagz", nil))
		if rec.Code != 200 || rec.Body.String() != want {
			t.Errorf("got %d\n%q\nwant\n%q", rec.Code, rec.Body, want)
		}
		zpagesDelimiters = []string{":"}
	}
	if reads != 1 {
		t.Errorf("the flags were read %d times", reads)
	}
}

// TestFlagzObject: the v1beta1 and v1alpha1 Flagz carry the flags.
func TestFlagzObject(t *testing.T) {
	flags := map[string]string{"v": "2", "secure-port": "6443"}
	for accept, into := range map[string]any{
		"application/json;as=Flagz;v=v1beta1;g=config.k8s.io":  &flagzv1beta1.Flagz{},
		"application/json;as=Flagz;v=v1alpha1;g=config.k8s.io": &flagzv1alpha1.Flagz{},
	} {
		rec := serveZpage(t, zpagesTestConfig(flags), "/flagz", "Accept", accept)
		if err := json.Unmarshal(rec.Body.Bytes(), into); err != nil {
			t.Fatal(err)
		}
		var got flagzv1beta1.Flagz
		b, _ := json.Marshal(into)
		json.Unmarshal(b, &got)
		if got.Name != "apiserver" || len(got.Flags) != 2 || got.Flags["v"] != "2" || got.Flags["secure-port"] != "6443" {
			t.Errorf("%q: %s", accept, rec.Body)
		}
	}
}

// TestFlagzReader: every flag with its value as kube spells it; secrets
// withheld.
func TestFlagzReader(t *testing.T) {
	fs := pflag.NewFlagSet("kapi", pflag.ContinueOnError)
	fs.Int("secure-port", 6443, "")
	fs.StringSlice("cors-allowed-origins", nil, "")
	fs.String("token", "", "")
	fs.String("secret", "", "")
	fs.SetAnnotation("secret", "classified", []string{"true"})
	fs.String("data-dir", "./kapi-data", "")
	// A flag held in a value of kapi's own, listed by kube in brackets.
	given := fs.VarPF(&plainValue{typ: "strings"}, "api-audiences", "", "")
	given.DefValue = "[]"
	unset := fs.VarPF(&plainValue{typ: "strings"}, "oidc-signing-algs", "", "")
	unset.DefValue = "[RS256]"
	fs.VarPF(&plainValue{typ: "duration"}, "event-ttl", "", "").DefValue = "1h0m0s"
	fs.VarPF(&plainValue{typ: "bool"}, "enable-garbage-collector", "", "").DefValue = "true"
	fs.VarPF(&plainValue{typ: "ip"}, "advertise-address", "", "").DefValue = "<nil>"
	fs.Lookup("secure-port").Hidden = true
	if err := fs.Parse([]string{"--secure-port=7443", "--cors-allowed-origins=a,b", "--token=s3cret", "--secret=x", "--api-audiences=x,y",
		"--event-ttl=2h", "--enable-garbage-collector=0"}); err != nil {
		t.Fatal(err)
	}
	got := Flagz(fs)()
	want := map[string]string{"help": "false", "secure-port": "7443", "cors-allowed-origins": "[a,b]", "token": "CLASSIFIED",
		"secret": "CLASSIFIED", "data-dir": "./kapi-data", "api-audiences": "[x,y]", "oidc-signing-algs": "[RS256]",
		"event-ttl": "2h0m0s", "enable-garbage-collector": "false", "advertise-address": "<nil>"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

// plainValue is a value that keeps what it is given, as kapi's values of
// kube's flags do.
type plainValue struct{ v, typ string }

func (p *plainValue) String() string     { return p.v }
func (p *plainValue) Set(s string) error { p.v = s; return nil }
func (p *plainValue) Type() string       { return p.typ }

// TestZpagesAnyMethod: the pages answer any method, as kube's (installed
// on its NonGoRestfulMux); authorization judges the verb.
func TestZpagesAnyMethod(t *testing.T) {
	h := zpages(zpagesTestConfig(nil))["/statusz"]
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/statusz", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "apiserver statusz") {
		t.Errorf("POST: %d %s", rec.Code, rec.Body)
	}
}

// TestZpagesFeatureGates: /statusz and /flagz are served, and listed at
// the root, only with their gates (ComponentStatusz, ComponentFlagz; on
// by default), as kube-apiserver installs them.
func TestZpagesFeatureGates(t *testing.T) {
	for _, tc := range []struct {
		gates string
		want  []string
	}{
		{"", []string{"/flagz", "/statusz"}},
		{"ComponentStatusz=false", []string{"/flagz"}},
		{"ComponentFlagz=false", []string{"/statusz"}},
		{"ComponentFlagz=false,ComponentStatusz=false", nil},
	} {
		cfg := zpagesTestConfig(map[string]string{"v": "2"})
		g := features.New()
		if err := g.Set(tc.gates); tc.gates != "" && err != nil {
			t.Fatal(err)
		}
		cfg.Features = g
		served := slices.Sorted(maps.Keys(zpages(cfg)))
		if !slices.Equal(served, tc.want) {
			t.Errorf("%q: served %v, want %v", tc.gates, served, tc.want)
		}
		root := ownPaths(cfg) // the root's listing, but for the groups
		for _, p := range []string{"/flagz", "/statusz"} {
			if listed := slices.Contains(root, p); listed != slices.Contains(tc.want, p) {
				t.Errorf("%q: %s listed at the root: %t", tc.gates, p, listed)
			}
		}
	}
}
