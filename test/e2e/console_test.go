package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/console"
	"kapi/internal/server"
)

// TestConsole opens the web console the way people open the Kubernetes
// Dashboard: kapi with the console registered as a Service, the real
// kubectl proxy, and Debian's chromium headless at the service proxy's
// path; checkConsolePage says what the page must do.
func TestConsole(t *testing.T) {
	browserPath := chromium(t)
	s := startConsoleScene(t)
	checkConsolePage(t, newBrowser(t, browserPath), s)
}

// consolePage is what checkConsolePage needs of a browser: chromium over
// chromedp (browser) and Firefox over WebDriver BiDi (firefoxBrowser).
// Each step fails the test, with a screenshot and the page's text, when
// it cannot be done.
type consolePage interface {
	open(what, url string)
	// wait polls a JavaScript expression until it is truthy.
	wait(what, expr string)
	// run evaluates JavaScript statements that act on the page.
	run(what, js string)
	click(what, selector string)
	// choose sets a form control's value and fires its change event.
	choose(what, selector, value string)
	screenshot(name string)
	// checkErrors fails the test for each JavaScript error of the page.
	checkErrors()
	// use reports failures to t until the returned restore is called.
	use(t *testing.T) (restore func())
}

// consoleScene is what the console's browser tests open: kapi (its
// service proxy allowed to reach the console on loopback), the namespace
// ns with the ConfigMap greetings, kapi console, and the real kubectl
// proxy at proxy.
type consoleScene struct {
	k           *kapi
	ns, proxy   string
	stopConsole func()
}

func startConsoleScene(t *testing.T) consoleScene {
	t.Helper()
	k := startKapi(t, func(c *server.Config) { c.ProxyAllowLoopback = true })
	ctx := context.Background()
	ns := "console-e2e"
	if _, err := k.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "greetings", Namespace: ns}, Data: map[string]string{"greeting": "hello", "poem": "line one\nline two\n"}}
	if _, err := k.client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, stopConsole := startConsole(t, k)
	return consoleScene{k: k, ns: ns, proxy: startKubectlProxy(t, k), stopConsole: stopConsole}
}

