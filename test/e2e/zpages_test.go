package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	flagzv1beta1 "k8s.io/apiserver/pkg/server/flagz/api/v1beta1"
	statuszv1beta1 "k8s.io/apiserver/pkg/server/statusz/api/v1beta1"
	"k8s.io/client-go/kubernetes"

	"kapi/internal/server"
)

const (
	statuszV1beta1 = "application/json;as=Statusz;v=v1beta1;g=config.k8s.io"
	flagzV1beta1   = "application/json;as=Flagz;v=v1beta1;g=config.k8s.io"
	zpagesWarning  = "Warning: This endpoint is not meant to be machine parseable, has no formatting compatibility guarantees and is for debugging purposes only.\n"
)

// getZpage GETs path with client, Accept accept ("" leaves client-go's),
// and returns the body, or the error with the Status the server sent.
func getZpage(client kubernetes.Interface, path, accept string) ([]byte, error) {
	req := client.CoreV1().RESTClient().Get().AbsPath(path)
	if accept != "" {
		req.SetHeader("Accept", accept)
	}
	res := req.Do(context.Background())
	body, err := res.Raw()
	if err != nil {
		return body, res.Error()
	}
	return body, nil
}

// TestZpagesStatusz: /statusz as kube-apiserver's (ComponentStatusz, beta
// and on by default in 1.37): its text by default and to client-go's
// Accept, its config.k8s.io/v1beta1 Statusz to a client that names it,
// with /version's versions and kube's list of debugging paths, and a 406
// Status for an Accept header it cannot satisfy.
func TestZpagesStatusz(t *testing.T) {
	t.Parallel()
	k := startKapi(t, func(c *server.Config) { c.Flagz = func() map[string]string { return map[string]string{"v": "3"} } })
	info, err := k.client.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	binary, emulation := strings.TrimPrefix(info.GitVersion, "v"), info.EmulationMajor+"."+info.EmulationMinor
	paths := []string{"/flagz", "/healthz", "/livez", "/metrics", "/readyz", "/statusz", "/version"}

	code, st, body := k.do(t, "GET", "/statusz", "", nil)
	d := `(:|: |=| )` // kube picks the delimiter at random
	text := regexp.MustCompile(`^\napiserver statusz\n` + regexp.QuoteMeta(zpagesWarning) + `\n` +
		`Started` + d + ` \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \w+ \d{4}\n` +
		`Up` + d + ` \d+ hr \d\d min \d\d sec\n` +
		`Go version` + d + ` go\S+\n` +
		`Binary version` + d + ` ` + regexp.QuoteMeta(binary) + `\n` +
		`Emulation version` + d + ` ` + regexp.QuoteMeta(emulation) + `\n` +
		`Paths` + d + ` ` + regexp.QuoteMeta(strings.Join(paths, " ")) + `\n$`)
	if code != 200 || st != nil || !text.Match(body) {
		t.Fatalf("GET /statusz: %d\n%s", code, body)
	}
	// client-go's Accept ("application/json, */*") gets the text too.
	if b, err := getZpage(k.client, "/statusz", ""); err != nil || !text.Match(b) {
		t.Errorf("client-go's Accept: %v\n%s", err, b)
	}

	b, err := getZpage(k.client, "/statusz", statuszV1beta1)
	if err != nil {
		t.Fatal(err)
	}
	var s statuszv1beta1.Statusz
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s.Kind != "Statusz" || s.APIVersion != "config.k8s.io/v1beta1" || s.Name != "apiserver" || s.StartTime.IsZero() ||
		s.UptimeSeconds < 0 || s.GoVersion != info.GoVersion || s.BinaryVersion != binary || s.EmulationVersion != emulation ||
		!slices.Equal(s.Paths, paths) {
		t.Errorf("Statusz: %s", b)
	}

	for _, accept := range []string{"application/xml", "application/json", "application/json;v=v1beta1;g=config.k8s.io",
		"application/json;as=Flagz;v=v1beta1;g=config.k8s.io"} {
		code, st, body := k.do(t, "GET", "/statusz", "", nil, "Accept", accept)
		if code != 406 || st == nil || st.Reason != metav1.StatusReasonNotAcceptable || st.Code != 406 ||
			st.Message != "only the following media types are accepted: application/json, application/yaml, text/plain" {
			t.Errorf("Accept %q: %d %s", accept, code, body)
		}
	}

	// The root lists both pages, as kube-apiserver's.
	code, _, body = k.do(t, "GET", "/", "", nil)
	var root struct{ Paths []string }
	if code != 200 || json.Unmarshal(body, &root) != nil || !slices.Contains(root.Paths, "/statusz") || !slices.Contains(root.Paths, "/flagz") {
		t.Errorf("GET /: %d %s", code, body)
	}
}

