package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"

	"kapi/internal/server"
)

// allowLoopback is --proxy-allow-loopback: the tests' "pods" and
// endpoints are servers on 127.0.0.1.
func allowLoopback(c *server.Config) { c.ProxyAllowLoopback = true }

// echoBackend answers every request with what it saw: method, escaped
// path and query, the headers the proxy sets or must drop, and the body.
func echoBackend(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	fmt.Fprintf(w, "%s %s?%s body=%s auth=%q xff=%q xfuri=%q", r.Method, r.URL.EscapedPath(), r.URL.RawQuery, b,
		r.Header.Get("Authorization"), r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Forwarded-Uri"))
}

// loopbackServer serves h on a free loopback port until the test ends.
func loopbackServer(t *testing.T, h http.Handler, tlsToo bool) (*httptest.Server, int32) {
	t.Helper()
	s := httptest.NewUnstartedServer(h)
	if tlsToo {
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	_, port, _ := net.SplitHostPort(s.Listener.Addr().String())
	n, _ := strconv.Atoi(port)
	return s, int32(n)
}

// exposeService makes Service ns/name with ports (name -> service port)
// whose EndpointSlice points, for each port name, at 127.0.0.1:target.
func exposeService(t *testing.T, k *kapi, ns, name string, ports map[string][2]int32) {
	t.Helper()
	ctx := context.Background()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name}}
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name + "-1", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"127.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: new(true)}}},
	}
	for pn, p := range ports {
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: pn, Port: p[0], TargetPort: intstr.FromInt32(p[1])})
		es.Ports = append(es.Ports, discoveryv1.EndpointPort{Name: new(pn), Port: new(p[1])})
	}
	if _, err := k.client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.client.DiscoveryV1().EndpointSlices(ns).Create(ctx, es, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// proxyGet sends method to kapi's path with the admin's credentials,
// without following redirects; it returns the code, headers and body.
func proxyDo(t *testing.T, cfg *rest.Config, base, method, path, body string, header ...string) (int, http.Header, string) {
	t.Helper()
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestProxyServices: services/<name>[:port]/proxy/<path> reaches an
// endpoint of the Service, for every method, with the query, the body
// and kube's forwarding headers; named, numbered and https: ports; the
// errors kube gives (no endpoints, no such port, ExternalName).
func TestProxyServices(t *testing.T) {
	k := startKapi(t, allowLoopback, withoutLoops(rootCAPublisher))
	_, plain := loopbackServer(t, http.HandlerFunc(echoBackend), false)
	_, secure := loopbackServer(t, http.HandlerFunc(echoBackend), true)
	exposeService(t, k, "default", "web", map[string][2]int32{"http": {80, plain}, "https": {443, secure}})
	const svc = "/api/v1/namespaces/default/services/"

	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		code, _, body := proxyDo(t, k.rest, k.srv.URL, m, svc+"web:80/proxy/a/b%2Fc/?x=1&y=%20", "payload-"+m)
		want := fmt.Sprintf("%s /a/b%%2Fc/?x=1&y=%%20 body=payload-%s auth=\"\" xff=\"127.0.0.1\" xfuri=%q", m, m, svc+"web:80/proxy/a/b%2Fc/")
		if code != 200 || body != want {
			t.Errorf("%s through web:80: %d %s\nwant %s", m, code, body, want)
		}
	}
	if code, h, _ := proxyDo(t, k.rest, k.srv.URL, "HEAD", svc+"web:http/proxy/x", ""); code != 200 || h.Get("Content-Length") == "" {
		t.Errorf("HEAD through the named port: %d %v", code, h)
	}
	for _, id := range []string{"web:http", "http:web:80", "https:web:443", "https:web:https"} {
		if code, _, body := proxyDo(t, k.rest, k.srv.URL, "GET", svc+id+"/proxy/p", ""); code != 200 || !strings.HasPrefix(body, "GET /p?") {
			t.Errorf("GET through %s: %d %s", id, code, body)
		}
	}

	// kube's redirect of the proxy itself to the proxy's root.
	code, h, _ := proxyDo(t, k.rest, k.srv.URL, "GET", svc+"web:80/proxy?q=1", "")
	if code != http.StatusMovedPermanently || h.Get("Location") != svc+"web:80/proxy/?q=1" {
		t.Errorf("GET of the proxy without a path: %d Location %q", code, h.Get("Location"))
	}

	// Errors, as kube-apiserver's service ResourceLocation gives them.
	ctx := context.Background()
	if _, err := k.client.CoreV1().Services("default").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "empty"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.client.CoreV1().Services("default").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "ext"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com", Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id     string
		code   int
		reason metav1.StatusReason
		msg    string
	}{
		{"empty", 503, metav1.StatusReasonServiceUnavailable, `no endpoints available for service "empty"`},
		{"ext:80", 503, metav1.StatusReasonServiceUnavailable, `no endpoints available for service "ext"`},
		{"web:81", 503, metav1.StatusReasonServiceUnavailable, `no service port 81 found for service "web"`},
		{"web:nosuch", 503, metav1.StatusReasonServiceUnavailable, `no endpoints available for service "web:nosuch"`},
		{"missing", 404, metav1.StatusReasonNotFound, `services "missing" not found`},
		{"ftp:web:80", 400, metav1.StatusReasonBadRequest, `invalid service request "ftp:web:80"`},
		{"a:b:c:d", 400, metav1.StatusReasonBadRequest, `invalid service request "a:b:c:d"`},
	} {
		code, st, body := k.do(t, "GET", svc+c.id+"/proxy/", "", nil)
		if code != c.code || st == nil || st.Reason != c.reason || st.Message != c.msg {
			t.Errorf("%s: %d %s, want %d %s %q", c.id, code, body, c.code, c.reason, c.msg)
		}
	}
}

