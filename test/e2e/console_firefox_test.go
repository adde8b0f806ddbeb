package e2e

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestConsoleFirefox is TestConsole in Debian's firefox-esr, headless and
// driven over WebDriver BiDi (Firefox's own remote protocol: Debian has
// no geckodriver): the same page, through the real kubectl proxy, and the
// same checks, the page's JavaScript errors (log.entryAdded) among them.
func TestConsoleFirefox(t *testing.T) {
	browserPath := firefox(t)
	s := startConsoleScene(t)
	checkConsolePage(t, newFirefox(t, browserPath), s)
}

// firefox is Debian's firefox-esr, or a skip when there is none and
// KAPI_REQUIRE_BROWSER is not set (CI sets it and installs firefox-esr).
func firefox(t *testing.T) string {
	for _, name := range []string{"firefox-esr", "firefox"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("KAPI_REQUIRE_BROWSER") != "" {
		t.Fatal("no firefox-esr binary on PATH, and KAPI_REQUIRE_BROWSER is set (apt-get install firefox-esr)")
	}
	t.Skip("no firefox-esr binary on PATH: install Debian's firefox-esr to run the web console's Firefox test")
	return ""
}

// bidiPrefs keep a fresh profile quiet: WebDriver BiDi only, no first
// run pages, no updates or telemetry reaching for the network.
const bidiPrefs = `user_pref("remote.active-protocols", 1);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.startup.page", 0);
user_pref("startup.homepage_welcome_url", "about:blank");
user_pref("browser.aboutwelcome.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("app.update.disabledForTesting", true);
user_pref("app.normandy.enabled", false);
user_pref("extensions.update.enabled", false);
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
`

// firefoxBrowser is a headless Firefox driven over WebDriver BiDi (Debian
// has no geckodriver): one websocket to Firefox's /session, commands
// matched to their responses by id, events ignored but for the page's
// JavaScript errors (log.entryAdded), which fail the test.
type firefoxBrowser struct {
	t       *testing.T
	shots   string
	conn    *websocket.Conn
	context string // the browsing context (tab) the test drives

	wmu      sync.Mutex // one writer at a time
	mu       sync.Mutex
	nextID   int
	pending  map[int]chan bidiResponse
	readErr  error
	jsErrors []string
}

type bidiResponse struct {
	ID      int             `json:"id"`
	Type    string          `json:"type"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
	Result  json.RawMessage `json:"result"`
	Error   string          `json:"error"`
	Message string          `json:"message"`
}

// newFirefox starts firefox-esr headless in a process group of its own
// with a fresh profile, and opens a BiDi session to it; the group is
// killed and the profile removed when the test ends.
func newFirefox(t *testing.T, path string) *firefoxBrowser {
	t.Helper()
	shots := os.Getenv("KAPI_TEST_ARTIFACTS")
	if shots == "" {
		shots = t.TempDir()
	}
	shots = filepath.Join(shots, t.Name())
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	profile := t.TempDir() // removed after the cleanup below has killed firefox
	if err := os.WriteFile(filepath.Join(profile, "user.js"), []byte(bidiPrefs), 0o644); err != nil {
		t.Fatal(err)
	}
	// Port 0: Firefox listens on a free loopback port and prints it.
	cmd := exec.Command(path, "--headless", "--no-remote", "--profile", profile,
		"--remote-debugging-port=0", "--width=1280", "--height=900", "about:blank")
	cmd.Env = append(os.Environ(), "HOME="+profile, "MOZ_CRASHREPORTER_DISABLE=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // firefox and its content processes
		<-exited
	})
	listening := make(chan string, 1)
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := bidiListening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case listening <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
		cmd.Wait()
	}()
	var url string
	select {
	case url = <-listening:
	case <-exited:
		t.Fatalf("%s exited before listening for WebDriver BiDi", path)
	case <-time.After(90 * time.Second):
		t.Fatalf("%s did not listen for WebDriver BiDi", path)
	}
	conn, _, err := websocket.DefaultDialer.Dial(url+"/session", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	b := &firefoxBrowser{t: t, shots: shots, conn: conn, pending: map[int]chan bidiResponse{}}
	go b.read()
	var session struct {
		Capabilities struct {
			BrowserName    string `json:"browserName"`
			BrowserVersion string `json:"browserVersion"`
		} `json:"capabilities"`
	}
	b.must("session.new", map[string]any{"capabilities": map[string]any{}}, &session)
	var tree struct {
		Contexts []struct {
			Context string `json:"context"`
		} `json:"contexts"`
	}
	b.must("browsingContext.getTree", map[string]any{"maxDepth": 0}, &tree)
	if len(tree.Contexts) == 0 {
		var c struct {
			Context string `json:"context"`
		}
		b.must("browsingContext.create", map[string]any{"type": "tab"}, &c)
		b.context = c.Context
	} else {
		b.context = tree.Contexts[0].Context
	}
	// The page's console errors and uncaught exceptions, of this tab only.
	b.must("session.subscribe", map[string]any{"events": []string{"log.entryAdded"}, "contexts": []string{b.context}}, nil)
	b.must("browsingContext.setViewport", map[string]any{"context": b.context, "viewport": map[string]int{"width": 1280, "height": 900}}, nil)
	t.Logf("%s %s; screenshots in %s", session.Capabilities.BrowserName, session.Capabilities.BrowserVersion, shots)
	return b
}

var bidiListening = regexp.MustCompile(`WebDriver BiDi listening on (ws://127\.0\.0\.1:\d+)`)

// read hands each response to its command and keeps the page's errors.
func (b *firefoxBrowser) read() {
	for {
		var r bidiResponse
		if err := b.conn.ReadJSON(&r); err != nil {
			b.mu.Lock()
			b.readErr = err
			for id, ch := range b.pending {
				close(ch)
				delete(b.pending, id)
			}
			b.mu.Unlock()
			return
		}
		if r.Type == "event" {
			if r.Method == "log.entryAdded" {
				var e struct {
					Type  string `json:"type"`
					Level string `json:"level"`
					Text  string `json:"text"`
				}
				if json.Unmarshal(r.Params, &e) == nil && e.Level == "error" {
					b.mu.Lock()
					b.jsErrors = append(b.jsErrors, e.Type+": "+e.Text)
					b.mu.Unlock()
				}
			}
			continue
		}
		b.mu.Lock()
		ch := b.pending[r.ID]
		delete(b.pending, r.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- r
		}
	}
}

// call sends one command and waits for its response.
func (b *firefoxBrowser) call(ctx context.Context, method string, params any, result any) error {
	ch := make(chan bidiResponse, 1)
	b.mu.Lock()
	if b.readErr != nil {
		b.mu.Unlock()
		return b.readErr
	}
	b.nextID++
	id := b.nextID
	b.pending[id] = ch
	b.mu.Unlock()
	b.wmu.Lock()
	err := b.conn.WriteJSON(map[string]any{"id": id, "method": method, "params": params})
	b.wmu.Unlock()
	if err != nil {
		return err
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return fmt.Errorf("%s: connection closed: %v", method, b.readErr)
		}
		if r.Type == "error" || r.Error != "" {
			return fmt.Errorf("%s: %s: %s", method, r.Error, r.Message)
		}
		if result != nil {
			return json.Unmarshal(r.Result, result)
		}
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		delete(b.pending, id)
		b.mu.Unlock()
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

func (b *firefoxBrowser) must(method string, params, result any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := b.call(ctx, method, params, result); err != nil {
		b.t.Fatal(err)
	}
}

// eval evaluates a JavaScript expression in the page (promises awaited)
// and returns its value as BiDi serializes it.
func (b *firefoxBrowser) eval(ctx context.Context, expr string) (json.RawMessage, error) {
	var r struct {
		Type             string          `json:"type"`
		Result           json.RawMessage `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	err := b.call(ctx, "script.evaluate", map[string]any{
		"expression": expr, "awaitPromise": true,
		"target": map[string]string{"context": b.context}, "userActivation": true,
	}, &r)
	if err != nil {
		return nil, err
	}
	if r.Type == "exception" {
		return nil, fmt.Errorf("exception: %s", r.ExceptionDetails.Text)
	}
	return r.Result, nil
}

// open loads url and waits for its load event.
func (b *firefoxBrowser) open(what, url string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := b.call(ctx, "browsingContext.navigate", map[string]any{"context": b.context, "url": url, "wait": "complete"}, nil); err != nil {
		b.fail(what, err)
	}
}

// run evaluates JavaScript statements that act on the page.
func (b *firefoxBrowser) run(what, js string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if _, err := b.eval(ctx, js); err != nil {
		b.fail(what, err)
	}
}

// callFunction calls a JavaScript function in the page with string
// arguments and returns its value as BiDi serializes it.
func (b *firefoxBrowser) callFunction(ctx context.Context, fn string, args ...string) (json.RawMessage, error) {
	var bargs []map[string]string
	for _, a := range args {
		bargs = append(bargs, map[string]string{"type": "string", "value": a})
	}
	var r struct {
		Type             string          `json:"type"`
		Result           json.RawMessage `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	err := b.call(ctx, "script.callFunction", map[string]any{
		"functionDeclaration": fn, "arguments": bargs, "awaitPromise": true,
		"target": map[string]string{"context": b.context}, "userActivation": true,
	}, &r)
	if err != nil {
		return nil, err
	}
	if r.Type == "exception" {
		return nil, fmt.Errorf("exception: %s", r.ExceptionDetails.Text)
	}
	return r.Result, nil
}

// click moves the mouse to the middle of the element and clicks it, as
// chromedp.Click does: input.performActions with the element as origin.
func (b *firefoxBrowser) click(what, selector string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	v, err := b.callFunction(ctx, `(s) => {
		const e = document.querySelector(s);
		if (!e) throw new Error('no element ' + s);
		e.scrollIntoView({block: 'center'});
		return e;
	}`, selector)
	if err != nil {
		b.fail(what, err)
	}
	var node struct {
		SharedID string `json:"sharedId"`
	}
	if err := json.Unmarshal(v, &node); err != nil || node.SharedID == "" {
		b.fail(what, fmt.Errorf("%s is no element: %s", selector, v))
	}
	mouse := map[string]any{"type": "pointer", "id": "mouse", "parameters": map[string]string{"pointerType": "mouse"}, "actions": []map[string]any{
		{"type": "pointerMove", "x": 0, "y": 0, "origin": map[string]any{"type": "element", "element": map[string]string{"sharedId": node.SharedID}}},
		{"type": "pointerDown", "button": 0},
		{"type": "pointerUp", "button": 0},
	}}
	if err := b.call(ctx, "input.performActions", map[string]any{"context": b.context, "actions": []any{mouse}}, nil); err != nil {
		b.fail(what, err)
	}
}

// choose sets a form control's value and fires its change event.
func (b *firefoxBrowser) choose(what, selector, value string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if _, err := b.callFunction(ctx, `(s, v) => {
		const e = document.querySelector(s);
		if (!e) throw new Error('no element ' + s);
		e.value = v;
		e.dispatchEvent(new Event('change'));
	}`, selector, value); err != nil {
		b.fail(what, err)
	}
}

func (b *firefoxBrowser) use(t *testing.T) (restore func()) {
	prev := b.t
	b.t = t
	return func() { b.t = prev }
}

// wait polls a JavaScript expression until it is truthy.
func (b *firefoxBrowser) wait(what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for {
		v, err := b.eval(ctx, "!!("+expr+")")
		if err != nil && ctx.Err() == nil {
			b.fail(what, err)
		}
		if ctx.Err() != nil {
			b.fail(what, ctx.Err())
		}
		var r struct {
			Type  string `json:"type"`
			Value bool   `json:"value"`
		}
		if json.Unmarshal(v, &r) == nil && r.Value {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (b *firefoxBrowser) fail(what string, err error) {
	b.t.Helper()
	b.screenshot("failure")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var body string
	if v, e := b.eval(ctx, "document.body ? document.body.innerText : ''"); e == nil {
		var r struct {
			Value string `json:"value"`
		}
		json.Unmarshal(v, &r)
		body = r.Value
	}
	b.checkErrors()
	b.t.Fatalf("%s: %v\npage text:\n%s", what, err, body)
}

func (b *firefoxBrowser) checkErrors() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.jsErrors {
		b.t.Errorf("the page's JavaScript failed in Firefox: %s", e)
	}
}

// screenshot saves the page as <name>.png among the test's artifacts.
func (b *firefoxBrowser) screenshot(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var r struct {
		Data string `json:"data"`
	}
	if err := b.call(ctx, "browsingContext.captureScreenshot", map[string]any{"context": b.context, "origin": "document"}, &r); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Error(err)
	}
}
