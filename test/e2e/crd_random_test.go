package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/util/retry"

	"kapi/internal/server"
)

// TestCRDRandomized: a randomized test of CRDs changing under the feet of
// their clients. One goroutine (the chaos) creates CRDs in a few slots
// (group rnd.example.com, plurals things0, things1, ...), changes them
// (schema variants: a maxLength, a CEL rule with a new defaulted field, a
// maximum; new versions; served true/false, down to no version served;
// the storage version; printer columns), deletes them and creates them
// again under the same names, while several
// workers create, update, patch, delete, get, list and watch custom
// resources of them. Each worker owns its objects (named w<worker>-<n>,
// never reused), so the model knows the content of every object.
//
// After each CRD change the chaos waits until kapi serves it (the served
// versions list and the others are 404, discovery agrees, the columns
// print, the schema's probe objects are accepted or refused) and then
// marks the slot stable. A request that starts and ends while its slot is
// stable is "certain" and must get exactly kube-apiserver's answer (201 or
// 422 as the schema says, 404 for what is not served, the acknowledged
// content on reads, the defaulted field where the schema defaults it and
// not elsewhere). Any other request may also get what kube-apiserver
// gives a request racing a CRD change: 404, 422, and 403/405 "not allowed
// while custom resource definition is terminating"; those are counted and
// logged. No request may ever get a 5xx or hang.
//
// At the end every write kapi acknowledged (2xx) to a CRD that still
// exists is there with the acknowledged content (or that of a later
// acknowledged write), and nothing else is (in etcd, and in the lists of
// every served version through every replica); one CRD with custom
// resources then stops serving every version; then every CRD is deleted,
// and nothing of them is served (404, absent from legacy and aggregated
// discovery and from /openapi/v3) or left in etcd, and kapi's storage
// goroutines (watch caches, etcd watches) and etcd's watchers are back to
// where they were before the first CRD.
//
// Each deletion of a CRD is also checked on the spot: the CRD goes, its
// resource is 404 in every version, discovery drops it and no key is
// left under /registry/rnd.example.com/<plural>/.
//
// The run is short by default (about 15 s of churn). Environment:
//
//	KAPI_CRD_RANDOM_SEED=<int64>        the seed (logged; default: the clock)
//	KAPI_CRD_RANDOM_DURATION=<duration> how long the churn lasts, e.g. 5m
//	KAPI_CRD_RANDOM_WORKERS=<n>         custom resource workers (default 4)
//	KAPI_CRD_RANDOM_SLOTS=<n>           CRDs at most at once (default 3)
//	KAPI_CRD_RANDOM_REPLICAS=<n>        kapi replicas (default 1, on its
//	                                    embedded etcd; more share an etcd
//	                                    process, and each request and CRD
//	                                    change goes to a random one)
//
// e.g. KAPI_CRD_RANDOM_DURATION=5m KAPI_CRD_RANDOM_WORKERS=6
// KAPI_CRD_RANDOM_REPLICAS=2 go test -run TestCRDRandomized -timeout 20m.
//
// The goroutines make each run's interleaving unique even with the same
// seed; the seed fixes each goroutine's choices.
func TestCRDRandomized(t *testing.T) {
	seed := time.Now().UnixNano()
	if s := os.Getenv("KAPI_CRD_RANDOM_SEED"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("KAPI_CRD_RANDOM_SEED: %v", err)
		}
		seed = n
	}
	duration := 15 * time.Second
	if s := os.Getenv("KAPI_CRD_RANDOM_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("KAPI_CRD_RANDOM_DURATION: %v", err)
		}
		duration = d
	}
	workers, slots := rndEnvInt(t, "KAPI_CRD_RANDOM_WORKERS", 4), rndEnvInt(t, "KAPI_CRD_RANDOM_SLOTS", 3)
	replicas := rndEnvInt(t, "KAPI_CRD_RANDOM_REPLICAS", 1)
	t.Logf("seed %d (rerun with KAPI_CRD_RANDOM_SEED=%d), churn %s, %d workers, %d CRD slots, %d kapi replicas",
		seed, seed, duration, workers, slots, replicas)

	r := &rndRun{t: t, stats: map[string]int{}}
	etcdURL := ""
	if replicas == 1 {
		r.ks = []*kapi{startKapi(t)}
	} else {
		etcdURL = startEtcd(t)
		for i := 0; i < replicas; i++ {
			r.ks = append(r.ks, startKapi(t, func(c *server.Config) { c.EtcdServers = []string{etcdURL} }))
		}
	}
	for _, k := range r.ks {
		r.crds = append(r.crds, k.crdClient())
	}
	k := r.ks[0]
	for i := 0; i < slots; i++ {
		r.slots = append(r.slots, &rndSlot{idx: i, plural: fmt.Sprintf("things%d", i), kind: fmt.Sprintf("Thing%d", i),
			objs: map[string]*rndObj{}, stable: true})
	}
	// The baselines of the leak check, once kapi's own watches (its
	// controllers') are all open: the same for a second.
	var baseGoroutines []string
	var baseWatchers float64
	var watcherMetric bool
	same := 0
	for i := 0; i < 50 && same < 4; i++ {
		g := rndStorageGoroutines()
		w, ok := rndEtcdWatchers(etcdURL)
		if len(g) == len(baseGoroutines) && w == baseWatchers {
			same++
		} else {
			same = 0
		}
		baseGoroutines, baseWatchers, watcherMetric = g, w, ok
		time.Sleep(250 * time.Millisecond)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r.worker(ctx, w, rand.New(rand.NewPCG(uint64(seed), uint64(w+1))))
		}(w)
	}
	chaos := rand.New(rand.NewPCG(uint64(seed), 0))
	deadline := time.Now().Add(duration)
	ops := 0
	for time.Now().Before(deadline) && !r.aborted.Load() {
		r.chaosStep(chaos)
		ops++
		time.Sleep(time.Duration(100+chaos.IntN(400)) * time.Millisecond)
	}
	cancel()
	wg.Wait()
	t.Logf("%d CRD changes", ops)

	// Every acknowledged write to a CRD that exists is there, and
	// nothing else.
	if !r.aborted.Load() {
		for _, s := range r.slots {
			if s.phase == rndLive {
				r.finalCheck(s)
			}
		}
	}

	if r.aborted.Load() {
		r.report(seed)
		return
	}

	// Delete every CRD: nothing of them is served or left. One that has
	// custom resources first stops serving every version (kube-apiserver
	// deletes the custom resources of a CRD that serves no version too).
	unserved := false
	for _, s := range r.slots {
		if s.phase != rndLive {
			continue
		}
		s.mu.Lock()
		n := 0
		for _, o := range s.objs {
			if o.state == rndPresent {
				n++
			}
		}
		s.mu.Unlock()
		if n > 0 && !unserved {
			unserved = true
			sp := s.spec.copy()
			for v := range sp.served {
				sp.served[v] = false
			}
			r.updateCRD(s, sp, "no version served", chaos)
			if !r.aborted.Load() {
				r.finalCheck(s)
			}
		}
		r.deleteCRD(s, chaos)
	}
	for _, k := range r.ks {
		for _, s := range r.slots {
			for _, v := range []string{"v1", "v2", "v3"} {
				if _, err := k.dynamic.Resource(s.gvr(v)).List(context.Background(), metav1.ListOptions{}); !apierrors.IsNotFound(err) {
					r.failf("after every CRD went, %s is answered: %v", s.gvr(v), err)
				}
			}
		}
	}
	for _, k := range r.ks {
		r.noneServed(k)
	}
	if resp, err := k.srv.Etcd().Get(context.Background(), "/registry/"+rndGroup+"/", clientv3WithPrefix()...); err != nil {
		r.failf("reading /registry/%s/: %v", rndGroup, err)
	} else if len(resp.Kvs) != 0 {
		r.failf("after every CRD went, etcd holds %d keys under /registry/%s/", len(resp.Kvs), rndGroup)
	}
	// Nothing leaks: kapi's storage goroutines and etcd's watchers go back
	// to where they were (a replaced storage may live on for a while).
	var left []string
	if err := waitUntil(30*time.Second, func() bool {
		left = rndStorageGoroutines()
		return len(left) <= len(baseGoroutines)
	}); err != nil {
		r.failf("kapi's storage goroutines: %d before the first CRD, %d after every CRD went; the extra ones:\n%s",
			len(baseGoroutines), len(left), strings.Join(rndExtra(baseGoroutines, left), "\n\n"))
	}
	if watcherMetric {
		var now float64
		if err := waitUntil(30*time.Second, func() bool {
			now, _ = rndEtcdWatchers(etcdURL)
			return now <= baseWatchers
		}); err != nil {
			r.failf("etcd watchers: %v before the first CRD, %v after every CRD went", baseWatchers, now)
		}
	} else {
		t.Log("etcd_debugging_mvcc_watcher_total is not found; not checking etcd's watchers")
	}
	r.report(seed)
}

