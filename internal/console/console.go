// Package console is kapi's web console, a cluster component as the
// Kubernetes Dashboard is one: a process of its own (`kapi console`) that
// serves a small web UI and registers itself as the Service
// kube-system/kapi-console, so that people reach it through the API
// server's service proxy (kubectl proxy, then ProxyPath).
//
// The console acts as the user in front of it and holds no privilege of
// its own beyond registering its Service. Behind the service proxy it
// could not borrow the user's credentials even if it wanted to: the API
// server authenticates the request and strips them before proxying. So
// the page itself calls the API server, on the same origin, at the root
// that the proxy path reveals (everything before /api/v1/namespaces/...):
// those requests go through kubectl proxy, or the browser's own session,
// as the user. Opened directly (http://console:port/), the page has no
// API server on its origin; it then calls the console, which forwards
// /api, /apis, /metrics and /version to the API server with nothing but
// the bearer token the user pasted in (see forward.go).
package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Config is what `kapi console` is told.
type Config struct {
	// API is how to reach the API server: its credentials register the
	// Service; only its address and CA are used to forward users'
	// requests.
	API *rest.Config
	// BindAddress and Port are where the console listens; port 0 is a
	// free port.
	BindAddress string
	Port        int
	// AdvertiseAddress is the address put in the EndpointSlice: the API
	// server's proxy dials it. Empty: BindAddress when it is a specific
	// address, else the host's first non-loopback address.
	AdvertiseAddress string
	// Out receives the start-up line.
	Out io.Writer
}

// Run serves the console until ctx ends (SIGTERM), registered while it
// serves: the endpoint is removed before it stops listening, so that the
// proxy stops sending to it first.
func Run(ctx context.Context, cfg Config) error {
	client, err := kubernetes.NewForConfig(cfg.API)
	if err != nil {
		return err
	}
	api, err := newForwarder(cfg.API)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.BindAddress, strconv.Itoa(cfg.Port)))
	if err != nil {
		return err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	addr := cfg.AdvertiseAddress
	if addr == "" {
		addr = advertise(cfg.BindAddress)
	}
	srv := &http.Server{Handler: Handler(api), ReadHeaderTimeout: 30 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	regCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = register(regCtx, client, addr, port)
	cancel()
	if err != nil {
		srv.Close()
		<-served
		return err
	}
	if cfg.Out != nil {
		fmt.Fprintf(cfg.Out, "kapi console is serving on http://%s/ as the Service %s/%s; open it with: kubectl proxy, then http://127.0.0.1:8001%s\n",
			net.JoinHostPort(addr, strconv.Itoa(port)), Namespace, Name, ProxyPath)
	}
	select {
	case <-ctx.Done():
	case err := <-served:
		return err
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	derr := deregister(stopCtx, client, addr, port)
	serr := srv.Shutdown(stopCtx)
	if errors.Is(serr, context.DeadlineExceeded) {
		serr = srv.Close() // watches the page keeps open end here
	}
	<-served
	return errors.Join(derr, serr)
}

// advertise picks the address the API server should dial: the bound one
// when specific, else the host's first global unicast address, else
// loopback (which kapi accepts with --proxy-allow-loopback).
func advertise(bind string) string {
	if ip := net.ParseIP(bind); ip != nil && !ip.IsUnspecified() {
		return ip.String()
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.IsGlobalUnicast() && n.IP.To4() != nil {
				return n.IP.String()
			}
		}
	}
	return "127.0.0.1"
}
