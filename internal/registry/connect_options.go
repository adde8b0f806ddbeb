package registry

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ConnectOptions are the options of a request for a connection
// subresource, as kube-apiserver's Connecters take them and admission
// sees them (a CONNECT's object): PodExecOptions, PodAttachOptions,
// PodPortForwardOptions, and the proxies' PodProxyOptions,
// ServiceProxyOptions and NodeProxyOptions, whose path is what follows
// the subresource. They are read from the query as kube's parameter codec
// reads them (k8s.io/kubernetes' generated url.Values conversions): the
// first value of a parameter counts, every value of exec's command, and
// ports repeated or comma-separated. A kind that no Connecter takes
// (pods/log's) has none: nil.
func ConnectOptions(kind schema.GroupVersionKind, q url.Values, path string) (runtime.Object, error) {
	if kind.Group != "" || kind.Version != "v1" {
		return nil, nil
	}
	var opts runtime.Object
	switch kind.Kind {
	case "PodExecOptions":
		opts = &corev1.PodExecOptions{Stdin: QueryBool(q, "stdin"), Stdout: QueryBool(q, "stdout"), Stderr: QueryBool(q, "stderr"),
			TTY: QueryBool(q, "tty"), Container: q.Get("container"), Command: q["command"]}
	case "PodAttachOptions":
		opts = &corev1.PodAttachOptions{Stdin: QueryBool(q, "stdin"), Stdout: QueryBool(q, "stdout"), Stderr: QueryBool(q, "stderr"),
			TTY: QueryBool(q, "tty"), Container: q.Get("container")}
	case "PodPortForwardOptions":
		o := &corev1.PodPortForwardOptions{}
		for _, v := range q["ports"] {
			for _, p := range strings.Split(v, ",") {
				n, err := strconv.ParseUint(p, 10, 16)
				if err != nil {
					return nil, fmt.Errorf("cannot convert to []int32: %v", err)
				}
				o.Ports = append(o.Ports, int32(n))
			}
		}
		opts = o
	case "PodProxyOptions":
		opts = &corev1.PodProxyOptions{Path: path}
	case "ServiceProxyOptions":
		opts = &corev1.ServiceProxyOptions{Path: path}
	case "NodeProxyOptions":
		opts = &corev1.NodeProxyOptions{Path: path}
	default:
		return nil, nil
	}
	opts.GetObjectKind().SetGroupVersionKind(kind)
	return opts, nil
}

// QueryBool reads a boolean option as kube's parameter codec does: false
// only when absent, "false" (in any case) or "0".
func QueryBool(q url.Values, key string) bool {
	v, ok := q[key]
	if !ok || len(v) == 0 {
		return false
	}
	return v[0] != "0" && !strings.EqualFold(v[0], "false")
}
