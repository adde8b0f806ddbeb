package router

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	kubeflagz "k8s.io/apiserver/pkg/server/flagz"
	kubestatusz "k8s.io/apiserver/pkg/server/statusz"
	"k8s.io/component-base/compatibility"
)

// kubeFlags is a flag reader of kube's flagz.
type kubeFlags map[string]string

func (f kubeFlags) GetFlagz() map[string]string { return f }

// TestZpagesAsKube holds kapi's pages against kube's own (k8s.io/apiserver's
// statusz and flagz handlers, installed as kube-apiserver installs them,
// used here only as the reference): for every Accept header, with and
// without curl's User-Agent, both answer the same code, Content-Type and
// Warning, and the same body, but for the text pages' random delimiter.
func TestZpagesAsKube(t *testing.T) {
	saved := utilruntime.ErrorHandlers
	utilruntime.ErrorHandlers = nil // kube logs every 406
	t.Cleanup(func() { utilruntime.ErrorHandlers = saved })

	flags := map[string]string{"v": "2", "secure-port": "6443", "etcd-servers": "[]"}
	kube := http.NewServeMux()
	kubeflagz.Install(kube, "apiserver", kubeFlags(flags))
	// kube-apiserver's listed paths for what kapi serves (zpagesTestConfig).
	listed := []string{"/.well-known/openid-configuration", "/api", "/apis", "/apis/apps", "/flagz", "/healthz", "/livez",
		"/metrics", "/metrics/slis", "/openapi/v2", "/openapi/v3", "/openid/v1/jwks", "/readyz", "/statusz", "/version"}
	kubestatusz.Install(kube, "apiserver", kubestatusz.NewRegistry(
		compatibility.NewEffectiveVersionFromString(Version.GitVersion, "", ""), kubestatusz.WithListedPaths(listed)))
	kapi := zpages(zpagesTestConfig(flags))

	accepts := []string{"", " ", "text/plain", "text/*", "*/*", "*", "garbage", ",,", "application/json, */*",
		"application/json;v=foo;g=config.k8s.io;as=Flagz,*/*",
		"application/json;v=v1beta1;g=config.k8s.io;as=Flagz", "application/json;v=v1beta1;g=config.k8s.io;as=Statusz",
		"application/yaml;v=v1beta1;g=config.k8s.io;as=Flagz", "application/yaml;v=v1beta1;g=config.k8s.io;as=Statusz",
		"application/json;v=v1alpha1;g=config.k8s.io;as=Flagz", "application/json;v=v1alpha1;g=config.k8s.io;as=Statusz",
		"application/json;v=v1alpha1;g=config.k8s.io;as=Statusz,application/json;v=v1beta1;g=config.k8s.io;as=Statusz",
		"application/*;v=v1beta1;g=config.k8s.io;as=Flagz", "application/*;v=v1beta1;g=config.k8s.io;as=Statusz",
		"application/json;v=v1beta1;g=config.k8s.io;as=Flagz;pretty=1", "application/json;v=v1beta1;g=config.k8s.io;as=Flagz;stream=watch",
		"application/json;v=v1beta1;g=config.k8s.io;as=Flagz;sv=v1",
		"application/xml", "application/json", "application/yaml", "application/json;v=v1beta1;g=config.k8s.io",
		"application/vnd.kubernetes.protobuf", "application/cbor;v=v1beta1;g=config.k8s.io;as=Statusz",
		"text/plain;v=v1beta1;g=config.k8s.io;as=Statusz", "*/*;stream=watch", "application/json;stream=watch",
		"application/json;sv=v1", "text/plain;q=0, application/xml", "application/json;q=0.1,application/xml;q=0.9",
		"text/plain;q=0.1,application/json;v=v1beta1;g=config.k8s.io;as=Statusz;q=0.2", "application/json;pretty=1",
	}
	delimited := regexp.MustCompile(`(?m)^(Started|Up|Go version|Binary version|Emulation version|Paths)(: |:|=| ) `)
	// The uptime may tick between the two answers.
	uptime := regexp.MustCompile(`(?m)(^Up: .*$|"uptimeSeconds": ?\d+|uptimeSeconds: \d+)`)
	body := func(rec *httptest.ResponseRecorder) string {
		return uptime.ReplaceAllString(delimited.ReplaceAllString(rec.Body.String(), "$1: "), "uptime")
	}
	for _, path := range []string{"/flagz", "/statusz"} {
		for _, accept := range accepts {
			for _, ua := range []string{"", "curl/8.5.0"} {
				do := func(h http.Handler) *httptest.ResponseRecorder {
					r := httptest.NewRequest("GET", path, nil)
					if accept != "" {
						r.Header.Set("Accept", accept)
					}
					r.Header.Set("User-Agent", ua)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, r)
					return rec
				}
				k, m := do(kube), do(kapi[path])
				same := k.Code == m.Code
				for _, h := range []string{"Content-Type", "Warning", "X-Content-Type-Options"} {
					same = same && k.Header().Get(h) == m.Header().Get(h)
				}
				text := k.Code == 200 && k.Header().Get("Content-Type") == "text/plain; charset=utf-8"
				switch {
				case text && path == "/statusz":
					same = same && body(k) == body(m)
				case text: // flagz: kapi's text with kube's delimiter
					match := false
					for _, d := range []string{":", ": ", "=", " "} {
						zpagesDelimiters = []string{d}
						match = match || string(flagzText(flags)) == k.Body.String()
					}
					zpagesDelimiters = []string{":", ": ", "=", " "}
					same = same && match
				default:
					same = same && body(k) == body(m)
				}
				if !same {
					t.Errorf("%s %q (User-Agent %q):\nkube: %d %v\n%s\nkapi: %d %v\n%s", path, accept, ua, k.Code, k.Header(), k.Body, m.Code, m.Header(), m.Body)
				}
			}
		}
	}
}
