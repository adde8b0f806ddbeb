package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/klog/v2"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
)

// AggregatedDiscovery is what discovery shows of the APIServices: every
// group's priority, and the groups kapi proxies with what their servers
// said they serve.
type AggregatedDiscovery struct {
	// Gen changes whenever anything below does.
	Gen uint64
	// Priority is each group's groupPriorityMinimum (the highest of its
	// APIServices, local ones included), as kube-aggregator orders /apis.
	Priority map[string]int32
	// Groups are the remote groups, the highest priority first, then by
	// name; a group's versions by versionPriority, then kube's version
	// order (v2 > v1 > v1beta1), as kube-aggregator's handler_apis.go.
	Groups []AggregatedGroup
}

// AggregatedGroup is one remote group.
type AggregatedGroup struct {
	Name     string
	Versions []AggregatedVersion
}

// AggregatedVersion is one remote group-version: its resources as the
// extension's /apis/<group>/<version> last listed them (nil before the
// first answer), Stale when the last attempt failed (kube's discovery
// freshness: the resources are those of the last answer, if any).
type AggregatedVersion struct {
	Version   string
	Available bool
	Resources *metav1.APIResourceList
	Stale     bool
}

// discovered is the last document of one group-version.
type discovered struct {
	raw   []byte
	list  *metav1.APIResourceList
	stale bool
	// openAPI is the server's /openapi/v2, as JSON (nil if it has none).
	openAPI []byte
}

// discoveryState is the fetched documents, guarded by its mutex.
type discoveryState struct {
	mu   sync.Mutex
	byGV map[string]*discovered
}

// Gen is the generation of Discovery's answer: it changes with the
// routing table and with the fetched documents.
func (a *Aggregator) Gen() uint64 { return a.gen.Load() }

// Discovery returns the current state of the aggregated groups.
func (a *Aggregator) Discovery() *AggregatedDiscovery {
	gen := a.gen.Load()
	routes := a.routes.Load()
	out := &AggregatedDiscovery{Gen: gen, Priority: map[string]int32{}}
	if routes == nil {
		return out
	}
	for _, s := range routes.all {
		if p, ok := out.Priority[s.Spec.Group]; !ok || s.Spec.GroupPriorityMinimum > p {
			out.Priority[s.Spec.Group] = s.Spec.GroupPriorityMinimum
		}
	}
	byGroup := map[string][]*route{}
	for _, rt := range routes.byGV {
		byGroup[rt.svc.Spec.Group] = append(byGroup[rt.svc.Spec.Group], rt)
	}
	a.discovery.mu.Lock()
	defer a.discovery.mu.Unlock()
	for g, rts := range byGroup {
		sort.Slice(rts, func(i, j int) bool { return versionBefore(rts[i].svc, rts[j].svc) })
		group := AggregatedGroup{Name: g}
		for _, rt := range rts {
			v := AggregatedVersion{Version: rt.svc.Spec.Version, Available: rt.available}
			if d := a.discovery.byGV[g+"/"+rt.svc.Spec.Version]; d != nil {
				v.Resources, v.Stale = d.list, d.stale
			}
			group.Versions = append(group.Versions, v)
		}
		out.Groups = append(out.Groups, group)
	}
	sort.Slice(out.Groups, func(i, j int) bool {
		pi, pj := out.Priority[out.Groups[i].Name], out.Priority[out.Groups[j].Name]
		if pi != pj {
			return pi > pj
		}
		return out.Groups[i].Name < out.Groups[j].Name
	})
	return out
}

// versionBefore orders a group's versions as kube-aggregator does.
func versionBefore(a, b *apiregistrationv1.APIService) bool {
	if a.Spec.VersionPriority != b.Spec.VersionPriority {
		return a.Spec.VersionPriority > b.Spec.VersionPriority
	}
	return version.CompareKubeAwareVersionStrings(a.Spec.Version, b.Spec.Version) > 0
}

// RunDiscovery keeps the remote group-versions' resource lists, as
// kube-aggregator's discovery manager: fetched when the routing table
// changes and every period, until ctx ends. A failed fetch keeps the
// last list, marked stale, or marks the group-version stale with no
// resources when it never answered; kube's clients take a stale
// group-version as that group's discovery failing, not the others'.
func (a *Aggregator) RunDiscovery(ctx context.Context, period time.Duration) {
	changed := a.Subscribe()
	for {
		a.refreshDiscovery(ctx)
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-time.After(period):
		}
	}
}

func (a *Aggregator) refreshDiscovery(ctx context.Context) {
	routes := a.routes.Load()
	if routes == nil {
		return
	}
	type result struct {
		gv       string
		raw, oai []byte
		err      error
	}
	results := make(chan result, len(routes.byGV))
	n := 0
	for gv, rt := range routes.byGV {
		if !rt.available {
			results <- result{gv: gv, err: context.Canceled}
			n++
			continue
		}
		n++
		go func() {
			raw, err := a.fetch(ctx, rt, "/apis/"+gv, "application/json")
			var oai []byte
			if err == nil {
				oai, _ = a.fetch(ctx, rt, "/openapi/v2", "application/json")
			}
			results <- result{gv, raw, oai, err}
		}()
	}
	fresh := map[string]result{}
	for range n {
		r := <-results
		fresh[r.gv] = r
	}
	a.discovery.mu.Lock()
	if a.discovery.byGV == nil {
		a.discovery.byGV = map[string]*discovered{}
	}
	changedAny := false
	for gv := range a.discovery.byGV {
		if _, ok := routes.byGV[gv]; !ok {
			delete(a.discovery.byGV, gv)
			changedAny = true
		}
	}
	for gv, r := range fresh {
		cur := a.discovery.byGV[gv]
		if r.err == nil && cur != nil && !cur.stale && bytes.Equal(cur.raw, r.raw) && bytes.Equal(cur.openAPI, r.oai) {
			continue
		}
		list := &metav1.APIResourceList{}
		if r.err == nil {
			r.err = json.Unmarshal(r.raw, list)
		}
		if r.err != nil {
			if r.err != context.Canceled {
				klog.V(2).InfoS("fetching an aggregated API server's discovery", "groupVersion", gv, "err", r.err)
			}
			switch {
			case cur == nil:
				a.discovery.byGV[gv], changedAny = &discovered{stale: true}, true
			case !cur.stale:
				cur.stale, changedAny = true, true
			}
			continue
		}
		a.discovery.byGV[gv] = &discovered{raw: r.raw, list: list, openAPI: r.oai}
		changedAny = true
	}
	a.discovery.mu.Unlock()
	if changedAny {
		a.mu.Lock()
		a.gen.Add(1)
		a.notify()
		a.mu.Unlock()
	}
}