// noneServed checks that k serves nothing of the group any more: not in
// discovery (aggregated and legacy), not in /openapi/v3.
func (r *rndRun) noneServed(k *kapi) {
	if err := waitUntil(10*time.Second, func() bool {
		found, err := repAggregated(k)
		if err != nil {
			return false
		}
		for key := range found {
			if strings.HasPrefix(key, rndGroup+"/") {
				return false
			}
		}
		_, err = k.client.Discovery().ServerResourcesForGroupVersion(rndGroup + "/v1")
		if !apierrors.IsNotFound(err) {
			return false
		}
		code, body, err := repRaw(k, "GET", "/openapi/v3", "application/json", nil)
		return err == nil && code == 200 && !strings.Contains(string(body), "apis/"+rndGroup+"/")
	}); err != nil {
		found, _ := repAggregated(k)
		_, gerr := k.client.Discovery().ServerResourcesForGroupVersion(rndGroup + "/v1")
		_, body, _ := repRaw(k, "GET", "/openapi/v3", "application/json", nil)
		r.failf("after every CRD went, discovery or OpenAPI still has %s: aggregated %v, legacy %v, /openapi/v3 lists it: %v",
			rndGroup, found, gerr, strings.Contains(string(body), "apis/"+rndGroup+"/"))
	}
}

// report logs the outcomes and fails the test with the failures.
func (r *rndRun) report(seed int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var keys []string
	for key := range r.stats {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	var stats []string
	for _, key := range keys {
		stats = append(stats, fmt.Sprintf("%s=%d", key, r.stats[key]))
	}
	r.t.Logf("outcomes: %s", strings.Join(stats, " "))
	if n := len(r.failures); n > 0 {
		var shown []string
		for i, f := range r.failures {
			if i == 30 {
				break
			}
			if c := r.repeats[f]; c > 1 {
				f += fmt.Sprintf(" [%d times]", c)
			}
			shown = append(shown, f)
		}
		r.t.Errorf("%d distinct failures (seed %d); the first %d:\n%s", n, seed, len(shown), strings.Join(shown, "\n"))
	}
}

const rndGroup = "rnd.example.com"

const (
	rndAbsent = iota
	rndLive
	rndDeleting
)

const (
	rndPresent = iota
	rndGone
	rndUnknown
)

// rndSpec is what the chaos made of a slot's CRD.
type rndSpec struct {
	versions []string // in order; never removed
	served   map[string]bool
	storage  string
	variant  int // the schema: see rndSchema
	columns  int // the printer columns: see rndColumns
}

func (s rndSpec) copy() rndSpec {
	s.versions = slices.Clone(s.versions)
	served := map[string]bool{}
	for v, b := range s.served {
		served[v] = b
	}
	s.served = served
	return s
}

func (s rndSpec) String() string {
	var vs []string
	for _, v := range s.versions {
		f := v
		if !s.served[v] {
			f += "(unserved)"
		}
		if v == s.storage {
			f += "(storage)"
		}
		vs = append(vs, f)
	}
	return fmt.Sprintf("{versions %s, variant %d, columns %d}", strings.Join(vs, ","), s.variant, s.columns)
}

// rndSlot is one CRD name and the model of its custom resources.
type rndSlot struct {
	idx          int
	plural, kind string

	mu     sync.Mutex
	change uint64 // counts the chaos's changes (bumped as one starts)
	stable bool   // kapi serves the last change
	phase  int
	epoch  int // counts the deletions
	spec   rndSpec
	objs   map[string]*rndObj // this epoch's objects, by name
}

func (s *rndSlot) name() string { return s.plural + "." + rndGroup }

func (s *rndSlot) gvr(v string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: rndGroup, Version: v, Resource: s.plural}
}

