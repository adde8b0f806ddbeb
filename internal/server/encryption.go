package server

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/server/options/encryptionconfig"
	"k8s.io/apiserver/pkg/server/options/encryptionconfig/controller"
	"k8s.io/apiserver/pkg/storage/value"
)

// encryption is encryption at rest (--encryption-provider-config): kube's
// EncryptionConfiguration, loaded and turned into value transformers by
// k8s.io/apiserver's encryptionconfig package (the domain's standard
// algorithm: aescbc, aesgcm, secretbox, identity and KMS providers,
// kube's k8s:enc:<provider>:v1:<key>: prefixes, the first provider of a
// resource writes, all read; resources matched exactly, then
// "*.<group>", then "*.*"), so that an etcd written by kapi reads in
// kube-apiserver with the same file, and back.
type encryption struct {
	transformers value.ResourceTransformers // nil: no encryption
	// reload is kube's controller that reloads the file when it changes
	// (--encryption-provider-config-automatic-reload); nil when off.
	reload  *controller.DynamicEncryptionConfigContent
	dynamic *encryptionconfig.DynamicTransformers
	// close ends the static transformers' KMS goroutines (they end with
	// the server's context anyway).
	close context.CancelFunc
}

// encryptionServerID names this server to the KMS providers.
const encryptionServerID = "kapi"

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
	ec, err := encryptionconfig.LoadEncryptionConfig(tctx, cfg.EncryptionProviderConfig, cfg.EncryptionProviderConfigAutomaticReload, encryptionServerID)
	if err != nil {
		closeTransformers()
		return nil, fmt.Errorf("--encryption-provider-config: %w", err)
	}
	if !cfg.EncryptionProviderConfigAutomaticReload {
		e.transformers, e.close = encryptionconfig.StaticTransformers(ec.Transformers), closeTransformers
		return e, nil
	}
	// As kube-apiserver: one health check for every provider, and the
	// transformers swapped in place when the file changes.
	e.dynamic = encryptionconfig.NewDynamicTransformers(ec.Transformers, ec.HealthChecks[0], closeTransformers, ec.KMSCloseGracePeriod)
	e.transformers = e.dynamic
	e.reload = controller.NewDynamicEncryptionConfiguration("encryption-provider-config-automatic-reload-controller",
		cfg.EncryptionProviderConfig, e.dynamic, ec.EncryptionFileContentHash, encryptionServerID)
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
