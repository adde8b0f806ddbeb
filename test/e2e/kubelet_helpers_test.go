package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"
)

// testKubelet is a kubelet written for the tests: a real HTTPS server on
// loopback that requires a client certificate of its CA (kapi's
// --kubelet-client-certificate) and serves, as a kubelet does, container
// logs (/containerLogs/ns/pod/container, follow streaming lines sent on
// more), exec and attach over SPDY (the remote command protocol
// v4.channel.k8s.io: streams stdin, stdout, stderr, error; the exit code
// in the error stream's Status), port forwarding over SPDY
// (portforward.k8s.io: a data and an error stream per connection, to a
// port on 127.0.0.1), and anything else as an echo of the request.
type testKubelet struct {
	srv  *httptest.Server
	port int32
	// caFile, certFile, keyFile: the CA of both sides, kapi's client
	// certificate and key.
	caFile, certFile, keyFile string
	// more: lines a followed log writes as they come.
	more chan string
	// ended: the path of every streaming request (followed log, exec,
	// attach, port forward) when its connection ends on the kubelet's
	// side.
	ended chan string

	mu    sync.Mutex
	query []string // the query of each log, exec or port forward request
}

func startTestKubelet(t *testing.T) *testKubelet {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kubelet-ca"}, IsCA: true, BasicConstraintsValid: true,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(n int64, cn string, usage x509.ExtKeyUsage, ips ...net.IP) (tls.Certificate, []byte, []byte) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(n), Subject: pkix.Name{CommonName: cn, Organization: []string{"system:masters"}},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kd, _ := x509.MarshalECPrivateKey(key)
		certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return pair, certPEM, keyPEM
	}
	serving, _, _ := leaf(2, "kubelet", x509.ExtKeyUsageServerAuth, net.ParseIP("127.0.0.1"))
	_, clientCert, clientKey := leaf(3, "kube-apiserver-kubelet-client", x509.ExtKeyUsageClientAuth)
	kl := &testKubelet{caFile: filepath.Join(dir, "ca.crt"), certFile: filepath.Join(dir, "client.crt"), keyFile: filepath.Join(dir, "client.key"),
		more: make(chan string), ended: make(chan string, 16)}
	for f, b := range map[string][]byte{kl.caFile: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), kl.certFile: clientCert, kl.keyFile: clientKey} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containerLogs/{ns}/{pod}/{container}", kl.logs)
	mux.HandleFunc("/exec/{ns}/{pod}/{container}", kl.exec)
	mux.HandleFunc("/attach/{ns}/{pod}/{container}", kl.exec)
	mux.HandleFunc("/portForward/{ns}/{pod}", kl.portForward)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "kubelet %s %s?%s user=%s", r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.TLS.PeerCertificates[0].Subject.CommonName)
	})
	kl.srv = httptest.NewUnstartedServer(mux)
	kl.srv.TLS = &tls.Config{Certificates: []tls.Certificate{serving}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	kl.srv.StartTLS()
	t.Cleanup(kl.srv.Close)
	_, port, _ := net.SplitHostPort(kl.srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	kl.port = int32(p)
	return kl
}

func (kl *testKubelet) record(r *http.Request) {
	kl.mu.Lock()
	defer kl.mu.Unlock()
	kl.query = append(kl.query, r.URL.Path+"?"+r.URL.RawQuery)
}

// queries are the requests seen so far.
func (kl *testKubelet) queries() []string {
	kl.mu.Lock()
	defer kl.mu.Unlock()
	return append([]string(nil), kl.query...)
}

func (kl *testKubelet) logs(w http.ResponseWriter, r *http.Request) {
	kl.record(r)
	if r.PathValue("container") == "missing" {
		http.Error(w, "container missing not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "%s line 1\n%s line 2\n", r.PathValue("container"), r.PathValue("container"))
	if r.URL.Query().Get("follow") != "true" {
		return
	}
	defer func() { kl.ended <- r.URL.Path }()
	rc := http.NewResponseController(w)
	rc.Flush()
	for {
		select {
		case line := <-kl.more:
			fmt.Fprintln(w, line)
			rc.Flush()
		case <-r.Context().Done():
			return
		}
	}
}

// exec runs the command of the query (echo, cat: stdin to stdout, exit
// N, wait: until the connection ends) as a container would.
func (kl *testKubelet) exec(w http.ResponseWriter, r *http.Request) {
	kl.record(r)
	defer func() { kl.ended <- r.URL.Path }()
	q := r.URL.Query()
	streams, conn, ok := upgradeSPDY(w, r, "v4.channel.k8s.io", 1+count(q, "stdin", "stdout", "stderr"))
	if !ok {
		return
	}
	defer conn.Close()
	cmd := q["command"]
	if strings.HasPrefix(r.URL.Path, "/attach/") {
		cmd = []string{"cat"}
	}
	code := 0
	switch {
	case len(cmd) > 0 && cmd[0] == "echo":
		fmt.Fprintln(streams["stdout"], strings.Join(cmd[1:], " "))
	case len(cmd) > 0 && cmd[0] == "cat":
		io.Copy(streams["stdout"], streams["stdin"])
	case len(cmd) > 1 && cmd[0] == "exit":
		code, _ = strconv.Atoi(cmd[1])
		fmt.Fprintln(streams["stderr"], "exiting")
	case len(cmd) > 0 && cmd[0] == "wait":
		fmt.Fprintln(streams["stdout"], "waiting")
		<-conn.CloseChan()
		return
	}
	for _, s := range []string{"stdout", "stderr"} {
		if streams[s] != nil {
			streams[s].Close()
		}
	}
	status := metav1.Status{Status: metav1.StatusSuccess}
	if code != 0 {
		status = metav1.Status{Status: metav1.StatusFailure, Reason: "NonZeroExitCode", Message: fmt.Sprintf("command terminated with non-zero exit code: %d", code),
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: "ExitCode", Message: strconv.Itoa(code)}}}}
	}
	json.NewEncoder(streams["error"]).Encode(status)
	streams["error"].Close()
}

