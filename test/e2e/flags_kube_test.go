package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"kapi/internal/kubeflags"
)

// etcdTLSFiles are an etcd's serving pair and a client pair for kapi,
// both of one CA, as kubeadm makes them (etcd/ca.crt, etcd/server.crt,
// apiserver-etcd-client.crt).
type etcdTLSFiles struct{ ca, serverCert, serverKey, clientCert, clientKey string }

func newEtcdTLSFiles(t *testing.T, dir string) *etcdTLSFiles {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "etcd-ca"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	write := func(name string, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pair := func(name string, serial int64, usage x509.ExtKeyUsage) (string, string) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
		return write(name+".crt", "CERTIFICATE", der), write(name+".key", "PRIVATE KEY", keyDER)
	}
	f := &etcdTLSFiles{ca: write("etcd-ca.crt", "CERTIFICATE", caDER)}
	f.serverCert, f.serverKey = pair("etcd-server", 2, x509.ExtKeyUsageServerAuth)
	f.clientCert, f.clientKey = pair("apiserver-etcd-client", 3, x509.ExtKeyUsageClientAuth)
	return f
}

// clientTLS is the client side, for the test's own etcd client.
func (f *etcdTLSFiles) clientTLS(t *testing.T) *tls.Config {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(f.clientCert, f.clientKey)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(f.ca)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// kubeFlagFiles writes the files kube-apiserver's file flags name: a
// serving pair, a client CA, tokens, service-account keys, an audit
// policy, an admission and a tracing configuration.
func kubeFlagFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caPEM, certPEM, keyPEM := clientCert(t, "kube-apiserver")
	saKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	saDER, _ := x509.MarshalPKCS8PrivateKey(saKey)
	saPub, _ := x509.MarshalPKIXPublicKey(saKey.Public())
	return map[string]string{
		"ca":        write("ca.crt", caPEM),
		"cert":      write("apiserver.crt", certPEM),
		"key":       write("apiserver.key", keyPEM),
		"sa.key":    write("sa.key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: saDER})),
		"sa.pub":    write("sa.pub", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPub})),
		"tokens":    write("tokens.csv", []byte("secret-token,alice,1,\"team\"\n")),
		"audit":     write("audit.yaml", []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n")),
		"admission": write("admission.yaml", []byte("apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins: []\n")),
		"tracing":   write("tracing.yaml", []byte("apiVersion: apiserver.config.k8s.io/v1\nkind: TracingConfiguration\nsamplingRatePerMillion: 0\n")),
	}
}

