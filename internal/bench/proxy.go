package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
)

// The proxy benchmark (kapi-bench --proxy): what services/proxy costs.
// A backend in the benchmark process, on loopback, is the endpoint of
// the Service default/bench-proxy (kapi runs with --proxy-allow-loopback):
//
//   - small requests: --clients clients GET a 2-byte answer for
//     --duration, through kapi's service proxy (client-go's HTTP/2, and
//     HTTP/1.1) and straight to the backend; the goal is at least 50% of
//     direct. kapi's own GET of the Service, through the same filters,
//     is printed beside it: the floor of any request to kapi; and so is a
//     bare ReverseProxy behind TLS in the benchmark's process, the
//     ceiling of any Go HTTPS proxy on the machine;
//   - stream: a 100 MB body through the proxy (three times, the
//     median); the goal is at least 300 MB/s;
//   - memory: kapi's resident memory before and after a 1 GiB download
//     through the proxy; the goal is flat.

const proxyPrefix = "/api/v1/namespaces/default/services/bench-proxy:80/proxy"

func (b *bench) runProxy(ctx context.Context, rc *rest.Config) error {
	backend, stop, err := proxyBackend()
	if err != nil {
		return err
	}
	defer stop()
	if err := b.exposeBackend(ctx, backend); err != nil {
		return err
	}
	kc, err := rest.HTTPClientFor(rc)
	if err != nil {
		return err
	}
	// The same over HTTP/1.1, a connection per client, as the direct
	// requests are made: the comparison of the proxy alone.
	rc1 := rest.CopyConfig(rc)
	rc1.NextProtos = []string{"http/1.1"}
	rt1, err := rest.TransportFor(rc1)
	if err != nil {
		return err
	}
	if t, ok := rt1.(*http.Transport); ok {
		t.MaxIdleConnsPerHost = b.cfg.Clients
	}
	kc1 := &http.Client{Transport: rt1}
	base := rc.Host + proxyPrefix
	if err := waitFor(10*time.Second, func() bool { return get(kc, base+"/small") == nil }); err != nil {
		return fmt.Errorf("the proxy does not answer: %w", get(kc, base+"/small"))
	}
	fmt.Fprintf(b.out, "kapi-bench --proxy: services/proxy to a backend on loopback, %d clients, %s per throughput run\n\n", b.cfg.Clients, b.cfg.Duration)

	direct := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: b.cfg.Clients}}
	wait := b.profile(ctx, "proxy-small", b.cfg.Duration)
	proxied := b.throughput(kc, base+"/small")
	if err := wait(); err != nil {
		return err
	}
	straight := b.throughput(direct, "http://"+backend+"/small")
	proxied1 := b.throughput(kc1, base+"/small")
	// kapi's floor: its own cheapest request, a GET of the Service from
	// the watch cache, through the same filters (TLS, authentication,
	// authorization, audit) as a proxied one.
	own := b.throughput(kc, rc.Host+"/api/v1/namespaces/default/services/bench-proxy?resourceVersion=0")
	bare2, bare1, err := b.bareProxy(backend)
	if err != nil {
		return err
	}
	fmt.Fprintf(b.out, "small requests   proxied %8.0f req/s (HTTP/2, client-go's)  %8.0f req/s (HTTP/1.1)   direct %8.0f req/s   ratio %3.0f%% / %3.0f%%   (goal >= 50%%)\n",
		proxied, proxied1, straight, 100*proxied/straight, 100*proxied1/straight)
	fmt.Fprintf(b.out, "                 kapi's own GET of the Service %8.0f req/s: the proxied request costs %.0f%% of it\n", own, 100*own/proxied)
	fmt.Fprintf(b.out, "                 a bare Go ReverseProxy behind TLS, nothing else: %8.0f req/s (HTTP/2)  %8.0f req/s (HTTP/1.1)   ratio %3.0f%% / %3.0f%%\n",
		bare2, bare1, 100*bare2/straight, 100*bare1/straight)

	const blob = 100 << 20
	var rates []float64
	for range 3 {
		start := time.Now()
		if err := download(kc, base+"/blob?size="+strconv.Itoa(blob)); err != nil {
			return err
		}
		rates = append(rates, blob/1e6/time.Since(start).Seconds())
	}
	sort.Float64s(rates)
	fmt.Fprintf(b.out, "stream 100 MB    %8.0f MB/s (median of 3: %.0f %.0f %.0f)   (goal >= 300 MB/s)\n", rates[1], rates[0], rates[1], rates[2])

	before, err := procMB(b.pid, "VmRSS")
	if err != nil {
		return err
	}
	if err := download(kc, base+"/blob?size="+strconv.Itoa(1<<30)); err != nil {
		return err
	}
	after, err := procMB(b.pid, "VmRSS")
	if err != nil {
		return err
	}
	peak, _ := procMB(b.pid, "VmHWM")
	fmt.Fprintf(b.out, "1 GiB download   kapi RSS before %.0f MB, after %.0f MB (peak since start %.0f MB)   (goal: flat)\n", before, after, peak)
	return nil
}