// TestZpagesAuthorization: /statusz and /flagz are non-resource URLs that
// only who may "get" them reads, as in kube-apiserver: the bootstrap
// ClusterRole system:monitoring grants it, bound to the group
// system:monitoring; any other user gets a 403.
func TestZpagesAuthorization(t *testing.T) {
	t.Parallel()
	k := startKapi(t, func(c *server.Config) { c.Flagz = func() map[string]string { return map[string]string{"v": "3"} } })
	ctx := context.Background()
	if _, err := k.client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "watcher-monitoring"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:monitoring"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: "watcher"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/statusz", "/flagz"} {
		_, err := getZpage(asUser(k, "nobody"), path, "")
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), fmt.Sprintf(`User "nobody" cannot get path %q`, path)) {
			t.Errorf("GET %s by a user without get on it: %v, want 403", path, err)
		}
		for _, c := range []kubernetes.Interface{asUser(k, "prometheus", "system:monitoring"), asUser(k, "watcher")} {
			settle(t, "the binding of watcher", func() bool {
				b, err := getZpage(c, path, "")
				return err == nil && strings.HasPrefix(string(b), "\napiserver "+path[1:]+"\n")
			})
		}
	}
}

// TestZpagesFlagz: the kapi binary lists its command line at /flagz as
// kube-apiserver lists its own: every flag, sorted, with the value given
// or its default, in kube's spelling; as a config.k8s.io/v1beta1 Flagz to
// a client that asks for one. Statusz lists /flagz among its paths.
func TestZpagesFlagz(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port := portOf(t, "https://"+freeAddr(t))
	_, _, client := runKapiBinary(t, dir, "--secure-port", fmt.Sprint(port), "--v=2", "--event-ttl=2h",
		"--cors-allowed-origins=https://a.example,https://b.example")

	want := map[string]string{"v": "2", "event-ttl": "2h0m0s", "cors-allowed-origins": "[https://a.example,https://b.example]",
		"secure-port": fmt.Sprint(port), "data-dir": dir, "help": "false", "version": "false", "etcd-servers": "[]",
		"profiling": "true", "min-request-timeout": "1800"}
	text, err := getZpage(client, "/flagz", "text/plain")
	if err != nil {
		t.Fatalf("GET /flagz: %v", err)
	}
	header := "\napiserver flagz\n" + zpagesWarning
	if !strings.HasPrefix(string(text), header) {
		t.Fatalf("GET /flagz:\n%s", text)
	}
	lines := strings.Split(strings.TrimSuffix(strings.TrimPrefix(string(text), header), "\n"), "\n")
	var names []string
	for _, l := range lines {
		names = append(names, l[:strings.IndexAny(l+"=", ": =")])
	}
	if !slices.IsSorted(names) || len(names) < 150 {
		t.Errorf("%d flags, sorted %v", len(names), slices.IsSorted(names))
	}
	for name, v := range want {
		if !slices.ContainsFunc(lines, func(l string) bool {
			rest, ok := strings.CutPrefix(l, name)
			return ok && slices.Contains([]string{":" + v, ": " + v, "=" + v, " " + v}, rest)
		}) {
			t.Errorf("the text lacks %s=%s", name, v)
		}
	}

	b, err := getZpage(client, "/flagz", flagzV1beta1)
	if err != nil {
		t.Fatal(err)
	}
	var f flagzv1beta1.Flagz
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if f.Kind != "Flagz" || f.APIVersion != "config.k8s.io/v1beta1" || f.Name != "apiserver" || len(f.Flags) != len(lines) {
		t.Errorf("Flagz: %s %s %s, %d flags", f.Kind, f.APIVersion, f.Name, len(f.Flags))
	}
	for name, v := range want {
		if f.Flags[name] != v {
			t.Errorf("Flagz: %s=%q, want %q", name, f.Flags[name], v)
		}
	}

	b, err = getZpage(client, "/statusz", statuszV1beta1)
	var s statuszv1beta1.Statusz
	if err != nil || json.Unmarshal(b, &s) != nil || !slices.Contains(s.Paths, "/flagz") {
		t.Errorf("Statusz: %v %s", err, b)
	}
}