func count(q map[string][]string, keys ...string) int {
	n := 0
	for _, k := range keys {
		if v := q[k]; len(v) > 0 && v[0] == "1" {
			n++
		}
	}
	return n
}

// upgradeSPDY answers an upgrade to SPDY with protocol and waits for the
// client's first n streams, by streamType.
func upgradeSPDY(w http.ResponseWriter, r *http.Request, protocol string, n int) (map[string]httpstream.Stream, httpstream.Connection, bool) {
	if _, err := httpstream.Handshake(r, w, []string{protocol}); err != nil {
		return nil, nil, false
	}
	created := make(chan httpstream.Stream, 16)
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, func(s httpstream.Stream, _ <-chan struct{}) error {
		created <- s
		return nil
	})
	if conn == nil {
		return nil, nil, false
	}
	if n == 0 {
		return nil, conn, true
	}
	streams := map[string]httpstream.Stream{}
	for len(streams) < n {
		select {
		case s := <-created:
			streams[s.Headers().Get("streamType")] = s
		case <-conn.CloseChan():
			return nil, nil, false
		}
	}
	return streams, conn, true
}

// portForward forwards each pair of streams (data, error, one requestID)
// to 127.0.0.1:<port>.
func (kl *testKubelet) portForward(w http.ResponseWriter, r *http.Request) {
	kl.record(r)
	defer func() { kl.ended <- r.URL.Path }()
	if _, err := httpstream.Handshake(r, w, []string{"portforward.k8s.io"}); err != nil {
		return
	}
	created := make(chan httpstream.Stream, 16)
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, func(s httpstream.Stream, _ <-chan struct{}) error {
		created <- s
		return nil
	})
	if conn == nil {
		return
	}
	defer conn.Close()
	pairs := map[string][2]httpstream.Stream{}
	for {
		select {
		case s := <-created:
			id := s.Headers().Get("requestID")
			p := pairs[id]
			if s.Headers().Get("streamType") == "error" {
				p[1] = s
			} else {
				p[0] = s
			}
			pairs[id] = p
			if p[0] != nil && p[1] != nil {
				go forward(p[0], p[1])
			}
		case <-conn.CloseChan():
			return
		}
	}
}

func forward(data, errs httpstream.Stream) {
	defer errs.Close()
	defer data.Close()
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", data.Headers().Get("port")))
	if err != nil {
		fmt.Fprint(errs, err)
		return
	}
	defer c.Close()
	done := make(chan struct{})
	go func() {
		io.Copy(c, data)
		c.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(data, c)
	<-done
}
