package proxy

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Pods finds where a pod is served: its status.podIP.
type Pods struct {
	Objects Objects
	// AllowLoopback (--proxy-allow-loopback): a loopback or link-local
	// pod IP is a target too.
	AllowLoopback bool
}

// Location is where pods/<id>/proxy goes, as kube-apiserver's pod
// ResourceLocation: id is "name", "name:port" or "scheme:name:port";
// without a port, the first port its containers declare, and without
// one either, the IP alone (port 80 of http, 443 of https). A pod
// without an IP, or with one that is not a global unicast address (a
// loopback, link-local or unspecified one, unless AllowLoopback), is 400
// "address not allowed". The Pod is read from the cache, and again as
// it is now when the cache's has no such Pod or no allowed IP (fresh).
func (p *Pods) Location(ctx context.Context, ns, id string) (*url.URL, error) {
	scheme, name, port, ok := SplitSchemeNamePort(id)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid pod request %q", id))
	}
	if scheme == "" {
		scheme = "http"
	}
	return fresh(p.Objects, func(objs Objects) (*url.URL, error) {
		return p.location(ctx, objs, ns, name, scheme, port)
	})
}

func (p *Pods) location(ctx context.Context, objs Objects, ns, name, scheme, port string) (*url.URL, error) {
	obj, err := objs.Get(ctx, podsGVR, ns, name)
	if apierrors.IsNotFound(err) {
		return nil, unresolved{err}
	}
	if err != nil {
		return nil, err
	}
	pod := obj.(*corev1.Pod)
	if port == "" {
		port = firstContainerPort(pod)
	}
	ip, err := netip.ParseAddr(podIP(pod))
	if err != nil || !(ip.IsGlobalUnicast() || p.AllowLoopback && HostLocal(ip)) {
		return nil, unresolved{apierrors.NewBadRequest(addressNotAllowed)}
	}
	host := ip.String()
	if port != "" {
		host = net.JoinHostPort(host, port)
	} else if ip.Is6() {
		host = "[" + host + "]"
	}
	return &url.URL{Scheme: scheme, Host: host}, nil
}

// podIP is the pod's first IP, as kube's getPodIP.
func podIP(pod *corev1.Pod) string {
	if len(pod.Status.PodIPs) > 0 {
		return pod.Status.PodIPs[0].IP
	}
	return pod.Status.PodIP
}

func firstContainerPort(pod *corev1.Pod) string {
	for _, c := range pod.Spec.Containers {
		if len(c.Ports) > 0 {
			return fmt.Sprint(c.Ports[0].ContainerPort)
		}
	}
	return ""
}