// rndObj is what the model knows of one custom resource.
type rndObj struct {
	state   int
	counter int64
	data    string
	rv      string
}

// rndSnap is a slot as a request starts.
type rndSnap struct {
	change uint64
	stable bool
	phase  int
	epoch  int
	spec   rndSpec
}

func (s *rndSlot) snap() rndSnap {
	s.mu.Lock()
	defer s.mu.Unlock()
	return rndSnap{change: s.change, stable: s.stable, phase: s.phase, epoch: s.epoch, spec: s.spec.copy()}
}

// certain says whether a request that started at snap ran while the slot
// was stable throughout. s.mu is held.
func (s *rndSlot) certain(snap rndSnap) bool {
	return snap.stable && s.stable && s.change == snap.change
}

type rndRun struct {
	t     *testing.T
	ks    []*kapi                         // the replicas
	crds  []apiextensionsclient.Interface // of each replica
	slots []*rndSlot

	aborted atomic.Bool

	mu       sync.Mutex
	stats    map[string]int
	failures []string       // distinct, in order
	repeats  map[string]int // how often each failure happened
}

func (r *rndRun) failf(format string, args ...interface{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	msg := fmt.Sprintf(format, args...)
	if r.repeats == nil {
		r.repeats = map[string]int{}
	}
	if r.repeats[msg] == 0 {
		r.failures = append(r.failures, msg)
	}
	r.repeats[msg]++
}

func (r *rndRun) count(key string) {
	r.mu.Lock()
	r.stats[key]++
	r.mu.Unlock()
}

// rndCode is the HTTP status of a client-go result: 200 for no error, 0
// for an error without a status (the connection, a timeout).
func rndCode(err error) int {
	if err == nil {
		return 200
	}
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		return int(st.Status().Code)
	}
	return 0
}

// rndTerminating is kube-apiserver's refusal of a create while the CRD is
// being deleted (405 from older versions, 403 from newer ones).
func rndTerminating(err error) bool {
	c := rndCode(err)
	return (c == 405 || c == 403) && strings.Contains(err.Error(), "not allowed while custom resource definition is terminating")
}

// rndValid says whether spec {counter, data} is valid under a schema
// variant.
func rndValid(variant int, counter int64, data string) bool {
	switch variant {
	case 1:
		return len(data) <= 16
	case 2:
		return counter%10 != 7
	case 3:
		return counter <= 89
	}
	return true
}

// rndSchema is the schema of a variant: 0 plain; 1 data at most 16
// characters; 2 a CEL rule (counter does not end in 7) and a new field
// extra defaulting to "x"; 3 counter at most 89.
func rndSchema(variant int) *apiextensionsv1.CustomResourceValidation {
	spec := apiextensionsv1.JSONSchemaProps{Type: "object", Properties: props{
		"counter": {Type: "integer"},
		"data":    {Type: "string"},
		"note":    {Type: "string"},
	}}
	switch variant {
	case 1:
		d := spec.Properties["data"]
		d.MaxLength = rndPtr(int64(16))
		spec.Properties["data"] = d
	case 2:
		spec.XValidations = apiextensionsv1.ValidationRules{{Rule: "!has(self.counter) || self.counter % 10 != 7", Message: "counter must not end in 7"}}
		spec.Properties["extra"] = apiextensionsv1.JSONSchemaProps{Type: "string", Default: &apiextensionsv1.JSON{Raw: []byte(`"x"`)}}
	case 3:
		c := spec.Properties["counter"]
		c.Maximum = ptrFloat(89)
		spec.Properties["counter"] = c
	}
	return &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object",
		Properties: props{"spec": spec, "status": {Type: "object", XPreserveUnknownFields: rndPtr(true)}}}}
}

// rndColumns are the printer columns of a variant, and the Table's
// column names they make.
func rndColumns(variant int) ([]apiextensionsv1.CustomResourceColumnDefinition, string) {
	switch variant {
	case 1:
		return []apiextensionsv1.CustomResourceColumnDefinition{{Name: "Counter", Type: "integer", JSONPath: ".spec.counter"}}, "Name Counter"
	case 2:
		return []apiextensionsv1.CustomResourceColumnDefinition{{Name: "Data", Type: "string", JSONPath: ".spec.data"},
			{Name: "Counter", Type: "integer", JSONPath: ".spec.counter", Priority: 1}}, "Name Data Counter"
	}
	return nil, "Name Age"
}

// versions are spec's CRD versions.
func (sp rndSpec) crdVersions() []apiextensionsv1.CustomResourceDefinitionVersion {
	var out []apiextensionsv1.CustomResourceDefinitionVersion
	cols, _ := rndColumns(sp.columns)
	for _, v := range sp.versions {
		out = append(out, apiextensionsv1.CustomResourceDefinitionVersion{Name: v, Served: sp.served[v], Storage: v == sp.storage,
			Schema: rndSchema(sp.variant), AdditionalPrinterColumns: cols})
	}
	return out
}

