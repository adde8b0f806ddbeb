package builtin

import (
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/registry"
)

// served is every group/version/resource kube-apiserver 1.37 serves in a
// GA version, bar the create-only virtual resources (reviews, bindings,
// component statuses, evictions). A row missing or added shows here.
var served = []string{
	"v1/configmaps", "v1/endpoints", "v1/events", "v1/limitranges", "v1/namespaces", "v1/nodes",
	"v1/persistentvolumeclaims", "v1/persistentvolumes", "v1/pods", "v1/podtemplates",
	"v1/replicationcontrollers", "v1/resourcequotas", "v1/secrets", "v1/serviceaccounts", "v1/services",

	"admissionregistration.k8s.io/v1/mutatingadmissionpolicies",
	"admissionregistration.k8s.io/v1/mutatingadmissionpolicybindings",
	"admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
	"admissionregistration.k8s.io/v1/validatingadmissionpolicies",
	"admissionregistration.k8s.io/v1/validatingadmissionpolicybindings",
	"admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
	"apiextensions.k8s.io/v1/customresourcedefinitions",
	"apiregistration.k8s.io/v1/apiservices",
	"apps/v1/controllerrevisions", "apps/v1/daemonsets", "apps/v1/deployments", "apps/v1/replicasets",
	"apps/v1/statefulsets",
	"autoscaling/v1/horizontalpodautoscalers", "autoscaling/v2/horizontalpodautoscalers",
	"batch/v1/cronjobs", "batch/v1/jobs",
	"certificates.k8s.io/v1/certificatesigningrequests", "certificates.k8s.io/v1/clustertrustbundles",
	"certificates.k8s.io/v1/podcertificaterequests",
	"coordination.k8s.io/v1/leases",
	"discovery.k8s.io/v1/endpointslices",
	"events.k8s.io/v1/events",
	"flowcontrol.apiserver.k8s.io/v1/flowschemas", "flowcontrol.apiserver.k8s.io/v1/prioritylevelconfigurations",
	"networking.k8s.io/v1/ingressclasses", "networking.k8s.io/v1/ingresses", "networking.k8s.io/v1/ipaddresses",
	"networking.k8s.io/v1/networkpolicies", "networking.k8s.io/v1/servicecidrs",
	"node.k8s.io/v1/runtimeclasses",
	"policy/v1/poddisruptionbudgets",
	"rbac.authorization.k8s.io/v1/clusterrolebindings", "rbac.authorization.k8s.io/v1/clusterroles",
	"rbac.authorization.k8s.io/v1/rolebindings", "rbac.authorization.k8s.io/v1/roles",
	"resource.k8s.io/v1/deviceclasses", "resource.k8s.io/v1/devicetaintrules", "resource.k8s.io/v1/resourceclaims",
	"resource.k8s.io/v1/resourceclaimtemplates", "resource.k8s.io/v1/resourceslices",
	"scheduling.k8s.io/v1/priorityclasses",
	"storage.k8s.io/v1/csidrivers", "storage.k8s.io/v1/csinodes", "storage.k8s.io/v1/csistoragecapacities",
	"storage.k8s.io/v1/storageclasses", "storage.k8s.io/v1/volumeattachments",
	"storage.k8s.io/v1/volumeattributesclasses",
	"storagemigration.k8s.io/v1/storageversionmigrations",
}

func gvr(r *registry.Resource) string {
	return strings.TrimPrefix(r.Group+"/"+r.Version+"/"+r.Name, "/")
}

func TestServedResources(t *testing.T) {
	var got []string
	seen := map[string]bool{}
	for _, r := range Resources() {
		if seen[gvr(r)] {
			t.Errorf("two rows serve %s", gvr(r))
		}
		seen[gvr(r)] = true
		got = append(got, gvr(r))
	}
	want := append([]string(nil), served...)
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("served resources differ\n got: %v\nwant: %v", got, want)
	}
}

func TestKindsAreInTheScheme(t *testing.T) {
	for _, r := range Resources() {
		for _, c := range []struct{ what, suffix string }{{"served", ""}, {"served", "List"}, {"stored", ""}, {"stored", "List"}} {
			k := r.GVK()
			if c.what == "stored" {
				k = r.StorageGVK()
			}
			k.Kind += c.suffix
			if !registry.Scheme.Recognizes(k) {
				t.Errorf("%s: the scheme has no %s kind %s", gvr(r), c.what, k)
			}
		}
	}
}

// Rows that share a key prefix share the objects under it, so they must
// agree on what is stored there.
func TestSharedKeysShareTheStoredKind(t *testing.T) {
	byKey := map[string]*registry.Resource{}
	for _, r := range Resources() {
		first, ok := byKey[r.Key()]
		if !ok {
			byKey[r.Key()] = r
			continue
		}
		if first.StorageGVK() != r.StorageGVK() {
			t.Errorf("key %q: %s stores %s but %s stores %s", r.Key(), gvr(first), first.StorageGVK(), gvr(r), r.StorageGVK())
		}
		if first.Namespaced != r.Namespaced {
			t.Errorf("key %q: %s and %s disagree on scope", r.Key(), gvr(first), gvr(r))
		}
		if r.Convert == nil && first.Convert == nil {
			t.Errorf("key %q: %s and %s share storage but neither converts", r.Key(), gvr(first), gvr(r))
		}
	}
}

// A row that stores another kind than it serves needs a conversion.
func TestStoredElsewhereConverts(t *testing.T) {
	for _, r := range Resources() {
		if (r.GVK() != r.StorageGVK()) != (r.Convert != nil) {
			t.Errorf("%s serves %s, stores %s, converts: %v", gvr(r), r.GVK(), r.StorageGVK(), r.Convert != nil)
		}
	}
}

