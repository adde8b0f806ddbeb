package router

import (
	"strings"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/proxy"
)

// addAggregated merges the groups of aggregated API servers into the
// documents, as kube-aggregator's /apis: ordered by groupPriorityMinimum
// (highest first), then by name. kapi's own groups keep their order; a
// remote group goes before the first of them with a lower priority (an
// own group whose APIService is not known yet counts as the one before
// it). The legacy list names every remote group-version, available or
// not, as kube's does; aggregated discovery holds the ones fetched at
// least once, stale when the last fetch failed (with the resources of
// the last answer, or none), as kube's discovery manager: clients report
// that group-version's discovery as failed, and the others work.
func addAggregated(d *discoveryDocs, ext *proxy.AggregatedDiscovery) {
	if ext == nil || len(ext.Groups) == 0 {
		return
	}
	for _, g := range ext.Groups {
		if _, local := d.groupByName[g.Name]; local {
			continue // a group-version of a group kapi serves: kapi's versions win
		}
		prio := ext.Priority[g.Name]
		group := metav1.APIGroup{Name: g.Name}
		agg := apidiscoveryv2.APIGroupDiscovery{}
		agg.Name = g.Name
		for _, v := range g.Versions {
			gv := g.Name + "/" + v.Version
			group.Versions = append(group.Versions, metav1.GroupVersionForDiscovery{GroupVersion: gv, Version: v.Version})
			if v.Resources == nil && !v.Stale {
				continue // not fetched yet
			}
			fresh := apidiscoveryv2.DiscoveryFreshnessCurrent
			if v.Stale {
				fresh = apidiscoveryv2.DiscoveryFreshnessStale
			}
			agg.Versions = append(agg.Versions, apidiscoveryv2.APIVersionDiscovery{
				Version: v.Version, Resources: convertResources(g.Name, v.Version, v.Resources), Freshness: fresh})
		}
		group.PreferredVersion = group.Versions[0]
		i := insertAt(len(d.groups.Groups), func(i int) string { return d.groups.Groups[i].Name }, ext.Priority, g.Name, prio)
		d.groups.Groups = append(d.groups.Groups[:i], append([]metav1.APIGroup{group}, d.groups.Groups[i:]...)...)
		one := group
		one.Kind, one.APIVersion = "APIGroup", "v1"
		d.groupByName[g.Name] = &one
		if len(agg.Versions) > 0 {
			i := insertAt(len(d.aggGroups.Items), func(i int) string { return d.aggGroups.Items[i].Name }, ext.Priority, g.Name, prio)
			d.aggGroups.Items = append(d.aggGroups.Items[:i], append([]apidiscoveryv2.APIGroupDiscovery{agg}, d.aggGroups.Items[i:]...)...)
		}
	}
}

// insertAt is where a group of priority prio goes in a list of n groups
// named name(i): before the first that sorts after it.
func insertAt(n int, name func(int) string, priority map[string]int32, group string, prio int32) int {
	last := int32(1<<31 - 1)
	for i := range n {
		p, ok := priority[name(i)]
		if !ok {
			p = last
		}
		last = p
		if p < prio || p == prio && name(i) > group {
			return i
		}
	}
	return n
}

// convertResources is an extension's APIResourceList as aggregated
// discovery's resources, as kube's discovery manager converts a server
// that serves only the legacy documents: "a/b" is the subresource b of a.
func convertResources(group, version string, list *metav1.APIResourceList) []apidiscoveryv2.APIResourceDiscovery {
	var out []apidiscoveryv2.APIResourceDiscovery
	if list == nil {
		return nil // never answered
	}
	index := map[string]int{}
	kindOf := func(r metav1.APIResource) *metav1.GroupVersionKind {
		k := &metav1.GroupVersionKind{Group: group, Version: version, Kind: r.Kind}
		if r.Group != "" || r.Version != "" {
			k.Group, k.Version = r.Group, r.Version
		}
		return k
	}
	for _, r := range list.APIResources {
		if strings.Contains(r.Name, "/") {
			continue
		}
		scope := apidiscoveryv2.ScopeCluster
		if r.Namespaced {
			scope = apidiscoveryv2.ScopeNamespace
		}
		index[r.Name] = len(out)
		out = append(out, apidiscoveryv2.APIResourceDiscovery{
			Resource: r.Name, ResponseKind: kindOf(r), Scope: scope, SingularResource: r.SingularName,
			Verbs: r.Verbs, ShortNames: r.ShortNames, Categories: r.Categories,
		})
	}
	for _, r := range list.APIResources {
		parent, sub, ok := strings.Cut(r.Name, "/")
		if !ok {
			continue
		}
		i, found := index[parent]
		if !found {
			continue
		}
		out[i].Subresources = append(out[i].Subresources, apidiscoveryv2.APISubresourceDiscovery{
			Subresource: sub, ResponseKind: kindOf(r), Verbs: r.Verbs})
	}
	return out
}

// aggregatedGroupVersion reads /apis/<group>/<version>[/...] of path.
func aggregatedGroupVersion(path string) (group, version string, ok bool) {
	rest, found := strings.CutPrefix(path, "/apis/")
	if !found {
		return "", "", false
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	return parts[0], parts[1], true
}