func (s *rndSlot) crd(sp rndSpec) *apiextensionsv1.CustomResourceDefinition {
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: s.name()},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{Group: rndGroup, Scope: apiextensionsv1.NamespaceScoped,
			Names:    apiextensionsv1.CustomResourceDefinitionNames{Plural: s.plural, Kind: s.kind},
			Versions: sp.crdVersions()},
	}
}

// chaosStep makes one change to the CRD of a random slot and waits until
// kapi serves it.
func (r *rndRun) chaosStep(rng *rand.Rand) {
	s := r.slots[rng.IntN(len(r.slots))]
	s.mu.Lock()
	phase, sp := s.phase, s.spec.copy()
	s.mu.Unlock()
	if phase == rndAbsent {
		sp = rndSpec{versions: []string{"v1"}, served: map[string]bool{"v1": true}, storage: "v1", variant: rng.IntN(4), columns: rng.IntN(3)}
		if rng.IntN(2) == 0 {
			sp.versions = append(sp.versions, "v2")
			sp.served["v2"] = rng.IntN(3) > 0
		}
		r.startChange(s, rndLive, sp)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := r.crds[rng.IntN(len(r.crds))].ApiextensionsV1().CustomResourceDefinitions().Create(ctx, s.crd(sp), metav1.CreateOptions{})
		cancel()
		r.count(fmt.Sprintf("chaos-create-%d", rndCode(err)))
		if err != nil {
			r.failf("creating CRD %s %s: %v", s.name(), sp, err)
			r.aborted.Store(true)
			return
		}
		r.confirm(s, sp, "creation")
		return
	}
	what := ""
	switch n := rng.IntN(100); {
	case n < 15:
		r.deleteCRD(s, rng)
		return
	case n < 45:
		sp.variant = (sp.variant + 1 + rng.IntN(3)) % 4
		what = fmt.Sprintf("schema variant %d", sp.variant)
	case n < 60 && len(sp.versions) < 3:
		v := fmt.Sprintf("v%d", len(sp.versions)+1)
		sp.versions = append(sp.versions, v)
		sp.served[v] = true
		what = "new version " + v
	case n < 80:
		v := sp.versions[rng.IntN(len(sp.versions))]
		sp.served[v] = !sp.served[v]
		what = fmt.Sprintf("%s served %v", v, sp.served[v])
	case n < 90:
		sp.storage = sp.versions[rng.IntN(len(sp.versions))]
		what = "storage version " + sp.storage
	default:
		sp.columns = (sp.columns + 1 + rng.IntN(2)) % 3
		what = fmt.Sprintf("printer columns %d", sp.columns)
	}
	r.updateCRD(s, sp, what, rng)
}

// updateCRD changes the CRD of slot s to spec sp, through a random
// replica, and waits until kapi serves it.
func (r *rndRun) updateCRD(s *rndSlot, sp rndSpec, what string, rng *rand.Rand) {
	r.startChange(s, rndLive, sp)
	crds := r.crds[rng.IntN(len(r.crds))]
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cur, err := crds.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, s.name(), metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Spec.Versions = sp.crdVersions()
		_, err = crds.ApiextensionsV1().CustomResourceDefinitions().Update(ctx, cur, metav1.UpdateOptions{})
		r.count(fmt.Sprintf("chaos-update-%d", rndCode(err)))
		return err
	})
	if err != nil {
		r.failf("updating CRD %s (%s) to %s: %v", s.name(), what, sp, err)
		r.aborted.Store(true)
		return
	}
	r.confirm(s, sp, what)
}

// startChange marks a slot unstable for a change to phase and spec.
func (r *rndRun) startChange(s *rndSlot, phase int, sp rndSpec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.change++
	s.stable = false
	s.phase = phase
	s.spec = sp
}

// confirm waits until kapi serves slot s as spec sp says, then marks it
// stable; if it does not within 20 s, the run is aborted.
func (r *rndRun) confirm(s *rndSlot, sp rndSpec, what string) {
	start := time.Now()
	var state string
	if err := waitUntil(20*time.Second, func() bool {
		for i, k := range r.ks {
			if state = r.serves(k, r.crds[i], s, sp); state != "" {
				state = fmt.Sprintf("replica %d: %s", i, state)
				return false
			}
		}
		return true
	}); err != nil {
		r.failf("CRD %s: 20s after the %s, kapi does not serve %s: %s", s.name(), what, sp, state)
		r.aborted.Store(true)
		return
	}
	r.count("chaos-confirmed")
	if d := time.Since(start); d > 5*time.Second {
		r.t.Logf("CRD %s: the %s took %s to be served", s.name(), what, d.Round(time.Millisecond))
	}
	s.mu.Lock()
	s.stable = true
	s.mu.Unlock()
}

