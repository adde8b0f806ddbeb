package router

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/component-base/featuregate"

	"kapi/internal/endpoints"
	"kapi/internal/features"
	"kapi/internal/proxy"
	"kapi/internal/registry"
)

// Discovery serves the discovery documents of the catalogue: the legacy
// ones (/api, /api/v1, /apis, /apis/g, /apis/g/v) and the aggregated ones
// (apidiscovery.k8s.io/v2) kubectl asks for first. They are built from a
// snapshot of the catalogue on the first request after it changed, and
// kept until it changes again.
type Discovery struct {
	cat *registry.Catalogue
	mu  sync.Mutex // one build at a time
	cur atomic.Pointer[discoveryDocs]
	// agg, when set, adds the aggregated API servers' groups.
	agg *proxy.Aggregator
	// serverAddress, when set, is /api's serverAddressByClientCIDRs, for
	// every client (0.0.0.0/0), as kube's.
	serverAddress string
	// noHashes leaves out the resources' storageVersionHash, as kube
	// with its StorageVersionHash gate off.
	noHashes bool
}

// discoveryDocs are the documents of one snapshot of the catalogue.
type discoveryDocs struct {
	gen, aggGen uint64
	core        *metav1.APIVersions
	groups      *metav1.APIGroupList
	groupByName map[string]*metav1.APIGroup
	resources   map[string]*metav1.APIResourceList // by "v1" or "group/version"
	aggCore     *apidiscoveryv2.APIGroupDiscoveryList
	aggGroups   *apidiscoveryv2.APIGroupDiscoveryList
}

// preferredVersions orders the versions of a group when it serves several:
// the first is preferred, as kube-apiserver prefers them.
var preferredVersions = map[string][]string{"autoscaling": {"v2", "v1"}}

// NewDiscovery serves the discovery documents of cat.
func NewDiscovery(cat *registry.Catalogue) *Discovery {
	return &Discovery{cat: cat}
}

