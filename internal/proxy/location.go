package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// SplitSchemeNamePort reads a proxy subresource's object segment as
// kube's net.SplitSchemeNamePort: "name", "name:port" or
// "scheme:name:port", the scheme http, https or empty, the name not
// empty. "https:web:" is a name and an empty port (the service's
// unnamed port).
func SplitSchemeNamePort(id string) (scheme, name, port string, ok bool) {
	parts := strings.Split(id, ":")
	switch len(parts) {
	case 1:
		name = parts[0]
	case 2:
		name, port = parts[0], parts[1]
	case 3:
		scheme, name, port = parts[0], parts[1], parts[2]
	default:
		return "", "", "", false
	}
	if name == "" || (scheme != "" && scheme != "http" && scheme != "https") {
		return "", "", "", false
	}
	return scheme, name, port, true
}

// HostLocal reports a loopback, link-local or unspecified address: one
// that reaches the machine kapi runs on (or its cloud's metadata
// service, 169.254.169.254) rather than something in the cluster. kube
// refuses such targets so that the proxy never becomes a way into the
// host; --proxy-allow-loopback accepts them for local development.
func HostLocal(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified()
}

// hostLocalString is HostLocal of an address written as text; a name
// (an FQDN endpoint) is not, until it is dialled.
func hostLocalString(addr string) bool {
	ip, err := netip.ParseAddr(addr)
	return err == nil && HostLocal(ip)
}

// addressNotAllowed is kube's answer for a target the proxy may not
// reach (pod ResourceLocation's "address not allowed").
const addressNotAllowed = "address not allowed"

// Dialer is the proxy's dialer: unless allowLoopback, it refuses a
// host-local address at the moment of connecting, after any name has
// been resolved, so that a name resolving to 127.0.0.1 (an FQDN
// endpoint, "localhost") is refused as an address would be.
func Dialer(allowLoopback bool) *net.Dialer {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	if !allowLoopback {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%s: %w", addressNotAllowed, err)
			}
			if HostLocal(ap.Addr()) {
				return fmt.Errorf("%s: %s is a loopback or link-local address (kapi's --proxy-allow-loopback allows it)", addressNotAllowed, ap.Addr())
			}
			return nil
		}
	}
	return d
}

// NewTransport is how services and pods are reached, as kube-apiserver's
// proxy transport: plain HTTP, or TLS for an https: target without
// verifying the target's certificate (a pod's serving certificate is
// nobody's to check), HTTP/1.1 so that upgrades pass, connections kept
// for reuse (many per target, for small requests at a high rate), the
// dialer refusing host-local addresses unless allowLoopback.
func NewTransport(allowLoopback bool) *http.Transport {
	d := Dialer(allowLoopback)
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:       &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // as kube-apiserver's proxy transport
		TLSHandshakeTimeout:   10 * time.Second,
		MaxIdleConns:          1000,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
}