// serves says what of spec sp kapi does not serve yet for slot s ("" when
// it serves all of it).
func (r *rndRun) serves(k *kapi, crds apiextensionsclient.Interface, s *rndSlot, sp rndSpec) string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	crd, err := crds.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, s.name(), metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	if !rndEstablished(crd) {
		return fmt.Sprintf("not Established: %+v", crd.Status.Conditions)
	}
	agg, err := repAggregated(k)
	if err != nil {
		return err.Error()
	}
	var served string
	for _, v := range sp.versions {
		_, err := k.dynamic.Resource(s.gvr(v)).List(ctx, metav1.ListOptions{Limit: 1})
		r.count(fmt.Sprintf("probe-list-%d", rndCode(err)))
		if rndCode(err) >= 500 {
			r.failf("probe: list %s: %v", s.gvr(v), err)
		}
		legacy := false
		if list, err := k.client.Discovery().ServerResourcesForGroupVersion(rndGroup + "/" + v); err == nil {
			for _, res := range list.APIResources {
				legacy = legacy || res.Name == s.plural
			}
		}
		inAgg := agg[rndGroup+"/"+v+"/"+s.plural]
		if sp.served[v] {
			if err != nil {
				return fmt.Sprintf("%s is not served: %v", v, err)
			}
			if !legacy || !inAgg {
				return fmt.Sprintf("%s is not in discovery (legacy %v, aggregated %v)", v, legacy, inAgg)
			}
			if served == "" {
				served = v
			}
		} else {
			if !apierrors.IsNotFound(err) {
				return fmt.Sprintf("%s is not 404: %v", v, err)
			}
			if legacy || inAgg {
				return fmt.Sprintf("unserved %s is in discovery (legacy %v, aggregated %v)", v, legacy, inAgg)
			}
		}
	}
	if served == "" {
		return ""
	}
	_, wantCols := rndColumns(sp.columns)
	code, body, err := repRaw(k, "GET", fmt.Sprintf("/apis/%s/%s/%s", rndGroup, served, s.plural), "application/json;as=Table;v=v1;g=meta.k8s.io", nil)
	if err != nil || code != 200 {
		if code >= 500 {
			r.failf("probe: table of %s: %d %s", s.gvr(served), code, body)
		}
		return fmt.Sprintf("table: %d %v %s", code, err, body)
	}
	var table metav1.Table
	if err := json.Unmarshal(body, &table); err != nil {
		return err.Error()
	}
	var cols []string
	for _, c := range table.ColumnDefinitions {
		cols = append(cols, c.Name)
	}
	if strings.Join(cols, " ") != wantCols {
		return fmt.Sprintf("columns %v, want %s", cols, wantCols)
	}
	// The schema: a probe valid under every variant is accepted (and
	// defaulted under variant 2); one invalid under this variant is 422.
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	out, err := k.dynamic.Resource(s.gvr(served)).Namespace("default").Create(ctx, rndObject(s, served, "probe", 1, "ok"), dry)
	r.count(fmt.Sprintf("probe-dryrun-%d", rndCode(err)))
	if err != nil {
		if rndCode(err) >= 500 {
			r.failf("probe: dry-run create of a valid %s: %v", s.gvr(served), err)
		}
		return fmt.Sprintf("a valid probe is refused: %v", err)
	}
	extra, _, _ := unstructured.NestedString(out.Object, "spec", "extra")
	if (sp.variant == 2) != (extra == "x") {
		return fmt.Sprintf("under variant %d the probe's spec.extra is %q", sp.variant, extra)
	}
	var counter int64
	var data string
	switch sp.variant {
	case 0:
		return ""
	case 1:
		counter, data = 1, strings.Repeat("d", 30)
	case 2:
		counter, data = 17, "ok"
	case 3:
		counter, data = 95, "ok"
	}
	_, err = k.dynamic.Resource(s.gvr(served)).Namespace("default").Create(ctx, rndObject(s, served, "probe", counter, data), dry)
	r.count(fmt.Sprintf("probe-dryrun-%d", rndCode(err)))
	if !apierrors.IsInvalid(err) {
		if rndCode(err) >= 500 {
			r.failf("probe: dry-run create of an invalid %s: %v", s.gvr(served), err)
		}
		return fmt.Sprintf("a probe invalid under variant %d is not 422: %v", sp.variant, err)
	}
	return ""
}

func rndEstablished(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
			return true
		}
	}
	return false
}

// deleteCRD deletes the CRD of slot s and checks that it goes with its
// custom resources and that nothing of it is served any more.
func (r *rndRun) deleteCRD(s *rndSlot, rng *rand.Rand) {
	s.mu.Lock()
	sp := s.spec.copy()
	s.mu.Unlock()
	r.startChange(s, rndDeleting, sp)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	err := r.crds[rng.IntN(len(r.crds))].ApiextensionsV1().CustomResourceDefinitions().Delete(ctx, s.name(), metav1.DeleteOptions{})
	cancel()
	r.count(fmt.Sprintf("chaos-delete-%d", rndCode(err)))
	if err != nil {
		r.failf("deleting CRD %s: %v", s.name(), err)
		r.aborted.Store(true)
		return
	}
	if err := waitUntil(30*time.Second, func() bool {
		_, err := r.crds[0].ApiextensionsV1().CustomResourceDefinitions().Get(context.Background(), s.name(), metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}); err != nil {
		crd, _ := r.crds[0].ApiextensionsV1().CustomResourceDefinitions().Get(context.Background(), s.name(), metav1.GetOptions{})
		var status interface{}
		if crd != nil {
			status = crd.Status.Conditions
		}
		r.failf("CRD %s is still there 30s after its deletion: %v", s.name(), status)
		r.aborted.Store(true)
		return
	}
	// Its custom resources went before it.
	prefix := "/registry/" + rndGroup + "/" + s.plural + "/"
	if resp, err := r.ks[0].srv.Etcd().Get(context.Background(), prefix, clientv3WithPrefix()...); err != nil || len(resp.Kvs) != 0 {
		var keys []string
		if resp != nil {
			for _, kv := range resp.Kvs {
				keys = append(keys, string(kv.Key))
			}
		}
		n := len(keys)
		if n > 5 {
			keys = append(keys[:5], "...")
		}
		r.failf("CRD %s went, but etcd still holds %d of its custom resources: %v %v", s.name(), n, keys, err)
	}
	// Nothing of it is served, in any version, by any replica.
	for i, k := range r.ks {
		r.goneFrom(k, i, s)
	}
	s.mu.Lock()
	s.phase = rndAbsent
	s.epoch++
	s.objs = map[string]*rndObj{}
	s.spec = rndSpec{}
	s.stable = true
	s.mu.Unlock()
	r.count("chaos-deleted")
}

// goneFrom checks that replica k (number i) serves nothing of slot s.
func (r *rndRun) goneFrom(k *kapi, i int, s *rndSlot) {
	var state string
	if err := waitUntil(10*time.Second, func() bool {
		agg, err := repAggregated(k)
		if err != nil {
			state = err.Error()
			return false
		}
		for _, v := range []string{"v1", "v2", "v3"} {
			_, err := k.dynamic.Resource(s.gvr(v)).Namespace("default").List(context.Background(), metav1.ListOptions{})
			if !apierrors.IsNotFound(err) {
				state = fmt.Sprintf("%s is answered: %v", v, err)
				return false
			}
			if agg[rndGroup+"/"+v+"/"+s.plural] {
				state = fmt.Sprintf("%s is in aggregated discovery", v)
				return false
			}
			if list, err := k.client.Discovery().ServerResourcesForGroupVersion(rndGroup + "/" + v); err == nil {
				for _, res := range list.APIResources {
					if res.Name == s.plural {
						state = fmt.Sprintf("%s is in discovery", v)
						return false
					}
				}
			}
		}
		return true
	}); err != nil {
		r.failf("CRD %s went, but 10s later replica %d: %s", s.name(), i, state)
	}
}

// rndObject is a custom resource of slot s in version v.
func rndObject(s *rndSlot, v, name string, counter int64, data string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": rndGroup + "/" + v, "kind": s.kind,
		"metadata": map[string]interface{}{"name": name, "namespace": "default"},
		"spec":     map[string]interface{}{"counter": counter, "data": data},
	}}
}

