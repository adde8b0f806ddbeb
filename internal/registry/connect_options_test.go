package registry

import (
	"net/url"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// The options of a connection are read from the query as kube's
// generated url.Values conversions read them.
func TestConnectOptions(t *testing.T) {
	v1 := corev1.SchemeGroupVersion
	for _, c := range []struct {
		kind, query, path string
		want              runtime.Object
		err               string
	}{
		{kind: "PodExecOptions", query: "command=ls&command=-l&stdout=true&stderr=1&stdin=0&tty=FALSE&container=a&container=b",
			want: &corev1.PodExecOptions{Command: []string{"ls", "-l"}, Stdout: true, Stderr: true, Container: "a"}},
		{kind: "PodAttachOptions", query: "stdin=&tty=yes", want: &corev1.PodAttachOptions{Stdin: true, TTY: true}},
		{kind: "PodPortForwardOptions", query: "ports=80,443&ports=8080", want: &corev1.PodPortForwardOptions{Ports: []int32{80, 443, 8080}}},
		{kind: "PodPortForwardOptions", query: "ports=70000", err: `cannot convert to []int32: strconv.ParseUint: parsing "70000": value out of range`},
		{kind: "PodProxyOptions", query: "path=/ignored", path: "/a/b/", want: &corev1.PodProxyOptions{Path: "/a/b/"}},
		{kind: "ServiceProxyOptions", path: "/x", want: &corev1.ServiceProxyOptions{Path: "/x"}},
		{kind: "NodeProxyOptions", want: &corev1.NodeProxyOptions{}},
		{kind: "Pod", query: "follow=true"}, // pods/log: no Connecter's options
	} {
		q, _ := url.ParseQuery(c.query)
		got, err := ConnectOptions(v1.WithKind(c.kind), q, c.path)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%s %s: %v, want %s", c.kind, c.query, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %s: %v", c.kind, c.query, err)
			continue
		}
		if c.want != nil {
			c.want.GetObjectKind().SetGroupVersionKind(v1.WithKind(c.kind))
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s %s: %#v, want %#v", c.kind, c.query, got, c.want)
		}
	}
}