// A row's subresources find in its Type what they need: the status
// subresource a status field, the scale subresource the replicas.
func TestSubresourcesMatchTheirTypes(t *testing.T) {
	for _, r := range Resources() {
		for _, s := range r.Subresources {
			switch s.Name {
			case "status":
				if r.Type.Status == nil {
					t.Errorf("%s has a status subresource but its type no status", gvr(r))
				}
			case "scale":
				if r.Type.Scale == nil {
					t.Errorf("%s has a scale subresource but its type no replicas", gvr(r))
				}
			case "finalize":
				if gvr(r) != "v1/namespaces" {
					t.Errorf("%s lists subresource finalize", gvr(r))
				}
			case "approval":
				if gvr(r) != "certificates.k8s.io/v1/certificatesigningrequests" {
					t.Errorf("%s lists subresource approval", gvr(r))
				}
			case "ephemeralcontainers", "resize":
				if gvr(r) != "v1/pods" {
					t.Errorf("%s lists subresource %s", gvr(r), s.Name)
				}
			default:
				t.Errorf("%s lists subresource %q", gvr(r), s.Name)
			}
		}
	}
}

// Every table has as many cells as columns, for an empty object too, and
// NAME is a column of every table.
func TestTablesMatchTheirColumns(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, r := range Resources() {
		obj, err := registry.Scheme.New(r.GVK())
		if err != nil {
			t.Fatal(err)
		}
		cols := r.TableColumns()
		cells := r.TableRow(obj, now)
		if len(cols) != len(cells) {
			t.Errorf("%s: %d columns but %d cells", gvr(r), len(cols), len(cells))
		}
		names := 0
		for _, c := range cols {
			if c.Format == "name" && c.Name == "Name" {
				names++
			}
		}
		if names != 1 {
			t.Errorf("%s: %d NAME columns", gvr(r), names)
		}
	}
}

// Spot checks of rows whose details kube-apiserver's clients rely on.
func TestRowDetails(t *testing.T) {
	rows := map[string]*registry.Resource{}
	for _, r := range Resources() {
		rows[gvr(r)] = r
	}
	for _, c := range []struct {
		gvr, key, storage string
		short, categories []string
	}{
		{"v1/services", "services/specs", "/v1, Kind=Service", []string{"svc"}, []string{"all"}},
		{"v1/endpoints", "services/endpoints", "/v1, Kind=Endpoints", []string{"ep"}, nil},
		{"v1/nodes", "minions", "/v1, Kind=Node", []string{"no"}, nil},
		{"v1/replicationcontrollers", "controllers", "/v1, Kind=ReplicationController", []string{"rc"}, []string{"all"}},
		{"networking.k8s.io/v1/ingresses", "ingress", "networking.k8s.io/v1, Kind=Ingress", []string{"ing"}, nil},
		{"events.k8s.io/v1/events", "events", "/v1, Kind=Event", []string{"ev"}, nil},
		{"autoscaling/v1/horizontalpodautoscalers", "horizontalpodautoscalers", "autoscaling/v2, Kind=HorizontalPodAutoscaler", []string{"hpa"}, []string{"all"}},
		{"apiextensions.k8s.io/v1/customresourcedefinitions", "apiextensions.k8s.io/customresourcedefinitions", "apiextensions.k8s.io/v1, Kind=CustomResourceDefinition", []string{"crd", "crds"}, []string{"api-extensions"}},
		{"apiregistration.k8s.io/v1/apiservices", "apiregistration.k8s.io/apiservices", "apiregistration.k8s.io/v1, Kind=APIService", nil, []string{"api-extensions"}},
		{"apps/v1/deployments", "deployments", "apps/v1, Kind=Deployment", []string{"deploy"}, []string{"all"}},
	} {
		r := rows[c.gvr]
		if r == nil {
			t.Errorf("no row %s", c.gvr)
			continue
		}
		if r.Key() != c.key || r.StorageGVK().String() != c.storage ||
			strings.Join(r.ShortNames, ",") != strings.Join(c.short, ",") ||
			strings.Join(r.Categories, ",") != strings.Join(c.categories, ",") {
			t.Errorf("%s: key %q stored %q short %v categories %v", c.gvr, r.Key(), r.StorageGVK(), r.ShortNames, r.Categories)
		}
	}
	if rows["v1/namespaces"].Supports("deletecollection") {
		t.Error("namespaces support deletecollection")
	}
	for _, g := range []string{"v1/pods", "apps/v1/deployments", "autoscaling/v2/horizontalpodautoscalers",
		"apiextensions.k8s.io/v1/customresourcedefinitions", "discovery.k8s.io/v1/endpointslices"} {
		if !rows[g].Generation {
			t.Errorf("%s does not count generations", g)
		}
	}
	for _, g := range []string{"v1/configmaps", "v1/nodes", "rbac.authorization.k8s.io/v1/roles"} {
		if rows[g].Generation {
			t.Errorf("%s counts generations", g)
		}
	}
	created := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	role := rows["rbac.authorization.k8s.io/v1/roles"]
	obj, _ := registry.Scheme.New(role.GVK())
	obj.(metav1.Object).SetName("reader")
	obj.(metav1.Object).SetCreationTimestamp(created)
	if cols, cells := role.TableColumns(), role.TableRow(obj, time.Now()); cols[1].Name != "Created At" || cells[1] != "2026-01-02T03:04:05Z" {
		t.Errorf("roles print %v %v, want NAME and CREATED AT", cols, cells)
	}
}