// worker does random requests on the custom resources of random slots
// until ctx ends.
func (r *rndRun) worker(ctx context.Context, w int, rng *rand.Rand) {
	seq := 0
	for ctx.Err() == nil && !r.aborted.Load() {
		s := r.slots[rng.IntN(len(r.slots))]
		if rng.IntN(2) == 0 {
			// Half the time, the slot that is changing, if one is: the
			// races are what this test is about.
			for _, c := range r.slots {
				c.mu.Lock()
				changing := !c.stable
				c.mu.Unlock()
				if changing {
					s = c
					break
				}
			}
		}
		snap := s.snap()
		v := "v1"
		if len(snap.spec.versions) > 0 {
			v = snap.spec.versions[rng.IntN(len(snap.spec.versions))]
		}
		// This worker's objects in the slot.
		s.mu.Lock()
		var present, others []string
		for name, o := range s.objs {
			if !strings.HasPrefix(name, fmt.Sprintf("w%d-", w)) {
				continue
			}
			if o.state == rndPresent {
				present = append(present, name)
			} else {
				others = append(others, name)
			}
		}
		s.mu.Unlock()
		sort.Strings(present)
		sort.Strings(others)
		op := []string{"create", "create", "update", "patch", "delete", "get", "get", "list", "watch"}[rng.IntN(9)]
		if len(present) == 0 && (op == "update" || op == "patch" || op == "delete") {
			op = "create"
		}
		if len(present) >= 8 && op == "create" {
			op = "delete"
		}
		var name string
		switch {
		case op == "create":
			seq++
			name = fmt.Sprintf("w%d-%d", w, seq)
		case op == "get" && len(others) > 0 && rng.IntN(3) == 0:
			name = others[rng.IntN(len(others))]
		case op == "get" && len(present) == 0:
			op = "list"
		case op == "delete" && len(others) > 0 && rng.IntN(4) == 0:
			name = others[rng.IntN(len(others))]
		case op != "list" && op != "watch":
			name = present[rng.IntN(len(present))]
		}
		ri := rng.IntN(len(r.ks))
		r.request(ctx, r.ks[ri], ri, s, snap, w, v, op, name, rng)
		time.Sleep(time.Duration(rng.IntN(5)) * time.Millisecond)
	}
}