// checkConsolePage opens the console through kubectl proxy at the service
// proxy's path: the page lists namespaces, shows a ConfigMap's YAML,
// follows a change of it live, applies an edit with server-side apply,
// draws the metrics and lists events; the console's endpoint is gone
// once it is stopped, and no JavaScript error was logged.
func checkConsolePage(t *testing.T, b consolePage, s consoleScene) {
	k, ns, ctx := s.k, s.ns, context.Background()
	b.open("open the console through kubectl proxy", s.proxy+console.ProxyPath)
	b.wait("the namespaces table lists the test's namespace",
		fmt.Sprintf(`document.querySelector('#resource-table tr[data-name=%q]')`, ns))
	b.wait("the namespace menu lists it", fmt.Sprintf(`[...document.querySelectorAll('#namespace option')].some(o => o.value === %q)`, ns))
	b.wait("discovery lists apps/v1 deployments", `document.querySelector('#groups a[data-resource="apps/v1/deployments"]')`)
	b.screenshot("namespaces")

	b.choose("choose the namespace", "#namespace", ns)
	b.click("choose ConfigMaps", `#groups a[data-resource="core/v1/configmaps"]`)
	b.wait("the ConfigMap is a row with the server's DATA column",
		`(() => { const r = document.querySelector('#resource-table tr[data-name="greetings"]'); return r && r.textContent.includes('2'); })()`)
	b.click("open the ConfigMap", `#resource-table a[data-object="greetings"]`)
	b.wait("its YAML shows the data, the poem as a literal block",
		`document.querySelector('#yaml') && document.querySelector('#yaml').value.includes('greeting: hello') && document.querySelector('#yaml').value.includes('poem: |\n    line one\n    line two')`)
	b.wait("the object is watched", `document.querySelector('#live') && document.querySelector('#live').textContent.includes('live')`)
	b.screenshot("configmap")

	cur, err := k.client.CoreV1().ConfigMaps(ns).Get(ctx, "greetings", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur.Data["greeting"] = "bonjour"
	if _, err := k.client.CoreV1().ConfigMaps(ns).Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	b.wait("the YAML follows the change live", `document.querySelector('#yaml').value.includes('greeting: bonjour')`)
	b.screenshot("configmap-changed")

	t.Run("server-side apply from the page", func(t *testing.T) {
		defer b.use(t)()
		b.run("edit the YAML", `(() => {
			const e = document.querySelector('#yaml');
			e.value = e.value.replace('greeting: bonjour', 'greeting: salut');
			e.dispatchEvent(new Event('input'));
		})()`)
		b.click("apply", "#apply")
		// The test's client owns data.greeting (an Update): kube's
		// server-side apply refuses to take it without force.
		b.wait("the apply is refused as a conflict", `document.querySelector('#message').textContent.includes('409 Conflict')`)
		b.screenshot("apply-conflict")
		b.click("check force", "#force")
		b.click("apply with force", "#apply")
		b.wait("the apply succeeds", `document.querySelector('#message').textContent.startsWith('applied')`)
		b.screenshot("applied")
		got, err := k.client.CoreV1().ConfigMaps(ns).Get(ctx, "greetings", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Data["greeting"] != "salut" || got.Data["poem"] != "line one\nline two\n" {
			t.Errorf("data after the apply = %q", got.Data)
		}
		var applied bool
		for _, mf := range got.ManagedFields {
			applied = applied || mf.Manager == "kapi-console" && mf.Operation == metav1.ManagedFieldsOperationApply
		}
		if !applied {
			t.Errorf("no Apply entry of manager kapi-console in managedFields: %+v", got.ManagedFields)
		}
	})

	b.click("open the metrics", `#tabs a[data-tab="metrics"]`)
	b.wait("the request rate chart draws lines by verb and code",
		`document.querySelector('#chart-rate path') && /(GET|LIST|WATCH|APPLY|PATCH) \d{3}/.test(document.querySelector('#chart-rate .legend').textContent)`)
	b.wait("the storage objects chart names configmaps", `document.querySelector('#chart-objects .legend') && document.querySelector('#chart-objects .legend').textContent.includes('configmaps')`)
	b.screenshot("metrics")
	b.click("open the events", `#tabs a[data-tab="events"]`)
	b.wait("the events table is shown", `document.querySelector('#resource-table') && document.querySelector('h2').textContent.startsWith('events in')`)

	s.stopConsole()
	es, err := k.client.DiscoveryV1().EndpointSlices(console.Namespace).Get(ctx, console.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(es.Endpoints) != 0 {
		t.Errorf("the stopped console's endpoint is still in its EndpointSlice: %+v", es.Endpoints)
	}
	b.checkErrors()
}

// TestConsoleToken opens the console directly rather than through the
// API server's proxy: it forwards the page's API requests with no
// identity of its own, so the page is anonymous (kube's 403 shown) until
// a ServiceAccount's token is pasted in, and then acts as that account.
func TestConsoleToken(t *testing.T) {
	browserPath := chromium(t)
	k := startKapi(t, func(c *server.Config) { c.ProxyAllowLoopback = true }) // the console's EndpointSlice is on loopback
	ctx := context.Background()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "console-viewer", Namespace: "default"}}
	if _, err := k.client.CoreV1().ServiceAccounts("default").Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	k.mustKubectl("", "create", "clusterrolebinding", "console-viewer", "--clusterrole=view", "--serviceaccount=default:console-viewer")
	tr, err := k.client.CoreV1().ServiceAccounts("default").CreateToken(ctx, "console-viewer", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	url, _ := startConsole(t, k)
	b := newBrowser(t, browserPath)

	b.do("open the console directly", chromedp.Navigate(url))
	b.wait("without a token the page is anonymous, and told so", `document.querySelector('#error').textContent.includes('403') && document.querySelector('#error').textContent.includes('system:anonymous')`)
	b.screenshot("anonymous")
	b.do("paste the token", chromedp.SetValue(chromedp.CSS("#token"), tr.Status.Token), chromedp.Click(chromedp.CSS(`#token-form button[type="submit"]`)))
	b.wait("the namespaces are listed as the service account", `document.querySelector('#resource-table tr[data-name="kube-system"]') && document.querySelector('#mode').textContent.includes('pasted bearer token')`)
	b.wait("its error is gone", `document.querySelector('#error').hidden`)
	b.screenshot("token")
	b.do("open a secret's resource, which view may not list", chromedp.Click(chromedp.CSS(`#groups a[data-resource="core/v1/secrets"]`)))
	b.wait("the API server's refusal names the service account", `document.querySelector('#error').textContent.includes('system:serviceaccount:default:console-viewer')`)
	b.screenshot("forbidden-secrets")
	b.checkErrors()
}

// chromium is the browser binary, or a skip when there is none and
// KAPI_REQUIRE_BROWSER is not set (CI sets it and installs chromium).
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("KAPI_REQUIRE_BROWSER") != "" {
		t.Fatal("no chromium binary on PATH, and KAPI_REQUIRE_BROWSER is set (apt-get install chromium)")
	}
	t.Skip("no chromium binary on PATH: install Debian's chromium to run the web console's browser test")
	return ""
}

var consoleLine = regexp.MustCompile(`kapi console is serving on (http://\S+/)`)

// startConsole runs `kapi console` against k until the returned stop (or
// the test's end) sends it SIGTERM and waits for its exit; url is the
// console's own address.
func startConsole(t *testing.T, k *kapi) (url string, stop func()) {
	t.Helper()
	cmd := exec.Command(bins.kapi, "console", "--kubeconfig", k.srv.Kubeconfig)
	cmd.Stderr = logs
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			if err := cmd.Wait(); err != nil {
				t.Errorf("kapi console after SIGTERM: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	first := make(chan string, 1)
	go func() {
		defer close(first) // it exited: its error is on stderr
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case first <- sc.Text():
			default:
			}
		}
	}()
	select {
	case line, ok := <-first:
		if !ok {
			t.Fatal("kapi console exited before serving")
		}
		m := consoleLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("kapi console printed %q", line)
		}
		return m[1], stop
	case <-time.After(60 * time.Second):
		t.Fatal("kapi console printed nothing")
	}
	return "", stop
}

