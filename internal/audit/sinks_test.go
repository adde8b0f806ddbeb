package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"kapi/internal/metrics"
)

// counterValue reads a counter of the metrics registry; labels are
// name, value pairs.
func counterValue(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					found = found || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
				}
				if !found {
					continue metric
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

func testEvent(id string, size int) *auditv1.Event {
	ev := &auditv1.Event{
		TypeMeta: metav1.TypeMeta{Kind: "Event", APIVersion: "audit.k8s.io/v1"},
		Level:    auditv1.LevelRequest, AuditID: types.UID(id), Stage: auditv1.StageResponseComplete,
		RequestURI: "/api/v1/namespaces/default/configmaps", Verb: "create",
	}
	if size > 0 {
		ev.RequestObject = &runtime.Unknown{Raw: []byte(`{"data":"` + strings.Repeat("x", size) + `"}`), ContentType: runtime.ContentTypeJSON}
	}
	return ev
}

func readEvents(t *testing.T, path string) []auditv1.Event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var evs []auditv1.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var ev auditv1.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("%s: line %q: %v", path, sc.Text(), err)
		}
		evs = append(evs, ev)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestLogRotation: with --audit-log-maxsize=1 the log is rotated before a
// write would take it over 1 MB; every event is in one file or the other.
func TestLogRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit", "audit.log")
	o := DefaultOptions()
	o.LogPath, o.LogMaxSize = path, 1
	s, err := newLogSink(o)
	if err != nil {
		t.Fatal(err)
	}
	// Four events of 400 kB: two fit in 1 MB, the third rotates.
	for i := range 4 {
		s.add(testEvent(fmt.Sprint("id-", i), 400<<10))
	}
	if err := s.shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "audit", "*"))
	if len(files) != 2 {
		t.Fatalf("files %v, want the log and one backup", files)
	}
	var ids []string
	for _, f := range files {
		st, _ := os.Stat(f)
		if st.Size() > 1<<20 {
			t.Errorf("%s is %d bytes, over the 1 MB limit", f, st.Size())
		}
		evs := readEvents(t, f)
		if len(evs) != 2 {
			t.Errorf("%s holds %d events, want 2", f, len(evs))
		}
		for _, ev := range evs {
			ids = append(ids, string(ev.AuditID))
		}
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"id-0", "id-1", "id-2", "id-3"}) {
		t.Errorf("events %v", ids)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("log file mode: %v %v", st, err)
	}
}

func TestLogLegacyFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	o := DefaultOptions()
	o.LogPath, o.LogFormat = path, FormatLegacy
	s, err := newLogSink(o)
	if err != nil {
		t.Fatal(err)
	}
	ev := testEvent("abc", 0)
	ev.User.Username, ev.User.Groups = "alice", []string{"devs"}
	s.add(ev)
	s.shutdown(context.Background())
	b, _ := os.ReadFile(path)
	want := `AUDIT: id="abc" stage="ResponseComplete" ip="<unknown>" method="create" user="alice" groups="\"devs\"" as="<self>" asgroups="<lookup>" user-agent="" namespace="<none>" uri="/api/v1/namespaces/default/configmaps" response="<deferred>"`
	if !strings.Contains(string(b), want) {
		t.Errorf("got %s\nwant %s", b, want)
	}
}

// webhookReceiver is an audit webhook that records the batches it gets.
type webhookReceiver struct {
	mu      sync.Mutex
	batches []auditv1.EventList
	fail    int           // answer 500 to this many requests first
	block   chan struct{} // when set, wait for it to close before answering
	srv     *httptest.Server
}

func newWebhookReceiver(t *testing.T) *webhookReceiver {
	wr := &webhookReceiver{}
	wr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wr.block != nil {
			select {
			case <-wr.block:
			case <-r.Context().Done():
				return
			}
		}
		var list auditv1.EventList
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &list) != nil ||
			list.Kind != "EventList" || list.APIVersion != "audit.k8s.io/v1" {
			t.Errorf("webhook got %s %s %s", r.Method, r.Header.Get("Content-Type"), body)
		}
		wr.mu.Lock()
		defer wr.mu.Unlock()
		if wr.fail > 0 {
			wr.fail--
			http.Error(w, "not now", http.StatusInternalServerError)
			return
		}
		wr.batches = append(wr.batches, list)
	}))
	t.Cleanup(wr.srv.Close)
	return wr
}

