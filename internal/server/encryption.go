package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/server/healthz"
	"k8s.io/apiserver/pkg/server/options/encryptionconfig"
	"k8s.io/apiserver/pkg/server/options/encryptionconfig/controller"
	encryptionmetrics "k8s.io/apiserver/pkg/server/options/encryptionconfig/metrics"
	"k8s.io/apiserver/pkg/storage/value"
	"k8s.io/component-base/metrics/legacyregistry"

	"kapi/internal/router"
)

// encryption is encryption at rest (--encryption-provider-config): kube's
// EncryptionConfiguration, loaded and turned into value transformers by
// k8s.io/apiserver's encryptionconfig package (the domain's standard
// algorithm: aescbc, aesgcm, secretbox, identity and KMS providers,
// kube's k8s:enc:<provider>:v1:<key>: prefixes, the first provider of a
// resource writes, all read; resources matched exactly, then
// "*.<group>", then "*.*"), so that an etcd written by kapi reads in
// kube-apiserver with the same file, and back. KMS v1 is refused (kube
// refuses it unless its deprecated feature gate is on; kapi has no such
// gate); KMS v2 talks to its plugin over gRPC as kube-apiserver does.
//
// A value read with a provider or key that is not the first is "stale"
// (kube's word): it is read as usual and nothing rewrites it on read; an
// update writes it again even when nothing else changed, so rewriting
// every object (kubectl get -o json | kubectl replace) moves them all to
// the first key.
type encryption struct {
	transformers value.ResourceTransformers // nil: no encryption
	// reload is kube's controller that reloads the file when it changes
	// (--encryption-provider-config-automatic-reload); nil when off. It
	// keeps the transformers it has when the new file is invalid, logs
	// why, and counts both in
	// apiserver_encryption_config_controller_automatic_reloads_total.
	reload *controller.DynamicEncryptionConfigContent
	// checks are kube's KMS health checks, for /healthz and /readyz (not
	// /livez, as kube): one per KMS v1 provider, or kms-providers for
	// every provider when the file reloads or KMS v2 is used.
	checks []healthz.HealthChecker
	// close ends the static transformers' KMS goroutines (they end with
	// the server's context anyway).
	close context.CancelFunc
}

func newEncryption(ctx context.Context, cfg Config) (*encryption, error) {
	e := &encryption{}
	if cfg.EncryptionProviderConfig == "" {
		if cfg.EncryptionProviderConfigAutomaticReload {
			return nil, fmt.Errorf("--encryption-provider-config-automatic-reload must be set with --encryption-provider-config")
		}
		return e, nil
	}
	// ctx is the server's life: the KMS providers' goroutines end with it.
	tctx, closeTransformers := context.WithCancel(ctx)
	ec, err := encryptionconfig.LoadEncryptionConfig(tctx, cfg.EncryptionProviderConfig, cfg.EncryptionProviderConfigAutomaticReload, cfg.APIServerID)
	if err != nil {
		closeTransformers()
		if strings.Contains(err.Error(), "--feature-gates=KMSv1=true") {
			// kapi has no KMSv1 gate to turn on: say so, not kube's advice.
			return nil, fmt.Errorf("--encryption-provider-config: KMS v1 providers are not supported (kube-apiserver refuses them too unless its deprecated KMSv1 feature gate is on); use a KMS v2 provider (apiVersion: v2)")
		}
		return nil, fmt.Errorf("--encryption-provider-config: %w", err)
	}
	encryptionmetrics.RecordEncryptionConfigLastConfigInfo(cfg.APIServerID, ec.EncryptionFileContentHash)
	if !cfg.EncryptionProviderConfigAutomaticReload {
		e.transformers, e.close = encryptionconfig.StaticTransformers(ec.Transformers), closeTransformers
		e.checks = ec.HealthChecks
		return e, nil
	}
	// As kube-apiserver: one health check for every provider, and the
	// transformers swapped in place when the file changes.
	dynamic := encryptionconfig.NewDynamicTransformers(ec.Transformers, ec.HealthChecks[0], closeTransformers, ec.KMSCloseGracePeriod)
	e.transformers, e.checks = dynamic, []healthz.HealthChecker{dynamic}
	e.reload = controller.NewDynamicEncryptionConfiguration("encryption-provider-config-automatic-reload-controller",
		cfg.EncryptionProviderConfig, dynamic, ec.EncryptionFileContentHash, cfg.APIServerID)
	return e, nil
}

// For is the transformer of a resource's values; nil stores them as they
// are encoded.
func (e *encryption) For(gr schema.GroupResource) value.Transformer {
	if e == nil || e.transformers == nil {
		return nil
	}
	return e.transformers.TransformerForResource(gr)
}

// sealValue is data encrypted by t for etcd key k; data itself when t is nil.
func sealValue(ctx context.Context, t value.Transformer, k string, data []byte) ([]byte, error) {
	if t == nil {
		return data, nil
	}
	return t.TransformToStorage(ctx, data, value.DefaultContext(k))
}

// openValue is sealValue undone.
func openValue(ctx context.Context, t value.Transformer, k string, data []byte) ([]byte, error) {
	if t == nil {
		return data, nil
	}
	out, _, err := t.TransformFromStorage(ctx, data, value.DefaultContext(k))
	return out, err
}

// addChecks adds the KMS health checks to /healthz and /readyz.
func (e *encryption) addChecks(health *router.Health) {
	for _, c := range e.checks {
		for _, ep := range []string{"healthz", "readyz"} {
			health.Add(ep, router.Check{Name: c.Name(), Fn: func(ctx context.Context) error {
				r, err := http.NewRequestWithContext(ctx, http.MethodGet, "/"+ep, nil)
				if err != nil {
					return err
				}
				return c.Check(r)
			}})
		}
	}
}

// encryptionMetrics are kube's metrics of encryption at rest, which
// k8s.io/apiserver records in component-base's legacy registry: the
// reload controller's (apiserver_encryption_config_controller_*), the
// transformers' (apiserver_storage_transformation_*, ...) and KMS v2's
// (apiserver_envelope_encryption_*). /metrics serves them beside kapi's
// own; only these families, so that nothing else a library registers
// there can clash with a name of kapi's.
var encryptionMetrics prometheus.Gatherer = prefixGatherer{legacyregistry.DefaultGatherer, []string{
	"apiserver_encryption_config_controller_",
	"apiserver_storage_transformation_",
	"apiserver_storage_envelope_transformation_",
	"apiserver_storage_data_key_generation_",
	"apiserver_envelope_encryption_",
}}

// prefixGatherer is the families of a gatherer whose names start with one
// of the prefixes.
type prefixGatherer struct {
	g        prometheus.Gatherer
	prefixes []string
}

func (p prefixGatherer) Gather() ([]*dto.MetricFamily, error) {
	all, err := p.g.Gather()
	out := all[:0]
	for _, mf := range all {
		for _, pre := range p.prefixes {
			if strings.HasPrefix(mf.GetName(), pre) {
				out = append(out, mf)
				break
			}
		}
	}
	return out, err
}