// request does one request and checks its outcome against the model.
func (r *rndRun) request(ctx context.Context, k *kapi, ri int, s *rndSlot, snap rndSnap, w int, v, op, name string, rng *rand.Rand) {
	if ctx.Err() != nil {
		return
	}
	rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res := k.dynamic.Resource(s.gvr(v)).Namespace("default")
	s.mu.Lock()
	var old rndObj
	if o := s.objs[name]; o != nil {
		old = *o
	} else {
		old.state = rndGone
	}
	s.mu.Unlock()
	counter := int64(rng.IntN(100))
	for counter == old.counter {
		counter = int64(rng.IntN(100))
	}
	data := fmt.Sprintf("w%d-%s", w, strings.Repeat(string(rune('a'+rng.IntN(26))), 1+rng.IntN(17)))
	for data == old.data {
		data += "z"
	}
	var out *unstructured.Unstructured
	var list *unstructured.UnstructuredList
	var events []watch.Event
	var err error
	switch op {
	case "create":
		out, err = res.Create(rctx, rndObject(s, v, name, counter, data), metav1.CreateOptions{})
	case "update":
		obj := rndObject(s, v, name, counter, data)
		obj.SetResourceVersion(old.rv)
		out, err = res.Update(rctx, obj, metav1.UpdateOptions{})
	case "patch":
		out, err = res.Patch(rctx, name, types.MergePatchType, []byte(fmt.Sprintf(`{"spec":{"counter":%d,"data":%q}}`, counter, data)), metav1.PatchOptions{})
	case "delete":
		err = res.Delete(rctx, name, metav1.DeleteOptions{})
	case "get":
		out, err = res.Get(rctx, name, metav1.GetOptions{})
	case "list":
		list, err = res.List(rctx, metav1.ListOptions{})
	case "watch":
		var wi watch.Interface
		wi, err = res.Watch(rctx, metav1.ListOptions{})
		if err == nil {
			timeout := time.After(time.Duration(50+rng.IntN(200)) * time.Millisecond)
		read:
			for {
				select {
				case ev, ok := <-wi.ResultChan():
					if !ok {
						break read
					}
					events = append(events, ev)
				case <-timeout:
					break read
				}
			}
			wi.Stop()
		}
	}
	code := rndCode(err)
	if code == 201 {
		code = 200
	}
	r.count(fmt.Sprintf("%s-%d", op, code))

	s.mu.Lock()
	defer s.mu.Unlock()
	certain := s.certain(snap)
	sameEpoch := s.epoch == snap.epoch
	path := strings.TrimSuffix(fmt.Sprintf("/apis/%s/%s/namespaces/default/%s/%s", rndGroup, v, s.plural, name), "/")
	desc := fmt.Sprintf("replica %d: %s %s (CRD %s %s, certain %v)", ri, op, path,
		[]string{"absent", "live", "being deleted"}[snap.phase], snap.spec, certain)
	if code >= 500 || code == 0 {
		r.failf("%s: %d %v", desc, code, err)
	}
	if code == 0 || code >= 500 {
		// What it did is unknown.
		if o := s.objs[name]; o != nil && sameEpoch && op != "get" && op != "list" && op != "watch" {
			o.state = rndUnknown
		} else if op == "create" && sameEpoch {
			s.objs[name] = &rndObj{state: rndUnknown}
		}
		return
	}

	// What kube-apiserver answers.
	var want []int
	switch {
	case snap.phase != rndLive || !snap.spec.served[v]:
		want = []int{404}
	case op == "create" || op == "update" || op == "patch":
		if old.state == rndGone && op != "create" {
			want = []int{404}
		} else if rndValid(snap.spec.variant, counter, data) {
			want = []int{200}
		} else {
			want = []int{422}
		}
	case op == "delete" || op == "get":
		if old.state == rndPresent {
			want = []int{200}
		} else if old.state == rndGone {
			want = []int{404}
		} else {
			want = []int{200, 404}
		}
	default:
		want = []int{200}
	}
	expected := slices.Contains(want, code)
	switch {
	case expected:
	case certain:
		r.failf("%s: %d %v, kube-apiserver answers %v", desc, code, err, want)
	case code == 404 || code == 422 || rndTerminating(err) || code == 200:
		r.count(fmt.Sprintf("racing-%s-%d", op, code))
	default:
		r.failf("%s: %d %v while the CRD changes, kube-apiserver answers %v (or 404, 422, 403/405 terminating)", desc, code, err, want)
	}

	// The content, and what the model learns.
	o := s.objs[name]
	if !sameEpoch {
		// The request crossed a deletion of the CRD: an object it wrote
		// may be in the new epoch.
		if code == 200 && (op == "create" || op == "update" || op == "patch") {
			s.objs[name] = &rndObj{state: rndUnknown}
		}
		return
	}
	if out != nil && code == 200 && (op == "get" || op == "create" || op == "update" || op == "patch") {
		if got := out.GetAPIVersion(); got != rndGroup+"/"+v || out.GetKind() != s.kind {
			r.failf("%s: answered a %s %s", desc, got, out.GetKind())
		}
		extra, hasExtra, _ := unstructured.NestedString(out.Object, "spec", "extra")
		if certain && (snap.spec.variant == 2) != (hasExtra && extra == "x") {
			r.failf("%s: under schema variant %d spec.extra is %q (present %v)", desc, snap.spec.variant, extra, hasExtra)
		}
	}
	switch op {
	case "create", "update", "patch":
		if code == 200 {
			gc, _, _ := unstructured.NestedInt64(out.Object, "spec", "counter")
			gd, _, _ := unstructured.NestedString(out.Object, "spec", "data")
			if gc != counter || gd != data {
				r.failf("%s: wrote counter %d data %q, answered %d %q", desc, counter, data, gc, gd)
			}
			s.objs[name] = &rndObj{state: rndPresent, counter: counter, data: data, rv: out.GetResourceVersion()}
		}
	case "delete":
		if code == 200 && o != nil {
			o.state = rndGone
		}
	case "get":
		switch {
		case code == 200 && o != nil && o.state == rndPresent:
			gc, _, _ := unstructured.NestedInt64(out.Object, "spec", "counter")
			gd, _, _ := unstructured.NestedString(out.Object, "spec", "data")
			if gc != o.counter || gd != o.data {
				r.failf("%s: read counter %d data %q, the last acknowledged write was %d %q", desc, gc, gd, o.counter, o.data)
			}
		case code == 200 && o != nil && o.state == rndUnknown:
			gc, _, _ := unstructured.NestedInt64(out.Object, "spec", "counter")
			gd, _, _ := unstructured.NestedString(out.Object, "spec", "data")
			*o = rndObj{state: rndPresent, counter: gc, data: gd, rv: out.GetResourceVersion()}
		case code == 404 && certain && o != nil && o.state == rndUnknown:
			o.state = rndGone
		}
	case "list":
		if code != 200 {
			return
		}
		// Other workers' objects may be in flight: only this worker's
		// are checked.
		mine := fmt.Sprintf("w%d-", w)
		seen := map[string]bool{}
		for i := range list.Items {
			it := &list.Items[i]
			seen[it.GetName()] = true
			if it.GetAPIVersion() != rndGroup+"/"+v || it.GetKind() != s.kind {
				r.failf("%s: an item %s is a %s %s", desc, it.GetName(), it.GetAPIVersion(), it.GetKind())
			}
			if !strings.HasPrefix(it.GetName(), mine) {
				continue
			}
			mo := s.objs[it.GetName()]
			if mo == nil || mo.state == rndGone {
				if certain {
					r.failf("%s: lists %s, which was never acknowledged in this life of the CRD, or was deleted", desc, it.GetName())
				}
				continue
			}
			gc, _, _ := unstructured.NestedInt64(it.Object, "spec", "counter")
			gd, _, _ := unstructured.NestedString(it.Object, "spec", "data")
			if mo.state == rndPresent && certain && (gc != mo.counter || gd != mo.data) {
				r.failf("%s: lists %s with counter %d data %q, the last acknowledged write was %d %q", desc, it.GetName(), gc, gd, mo.counter, mo.data)
			}
		}
		if certain {
			for n, mo := range s.objs {
				if mo.state == rndPresent && !seen[n] && strings.HasPrefix(n, mine) {
					r.failf("%s: does not list %s, created and not deleted", desc, n)
				}
			}
		}
	case "watch":
		for _, ev := range events {
			if ev.Type == watch.Error {
				if certain {
					r.failf("%s: an ERROR event %v", desc, ev.Object)
				}
				continue
			}
			if u, ok := ev.Object.(*unstructured.Unstructured); !ok || u.GetKind() != s.kind || u.GetAPIVersion() != rndGroup+"/"+v {
				r.failf("%s: a %s event of %T %v", desc, ev.Type, ev.Object, ev.Object)
			}
		}
	}
}