// docs returns the documents of the current snapshot, building them if
// the catalogue changed since they were last built.
func (d *Discovery) docs() *discoveryDocs {
	snap := d.cat.Snapshot()
	var aggGen uint64
	if d.agg != nil {
		aggGen = d.agg.Gen()
	}
	if cur := d.cur.Load(); cur != nil && cur.gen == snap.Gen && cur.aggGen == aggGen {
		return cur
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if cur := d.cur.Load(); cur != nil && cur.gen == snap.Gen && cur.aggGen == aggGen {
		return cur
	}
	built := buildDiscovery(snap, !d.noHashes)
	if d.agg != nil {
		ext := d.agg.Discovery()
		built.aggGen = ext.Gen
		addAggregated(built, ext)
	}
	d.cur.Store(built)
	return built
}

// WithServerAddress makes /api name addr (host:port) as the server's
// address for clients, as kube-apiserver names its external address.
func (d *Discovery) WithServerAddress(addr string) *Discovery {
	d.serverAddress = addr
	return d
}

// WithFeatures applies the server's feature gates (StorageVersionHash).
func (d *Discovery) WithFeatures(g featuregate.FeatureGate) *Discovery {
	d.noHashes = !features.Enabled(g, features.StorageVersionHash)
	return d
}

// WithAggregator makes the documents include the groups agg proxies.
func (d *Discovery) WithAggregator(agg *proxy.Aggregator) *Discovery {
	d.agg = agg
	return d
}

// buildDiscovery lays out the documents of a snapshot. The built-in
// groups come first, in the catalogue's order; then the other groups
// (custom resources'), by name, as kube-apiserver orders groups of equal
// priority. A group's versions are in the order of preferredVersions for
// built-in groups and by Kubernetes version priority for the others
// (v2 before v1 before v1beta1), the first one preferred.
func buildDiscovery(snap *registry.Snapshot, hashes bool) *discoveryDocs {
	d := &discoveryDocs{
		gen:         snap.Gen,
		core:        &metav1.APIVersions{Versions: []string{"v1"}},
		groups:      &metav1.APIGroupList{},
		groupByName: map[string]*metav1.APIGroup{},
		resources:   map[string]*metav1.APIResourceList{},
		aggCore:     &apidiscoveryv2.APIGroupDiscoveryList{},
		aggGroups:   &apidiscoveryv2.APIGroupDiscoveryList{},
	}
	d.core.Kind = "APIVersions"
	d.groups.Kind, d.groups.APIVersion = "APIGroupList", "v1"
	d.aggCore.Kind, d.aggCore.APIVersion = "APIGroupDiscoveryList", "apidiscovery.k8s.io/v2"
	d.aggGroups.Kind, d.aggGroups.APIVersion = "APIGroupDiscoveryList", "apidiscovery.k8s.io/v2"

	builtin := map[string]bool{}
	for _, st := range snap.Owner(registry.BuiltinOwner) {
		builtin[st.R.Group] = true
	}
	var groupOrder, others []string
	versionsOf := map[string][]string{}
	aggVersions := map[string]map[string]*apidiscoveryv2.APIVersionDiscovery{}
	for _, st := range snap.Stores() {
		r := st.R
		gv := r.Version
		if r.Group != "" {
			gv = r.Group + "/" + r.Version
		}
		list := d.resources[gv]
		if list == nil {
			list = &metav1.APIResourceList{GroupVersion: gv}
			list.Kind, list.APIVersion = "APIResourceList", "v1"
			d.resources[gv] = list
			if _, seen := versionsOf[r.Group]; !seen {
				if builtin[r.Group] {
					groupOrder = append(groupOrder, r.Group)
				} else {
					others = append(others, r.Group)
				}
				aggVersions[r.Group] = map[string]*apidiscoveryv2.APIVersionDiscovery{}
			}
			versionsOf[r.Group] = append(versionsOf[r.Group], r.Version)
			aggVersions[r.Group][r.Version] = &apidiscoveryv2.APIVersionDiscovery{Version: r.Version, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}
		}
		list.APIResources = append(list.APIResources, apiResource(r, hashes))
		for _, sub := range r.Subresources {
			list.APIResources = append(list.APIResources, apiSubresource(r, sub))
		}
		av := aggVersions[r.Group][r.Version]
		av.Resources = append(av.Resources, aggResource(r))
	}
	sort.Strings(others)
	for _, g := range append(groupOrder, others...) {
		versions := orderVersions(g, versionsOf[g], builtin[g])
		agg := apidiscoveryv2.APIGroupDiscovery{}
		agg.Name = g
		for _, v := range versions {
			agg.Versions = append(agg.Versions, *aggVersions[g][v])
		}
		if g == "" {
			d.aggCore.Items = append(d.aggCore.Items, agg)
			continue
		}
		d.aggGroups.Items = append(d.aggGroups.Items, agg)
		group := metav1.APIGroup{Name: g}
		for _, v := range versions {
			group.Versions = append(group.Versions, metav1.GroupVersionForDiscovery{GroupVersion: g + "/" + v, Version: v})
		}
		group.PreferredVersion = group.Versions[0]
		d.groups.Groups = append(d.groups.Groups, group)
		one := group
		one.Kind, one.APIVersion = "APIGroup", "v1"
		d.groupByName[g] = &one
	}
	return d
}

func orderVersions(group string, versions []string, builtin bool) []string {
	if !builtin {
		out := append([]string(nil), versions...)
		sort.SliceStable(out, func(i, j int) bool { return version.CompareKubeAwareVersionStrings(out[i], out[j]) > 0 })
		return out
	}
	pref, ok := preferredVersions[group]
	if !ok {
		return versions
	}
	rank := map[string]int{}
	for i, v := range pref {
		rank[v] = i
	}
	out := append([]string(nil), versions...)
	sort.SliceStable(out, func(i, j int) bool { return rank[out[i]] < rank[out[j]] })
	return out
}

// apiResource is r's entry in its group-version's APIResourceList, with
// its storage version's hash when hashes.
func apiResource(r *registry.Resource, hashes bool) metav1.APIResource {
	res := metav1.APIResource{
		Name: r.Name, SingularName: r.SingularName(), Namespaced: r.Namespaced, Kind: r.Kind,
		Verbs: r.VerbList(), ShortNames: r.ShortNames, Categories: r.Categories,
	}
	if hashes {
		res.StorageVersionHash = storageVersionHash(r)
	}
	return res
}

// subresourceKind is the kind discovery shows for a subresource: its
// own, or (empty) the parent's.
func subresourceKind(sub *registry.Subresource) metav1.GroupVersionKind {
	return metav1.GroupVersionKind{Group: sub.Kind.Group, Version: sub.Kind.Version, Kind: sub.Kind.Kind}
}

func apiSubresource(r *registry.Resource, sub *registry.Subresource) metav1.APIResource {
	res := metav1.APIResource{Name: r.Name + "/" + sub.Name, Namespaced: r.Namespaced, Kind: r.Kind, Verbs: sub.Verbs}
	if k := subresourceKind(sub); k.Kind != "" {
		res.Group, res.Version, res.Kind = k.Group, k.Version, k.Kind
	}
	return res
}

func aggResource(r *registry.Resource) apidiscoveryv2.APIResourceDiscovery {
	scope := apidiscoveryv2.ScopeCluster
	if r.Namespaced {
		scope = apidiscoveryv2.ScopeNamespace
	}
	gvk := r.GVK()
	res := apidiscoveryv2.APIResourceDiscovery{
		Resource: r.Name, Scope: scope, SingularResource: r.SingularName(), Verbs: r.VerbList(),
		ShortNames: r.ShortNames, Categories: r.Categories,
		ResponseKind: &metav1.GroupVersionKind{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind},
	}
	for _, sub := range r.Subresources {
		kind := subresourceKind(sub)
		if kind.Kind == "" {
			kind = *res.ResponseKind
		}
		res.Subresources = append(res.Subresources, apidiscoveryv2.APISubresourceDiscovery{
			Subresource: sub.Name, ResponseKind: &kind, Verbs: sub.Verbs,
		})
	}
	return res
}

// storageVersionHash is kube-apiserver's: the first 8 bytes of the SHA-256
// of the stored group/version/kind, base64. Clients use it to notice a
// change of storage version.
func storageVersionHash(r *registry.Resource) string {
	gvk := r.StorageGVK()
	sum := sha256.Sum256([]byte(gvk.Group + "/" + gvk.Version + "/" + gvk.Kind))
	return base64.StdEncoding.EncodeToString(sum[:8])
}

// aggregatedAccept reports whether the client asked for aggregated
// discovery, and in which encoding.
func aggregatedAccept(r *http.Request) (endpoints.Output, bool) {
	for _, c := range endpoints.ParseAccept(r.Header.Get("Accept")) {
		as, g, v := c.Params["as"], c.Params["g"], c.Params["v"]
		if as == "APIGroupDiscoveryList" && g == "apidiscovery.k8s.io" && v == "v2" {
			if info, ok := endpoints.SerializerFor(c.Type, c.Sub); ok {
				return endpoints.Output{Info: info, As: as, Group: g, Version: v}, true
			}
		}
		if as == "" {
			return endpoints.Output{}, false
		}
	}
	return endpoints.Output{}, false
}

// serveAggregated writes an aggregated discovery document with the
// Content-Type that tells client-go it is one.
func serveAggregated(w http.ResponseWriter, r *http.Request, out endpoints.Output, list *apidiscoveryv2.APIGroupDiscoveryList) {
	w.Header().Set("Vary", "Accept")
	endpoints.WriteObjectAs(w, r, http.StatusOK, out, list,
		out.Info.MediaType+";g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
}
