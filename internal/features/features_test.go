package features

import (
	"context"
	"strings"
	"testing"

	apiextensionsfeatures "k8s.io/apiextensions-apiserver/pkg/features"
	genericfeatures "k8s.io/apiserver/pkg/features"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	clientfeatures "k8s.io/client-go/features"
	"k8s.io/component-base/featuregate"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/component-base/metrics/legacyregistry"
	zpagesfeatures "k8s.io/component-base/zpages/features"
)

// TestLibrariesGatesInKubeTable checks the generated table's names: every
// gate that k8s.io/apiserver and k8s.io/apiextensions-apiserver register
// (kube's table names them by their Go constants) is in kapi's gate, with
// the library's default at 1.37.
func TestLibrariesGatesInKubeTable(t *testing.T) {
	g := New()
	all := g.GetAll()
	lib := utilfeature.DefaultMutableFeatureGate.GetAll()
	for _, name := range []featuregate.Feature{genericfeatures.WatchList, genericfeatures.APIResponseCompression,
		apiextensionsfeatures.CRDValidationRatcheting, zpagesfeatures.ComponentFlagz, zpagesfeatures.ComponentStatusz,
		featuregate.Feature(clientfeatures.WatchListClient), logsapi.LoggingBetaOptions} {
		if _, ok := all[name]; !ok {
			t.Errorf("kube's gate lacks %s", name)
		}
	}
	n := 0
	for name, spec := range lib {
		if name == "AllAlpha" || name == "AllBeta" {
			continue
		}
		n++
		got, ok := all[name]
		if !ok {
			t.Errorf("%s (registered by a library) is not in kube's table", name)
			continue
		}
		if got.Default != spec.Default || got.PreRelease != spec.PreRelease {
			t.Errorf("%s: kube's table has default %t (%s), the library %t (%s)", name, got.Default, got.PreRelease, spec.Default, spec.PreRelease)
		}
	}
	if n < 30 || len(all) < 240 {
		t.Fatalf("%d library gates, %d in kube's gate: too few to be the tables", n, len(all))
	}
	// kube-apiserver 1.37's defaults, as its --help states them.
	for name, want := range map[featuregate.Feature]bool{WatchList: true, APIResponseCompression: true, "AllAlpha": false,
		"InPlacePodVerticalScaling": true, "StorageVersionAPI": false, "CBORServingAndStorage": false} {
		if got := g.Enabled(name); got != want {
			t.Errorf("%s: %t by default, want %t", name, got, want)
		}
	}
}

func TestSetAsKube(t *testing.T) {
	for _, tc := range []struct {
		set  map[string][]string
		want string // "" for no error
	}{
		{map[string][]string{"": {"WatchList=false", "StorageVersionAPI=true"}}, ""},
		{map[string][]string{"kube": {"APIResponseCompression=false"}}, ""},
		{map[string][]string{"": {"NoSuchGate=true"}}, "unrecognized feature gate: NoSuchGate"},
		{map[string][]string{"": {"WatchCacheInitializationPostStartHook=false"}}, "cannot set feature gate WatchCacheInitializationPostStartHook to false, feature is locked to true"},
		{map[string][]string{"": {"APIServerIdentity=false"}}, "UnknownVersionInteroperabilityProxy is enabled, but depends on features that are disabled: [APIServerIdentity]"},
		{map[string][]string{"wardle": {"A=true"}}, "component not registered: wardle"},
		{map[string][]string{"": {"WatchList=false"}, "kube": {"WatchList=true"}}, "set kube feature gates with default empty prefix or kube: prefix consistently, do not mix use"},
		{map[string][]string{"": {"WatchList=maybe"}}, "invalid value of WatchList=maybe"},
	} {
		g := New()
		err := Set(g, tc.set)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.set, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: error %v, want %q", tc.set, err, tc.want)
		}
	}
	g := New()
	if err := Set(g, map[string][]string{"": {"WatchList=false", "StorageVersionAPI=true", "APIServerIdentity=true"}}); err != nil {
		t.Fatal(err)
	}
	if Enabled(g, WatchList) || !Enabled(g, "StorageVersionAPI") {
		t.Errorf("the settings did not take")
	}
	// WatchList is kapi's to honour; StorageVersionAPI is not, and a gate
	// set to its default is no change.
	if got := NoEffect(g); len(got) != 1 || got[0] != "StorageVersionAPI=true" {
		t.Errorf("NoEffect = %v, want [StorageVersionAPI=true]", got)
	}
}

func TestEnabledFromContext(t *testing.T) {
	if !Enabled(FromContext(context.Background()), WatchList) {
		t.Errorf("no gate should be kube's defaults")
	}
	g := New()
	if err := g.Set("WatchList=false"); err != nil {
		t.Fatal(err)
	}
	if Enabled(FromContext(WithGate(context.Background(), g)), WatchList) {
		t.Errorf("the context's gate was not asked")
	}
}

func TestUsageListsKubeGates(t *testing.T) {
	u := Usage(New())
	for _, want := range []string{"kube:WatchList=true|false (BETA - default=true)", "kube:AllAlpha=true|false (ALPHA - default=false)",
		"kube:StorageVersionAPI=true|false (ALPHA - default=false)"} {
		if !strings.Contains(u, want) {
			t.Errorf("usage lacks %q", want)
		}
	}
	if strings.Contains(u, "WatchCacheInitializationPostStartHook") {
		t.Errorf("usage lists a GA gate")
	}
}

// TestRecordMetrics: kubernetes_feature_enabled shows each gate, its
// stage and whether it is on, as kube-apiserver's /metrics does.
func TestRecordMetrics(t *testing.T) {
	g := New()
	if err := g.Set("WatchList=false,StorageVersionAPI=true"); err != nil {
		t.Fatal(err)
	}
	RecordMetrics(g)
	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "kubernetes_feature_enabled" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			got[labels["name"]+"/"+labels["stage"]] = m.GetGauge().GetValue()
		}
	}
	for series, want := range map[string]float64{"WatchList/BETA": 0, "StorageVersionAPI/ALPHA": 1, "APIResponseCompression/BETA": 1,
		"InPlacePodVerticalScaling/": 1} {
		if v, ok := got[series]; !ok || v != want {
			t.Errorf("kubernetes_feature_enabled %s = %v (present %t), want %v", series, v, ok, want)
		}
	}
}
