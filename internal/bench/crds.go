package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// The CRD benchmark (kapi-bench --crds): what custom resources cost.
//
//   - A burst of --crds small CRDs created at once by --clients clients:
//     the time until all are Established, until `kubectl apply` of one
//     custom resource of each succeeds, and until `kubectl explain` of
//     the last works; kapi's memory per CRD once their resources and
//     OpenAPI are in use.
//   - One CRD whose schema has --crd-properties properties: its memory.
//   - Custom resources against ConfigMaps, in the same run and with the
//     same client (client-go's dynamic client, JSON: custom resources
//     have no protobuf): creates, gets, read-modify-write updates, lists
//     and the watch fan-out.
//   - --crds-many CRDs in all: how long discovery and /openapi/v3 take to
//     answer.

// crdBench is the state of one CRD benchmark run.
type crdBench struct {
	*bench
	rest    *rest.Config
	dyn     dynamic.Interface
	crds    apiextensionsclient.Interface
	kubectl string
	kubecfg string
	dir     string
	heaps   int // heap profiles written
}

func (b *bench) runCRDs(ctx context.Context, rc *rest.Config, kubeconfig, dir string) error {
	cb := &crdBench{bench: b, rest: rc, dyn: dynamic.NewForConfigOrDie(rc), crds: apiextensionsclient.NewForConfigOrDie(rc),
		kubecfg: kubeconfig, dir: dir, kubectl: b.cfg.Kubectl}
	if cb.kubectl == "" {
		cb.kubectl = filepath.Join(dir, "kubectl")
		fmt.Fprintln(b.out, "kapi-bench: building kubectl (kapi/test/kubectl); --kubectl skips this")
		build := exec.CommandContext(ctx, "go", "build", "-o", cb.kubectl, "kapi/test/kubectl")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building kubectl: %w", err)
		}
	}
	fmt.Fprintf(b.out, "kapi-bench --crds: %d CRDs at once, %d in all, a %d-property schema, %d objects of %d bytes, %d clients\n\n",
		b.cfg.CRDs, b.cfg.CRDsMany, b.cfg.CRDProperties, b.cfg.Objects, b.cfg.ObjectSize, b.cfg.Clients)
	b.data = strings.Repeat("x", b.cfg.ObjectSize)
	if err := cb.burst(ctx); err != nil {
		return err
	}
	if err := cb.large(ctx); err != nil {
		return err
	}
	if err := cb.throughput(ctx); err != nil {
		return err
	}
	return cb.many(ctx)
}

// smallCRD is CRD number i: namespaced, one version, a few typed fields,
// a status subresource and a printer column.
func smallCRD(i int) *apiextensionsv1.CustomResourceDefinition {
	group := fmt.Sprintf("g%d.bench.example.com", i)
	plural := fmt.Sprintf("things%d", i)
	str := apiextensionsv1.JSONSchemaProps{Type: "string"}
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: plural + "." + group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: group, Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: plural, Singular: fmt.Sprintf("thing%d", i), Kind: fmt.Sprintf("Thing%d", i)},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Subresources:             &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
				AdditionalPrinterColumns: []apiextensionsv1.CustomResourceColumnDefinition{{Name: "Color", Type: "string", JSONPath: ".spec.color"}},
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"spec": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
							"color": str, "size": {Type: "integer"}, "data": str,
						}},
						"status": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"phase": str}},
					}}},
			}},
		},
	}
}