// TestProxyServicesStreams: a request body and a response body stream
// through, chunked; server-sent events arrive one by one (the backend
// sends the next only once the client has read the previous), and
// outlive --request-timeout (a proxy is long-running); a WebSocket
// upgrade passes every filter and echoes.
func TestProxyServicesStreams(t *testing.T) {
	k := startKapi(t, allowLoopback, withoutLoops(rootCAPublisher), func(c *server.Config) { c.RequestTimeout = time.Second })
	next := make(chan struct{})
	upgrader := websocket.Upgrader{}
	mux := http.NewServeMux()
	mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			fmt.Fprintf(w, "data: event-%d\n\n", i)
			w.(http.Flusher).Flush()
			select {
			case <-next:
			case <-r.Context().Done():
				return
			}
		}
	})
	mux.HandleFunc("/upload", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "%d %v", n, r.TransferEncoding)
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			mt, m, err := c.ReadMessage()
			if err != nil {
				return
			}
			c.WriteMessage(mt, append([]byte("echo:"), m...))
		}
	})
	_, port := loopbackServer(t, mux, false)
	exposeService(t, k, "default", "stream", map[string][2]int32{"": {80, port}})
	base := k.srv.URL + "/api/v1/namespaces/default/services/stream/proxy"
	hc, err := rest.HTTPClientFor(k.rest)
	if err != nil {
		t.Fatal(err)
	}

	// A chunked upload of 8 MiB.
	pr, pw := io.Pipe()
	go func() {
		chunk := make([]byte, 64<<10)
		for range 128 {
			pw.Write(chunk)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", base+"/upload", pr)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "8388608 [chunked]" {
		t.Errorf("chunked upload: backend saw %q", b)
	}

	// Server-sent events, one by one.
	resp, err = hc.Get(base + "/events")
	if err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(resp.Body)
	for i := range 3 {
		line, err := rd.ReadString('\n')
		if err != nil || line != fmt.Sprintf("data: event-%d\n", i) {
			t.Fatalf("event %d: %q %v", i, line, err)
		}
		rd.ReadString('\n')
		if i == 1 {
			time.Sleep(2 * time.Second) // past --request-timeout
		}
		next <- struct{}{}
	}
	resp.Body.Close()

	// A WebSocket upgrade, with the admin's client certificate.
	tlsCfg, err := rest.TLSConfigFor(k.rest)
	if err != nil {
		t.Fatal(err)
	}
	d := websocket.Dialer{TLSClientConfig: tlsCfg}
	u, _ := url.Parse(base + "/ws")
	u.Scheme = "wss"
	hdr := http.Header{}
	if k.rest.BearerToken != "" {
		hdr.Set("Authorization", "Bearer "+k.rest.BearerToken)
	}
	c, resp, err := d.Dial(u.String(), hdr)
	if err != nil {
		t.Fatalf("websocket through the proxy: %v %v", err, resp)
	}
	defer c.Close()
	for _, m := range []string{"one", "two"} {
		if err := c.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
			t.Fatal(err)
		}
		if _, got, err := c.ReadMessage(); err != nil || string(got) != "echo:"+m {
			t.Fatalf("websocket echo of %s: %q %v", m, got, err)
		}
	}
}

