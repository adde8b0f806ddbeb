package features

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/util/version"
	clientfeatures "k8s.io/client-go/features"
	"k8s.io/component-base/featuregate"
	logsapi "k8s.io/component-base/logs/api/v1"
)

// kubeVersion is the kube version whose gates and defaults kapi has.
var kubeVersion = version.MustParse("1.37")

// New returns kube-apiserver 1.37's feature gate, every gate at its
// default: kube's own and the libraries' its table lists (generated from
// kube's source), client-go's and the logging options', which
// kube-apiserver adds beside them.
func New() featuregate.MutableVersionedFeatureGate {
	g := featuregate.NewVersionedFeatureGate(kubeVersion)
	must(clientfeatures.AddVersionedFeaturesToExistingFeatureGates(clientGates{g}))
	must(g.AddVersioned(kubeFeatures))
	must(g.AddDependencies(kubeDependencies))
	must(logsapi.AddFeatureGates(g))
	return g
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// Set applies --feature-gates as kube-apiserver does: its values by
// component, "kube" being the only one and the default; an unknown gate,
// a gate locked to its default or a broken dependency fails with kube's
// message.
func Set(g featuregate.MutableFeatureGate, byComponent map[string][]string) error {
	if _, ok := byComponent["kube"]; ok && byComponent[""] != nil {
		return fmt.Errorf("set kube feature gates with default empty prefix or kube: prefix consistently, do not mix use")
	}
	for comp, values := range byComponent {
		if comp != "" && comp != "kube" {
			return fmt.Errorf("component not registered: %s", comp)
		}
		if err := g.Set(strings.Join(values, ",")); err != nil {
			return err
		}
	}
	return nil
}

// Usage is kube's help for --feature-gates, which lists the gates that
// are neither GA nor deprecated.
func Usage(g featuregate.FeatureGate) string {
	known := g.KnownFeatures()
	slices.Sort(known)
	for i := range known {
		known[i] = "kube:" + known[i]
	}
	return "Comma-separated list of component:key=value pairs that describe feature gates for alpha/experimental features of different components.\n" +
		"If the component is not specified, defaults to \"kube\". This flag can be repeatedly invoked. For example: --feature-gates 'wardle:featureA=true,wardle:featureB=false' --feature-gates 'kube:featureC=true'" +
		"Options are:\n" + strings.Join(known, "\n")
}

// clientGates adds client-go's gates to a kube gate, as kube's
// pkg/features clientAdapter does: client-go has its own copies of the
// gate types, to depend on nothing.
type clientGates struct {
	g featuregate.MutableVersionedFeatureGate
}

func (c clientGates) AddVersioned(in map[clientfeatures.Feature]clientfeatures.VersionedSpecs) error {
	out := map[featuregate.Feature]featuregate.VersionedSpecs{}
	for name, specs := range in {
		for _, s := range specs {
			f := featuregate.FeatureSpec{Default: s.Default, LockToDefault: s.LockToDefault, Version: s.Version}
			switch s.PreRelease {
			case clientfeatures.Alpha:
				f.PreRelease = featuregate.Alpha
			case clientfeatures.Beta:
				f.PreRelease = featuregate.Beta
			case clientfeatures.GA:
				f.PreRelease = featuregate.GA
			case clientfeatures.Deprecated:
				f.PreRelease = featuregate.Deprecated
			default:
				return fmt.Errorf("client-go's gate %s has an unknown stage %q", name, s.PreRelease)
			}
			out[featuregate.Feature(name)] = append(out[featuregate.Feature(name)], f)
		}
	}
	return c.g.AddVersioned(out)
}

// The gates kapi asks. The others are kube's, known and checked, and
// without effect in kapi (NoEffect).
const (
	// APIResponseCompression: answers are gzipped for clients that take
	// it (kube's deferred response writer).
	APIResponseCompression featuregate.Feature = "APIResponseCompression"
	// WatchList: watches may ask for their initial events
	// (sendInitialEvents).
	WatchList featuregate.Feature = "WatchList"
	// WatchListCompression: a watch list is gzipped for clients that
	// take it.
	WatchListCompression featuregate.Feature = "WatchListCompression"
	// ExcludeAdmissionWebhookVirtualResources: no webhook sees writes of
	// the access and token reviews.
	ExcludeAdmissionWebhookVirtualResources featuregate.Feature = "ExcludeAdmissionWebhookVirtualResources"
	// StorageVersionHash: discovery gives each resource its storage
	// version's hash.
	StorageVersionHash featuregate.Feature = "StorageVersionHash"
	// ConstrainedImpersonation: the constrained modes of impersonation
	// (KEP-5284) beside the legacy one.
	ConstrainedImpersonation featuregate.Feature = "ConstrainedImpersonation"
	// APIServerIdentity: each API server keeps an identity Lease in
	// kube-system, and collects the expired ones.
	APIServerIdentity featuregate.Feature = "APIServerIdentity"
	// ComponentFlagz and ComponentStatusz serve /flagz and /statusz.
	ComponentFlagz   featuregate.Feature = "ComponentFlagz"
	ComponentStatusz featuregate.Feature = "ComponentStatusz"
)

var asked = []featuregate.Feature{APIResponseCompression, WatchList, WatchListCompression, ExcludeAdmissionWebhookVirtualResources,
	StorageVersionHash, ConstrainedImpersonation, APIServerIdentity, ComponentFlagz, ComponentStatusz}

// defaults is kube's gate as it is unset, for servers given none.
var defaults = sync.OnceValue(func() featuregate.FeatureGate { return New() })

// Enabled reports whether g enables f; a nil g is kube's defaults.
func Enabled(g featuregate.FeatureGate, f featuregate.Feature) bool {
	if g == nil {
		g = defaults()
	}
	return g.Enabled(f)
}

// NoEffect lists the gates g sets away from their defaults that kapi
// does not ask, "Name=value" in order, for a warning.
func NoEffect(g featuregate.MutableFeatureGate) []string {
	var out []string
	for name, spec := range g.GetAll() {
		if on := g.Enabled(name); on != spec.Default && !slices.Contains(asked, name) {
			out = append(out, fmt.Sprintf("%s=%t", name, on))
		}
	}
	slices.Sort(out)
	return out
}

type gateKey struct{}

// WithGate gives a request's context the server's gate.
func WithGate(ctx context.Context, g featuregate.FeatureGate) context.Context {
	return context.WithValue(ctx, gateKey{}, g)
}

// FromContext is the gate of the server serving ctx's request: nil, kube's
// defaults, when none was given.
func FromContext(ctx context.Context) featuregate.FeatureGate {
	g, _ := ctx.Value(gateKey{}).(featuregate.FeatureGate)
	return g
}

// Changed reports whether g sets any gate kapi asks away from kube's
// default (a nil g sets none).
func Changed(g featuregate.FeatureGate) bool {
	if g == nil {
		return false
	}
	for _, f := range asked {
		if g.Enabled(f) != defaults().Enabled(f) {
			return true
		}
	}
	return false
}

// RecordMetrics sets kube's kubernetes_feature_enabled gauge (in
// component-base's registry) to g's gates, as kube-apiserver does at
// start; a nil g is kube's defaults.
func RecordMetrics(g featuregate.FeatureGate) {
	if g == nil {
		g = defaults()
	}
	if m, ok := g.(interface{ AddMetrics() }); ok {
		m.AddMetrics()
	}
}