// largeCRD has a schema of about n properties: objects of 50 string
// properties, nested in groups of 20, with a list of objects and a rule.
func largeCRD(n int) *apiextensionsv1.CustomResourceDefinition {
	crd := smallCRD(999999)
	crd.Name, crd.Spec.Group = "larges.large.bench.example.com", "large.bench.example.com"
	crd.Spec.Names = apiextensionsv1.CustomResourceDefinitionNames{Plural: "larges", Singular: "large", Kind: "Large"}
	leaf := func(j int) apiextensionsv1.JSONSchemaProps {
		p := map[string]apiextensionsv1.JSONSchemaProps{}
		for k := 0; k < 50; k++ {
			p[fmt.Sprintf("field%d", k)] = apiextensionsv1.JSONSchemaProps{Type: "string", Description: fmt.Sprintf("Field %d of block %d.", k, j)}
		}
		return apiextensionsv1.JSONSchemaProps{Type: "object", Properties: p}
	}
	spec := map[string]apiextensionsv1.JSONSchemaProps{}
	for g := 0; g*20*50 < n; g++ {
		group := map[string]apiextensionsv1.JSONSchemaProps{}
		for j := 0; j < 20 && (g*20+j)*50 < n; j++ {
			group[fmt.Sprintf("block%d", j)] = leaf(g*20 + j)
		}
		spec[fmt.Sprintf("group%d", g)] = apiextensionsv1.JSONSchemaProps{Type: "object", Properties: group}
	}
	item := leaf(-1)
	item.Required = []string{"field0"}
	spec["items"] = apiextensionsv1.JSONSchemaProps{Type: "array", XListType: ptr("map"), XListMapKeys: []string{"field0"},
		MaxItems: ptrInt64(100), Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &item}}
	crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"] = apiextensionsv1.JSONSchemaProps{Type: "object", Properties: spec,
		XValidations: apiextensionsv1.ValidationRules{{Rule: "!has(self.items) || size(self.items) <= 100", Message: "too many items"}}}
	return crd
}

func ptr(s string) *string    { return &s }
func ptrInt64(i int64) *int64 { return &i }

// crdLine prints one figure of the CRD benchmark.
func (cb *crdBench) line(name string, value float64, unit, goal string, met bool) {
	verdict := "met"
	if !met {
		verdict = "NOT met"
	}
	fmt.Fprintf(cb.out, "%-56s %10.2f %-6s goal %s: %s\n", name, value, unit, goal, verdict)
}

// burst creates --crds CRDs at once and times what a user waits for.
func (cb *crdBench) burst(ctx context.Context) error {
	n := cb.cfg.CRDs
	heap0, rss0, err := cb.memory(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	if _, err := parallel(n, cb.cfg.Clients, func(i int) error {
		_, err := cb.crds.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, smallCRD(i), metav1.CreateOptions{})
		return err
	}); err != nil {
		return err
	}
	if err := cb.waitEstablished(ctx, n, 60*time.Second); err != nil {
		return err
	}
	established := time.Since(start)

	var manifest bytes.Buffer
	for i := 0; i < n; i++ {
		c := smallCRD(i)
		fmt.Fprintf(&manifest, "apiVersion: %s/v1\nkind: %s\nmetadata:\n  name: one\n  namespace: default\nspec:\n  color: red\n  size: %d\n---\n", c.Spec.Group, c.Spec.Names.Kind, i)
	}
	var tries int
	if err := waitFor(60*time.Second, func() bool {
		tries++
		_, err := cb.run(ctx, manifest.String(), "apply", "-f", "-")
		return err == nil
	}); err != nil {
		out, err := cb.run(ctx, manifest.String(), "apply", "-f", "-")
		return fmt.Errorf("kubectl apply of %d custom resources: %v\n%s", n, err, out)
	}
	applied := time.Since(start)
	last := smallCRD(n - 1)
	if err := waitFor(60*time.Second, func() bool {
		out, err := cb.run(ctx, "", "explain", last.Spec.Names.Plural+".spec.color")
		return err == nil && strings.Contains(out, "FIELD: color")
	}); err != nil {
		return fmt.Errorf("kubectl explain %s: %v", last.Spec.Names.Plural, err)
	}
	explained := time.Since(start)

	// In use: every resource listed, every group version's OpenAPI read.
	for i := 0; i < n; i++ {
		c := smallCRD(i)
		if _, err := cb.dyn.Resource(schema.GroupVersionResource{Group: c.Spec.Group, Version: "v1", Resource: c.Spec.Names.Plural}).
			Namespace("default").List(ctx, metav1.ListOptions{}); err != nil {
			return err
		}
		if _, err := cb.kapi.Discovery().RESTClient().Get().AbsPath("/openapi/v3/apis/" + c.Spec.Group + "/v1").DoRaw(ctx); err != nil {
			return err
		}
	}
	if _, err := cb.kapi.Discovery().RESTClient().Get().AbsPath("/openapi/v2").DoRaw(ctx); err != nil {
		return err
	}
	heap1, rss1, err := cb.memory(ctx)
	if err != nil {
		return err
	}
	cb.line(fmt.Sprintf("%d CRDs at once: all Established", n), established.Seconds(), "s", "-", true)
	cb.line(fmt.Sprintf("%d CRDs at once: kubectl apply of a CR of each (%d tries)", n, tries), applied.Seconds(), "s", "<= 5 s", applied <= 5*time.Second)
	cb.line(fmt.Sprintf("%d CRDs at once: kubectl explain of the last", n), explained.Seconds(), "s", "<= 10 s", explained <= 10*time.Second)
	perHeap, perRSS := (heap1-heap0)/float64(n), (rss1-rss0)/float64(n)
	cb.line("memory per small CRD in use, live heap", perHeap, "MB", "< 0.25 MB", perHeap < 0.25)
	cb.line("memory per small CRD in use, resident", perRSS, "MB", "< 0.25 MB", perRSS < 0.25)
	return nil
}

