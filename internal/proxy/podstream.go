package proxy

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	// kube-apiserver's own stream translation (WebSocket v5 remote
	// command to SPDY, WebSocket-tunnelled SPDY port forwarding),
	// self-contained in k8s.io/apiserver: the standard way kubectl's
	// WebSocket streams reach a kubelet that speaks SPDY.
	utilproxy "k8s.io/apiserver/pkg/util/proxy"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/wsstream"

	"kapi/internal/registry"
)

// PodExec, PodAttach and PodPortForward are the Connects of pods/exec,
// pods/attach and pods/portforward: the upgraded connection (SPDY, or
// WebSocket) is spliced to the kubelet of the pod's node, at
// /exec/<ns>/<pod>/<container>, /attach/... and /portForward/<ns>/<pod>,
// with the options kube passes there (stdin, stdout, stderr, tty,
// command; port). As kube-apiserver with its TranslateStreamCloseWebsocketRequests
// and PortForwardWebsockets features (on by default): a WebSocket exec
// or attach of the v5 protocol is translated to SPDY toward the kubelet,
// and a port forward of SPDY tunnelled in a WebSocket is untunnelled. A
// request that is not an upgrade is 400 "Upgrade request required"; a
// pod without a node 400 "pod <name> does not have a host assigned".
func (k *Kubelets) PodExec(_ context.Context, ns, name, rest string) (http.Handler, error) {
	return k.podStream(ns, name, rest, "exec")
}

// PodAttach: see PodExec.
func (k *Kubelets) PodAttach(_ context.Context, ns, name, rest string) (http.Handler, error) {
	return k.podStream(ns, name, rest, "attach")
}

// PodPortForward: see PodExec.
func (k *Kubelets) PodPortForward(_ context.Context, ns, name, rest string) (http.Handler, error) {
	return k.podStream(ns, name, rest, "portforward")
}

func (k *Kubelets) podStream(ns, name, rest, sub string) (http.Handler, error) {
	if rest != "" {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "pods/" + sub}, name)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, err := k.streamTarget(r, ns, name, sub)
		if err != nil {
			k.errorf(w, r, err)
			return
		}
		h.ServeHTTP(w, r)
	}), nil
}

// streamTarget finds the kubelet and chooses how the request reaches
// it, in kube's order: the create permission, the options and the pod
// (its container, its node), then the request's kind of upgrade.
func (k *Kubelets) streamTarget(r *http.Request, ns, name, sub string) (http.Handler, error) {
	if k.authorize != nil {
		if err := k.authorize(r, "create"); err != nil {
			return nil, err
		}
	}
	q := r.URL.Query()
	pod, err := k.pod(r.Context(), ns, name)
	if err != nil {
		return nil, err
	}
	params := url.Values{}
	var path string
	if sub == "portforward" {
		ports, err := queryPorts(q)
		if err != nil {
			return nil, err
		}
		if len(ports) > 0 {
			params.Set("port", strings.Join(ports, ","))
		}
		path = fmt.Sprintf("/portForward/%s/%s", pod.Namespace, pod.Name)
	} else {
		container, err := containerOf(pod, q.Get("container"))
		if err != nil {
			return nil, err
		}
		for _, s := range []string{"stdin", "stdout", "stderr", "tty"} {
			if registry.QueryBool(q, s) {
				params.Set(s, "1")
			}
		}
		if sub == "exec" {
			params["command"] = q["command"]
		}
		path = fmt.Sprintf("/%s/%s/%s/%s", sub, pod.Namespace, pod.Name, container)
	}
	if pod.Spec.NodeName == "" {
		return nil, noHost(name)
	}
	kl, err := k.node(r.Context(), pod.Spec.NodeName)
	if err != nil {
		return nil, err
	}
	loc := &url.URL{Scheme: "https", Host: kl.hostPort(), Path: path, RawQuery: params.Encode()}
	rt := k.transports[0][0]
	upgrade := Handler(Location{URL: loc, Transport: rt}, Options{Error: k.errorf, MaxBytesPerSec: k.maxBytes})
	switch {
	case sub != "portforward" && wsstream.IsWebSocketRequestWithStreamCloseProtocol(r):
		return utilproxy.NewStreamTranslatorHandler(loc, rt, k.maxBytes, utilproxy.Options{
			Stdin: registry.QueryBool(q, "stdin"), Stdout: registry.QueryBool(q, "stdout"), Stderr: registry.QueryBool(q, "stderr"), Tty: registry.QueryBool(q, "tty"),
		}), nil
	case sub == "portforward" && wsstream.IsWebSocketRequestWithTunnelingProtocol(r):
		return utilproxy.NewTunnelingHandler(upgrade), nil
	case !httpstream.IsUpgradeRequest(r):
		return nil, apierrors.NewBadRequest("Upgrade request required")
	}
	return upgrade, nil
}

// queryPorts are the ports of a port forward ("ports", repeated or
// comma-separated), checked as numbers.
func queryPorts(q url.Values) ([]string, error) {
	var ports []string
	for _, v := range q["ports"] {
		for _, p := range strings.Split(v, ",") {
			n, err := strconv.ParseInt(strings.TrimSpace(p), 10, 32)
			if err != nil {
				return nil, apierrors.NewBadRequest(err.Error())
			}
			ports = append(ports, strconv.FormatInt(n, 10))
		}
	}
	return ports, nil
}