// TestProxyServicesAuthorization: services/proxy is authorized by verb
// (get for GET, create for POST), as kube-apiserver's.
func TestProxyServicesAuthorization(t *testing.T) {
	k := startKapi(t, allowLoopback, withoutLoops(rootCAPublisher))
	_, port := loopbackServer(t, http.HandlerFunc(echoBackend), false)
	exposeService(t, k, "default", "web", map[string][2]int32{"": {80, port}})
	ctx := context.Background()
	if _, err := k.client.RbacV1().Roles("default").Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "proxy-get"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"services/proxy"}, Verbs: []string{"get"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.client.RbacV1().RoleBindings("default").Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "proxy-get"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "proxy-get"},
		Subjects: []rbacv1.Subject{{Kind: "User", Name: "alice"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/namespaces/default/services/web/proxy/x"
	// RBAC sees a new binding through its informers, a moment after the
	// write (as kube's): wait until it allows alice, as a client would.
	if err := waitUntil(10*time.Second, func() bool {
		sar, err := k.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: "alice", ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: "default", Verb: "get", Resource: "services", Subresource: "proxy", Name: "web"}}}, metav1.CreateOptions{})
		return err == nil && sar.Status.Allowed
	}); err != nil {
		t.Fatalf("the RoleBinding never allowed alice: %v", err)
	}
	for _, c := range []struct {
		user, method string
		code         int
	}{{"bob", "GET", 403}, {"alice", "GET", 200}, {"alice", "POST", 403}} {
		code, _, body := proxyDo(t, k.rest, k.srv.URL, c.method, path, "", "Impersonate-User", c.user)
		if code != c.code {
			t.Errorf("%s %s as %s: %d %s, want %d", c.method, path, c.user, code, body, c.code)
		}
	}
}

// TestProxyDiscoveryOpenAPI: services/proxy and pods/proxy are in
// discovery as kube's (kind, verbs), and OpenAPI v2 and v3 describe
// them as kube's connect operations on .../proxy and .../proxy/{path}.
func TestProxyDiscoveryOpenAPI(t *testing.T) {
	k := startKapi(t, withoutLoops(rootCAPublisher))
	list, err := k.client.Discovery().ServerResourcesForGroupVersion("v1")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"services/proxy": "ServiceProxyOptions", "pods/proxy": "PodProxyOptions"}
	for _, r := range list.APIResources {
		if kind, ok := want[r.Name]; ok {
			if r.Kind != kind || !r.Namespaced || strings.Join(r.Verbs, ",") != "create,delete,get,patch,update" {
				t.Errorf("discovery of %s: %+v", r.Name, r)
			}
			delete(want, r.Name)
		}
	}
	if len(want) != 0 {
		t.Errorf("discovery misses %v", want)
	}

	for _, doc := range []string{"/openapi/v2", "/openapi/v3/api/v1"} {
		code, _, body := k.request(t, "GET", doc, "", nil, "Accept", "application/json")
		if code != 200 {
			t.Fatalf("%s: %d", doc, code)
		}
		var spec struct {
			Paths map[string]map[string]json.RawMessage `json:"paths"`
		}
		if err := json.Unmarshal(body, &spec); err != nil {
			t.Fatal(err)
		}
		for path, ops := range map[string]map[string]string{
			"/api/v1/namespaces/{namespace}/services/{name}/proxy": {
				"get": "connectCoreV1GetNamespacedServiceProxy", "head": "connectCoreV1HeadNamespacedServiceProxy", "options": "connectCoreV1OptionsNamespacedServiceProxy"},
			"/api/v1/namespaces/{namespace}/services/{name}/proxy/{path}": {
				"post": "connectCoreV1PostNamespacedServiceProxyWithPath", "delete": "connectCoreV1DeleteNamespacedServiceProxyWithPath"},
			"/api/v1/namespaces/{namespace}/pods/{name}/proxy/{path}": {
				"put": "connectCoreV1PutNamespacedPodProxyWithPath", "patch": "connectCoreV1PatchNamespacedPodProxyWithPath"},
		} {
			for method, id := range ops {
				var op struct {
					OperationID string                `json:"operationId"`
					Action      string                `json:"x-kubernetes-action"`
					GVK         struct{ Kind string } `json:"x-kubernetes-group-version-kind"`
				}
				if err := json.Unmarshal(spec.Paths[path][method], &op); err != nil || op.OperationID != id || op.Action != "connect" || !strings.HasSuffix(op.GVK.Kind, "ProxyOptions") {
					t.Errorf("%s: %s %s: %+v %v, want %s", doc, method, path, op, err, id)
				}
			}
		}
		if _, ok := spec.Paths["/api/v1/namespaces/{namespace}/services/{name}/proxy"]["parameters"]; !ok {
			t.Errorf("%s: the proxy's path has no parameters", doc)
		}
	}
}