// large creates the large-schema CRD and one object of it.
func (cb *crdBench) large(ctx context.Context) error {
	heap0, rss0, err := cb.memory(ctx)
	if err != nil {
		return err
	}
	crd := largeCRD(cb.cfg.CRDProperties)
	if _, err := cb.crds.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		return err
	}
	gvr := schema.GroupVersionResource{Group: crd.Spec.Group, Version: "v1", Resource: crd.Spec.Names.Plural}
	if err := waitFor(60*time.Second, func() bool {
		_, err := cb.dyn.Resource(gvr).Namespace("default").List(ctx, metav1.ListOptions{})
		return err == nil
	}); err != nil {
		return fmt.Errorf("the large CRD is not served: %w", err)
	}
	obj := &unstructured.Unstructured{Object: map[string]interface{}{"apiVersion": crd.Spec.Group + "/v1", "kind": "Large",
		"metadata": map[string]interface{}{"name": "one"},
		"spec": map[string]interface{}{"group0": map[string]interface{}{"block0": map[string]interface{}{"field0": "x"}},
			"items": []interface{}{map[string]interface{}{"field0": "a"}}}}}
	if _, err := cb.dyn.Resource(gvr).Namespace("default").Apply(ctx, "one", obj, metav1.ApplyOptions{FieldManager: "bench"}); err != nil {
		return err
	}
	if _, err := cb.kapi.Discovery().RESTClient().Get().AbsPath("/openapi/v3/apis/" + crd.Spec.Group + "/v1").DoRaw(ctx); err != nil {
		return err
	}
	if out, err := cb.run(ctx, "", "explain", "larges.spec.group0.block0.field0"); err != nil {
		return fmt.Errorf("explain of the large CRD: %v\n%s", err, out)
	}
	heap1, rss1, err := cb.memory(ctx)
	if err != nil {
		return err
	}
	cb.line(fmt.Sprintf("a %d-property CRD in use, live heap", cb.cfg.CRDProperties), heap1-heap0, "MB", "< 5 MB", heap1-heap0 < 5)
	cb.line(fmt.Sprintf("a %d-property CRD in use, resident", cb.cfg.CRDProperties), rss1-rss0, "MB", "< 5 MB", rss1-rss0 < 5)
	return nil
}

