package router

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"sort"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/endpoints"
	"kapi/internal/registry"
)

// Discovery holds the discovery documents, computed once from the
// catalogue: the legacy ones (/api, /api/v1, /apis, /apis/g, /apis/g/v)
// and the aggregated ones (apidiscovery.k8s.io/v2) kubectl asks for first.
type Discovery struct {
	core        *metav1.APIVersions
	groups      *metav1.APIGroupList
	groupByName map[string]*metav1.APIGroup
	resources   map[string]*metav1.APIResourceList // by "v1" or "group/version"
	aggCore     *apidiscoveryv2.APIGroupDiscoveryList
	aggGroups   *apidiscoveryv2.APIGroupDiscoveryList
}

// subresourceKinds gives the kind and verbs of each served subresource;
// an empty kind means the parent's.
var subresourceKinds = map[string]struct {
	gvk   metav1.GroupVersionKind
	verbs []string
}{
	"status":   {verbs: []string{"get", "patch", "update"}},
	"scale":    {gvk: metav1.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}, verbs: []string{"get", "patch", "update"}},
	"finalize": {verbs: []string{"update"}},
}

// preferredVersions orders the versions of a group when it serves several:
// the first is preferred, as kube-apiserver prefers them.
var preferredVersions = map[string][]string{"autoscaling": {"v2", "v1"}}

// NewDiscovery builds the documents for the catalogue.
func NewDiscovery(resources []*registry.Resource) *Discovery {
	d := &Discovery{
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

	var groupOrder []string
	versionsOf := map[string][]string{}
	aggVersions := map[string]map[string]*apidiscoveryv2.APIVersionDiscovery{}
	for _, r := range resources {
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
				groupOrder = append(groupOrder, r.Group)
				aggVersions[r.Group] = map[string]*apidiscoveryv2.APIVersionDiscovery{}
			}
			versionsOf[r.Group] = append(versionsOf[r.Group], r.Version)
			aggVersions[r.Group][r.Version] = &apidiscoveryv2.APIVersionDiscovery{Version: r.Version, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}
		}
		list.APIResources = append(list.APIResources, apiResource(r))
		for _, sub := range r.ServedSubresources() {
			list.APIResources = append(list.APIResources, apiSubresource(r, sub))
		}
		av := aggVersions[r.Group][r.Version]
		av.Resources = append(av.Resources, aggResource(r))
	}
	for _, g := range groupOrder {
		versions := orderVersions(g, versionsOf[g])
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

func orderVersions(group string, versions []string) []string {
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

func apiResource(r *registry.Resource) metav1.APIResource {
	return metav1.APIResource{
		Name: r.Name, SingularName: r.SingularName(), Namespaced: r.Namespaced, Kind: r.Kind,
		Verbs: r.VerbList(), ShortNames: r.ShortNames, Categories: r.Categories,
		StorageVersionHash: storageVersionHash(r),
	}
}

// subresourceKind is the kind and verbs discovery shows for a
// subresource.
func subresourceKind(r *registry.Resource, sub string) (metav1.GroupVersionKind, []string) {
	if a := r.Actions[sub]; a != nil {
		return metav1.GroupVersionKind{Group: a.Kind.Group, Version: a.Kind.Version, Kind: a.Kind.Kind}, []string{"create"}
	}
	k := subresourceKinds[sub]
	return k.gvk, k.verbs
}

func apiSubresource(r *registry.Resource, sub string) metav1.APIResource {
	gvk, verbs := subresourceKind(r, sub)
	k := struct {
		gvk   metav1.GroupVersionKind
		verbs []string
	}{gvk, verbs}
	res := metav1.APIResource{Name: r.Name + "/" + sub, Namespaced: r.Namespaced, Kind: r.Kind, Verbs: k.verbs}
	if k.gvk.Kind != "" {
		res.Group, res.Version, res.Kind = k.gvk.Group, k.gvk.Version, k.gvk.Kind
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
	for _, sub := range r.ServedSubresources() {
		kind, verbs := subresourceKind(r, sub)
		if kind.Kind == "" {
			kind = *res.ResponseKind
		}
		res.Subresources = append(res.Subresources, apidiscoveryv2.APISubresourceDiscovery{
			Subresource: sub, ResponseKind: &kind, Verbs: verbs,
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