// bareProxy measures the ceiling of any Go HTTPS proxy on this machine:
// net/http/httputil's ReverseProxy to the same backend behind a TLS
// listener in the benchmark's process, with no authentication,
// authorization, audit, metrics or resolution, over HTTP/2 and HTTP/1.1.
func (b *bench) bareProxy(backend string) (h2, h1 float64, err error) {
	target, err := url.Parse("http://" + backend)
	if err != nil {
		return 0, 0, err
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{MaxIdleConnsPerHost: b.cfg.Clients}
	srv := httptest.NewUnstartedServer(rp)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	c2 := srv.Client()
	tlsCfg := c2.Transport.(*http.Transport).TLSClientConfig.Clone()
	tlsCfg.NextProtos = []string{"http/1.1"}
	c1 := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg, MaxIdleConnsPerHost: b.cfg.Clients}}
	defer c1.CloseIdleConnections()
	if err := get(c2, srv.URL+"/small"); err != nil {
		return 0, 0, err
	}
	return b.throughput(c2, srv.URL+"/small"), b.throughput(c1, srv.URL+"/small"), nil
}

// proxyBackend serves /small (2 bytes) and /blob?size=n (n bytes of
// zeros, 256 KiB writes) on a free loopback port.
func proxyBackend() (addr string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	chunk := make([]byte, 256<<10)
	mux := http.NewServeMux()
	mux.HandleFunc("/small", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/blob", func(w http.ResponseWriter, r *http.Request) {
		size, _ := strconv.Atoi(r.URL.Query().Get("size"))
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(size))
		for size > 0 {
			n := min(size, len(chunk))
			if _, err := w.Write(chunk[:n]); err != nil {
				return
			}
			size -= n
		}
	})
	s := &http.Server{Handler: mux}
	go s.Serve(l)
	return l.Addr().String(), func() { s.Close() }, nil
}

// exposeBackend makes the Service default/bench-proxy, port 80, with an
// EndpointSlice pointing at the backend.
func (b *bench) exposeBackend(ctx context.Context, backend string) error {
	host, p, _ := net.SplitHostPort(backend)
	port, _ := strconv.Atoi(p)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "bench-proxy"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt(port)}}}}
	if _, err := b.kapi.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return err
	}
	ready := true
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "bench-proxy", Labels: map[string]string{discoveryv1.LabelServiceName: "bench-proxy"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{host}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		Ports:       []discoveryv1.EndpointPort{{Name: new(""), Port: new(int32(port))}},
	}
	_, err := b.kapi.DiscoveryV1().EndpointSlices("default").Create(ctx, es, metav1.CreateOptions{})
	return err
}

// throughput is the requests per second --clients clients get from url
// in --duration.
func (b *bench) throughput(c *http.Client, url string) float64 {
	var n atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(b.cfg.Duration)
	start := time.Now()
	for range b.cfg.Clients {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if get(c, url) == nil {
					n.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}

func get(c *http.Client, url string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// download reads url's body to the end, and checks it was all there.
func download(c *http.Client, url string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil && (resp.StatusCode != 200 || n != resp.ContentLength && resp.ContentLength >= 0) {
		err = fmt.Errorf("GET %s: %s, %d bytes", url, resp.Status, n)
	}
	return err
}
