package kapitest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	clientfeatures "k8s.io/client-go/features"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"kapi/pkg/kapitest"
)

var widgets = schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}

// TestTwentyServers runs twenty kapis at once in this test binary, as an
// external project's tests would: each installs a CRD from a folder,
// has a webhook served by this process called by kapi, sees a user
// refused and then allowed once RBAC grants it, and runs a
// controller-runtime manager that reconciles. Then every server, webhook
// server and manager has stopped: none of their goroutines is left and
// none of their ports is open.
func TestTwentyServers(t *testing.T) {
	const n = 20
	var (
		up       sync.WaitGroup // every server started (or failed to)
		live     atomic.Int32
		mostLive atomic.Int32
		mu       sync.Mutex
		addrs    []string
		wg       sync.WaitGroup
	)
	up.Add(n)
	for i := range n {
		wg.Add(1)
		// t.Run from goroutines: all twenty run at once whatever
		// -parallel says.
		go func() {
			defer wg.Done()
			t.Run(fmt.Sprintf("server-%02d", i), func(t *testing.T) {
				var arrived sync.Once
				defer arrived.Do(up.Done)
				s := kapitest.Start(t, kapitest.CRDs("testdata/crds"))
				for cur := live.Add(1); ; {
					m := mostLive.Load()
					if cur <= m || mostLive.CompareAndSwap(m, cur) {
						break
					}
				}
				t.Cleanup(func() { live.Add(-1) })
				arrived.Do(up.Done)
				up.Wait() // all twenty serve from here on

				cc := s.ServeWebhook("/validate-widgets", denyLarge())
				mu.Lock()
				addrs = append(addrs, hostPort(t, s.URL), hostPort(t, *cc.URL))
				mu.Unlock()
				exercise(t, s, cc, i)
			})
		}()
	}
	wg.Wait()
	if got := mostLive.Load(); got != n {
		t.Errorf("at most %d servers ran at once, want %d", got, n)
	}
	if t.Failed() {
		return
	}
	checkStopped(t, addrs)
}

// exercise is one server's work.
func exercise(t *testing.T, s *kapitest.Server, cc admissionregistrationv1.WebhookClientConfig, i int) {
	ctx := context.Background()
	admin := dynamic.NewForConfigOrDie(s.Config)
	ns := "default"

	// The CRD from the folder is served as Start returns.
	if _, err := admin.Resource(widgets).Namespace(ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("widgets not served after Start: %v", err)
	}

	// A webhook served by this process, called by kapi.
	kube := kubernetes.NewForConfigOrDie(s.Config)
	fail, none := admissionregistrationv1.Fail, admissionregistrationv1.SideEffectClassNone
	_, err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: "widgets.example.com", ClientConfig: cc, FailurePolicy: &fail, SideEffects: &none,
			AdmissionReviewVersions: []string{"v1"},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{"example.com"}, APIVersions: []string{"v1"}, Resources: []string{"widgets"}},
			}},
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// kapi loads a new configuration within moments: until then the
	// large widget may go in (and is removed).
	poll(t, "the webhook denies a large widget", func() (bool, error) {
		_, err := admin.Resource(widgets).Namespace(ns).Create(ctx, widget("large", 100), metav1.CreateOptions{})
		if err == nil {
			return false, admin.Resource(widgets).Namespace(ns).Delete(ctx, "large", metav1.DeleteOptions{})
		}
		if strings.Contains(err.Error(), "kapitest: size 100 is over 10") {
			return true, nil
		}
		return false, err
	})
	if _, err := admin.Resource(widgets).Namespace(ns).Create(ctx, widget("small", 3), metav1.CreateOptions{}); err != nil {
		t.Fatalf("a small widget: %v", err)
	}

	// A user with nothing granted is refused, then allowed by a binding.
	alice := dynamic.NewForConfigOrDie(s.ConfigFor("alice", "team-a"))
	if _, err := alice.Resource(widgets).Namespace(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("alice listed widgets before any grant: %v, want 403", err)
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "widget-reader", Namespace: ns},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"example.com"}, Resources: []string{"widgets"}, Verbs: []string{"get", "list", "watch"}}}}
	if _, err := kube.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "team-a-reads-widgets", Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "widget-reader"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "team-a"}}}
	if _, err := kube.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "alice lists widgets once bound", func() (bool, error) {
		_, err := alice.Resource(widgets).Namespace(ns).List(ctx, metav1.ListOptions{})
		if apierrors.IsForbidden(err) {
			return false, nil
		}
		return err == nil, err
	})
	if _, err := alice.Resource(widgets).Namespace(ns).Create(ctx, widget("alices", 1), metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("alice created a widget with read rights only: %v, want 403", err)
	}

	// A controller-runtime manager reconciles the widgets.
	c := startManager(t, s)
	waitObservedSize(t, c, ns, "small", 3)
}