// throughput compares custom resources with ConfigMaps, through the same
// dynamic client. The two kinds take turns, three rounds of each scenario
// (a round's creates in a namespace of their own), and the medians are
// compared: on a small machine one round of each drifts by a tenth or
// more between runs.
func (cb *crdBench) throughput(ctx context.Context) error {
	const rounds = 3
	c0 := smallCRD(0)
	cm := func(name string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]interface{}{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]interface{}{"name": name}, "data": map[string]interface{}{"data": cb.data}}}
	}
	cr := func(name string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]interface{}{"apiVersion": c0.Spec.Group + "/v1", "kind": c0.Spec.Names.Kind,
			"metadata": map[string]interface{}{"name": name}, "spec": map[string]interface{}{"color": "red", "data": cb.data}}}
	}
	type kind struct {
		name string
		gvr  schema.GroupVersionResource
		make func(string) *unstructured.Unstructured
		set  func(u *unstructured.Unstructured, v string)
	}
	kinds := []kind{
		{"ConfigMaps", schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, cm,
			func(u *unstructured.Unstructured, v string) { u.Object["data"].(map[string]interface{})["v"] = v }},
		{"custom resources", schema.GroupVersionResource{Group: c0.Spec.Group, Version: "v1", Resource: c0.Spec.Names.Plural}, cr,
			func(u *unstructured.Unstructured, v string) { u.Object["spec"].(map[string]interface{})["color"] = v }},
	}
	// in is kind k's resource in the namespace of round r.
	in := func(k, r int) dynamic.ResourceInterface {
		return cb.dyn.Resource(kinds[k].gvr).Namespace(fmt.Sprintf("crd-bench-%d-%d", k, r))
	}
	for k := range kinds {
		for r := 0; r < rounds; r++ {
			if _, err := cb.dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).Create(ctx,
				&unstructured.Unstructured{Object: map[string]interface{}{"apiVersion": "v1", "kind": "Namespace",
					"metadata": map[string]interface{}{"name": fmt.Sprintf("crd-bench-%d-%d", k, r)}}},
				metav1.CreateOptions{}); err != nil {
				return err
			}
		}
	}
	n, c := cb.cfg.Objects, cb.cfg.Clients
	var creates, gets, updates, lists [2][]float64
	// turns runs op for each round and kind, the kinds taking turns.
	// With --profile, the first round's is profiled, into
	// crd-<kind>-<scenario>.pprof (creates: their first second).
	turns := func(scenario string, d time.Duration, into *[2][]float64, op func(k, r int) (float64, error)) error {
		for r := 0; r < rounds; r++ {
			for k, kd := range kinds {
				run := func() error {
					v, err := op(k, r)
					into[k] = append(into[k], v)
					return err
				}
				var err error
				if r == 0 {
					err = cb.profiled(ctx, nil, "crd-"+strings.ReplaceAll(kd.name, " ", "-")+"-"+scenario, d, run)
				} else {
					err = run()
				}
				if err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := turns("creates", time.Second, &creates, func(k, r int) (float64, error) {
		res := in(k, r)
		return parallel(n, c, func(i int) error {
			_, err := res.Create(ctx, kinds[k].make(fmt.Sprintf("o-%d", i)), metav1.CreateOptions{})
			return err
		})
	}); err != nil {
		return err
	}
	var next atomic.Int64
	if err := turns("gets", cb.cfg.Duration, &gets, func(k, r int) (float64, error) {
		res := in(k, r)
		return timed(cb.cfg.Duration, c, func() error {
			_, err := res.Get(ctx, fmt.Sprintf("o-%d", next.Add(1)%int64(n)), metav1.GetOptions{})
			return err
		})
	}); err != nil {
		return err
	}
	if err := turns("updates", cb.cfg.Duration, &updates, func(k, r int) (float64, error) {
		res := in(k, r)
		return timed(cb.cfg.Duration, c, func() error {
			name := fmt.Sprintf("o-%d", next.Add(1)%int64(n))
			for {
				u, err := res.Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					return err
				}
				kinds[k].set(u, strconv.FormatInt(next.Add(1), 10))
				if _, err = res.Update(ctx, u, metav1.UpdateOptions{}); err == nil || !strings.Contains(err.Error(), "the object has been modified") {
					return err
				}
			}
		})
	}); err != nil {
		return err
	}
	// Lists: ten of each kind per round, the median of the ten.
	if err := turns("lists", time.Second, &lists, func(k, r int) (float64, error) {
		var ms []float64
		for i := 0; i < 10; i++ {
			t0 := time.Now()
			l, err := in(k, r).List(ctx, metav1.ListOptions{})
			if err != nil {
				return 0, err
			}
			if len(l.Items) != n {
				return 0, fmt.Errorf("list of %s: %d items, want %d", kinds[k].name, len(l.Items), n)
			}
			ms = append(ms, float64(time.Since(t0).Microseconds())/1000)
		}
		return median(ms), nil
	}); err != nil {
		return err
	}
	for _, f := range []struct {
		name   string
		v      [2][]float64
		unit   string
		higher bool
	}{
		{fmt.Sprintf("creates, %d clients", c), creates, "/s", true},
		{fmt.Sprintf("gets, %d clients", c), gets, "/s", true},
		{fmt.Sprintf("read-modify-write updates, %d clients", c), updates, "/s", true},
		{fmt.Sprintf("list of %d, p50", n), lists, "ms", false},
	} {
		rounds := [2]string{roundsOf(f.v[0]), roundsOf(f.v[1])}
		v := [2]float64{median(f.v[0]), median(f.v[1])}
		ratio := v[1] / v[0]
		if !f.higher {
			ratio = v[0] / v[1]
		}
		fmt.Fprintf(cb.out, "%-44s ConfigMaps %9.1f %-3s custom resources %9.1f %-3s ratio %.2f  goal >= 0.70: %s\n",
			f.name, v[0], f.unit, v[1], f.unit, ratio, verdict(ratio >= 0.7))
		fmt.Fprintf(cb.out, "%-44s   rounds: ConfigMaps %s, custom resources %s\n", "", rounds[0], rounds[1])
	}
	for k, kd := range kinds {
		p99, missed, err := cb.fanOut(ctx, in(k, 0), kd.make, kd.set)
		if err != nil {
			return err
		}
		fmt.Fprintf(cb.out, "%-44s %s: delivery p99 %.1f ms, missed %d\n", fmt.Sprintf("watch fan-out %dx%d", cb.cfg.Watchers, cb.cfg.WatchUpdates), kinds[k].name, p99, missed)
	}
	return nil
}

// roundsOf is the rounds' figures, in their order.
func roundsOf(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'f', 1, 64)
	}
	return strings.Join(s, " ")
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// fanOut is the watch fan-out of the ConfigMap benchmark, on res: W
// watchers of one object, U updates, each update's send time in it.
func (cb *crdBench) fanOut(ctx context.Context, res dynamic.ResourceInterface, make func(string) *unstructured.Unstructured,
	set func(*unstructured.Unstructured, string)) (float64, int64, error) {
	W, U := cb.cfg.Watchers, cb.cfg.WatchUpdates
	obj, err := res.Create(ctx, make("watched"), metav1.CreateOptions{})
	if err != nil {
		return 0, 0, err
	}
	var lat latencies
	var got atomic.Int64
	var wg sync.WaitGroup
	var watchers []watch.Interface
	for i := 0; i < W; i++ {
		w, err := res.Watch(ctx, metav1.ListOptions{ResourceVersion: obj.GetResourceVersion(), FieldSelector: "metadata.name=watched"})
		if err != nil {
			return 0, 0, err
		}
		watchers = append(watchers, w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ev := range w.ResultChan() {
				if u, ok := ev.Object.(*unstructured.Unstructured); ok && ev.Type == watch.Modified {
					lat.add(u.GetAnnotations()["sent"])
					got.Add(1)
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	for i := 0; i < U; i++ {
		obj.SetAnnotations(map[string]string{"sent": strconv.FormatInt(time.Now().UnixNano(), 10)})
		set(obj, strconv.Itoa(i))
		if obj, err = res.Update(ctx, obj, metav1.UpdateOptions{}); err != nil {
			return 0, 0, err
		}
	}
	waitFor(15*time.Second, func() bool { return got.Load() >= int64(W*U) })
	for _, w := range watchers {
		w.Stop()
	}
	wg.Wait()
	return lat.p99(), int64(W*U) - got.Load(), nil
}

// many creates CRDs up to --crds-many and times discovery and OpenAPI.
func (cb *crdBench) many(ctx context.Context) error {
	total := cb.cfg.CRDsMany
	if total <= cb.cfg.CRDs {
		return nil
	}
	if _, err := parallel(total-cb.cfg.CRDs, cb.cfg.Clients, func(i int) error {
		_, err := cb.crds.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, smallCRD(cb.cfg.CRDs+i), metav1.CreateOptions{})
		return err
	}); err != nil {
		return err
	}
	if err := cb.waitEstablished(ctx, total, 5*time.Minute); err != nil {
		return err
	}
	rc := cb.kapi.Discovery().RESTClient()
	for _, p := range []struct{ name, path, accept string }{
		{"aggregated discovery /apis", "/apis", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"},
		{"legacy discovery /apis", "/apis", "application/json"},
		{"/openapi/v3", "/openapi/v3", "application/json"},
		{"/openapi/v3 of one CRD's group version", "/openapi/v3/apis/" + smallCRD(total-1).Spec.Group + "/v1", "application/json"},
	} {
		var ms []float64
		for i := 0; i < 11; i++ {
			t0 := time.Now()
			if _, err := rc.Get().AbsPath(p.path).SetHeader("Accept", p.accept).DoRaw(ctx); err != nil {
				return err
			}
			ms = append(ms, float64(time.Since(t0).Microseconds())/1000)
		}
		first := ms[0]
		sort.Float64s(ms[1:])
		cb.line(fmt.Sprintf("%d CRDs: %s, first", total, p.name), first, "ms", "<= 100 ms", first <= 100)
		cb.line(fmt.Sprintf("%d CRDs: %s, p50 of the next 10", total, p.name), ms[6], "ms", "<= 100 ms", ms[6] <= 100)
	}
	return nil
}

// waitEstablished waits until n CRDs are Established.
func (cb *crdBench) waitEstablished(ctx context.Context, n int, d time.Duration) error {
	return waitFor(d, func() bool {
		l, err := cb.crds.ApiextensionsV1().CustomResourceDefinitions().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false
		}
		established := 0
		for _, c := range l.Items {
			for _, cond := range c.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					established++
				}
			}
		}
		return established >= n
	})
}

// run runs the benchmark's kubectl with stdin.
func (cb *crdBench) run(ctx context.Context, stdin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, cb.kubectl, append([]string{"--kubeconfig", cb.kubecfg}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+cb.dir, "KUBECACHEDIR="+filepath.Join(cb.dir, "kubecache"))
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// memory is kapi's live heap after collections (the bytes of heap
// objects, from /metrics after /debug/pprof/heap?gc=1 forced them) and
// its resident set, in MB.
func (cb *crdBench) memory(ctx context.Context) (heap, rss float64, err error) {
	rc := cb.kapi.Discovery().RESTClient()
	// Three collections: what sync.Pools held (the apiextensions CRD
	// validation pools schema structs) goes in the second, and a heap
	// profile shows the heap of two collections before.
	live, profile, err := liveHeap(ctx, rc, 3)
	if err != nil {
		return 0, 0, err
	}
	if cb.cfg.ProfileDir != "" {
		// With --profile, each measurement's heap, to compare with
		// go tool pprof -base.
		cb.heaps++
		if err := os.WriteFile(filepath.Join(cb.cfg.ProfileDir, fmt.Sprintf("crd-heap-%d.pprof", cb.heaps)), profile, 0o644); err != nil {
			return 0, 0, err
		}
	}
	heap = live / (1 << 20)
	rss, err = procMB(cb.pid, "VmRSS")
	return heap, rss, err
}