var kubectlProxyLine = regexp.MustCompile(`Starting to serve on (\S+)`)

// startKubectlProxy runs the real `kubectl proxy` against k on a free
// loopback port and returns its URL; it is killed when the test ends.
func startKubectlProxy(t *testing.T, k *kapi) string {
	t.Helper()
	cmd := k.kubectlCommand(context.Background(), "proxy", "--address", "127.0.0.1", "--port", "0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := kubectlProxyLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case a := <-addr:
		return "http://" + a
	case <-time.After(60 * time.Second):
		t.Fatal("kubectl proxy did not start")
	}
	return ""
}

// browser is a headless chromium tab for one test, stopped (the process
// too) when the test ends; JavaScript exceptions and console errors of
// the page are collected and fail the test.
type browser struct {
	t        *testing.T
	ctx      context.Context
	shots    string
	mu       sync.Mutex
	jsErrors []string
}

func newBrowser(t *testing.T, path string) *browser {
	t.Helper()
	shots := os.Getenv("KAPI_TEST_ARTIFACTS")
	if shots == "" {
		shots = t.TempDir()
	}
	shots = filepath.Join(shots, t.Name())
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	// chromium keeps its singleton socket in a folder of its own under
	// TMPDIR, and leaves it when it is stopped the way chromedp stops it;
	// a short folder of the test's (a socket's path is limited to 108 bytes)
	// is removed with the test.
	tmp, err := os.MkdirTemp("", "chromium")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
		chromedp.Env("TMPDIR="+tmp),
		chromedp.NoSandbox, // the tests may run as root, where chromium's sandbox refuses to start
		chromedp.DisableGPU)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &browser{t: t, shots: shots}
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(b.listen))
	b.ctx = ctx
	t.Cleanup(func() { cancel(); cancelAlloc() }) // ends chromium and waits for it
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	t.Logf("screenshots in %s", shots)
	return b
}

func (b *browser) listen(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		msg = ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			msg += " " + ev.ExceptionDetails.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		for _, a := range ev.Args {
			msg += " " + string(a.Value) + a.Description
		}
	default:
		return
	}
	b.mu.Lock()
	b.jsErrors = append(b.jsErrors, msg)
	b.mu.Unlock()
}

func (b *browser) checkErrors() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.jsErrors {
		b.t.Errorf("the page's JavaScript failed: %s", e)
	}
}

func (b *browser) open(what, url string) { b.do(what, chromedp.Navigate(url)) }

func (b *browser) run(what, js string) { b.do(what, chromedp.Evaluate[chromedp.Void](js)) }

func (b *browser) click(what, selector string) { b.do(what, chromedp.Click(chromedp.CSS(selector))) }

func (b *browser) choose(what, selector, value string) {
	b.do(what, chromedp.SetValue(chromedp.CSS(selector), value),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).dispatchEvent(new Event('change'))`, selector)))
}

func (b *browser) use(t *testing.T) (restore func()) {
	prev := b.t
	b.t = t
	return func() { b.t = prev }
}

// do runs the steps, failing the test (with a screenshot of the page) on
// an error.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail(what, err)
	}
}

// wait polls a JavaScript expression until it is truthy.
func (b *browser) wait(what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 90*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(0))); err != nil {
		b.fail(what, err)
	}
}

func (b *browser) fail(what string, err error) {
	b.t.Helper()
	b.screenshot("failure")
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	b.checkErrors()
	b.t.Fatalf("%s: %v\npage text:\n%s", what, err, body)
}

// screenshot saves the page as <name>.png among the test's artifacts.
func (b *browser) screenshot(name string) {
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100) /* 100: PNG, below: JPEG */)
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Error(err)
	}
}