// denyLarge is a validating webhook, written with controller-runtime's
// admission package, refusing widgets of spec.size over 10.
func denyLarge() http.Handler {
	return &admission.Webhook{Handler: admission.HandlerFunc(func(ctx context.Context, req admission.Request) admission.Response {
		var w struct {
			Spec struct {
				Size int64 `json:"size"`
			} `json:"spec"`
		}
		if err := json.Unmarshal(req.Object.Raw, &w); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		if w.Spec.Size > 10 {
			return admission.Denied(fmt.Sprintf("kapitest: size %d is over 10", w.Spec.Size))
		}
		return admission.Allowed("")
	})}
}

func widget(name string, size int64) *unstructured.Unstructured {
	w := &unstructured.Unstructured{}
	w.SetGroupVersionKind(widgetGVK)
	w.SetName(name)
	unstructured.SetNestedField(w.Object, size, "spec", "size")
	return w
}

// poll waits (up to a minute) until cond holds, for what kapi does a
// moment after a write: loading a webhook configuration, an RBAC cache.
func poll(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		ok, err := cond()
		last = err
		return ok, nil
	})
	if err != nil {
		t.Fatalf("%s: never (last error: %v)", what, last)
	}
}

func hostPort(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.Host
}

// checkStopped: no goroutine runs kapi's, etcd's or kapitest's code, and
// no server's or webhook server's port accepts connections.
func checkStopped(t *testing.T, addrs []string) {
	t.Helper()
	var left []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if left = serverGoroutines(); len(left) == 0 {
			break
		}
	}
	if len(left) > 0 {
		t.Errorf("%d goroutines left after the servers stopped:\n%s", len(left), strings.Join(left, "\n\n"))
	}
	for _, a := range addrs {
		if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after its server stopped", a)
		}
	}
}

func serverGoroutines() []string {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "kapi/internal/") || strings.Contains(g, "go.etcd.io/") || strings.Contains(g, "kapi/pkg/kapitest.") {
			out = append(out, g)
		}
	}
	return out
}

// TestReadCRDs: a folder's CRDs are read, its other documents skipped.
func TestReadCRDs(t *testing.T) {
	crds, err := kapitest.ReadCRDs("testdata/crds")
	if err != nil {
		t.Fatal(err)
	}
	if len(crds) != 1 || crds[0].Name != "widgets.example.com" || crds[0].Spec.Versions[0].Schema == nil {
		t.Fatalf("read %d CRDs (%v), want widgets.example.com with its schema", len(crds), crds)
	}
}

// TestPrivilegedAllowed: a kapitest server allows privileged containers,
// as envtest's kube-apiserver does (--allow-privileged=true).
func TestPrivilegedAllowed(t *testing.T) {
	t.Parallel()
	s := kapitest.Start(t, kapitest.Controllers())
	c := kubernetes.NewForConfigOrDie(s.Config)
	privileged := true
	tmpl := &corev1.PodTemplate{ObjectMeta: metav1.ObjectMeta{Name: "privileged"}, Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "c", Image: "i", SecurityContext: &corev1.SecurityContext{Privileged: &privileged}}}}}}
	if _, err := c.CoreV1().PodTemplates("default").Create(context.Background(), tmpl, metav1.CreateOptions{}); err != nil {
		t.Fatalf("a privileged pod template: %v", err)
	}
}

// TestFeatureGatesWatchListOff: with kube's WatchList gate off, kapi
// refuses a watch asking for its initial events, as kube-apiserver does,
// and client-go's informers, which ask for watch lists by default, fall
// back to a list and a watch and still sync and follow changes.
func TestFeatureGatesWatchListOff(t *testing.T) {
	t.Parallel()
	if !clientfeatures.FeatureGates().Enabled(clientfeatures.WatchListClient) {
		t.Fatal("client-go does not ask for watch lists: the test's premise is gone")
	}
	s := kapitest.Start(t, kapitest.FeatureGates("WatchList=false"), kapitest.Controllers())
	c := kubernetes.NewForConfigOrDie(s.Config)
	ctx := context.Background()
	_, err := c.CoreV1().ConfigMaps("default").Watch(ctx, metav1.ListOptions{SendInitialEvents: ptrTo(true),
		ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan, AllowWatchBookmarks: true})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled") {
		t.Fatalf("a watch list with WatchList off: %v", err)
	}
	if _, err := c.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "before"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	factory := informers.NewSharedInformerFactoryWithOptions(c, 0, informers.WithNamespace("default"))
	cms := factory.Core().V1().ConfigMaps()
	inf := cms.Informer()
	stop := make(chan struct{})
	defer func() { close(stop); factory.Shutdown() }()
	factory.Start(stop)
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if !cache.WaitForCacheSync(sctx.Done(), inf.HasSynced) {
		t.Fatal("the informer did not sync")
	}
	if _, err := cms.Lister().ConfigMaps("default").Get("before"); err != nil {
		t.Fatalf("the synced informer lacks the ConfigMap: %v", err)
	}
	if _, err := c.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "after"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := wait.PollUntilContextTimeout(sctx, 20*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		_, err := cms.Lister().ConfigMaps("default").Get("after")
		return err == nil, nil
	}); err != nil {
		t.Fatalf("the informer's watch did not bring the new ConfigMap: %v", err)
	}
}

func ptrTo[T any](v T) *T { return &v }