// kubeconfig writes the kubeconfig of the receiver, as
// --audit-webhook-config-file takes it.
func (wr *webhookReceiver) kubeconfig(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "webhook.kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: audit
  cluster:
    server: %s/audit
contexts:
- name: audit
  context: {cluster: audit, user: kapi}
current-context: audit
users:
- name: kapi
  user: {token: secret}
`, wr.srv.URL)
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func (wr *webhookReceiver) sizes() (sizes []int, ids []string) {
	wr.mu.Lock()
	defer wr.mu.Unlock()
	for _, b := range wr.batches {
		sizes = append(sizes, len(b.Items))
		for _, ev := range b.Items {
			ids = append(ids, string(ev.AuditID))
		}
	}
	slices.Sort(sizes)
	slices.Sort(ids)
	return sizes, ids
}

func (wr *webhookReceiver) waitFor(t *testing.T, events int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, ids := wr.sizes()
		if len(ids) >= events {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook got %d events, waiting for %d", len(ids), events)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWebhookBatching: batches are cut at the maximum size, and a batch
// that does not fill up is sent after the maximum wait, without waiting
// for the shutdown.
func TestWebhookBatching(t *testing.T) {
	wr := newWebhookReceiver(t)
	o := DefaultOptions()
	o.WebhookConfigFile = wr.kubeconfig(t)
	o.WebhookBatchMaxSize, o.WebhookBatchMaxWait, o.WebhookBatchThrottleEnable = 3, 200*time.Millisecond, false
	s, err := newWebhookSink(o)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 7 {
		id := fmt.Sprint("id-", i)
		want = append(want, id)
		s.add(testEvent(id, 10))
	}
	wr.waitFor(t, 7)
	sizes, ids := wr.sizes()
	if !slices.Equal(sizes, []int{1, 3, 3}) || !slices.Equal(ids, want) {
		t.Errorf("batches of %v with %v, want batches of [1 3 3] with %v", sizes, ids, want)
	}
	if err := s.shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestWebhookShutdownFlushes: what waits in the buffer is sent at shutdown.
func TestWebhookShutdownFlushes(t *testing.T) {
	wr := newWebhookReceiver(t)
	o := DefaultOptions()
	o.WebhookConfigFile = wr.kubeconfig(t)
	o.WebhookBatchMaxWait = time.Hour
	s, err := newWebhookSink(o)
	if err != nil {
		t.Fatal(err)
	}
	s.add(testEvent("a", 0))
	s.add(testEvent("b", 0))
	if err := s.shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sizes, ids := wr.sizes(); !slices.Equal(sizes, []int{2}) || !slices.Equal(ids, []string{"a", "b"}) {
		t.Errorf("batches of %v with %v", sizes, ids)
	}
	before := counterValue(t, "apiserver_audit_event_dropped_total", "plugin", "webhook")
	s.add(testEvent("late", 0))
	if after := counterValue(t, "apiserver_audit_event_dropped_total", "plugin", "webhook"); after != before+1 {
		t.Errorf("an event after shutdown: dropped counter %v -> %v", before, after)
	}
}

// TestWebhookRetries: a failing receiver is retried with backoff.
func TestWebhookRetries(t *testing.T) {
	wr := newWebhookReceiver(t)
	wr.fail = 2
	o := DefaultOptions()
	o.WebhookConfigFile = wr.kubeconfig(t)
	o.WebhookBatchMaxSize, o.WebhookInitialBackoff = 1, 10*time.Millisecond
	s, err := newWebhookSink(o)
	if err != nil {
		t.Fatal(err)
	}
	s.add(testEvent("a", 0))
	wr.waitFor(t, 1)
	s.shutdown(context.Background())
	if sizes, _ := wr.sizes(); !slices.Equal(sizes, []int{1}) {
		t.Errorf("batches of %v", sizes)
	}
}

// TestBlockedSinkDrops: a sink that does not answer never makes add wait;
// what does not fit the buffer is dropped and counted, and shutdown gives
// up when its context ends.
func TestBlockedSinkDrops(t *testing.T) {
	wr := newWebhookReceiver(t)
	wr.block = make(chan struct{})
	defer close(wr.block)
	o := DefaultOptions()
	o.WebhookConfigFile = wr.kubeconfig(t)
	o.WebhookBatchBufferSize, o.WebhookBatchMaxSize, o.WebhookBatchThrottleEnable = 5, 1, false
	s, err := newWebhookSink(o)
	if err != nil {
		t.Fatal(err)
	}
	dropped0 := counterValue(t, "apiserver_audit_event_dropped_total", "plugin", "webhook")
	buffered0 := counterValue(t, "apiserver_audit_error_total", "plugin", "buffered")
	const n = 200
	for i := range n {
		s.add(testEvent(fmt.Sprint(i), 0))
	}
	// At most the batches in flight, the one being gathered and the
	// buffer hold events; the rest were dropped.
	dropped := counterValue(t, "apiserver_audit_event_dropped_total", "plugin", "webhook") - dropped0
	if min := float64(n - maxInFlightBatches - 1 - 5); dropped < min || dropped > n {
		t.Errorf("dropped %v events, want at least %v", dropped, min)
	}
	if got := counterValue(t, "apiserver_audit_error_total", "plugin", "buffered") - buffered0; got != dropped {
		t.Errorf("buffered errors %v, want %v", got, dropped)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.shutdown(ctx); err == nil {
		t.Error("shutdown of a blocked sink: no error")
	}
}

// TestBlockingModes: kube's modes. A blocking log has the event written
// when add returns; a blocking webhook has delivered it; blocking-strict
// reports a failed delivery (which refuses the request), plain blocking
// does not; a mode kube does not know is refused with kube's message.
func TestBlockingModes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	o := DefaultOptions()
	o.LogPath = path
	if o.LogMode != ModeBlocking || o.WebhookMode != ModeBatch {
		t.Fatalf("default modes %q and %q, want kube's blocking and batch", o.LogMode, o.WebhookMode)
	}
	log, err := newLogSink(o)
	if err != nil {
		t.Fatal(err)
	}
	if !log.add(testEvent("written", 0)) {
		t.Fatal("a blocking log's add failed")
	}
	if evs := readEvents(t, path); len(evs) != 1 || evs[0].AuditID != "written" {
		t.Errorf("the log when add returned: %+v", evs)
	}
	log.shutdown(context.Background())

	wr := newWebhookReceiver(t)
	for _, c := range []struct {
		mode string
		fail int
		ok   bool
	}{{ModeBlocking, 0, true}, {ModeBlocking, 100, true}, {ModeBlockingStrict, 100, false}, {ModeBlockingStrict, 0, true}} {
		wr.mu.Lock()
		wr.fail, wr.batches = c.fail, nil
		wr.mu.Unlock()
		o := DefaultOptions()
		o.WebhookConfigFile, o.WebhookMode, o.WebhookInitialBackoff = wr.kubeconfig(t), c.mode, time.Millisecond
		s, err := newWebhookSink(o)
		if err != nil {
			t.Fatal(err)
		}
		if ok := s.add(testEvent("e", 0)); ok != c.ok {
			t.Errorf("%s with a receiver failing %d times: add %v, want %v", c.mode, c.fail, ok, c.ok)
		}
		if _, ids := wr.sizes(); c.fail == 0 && len(ids) != 1 {
			t.Errorf("%s: the receiver had %d events when add returned, want 1", c.mode, len(ids))
		}
		s.shutdown(context.Background())
	}

	o = DefaultOptions()
	o.LogPath, o.LogMode = path, "eventually"
	if err := o.validate(); err == nil || err.Error() != `invalid audit log mode eventually, allowed modes are "batch,blocking,blocking-strict"` {
		t.Errorf("a bad mode: %v", err)
	}
}

// TestLogBatchOptions: the log's --audit-log-batch-* options, as kube's:
// one event a batch by default, the options given taken in batch mode,
// and kube's checks of them (in batch mode only).
func TestLogBatchOptions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	o := DefaultOptions()
	o.LogPath = path
	s, err := newLogSink(o)
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.maxSize != 1 || s.cfg.maxWait != 0 || s.cfg.throttle != nil {
		t.Errorf("default log batches: %+v, want kube's one event, no wait, no throttle", s.cfg)
	}
	s.shutdown(context.Background())

	o.LogMode, o.LogBatchMaxSize, o.LogBatchMaxWait = ModeBatch, 3, 200*time.Millisecond
	o.LogBatchThrottleEnable, o.LogBatchThrottleQPS, o.LogBatchThrottleBurst = true, 50, 2
	if err := o.validate(); err != nil {
		t.Fatal(err)
	}
	s, err = newLogSink(o)
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.maxSize != 3 || s.cfg.maxWait != 200*time.Millisecond || s.cfg.throttle == nil {
		t.Errorf("log batches: %+v, want 3 events, 200ms, a throttle", s.cfg)
	}
	var want []string
	for i := range 7 {
		id := fmt.Sprint("id-", i)
		want = append(want, id)
		if !s.add(testEvent(id, 0)) {
			t.Fatal("add refused")
		}
	}
	if err := s.shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range readEvents(t, path) {
		got = append(got, string(ev.AuditID))
	}
	if !slices.Equal(got, want) {
		t.Errorf("the log holds %v, want %v", got, want)
	}

	for _, c := range []struct {
		change func(*Options)
		want   string
	}{
		{func(o *Options) { o.LogBatchBufferSize = 0 }, "invalid audit batch log buffer size 0, must be a positive number"},
		{func(o *Options) { o.LogBatchMaxSize = -1 }, "invalid audit batch log max batch size -1, must be a positive number"},
		{func(o *Options) { o.LogBatchThrottleQPS = 0 }, "invalid audit batch log throttle QPS 0, must be a positive number"},
		{func(o *Options) { o.LogBatchThrottleBurst = 0 }, "invalid audit batch log throttle burst 0, must be a positive number"},
		{func(o *Options) { o.LogMode, o.LogBatchMaxSize = ModeBlocking, 0 }, ""}, // unused: not checked, as kube
		{func(o *Options) { o.LogFormat = "yaml" }, `invalid audit log format yaml, allowed formats are "legacy,json"`},
		{func(o *Options) { o.WebhookConfigFile, o.WebhookBatchMaxSize = "hook.kubeconfig", 0 }, "invalid audit batch webhook max batch size 0, must be a positive number"},
	} {
		o := o
		c.change(&o)
		err := o.validate()
		if got := fmt.Sprint(err); (c.want == "" && err != nil) || (c.want != "" && got != c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}
