package proxy

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// NodeProxy is the nodes/proxy subresource's Connect: id is "name",
// "name:port" or "scheme:name:port", as kube's node ResourceLocation.
// Without a port, or with the kubelet's, the request goes to the
// kubelet over kapi's kubelet client (TLS, client certificate); any
// other port of the node is reached with the given scheme (http by
// default) as a plain proxy target, without kapi's kubelet credentials.
// rest (escaped) is the path there, the client's query kept; the answer
// is seen through the proxy (Location and HTML links rewritten below
// it), as kube wraps the node proxy's transport.
func (k *Kubelets) NodeProxy(ctx context.Context, _, id, rest string) (http.Handler, error) {
	scheme, name, port, ok := SplitSchemeNamePort(id)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid node request %q", id))
	}
	kl, err := k.node(ctx, name)
	if err != nil {
		return nil, err
	}
	loc := &url.URL{Scheme: "https", Host: kl.hostPort()}
	var rt http.RoundTripper = k.transports[0][0]
	if port != "" && port != kl.port {
		if scheme == "" {
			scheme = "http"
		}
		loc = &url.URL{Scheme: scheme, Host: net.JoinHostPort(kl.host, port)}
		rt = k.other
	}
	if err := JoinPath(loc, rest); err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid path %q", rest))
	}
	return Handler(Location{URL: loc, Transport: rt}, Options{Error: k.errorf, KeepQuery: true, RedirectEmptyPath: true, Rewrite: true, Rest: rest, MaxBytesPerSec: k.maxBytes}), nil
}