// finalCheck: every custom resource of slot s is as the model says, and
// no other is there: in etcd (by name), and in the list of every served
// version through every replica.
func (r *rndRun) finalCheck(s *rndSlot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	present := 0
	for _, mo := range s.objs {
		if mo.state == rndPresent {
			present++
		}
	}
	r.t.Logf("CRD %s %s: %d custom resources acknowledged", s.name(), s.spec, present)
	check := func(where string, items map[string]*unstructured.Unstructured) {
		for name, it := range items {
			mo := s.objs[name]
			if mo == nil || mo.state == rndGone {
				r.failf("%s: %s is there, but it was never acknowledged in this CRD's life or was deleted (%v)", where, name, mo)
				continue
			}
			if it == nil {
				continue
			}
			gc, _, _ := unstructured.NestedInt64(it.Object, "spec", "counter")
			gd, _, _ := unstructured.NestedString(it.Object, "spec", "data")
			if mo.state == rndPresent && (gc != mo.counter || gd != mo.data) {
				r.failf("%s: %s has counter %d data %q, the last acknowledged write was %d %q", where, name, gc, gd, mo.counter, mo.data)
			}
		}
		for name, mo := range s.objs {
			if _, ok := items[name]; mo.state == rndPresent && !ok {
				r.failf("%s: %s was acknowledged (counter %d data %q) and is not there", where, name, mo.counter, mo.data)
			}
		}
	}
	prefix := "/registry/" + rndGroup + "/" + s.plural + "/default/"
	resp, err := r.ks[0].srv.Etcd().Get(context.Background(), prefix, clientv3WithPrefix()...)
	if err != nil {
		r.failf("reading %s: %v", prefix, err)
	} else {
		keys := map[string]*unstructured.Unstructured{}
		for _, kv := range resp.Kvs {
			keys[strings.TrimPrefix(string(kv.Key), prefix)] = nil
		}
		check("etcd", keys)
	}
	for i, k := range r.ks {
		for _, v := range s.spec.versions {
			if !s.spec.served[v] {
				continue
			}
			list, err := k.dynamic.Resource(s.gvr(v)).Namespace("default").List(context.Background(), metav1.ListOptions{})
			if err != nil {
				r.failf("final list of %s through replica %d: %v", s.gvr(v), i, err)
				continue
			}
			items := map[string]*unstructured.Unstructured{}
			for j := range list.Items {
				it := &list.Items[j]
				items[it.GetName()] = it
				if it.GetAPIVersion() != rndGroup+"/"+v {
					r.failf("final list of %s through replica %d: %s is a %s", s.gvr(v), i, it.GetName(), it.GetAPIVersion())
				}
			}
			check(fmt.Sprintf("final list of %s through replica %d", s.gvr(v), i), items)
		}
	}
}

func rndPtr[T any](v T) *T { return &v }

func rndEnvInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number", name, s)
	}
	return n
}

// rndStorageGoroutines are the stacks of the goroutines that run kapi's
// storage code (watch caches, etcd watches) now.
func rndStorageGoroutines() []string {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "kapi/internal/storage/") {
			out = append(out, g)
		}
	}
	return out
}

// rndExtra is what there is more of in after than in before, by the
// functions of the goroutines' stacks.
func rndExtra(before, after []string) []string {
	key := func(g string) string {
		var fns []string
		for _, l := range strings.Split(g, "\n")[1:] {
			if !strings.HasPrefix(l, "\t") && l != "" {
				fns = append(fns, strings.SplitN(l, "(", 2)[0])
			}
		}
		return strings.Join(fns, " < ")
	}
	n := map[string]int{}
	for _, g := range before {
		n[key(g)]++
	}
	var out []string
	for _, g := range after {
		k := key(g)
		if n[k] > 0 {
			n[k]--
			continue
		}
		out = append(out, g)
	}
	if len(out) > 10 {
		out = append(out[:10], fmt.Sprintf("... and %d more", len(out)-10))
	}
	return out
}

// rndEtcdWatchers is etcd's number of watchers: of the etcd process at
// url, from its /metrics, or ("" url) of the embedded etcd, from the
// default Prometheus registry. False if it is not found.
func rndEtcdWatchers(url string) (float64, bool) {
	const name = "etcd_debugging_mvcc_watcher_total"
	if url != "" {
		resp, err := http.Get(url + "/metrics")
		if err != nil {
			return 0, false
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return 0, false
		}
		for _, l := range strings.Split(string(body), "\n") {
			if f := strings.Fields(l); len(f) == 2 && f[0] == name {
				n, err := strconv.ParseFloat(f[1], 64)
				return n, err == nil
			}
		}
		return 0, false
	}
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		return 0, false
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			total := 0.0
			for _, m := range mf.GetMetric() {
				total += m.GetGauge().GetValue()
			}
			return total, true
		}
	}
	return 0, false
}
