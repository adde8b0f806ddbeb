package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// KubeletConfig is how kapi reaches a node's kubelet, as
// kube-apiserver's --kubelet-* flags.
type KubeletConfig struct {
	// CAFile verifies the kubelet's serving certificate; without one
	// the certificate is not verified, as kube-apiserver does.
	CAFile string
	// CertFile and KeyFile are the client certificate kapi shows the
	// kubelet (whose authenticator trusts it as a user).
	CertFile, KeyFile string
	// PreferredAddressTypes choose among the node's status.addresses,
	// the first type present winning (Hostname, InternalDNS, InternalIP,
	// ExternalDNS, ExternalIP when none is given, as kube's default).
	PreferredAddressTypes []string
	// Timeout bounds connecting to a kubelet, and waiting for the
	// answer's headers where the answer is not a stream that may stay
	// silent (a followed log).
	Timeout time.Duration
	// AllowLoopback (--proxy-allow-loopback): a node address that is a
	// loopback or link-local one is a target too.
	AllowLoopback bool
	// Error writes a failure as the client's Status.
	Error func(w http.ResponseWriter, r *http.Request, err error)
	// Authorize asks whether the request's user may also do verb to the
	// request's resource (nil if so, a Forbidden Status otherwise): an
	// exec, attach or port forward over WebSocket is a GET, authorized
	// as get, and must be allowed create too, as kube-apiserver's
	// AuthorizePodWebsocketUpgradeCreatePermission (on by default since
	// 1.35) checks.
	Authorize func(r *http.Request, verb string) error
	// MaxBytesPerSec throttles the upgraded connections to kubelets
	// (--max-connection-bytes-per-sec; Options.MaxBytesPerSec).
	MaxBytesPerSec int64
}

// DefaultKubeletPort is where a kubelet serves when its node does not say
// (status.daemonEndpoints.kubeletEndpoint.port 0), as kube's
// ports.KubeletPort.
const DefaultKubeletPort = 10250

var nodesGVR = schema.GroupVersionResource{Version: "v1", Resource: "nodes"}

// Kubelets reaches the kubelet of a node: nodes/proxy, and the pods'
// log, exec, attach and portforward subresources, which kube-apiserver
// hands to the kubelet of the pod's node.
type Kubelets struct {
	objects       Getter
	types         []corev1.NodeAddressType
	allowLoopback bool
	errorf        func(w http.ResponseWriter, r *http.Request, err error)
	authorize     func(r *http.Request, verb string) error
	maxBytes      int64
	// transports, by [insecureSkipTLSVerifyBackend][silent]: silent ones
	// do not time out waiting for an answer's headers.
	transports [2][2]*http.Transport
	// other is for nodes/<name>:<port>/proxy to a port that is not the
	// kubelet's, as kube's proxy transport (no client certificate).
	other *http.Transport
}

// NewKubelets reads the certificates of cfg and makes the kubelet
// client; objects reads nodes and pods.
func NewKubelets(cfg KubeletConfig, objects Getter) (*Kubelets, error) {
	base := &tls.Config{}
	if cfg.CertFile != "" || cfg.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("--kubelet-client-certificate, --kubelet-client-key: %w", err)
		}
		base.Certificates = []tls.Certificate{cert}
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--kubelet-certificate-authority: %w", err)
		}
		base.RootCAs = x509.NewCertPool()
		if !base.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--kubelet-certificate-authority: no certificate in %s", cfg.CAFile)
		}
	} else {
		base.InsecureSkipVerify = true //nolint:gosec // kube-apiserver's default without --kubelet-certificate-authority
	}
	k := &Kubelets{objects: objects, allowLoopback: cfg.AllowLoopback, errorf: cfg.Error, authorize: cfg.Authorize, maxBytes: cfg.MaxBytesPerSec,
		other: NewTransport(cfg.AllowLoopback)}
	if len(cfg.PreferredAddressTypes) == 0 {
		cfg.PreferredAddressTypes = []string{"Hostname", "InternalDNS", "InternalIP", "ExternalDNS", "ExternalIP"}
	}
	for _, t := range cfg.PreferredAddressTypes {
		k.types = append(k.types, corev1.NodeAddressType(t))
	}
	for insecure := range 2 {
		for silent := range 2 {
			tc := base.Clone()
			if insecure == 1 {
				tc.InsecureSkipVerify, tc.RootCAs = true, nil
			}
			k.transports[insecure][silent] = kubeletTransport(tc, cfg, silent == 1)
		}
	}
	return k, nil
}

// kubeletTransport speaks HTTP/1.1 (so that exec and port-forward
// upgrades pass) over TLS with kapi's client certificate, through the
// proxy's dialer (refusing host-local addresses unless allowed), bounded
// by the kubelet timeout.
func kubeletTransport(tc *tls.Config, cfg KubeletConfig, silent bool) *http.Transport {
	d := Dialer(cfg.AllowLoopback)
	if cfg.Timeout > 0 {
		d.Timeout = cfg.Timeout
	}
	t := &http.Transport{
		DialContext:         d.DialContext,
		TLSClientConfig:     tc,
		TLSHandshakeTimeout: d.Timeout,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	if !silent {
		t.ResponseHeaderTimeout = cfg.Timeout
	}
	return t
}

// kubelet is where a node's kubelet serves.
type kubelet struct {
	host, port string // the chosen address and the kubelet's port
}

// node finds the kubelet of the named node, as kube's
// NodeConnectionInfoGetter: the node's first address of the preferred
// types (the kubernetes.io/hostname label standing for a missing
// Hostname address), and the port of status.daemonEndpoints, 10250
// when it says 0. An address that is not a global unicast one is 400
// "address not allowed", unless AllowLoopback takes a loopback or
// link-local one.
func (k *Kubelets) node(ctx context.Context, name string) (kubelet, error) {
	obj, err := k.objects.Get(ctx, nodesGVR, "", name)
	if err != nil {
		return kubelet{}, err
	}
	node := obj.(*corev1.Node)
	host, err := preferredAddress(node, k.types)
	if err != nil {
		return kubelet{}, err
	}
	if ip, err := netip.ParseAddr(host); err == nil && !(ip.IsGlobalUnicast() || k.allowLoopback && HostLocal(ip)) {
		return kubelet{}, apierrors.NewBadRequest(addressNotAllowed)
	}
	port := int(node.Status.DaemonEndpoints.KubeletEndpoint.Port)
	if port <= 0 {
		port = DefaultKubeletPort
	}
	return kubelet{host: host, port: strconv.Itoa(port)}, nil
}

// hostPort is the kubelet's address for a URL.
func (kl kubelet) hostPort() string { return net.JoinHostPort(kl.host, kl.port) }

// preferredAddress is kube's nodeutil.GetPreferredNodeAddress.
func preferredAddress(node *corev1.Node, types []corev1.NodeAddressType) (string, error) {
	for _, t := range types {
		for _, a := range node.Status.Addresses {
			if a.Type == t {
				return a.Address, nil
			}
		}
		if t == corev1.NodeHostName {
			if h := node.Labels[corev1.LabelHostname]; h != "" {
				return h, nil
			}
		}
	}
	return "", fmt.Errorf("no preferred addresses found; known addresses: %v", node.Status.Addresses)
}