// waitReadyz polls https://127.0.0.1:port/readyz (anonymous, as kube's
// health checks are public) until 200, and fails at once, with kapi's
// output, if kapi has exited (a refused flag).
func waitReadyz(t *testing.T, port int, k *kubeProcess) {
	t.Helper()
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	exited := false
	err := waitUntil(60*time.Second, func() bool {
		select {
		case <-k.exited:
			exited = true
			return true
		default:
		}
		resp, err := c.Get(fmt.Sprintf("https://127.0.0.1:%d/readyz", port))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	if err != nil || exited {
		t.Fatalf("/readyz never 200 (exited: %v): %v\n%s", exited, err, strings.Join(k.out.lines(), "\n"))
	}
}

// kubeProcess is a kube-apiserver command line running: its output, and
// a channel closed when it exits.
type kubeProcess struct {
	out    *syncBuffer
	exited chan struct{}
}

// startKubeCommandLine runs a kube-apiserver command line (kapi's binary
// under that name) through sh, as a script would, and stops it when the
// test ends.
func startKubeCommandLine(t *testing.T, line string) *kubeProcess {
	t.Helper()
	bin := filepath.Join(envtestAssets(t), "kube-apiserver")
	cmd := exec.Command("sh", "-c", "exec "+line)
	cmd.Dir = t.TempDir() // a relative path kapi writes (./kapi-data) stays out of the working tree
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"))
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	k := &kubeProcess{out: out, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(k.exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-k.exited })
	return k
}

// TestKubeFlagList: kapi started with every one of kube-apiserver 1.37's
// flags, each with a plausible value, starts and is ready; each flag it
// does not implement is named once in a warning. Its etcd serves TLS and
// asks for client certificates, as kubeadm's.
func TestKubeFlagList(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := kubeFlagFiles(t, dir)
	etcdFiles := newEtcdTLSFiles(t, dir)
	port := portOf(t, "https://"+freeAddr(t))
	values := map[string]string{
		"etcd-servers": startEtcdWith(t, etcdFiles), "etcd-prefix": "/registry", "etcd-cafile": etcdFiles.ca,
		"etcd-certfile": etcdFiles.clientCert, "etcd-keyfile": etcdFiles.clientKey, "bind-address": "127.0.0.1",
		"secure-port": strconv.Itoa(port), "advertise-address": "127.0.0.1", "cert-dir": filepath.Join(dir, "certs"),
		"tls-cert-file": files["cert"], "tls-private-key-file": files["key"], "client-ca-file": files["ca"],
		"token-auth-file": files["tokens"], "service-account-key-file": files["sa.pub"],
		"service-account-signing-key-file": files["sa.key"], "service-account-issuer": "https://kubernetes.default.svc.cluster.local",
		"api-audiences": "https://kubernetes.default.svc.cluster.local", "audit-policy-file": files["audit"],
		"audit-log-path": filepath.Join(dir, "audit.log"), "admission-control-config-file": files["admission"],
		"tracing-config-file": files["tracing"], "authorization-mode": "Node,RBAC", "enable-admission-plugins": "",
		"disable-admission-plugins": "", "admission-control": "NamespaceLifecycle,LimitRanger,ServiceAccount,ResourceQuota", "logging-format": "text",
		"service-cluster-ip-range": "10.96.0.0/12", "service-node-port-range": "30000-32767", "min-request-timeout": "1800",
		"request-timeout": "1m0s", "max-requests-inflight": "400", "max-mutating-requests-inflight": "200", "v": "1",
		"vmodule": "", "cors-allowed-origins": "//127\\.0\\.0\\.1(:|$)", "audit-webhook-config-file": "",
		"feature-gates": "kube:AllAlpha=false", "runtime-config": "api/all=true", "emulated-version": "kube=1.37",
		"storage-backend": "etcd3", "storage-media-type": "application/vnd.kubernetes.protobuf", "watch-cache-sizes": "",
		"tls-sni-cert-key": files["cert"] + "," + files["key"], "oidc-required-claim": "tier=gold", "allow-metric-labels": "apiserver_request_total,verb=GET",
		"service-account-jwks-uri": "", "endpoint-reconciler-type": "lease", "kubernetes-service-node-port": "0", "kubelet-preferred-address-types": "InternalIP,Hostname",
		"tls-min-version": "VersionTLS12", "tls-cipher-suites": "", "tls-curve-preferences": "23,29", "show-hidden-metrics-for-version": "",
		"min-compatibility-version": "kube=1.37", "profiling": "true", "watch-cache": "true", "anonymous-auth": "true",
		"shutdown-delay-duration": "1s", "shutdown-watch-termination-grace-period": "1s", "service-account-max-token-expiration": "2h",
	}
	skip := map[string]bool{"help": true, "version": true}
	var args []string
	n := 0
	flags := slices.Clone(kubeflags.Hidden) // deprecated, not in kube's help, still accepted
	for _, s := range kubeflags.Sections {
		flags = append(flags, s.Flags...)
	}
	for _, f := range flags {
		if skip[f.Name] {
			continue
		}
		v, ok := values[f.Name]
		if !ok {
			v = plausibleKubeValue(f)
		}
		args = append(args, fmt.Sprintf("--%s=%s", f.Name, v))
		n++
	}
	if n < 150 {
		t.Fatalf("only %d flags", n)
	}
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'"'"'`) + "'"
	}
	k := startKubeCommandLine(t, "kube-apiserver --data-dir="+filepath.Join(dir, "data")+" "+strings.Join(quoted, " "))
	waitReadyz(t, port, k)
	log := strings.Join(k.out.lines(), "\n")
	t.Logf("kapi started with %d of kube-apiserver's flags", n)
	for _, name := range []string{"enable-aggregator-routing", "peer-ca-file", "apiserver-count"} {
		if c := strings.Count(log, "--"+name+" has no effect in kapi"); c != 1 {
			t.Errorf("--%s: %d warnings, want 1", name, c)
		}
	}
	if strings.Contains(log, "--secure-port has no effect") || strings.Contains(log, "--kubelet-timeout has no effect") ||
		strings.Contains(log, "--allow-privileged has no effect") || strings.Contains(log, "--event-ttl has no effect") ||
		strings.Contains(log, "--tls-min-version has no effect") || strings.Contains(log, "--enable-bootstrap-token-auth has no effect") ||
		strings.Contains(log, "--shutdown-delay-duration has no effect") || strings.Contains(log, "--storage-media-type has no effect") ||
		strings.Contains(log, "--enable-logs-handler has no effect") || strings.Contains(log, "--feature-gates has no effect") ||
		strings.Contains(log, "--delete-collection-workers has no effect") || strings.Contains(log, "--enable-garbage-collector has no effect") {
		t.Error("an implemented flag was warned about")
	}
}

// plausibleKubeValue is a value kube-apiserver takes for a flag of its
// type.
func plausibleKubeValue(f kubeflags.Flag) string {
	switch f.Type {
	case "bool":
		return "false"
	case "int", "int32", "int64", "uint", "Level":
		return "1"
	case "float", "float32", "float64":
		return "0"
	case "duration":
		return "5s"
	case "ip":
		return "127.0.0.1"
	case "colonSeparatedMultimapStringString":
		return "kube:AllAlpha=false"
	case "quantity":
		return "0"
	case "mapStringString", "stringToString", "mapStringBool":
		return ""
	}
	return ""
}

// kubeadmCommand is the command of the kube-apiserver static pod kubeadm
// 1.37 writes (/etc/kubernetes/manifests/kube-apiserver.yaml) for a node
// at 192.168.0.10 with kubeadm's defaults (stacked etcd, service subnet
// 10.96.0.0/12, port 6443), as it writes it: sorted, one flag a line.
const kubeadmCommand = `
    - kube-apiserver
    - --advertise-address=192.168.0.10
    - --allow-privileged=true
    - --authorization-mode=Node,RBAC
    - --client-ca-file=/etc/kubernetes/pki/ca.crt
    - --enable-admission-plugins=NodeRestriction
    - --enable-bootstrap-token-auth=true
    - --etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt
    - --etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt
    - --etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key
    - --etcd-servers=https://127.0.0.1:2379
    - --kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt
    - --kubelet-client-key=/etc/kubernetes/pki/apiserver-kubelet-client.key
    - --kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname
    - --proxy-client-cert-file=/etc/kubernetes/pki/front-proxy-client.crt
    - --proxy-client-key-file=/etc/kubernetes/pki/front-proxy-client.key
    - --requestheader-allowed-names=front-proxy-client
    - --requestheader-client-ca-file=/etc/kubernetes/pki/front-proxy-ca.crt
    - --requestheader-extra-headers-prefix=X-Remote-Extra-
    - --requestheader-group-headers=X-Remote-Group
    - --requestheader-username-headers=X-Remote-User
    - --secure-port=6443
    - --service-account-issuer=https://kubernetes.default.svc.cluster.local
    - --service-account-key-file=/etc/kubernetes/pki/sa.pub
    - --service-account-signing-key-file=/etc/kubernetes/pki/sa.key
    - --service-cluster-ip-range=10.96.0.0/12
    - --tls-cert-file=/etc/kubernetes/pki/apiserver.crt
    - --tls-private-key-file=/etc/kubernetes/pki/apiserver.key
`

// TestKubeadmCommandLine: kubeadm's command, joined into one line and run
// by sh from a temporary folder (kapi keeps its data in ./kapi-data
// there), starts kapi. What is changed is only what a test must: the
// files of /etc/kubernetes/pki are the test's, under kubeadm's names; its
// etcd is the test's, over TLS with client certificates as kubeadm's; the
// port is a free one. kapi listens on loopback by default, so no
// --bind-address is added.
func TestKubeadmCommandLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := kubeFlagFiles(t, dir)
	e := newEtcdTLSFiles(t, dir)
	pki := filepath.Join(dir, "pki")
	for name, from := range map[string]string{
		"ca.crt": f["ca"], "apiserver.crt": f["cert"], "apiserver.key": f["key"],
		"etcd/ca.crt": e.ca, "apiserver-etcd-client.crt": e.clientCert, "apiserver-etcd-client.key": e.clientKey,
		"apiserver-kubelet-client.crt": f["cert"], "apiserver-kubelet-client.key": f["key"],
		"front-proxy-ca.crt": f["ca"], "front-proxy-client.crt": f["cert"], "front-proxy-client.key": f["key"],
		"sa.pub": f["sa.pub"], "sa.key": f["sa.key"],
	} {
		data, err := os.ReadFile(from)
		if err == nil {
			err = os.MkdirAll(filepath.Dir(filepath.Join(pki, name)), 0o700)
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(pki, name), data, 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	port := portOf(t, "https://"+freeAddr(t))
	var args []string
	for _, l := range strings.Split(strings.TrimSpace(kubeadmCommand), "\n") {
		args = append(args, strings.TrimPrefix(strings.TrimSpace(l), "- "))
	}
	line := strings.NewReplacer("/etc/kubernetes/pki/", pki+"/", "https://127.0.0.1:2379", startEtcdWith(t, e),
		"--secure-port=6443", "--secure-port="+strconv.Itoa(port)).Replace(strings.Join(args, " "))
	waitReadyz(t, port, startKubeCommandLine(t, line))
}
