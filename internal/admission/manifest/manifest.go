// Package manifest reads static admission manifests: kube-apiserver's ManifestBasedAdmissionControlConfig
// (beta, on by default in 1.37): the AdmissionConfiguration of the four
// plugins that run configured hooks (ValidatingAdmissionWebhook,
// MutatingAdmissionWebhook, ValidatingAdmissionPolicy,
// MutatingAdmissionPolicy) may name a staticManifestsDir, a directory of
// YAML or JSON manifests of their objects, named "*.static.k8s.io" (a
// suffix the API refuses). They load at start, a bad one failing it, and
// load again when the files change; a bad reload keeps the set in force.
//
// What the four plugins share lives here: reading a directory into
// objects, defaulting and validating them as the API would, and the
// reload loop with its metrics (kube's manifest/metrics, which the four
// plugins share too). Each plugin's own rules (what kinds, webhooks by
// URL only, bindings of the set's own policies) are with the plugin
// (admission/webhook, admission/policy).
package manifest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"reflect"
	"sync"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	admissionregistrationv1alpha1 "k8s.io/api/admissionregistration/v1alpha1"
	admissionregistrationv1beta1 "k8s.io/api/admissionregistration/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	kubemanifest "k8s.io/apiserver/pkg/admission/plugin/manifest"
	"k8s.io/apiserver/pkg/util/filesystem"
	"k8s.io/klog/v2"

	"kapi/internal/metrics"
	"kapi/internal/registry/admissionregistration"
)

// manifestCodecs decode manifests as kube's loaders do: strictly (an
// unknown or duplicate field is an error), admissionregistration.k8s.io
// in each of its versions (only v1 is accepted: another version is an
// "unsupported resource type"), and v1 Lists.
var manifestCodecs = func() serializer.CodecFactory {
	s := runtime.NewScheme()
	utilruntime.Must(admissionregistrationv1.AddToScheme(s))
	utilruntime.Must(admissionregistrationv1beta1.AddToScheme(s))
	utilruntime.Must(admissionregistrationv1alpha1.AddToScheme(s))
	s.AddUnversionedTypes(metav1.SchemeGroupVersion, &metav1.List{}, &metav1.Status{})
	return serializer.NewCodecFactory(s, serializer.EnableStrict)
}()

// Read reads the manifests of dir and gives accept each object
// they hold, with its file; the items of a v1 List one by one. Files are
// kube's (kubemanifest.LoadFiles, the standard algorithm): the .yaml, .yml
// and .json ones, in name order, YAML documents split, empty ones
// skipped. It returns the hash of the files, "" for none: what tells a
// change, and the metrics' hash label. An error names its file:
//
//	error loading /etc/kapi/static/a.yaml: "deny" in file "/etc/kapi/static/a.yaml" must have a name ending with ".static.k8s.io"
func Read(dir string, accept func(obj runtime.Object, file string) error) (string, error) {
	docs, hash, err := kubemanifest.LoadFiles(dir)
	if err != nil {
		return "", err
	}
	dec := manifestCodecs.UniversalDeserializer()
	for _, d := range docs {
		obj, _, err := dec.Decode(d.Doc, nil, nil)
		if err == nil {
			err = acceptItems(dec, obj, d.FilePath, accept)
		}
		if err != nil {
			return "", fmt.Errorf("error loading %s: %w", d.FilePath, err)
		}
	}
	return hash, nil
}

// acceptItems gives accept obj, or each item of a v1 List.
func acceptItems(dec runtime.Decoder, obj runtime.Object, file string, accept func(runtime.Object, string) error) error {
	list, ok := obj.(*metav1.List)
	if !ok {
		return accept(obj, file)
	}
	for _, raw := range list.Items {
		item, _, err := dec.Decode(raw.Raw, nil, nil)
		if err != nil {
			return fmt.Errorf("failed to decode list item: %w", err)
		}
		if err := acceptItems(dec, item, file, accept); err != nil {
			return err
		}
	}
	return nil
}

// DefaultAndValidate defaults obj (an admissionregistration.k8s.io/v1
// object) and validates it as a create through the API would, as kube's
// loaders do (defaultAndValidateVWC and the like), less the refusal of
// the reserved suffix (admissionregistration.ValidateManifest):
//
//	ValidatingWebhookConfiguration "deny.static.k8s.io": webhooks[0].sideEffects: Required value: must specify one of None, NoneOnDryRun
func DefaultAndValidate(obj runtime.Object) error {
	errs, ok := admissionregistration.ValidateManifest(obj)
	if !ok {
		return fmt.Errorf("unsupported resource type %T", obj)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s %q: %w", reflect.TypeOf(obj).Elem().Name(), obj.(metav1.Object).GetName(), errs.ToAggregate())
	}
	return nil
}

// ReloadInterval is how often a static manifests directory is read
// again besides when the file system says it changed: kube's minute.
// Tests shorten it (kube's SetReloadIntervalForTests) before kapi starts.
var ReloadInterval = time.Minute

// Manifests keeps one plugin's static manifests loaded: Start loads
// them, Watch loads them again at each change of the directory (kube's
// reload loop, filesystem.WatchUntil: the file system's events, and a
// read every ReloadInterval). A reload whose files did not change
// does nothing; one that fails keeps the set in force, is logged and
// counted. As kube's, a set that reads well but does not compile is not
// tried again until the files change.
type Manifests struct {
	// Plugin is the plugin's name, the metrics' plugin label.
	Plugin string
	// Kind is "webhook" or "policy", for the start-up error.
	Kind string
	Dir  string
	// ServerID names this kapi to the metrics, hashed.
	ServerID string
	// Load reads dir: the hash of its files, and publish, which compiles
	// what was read and makes it the plugin's static set, or says why it
	// cannot.
	Load func(dir string) (hash string, publish func() error, err error)
	last string
}

// Start loads the manifests; an error is kube's start-up error:
//
//	failed to load static webhook manifests from "/etc/kapi/static": error loading ...
func (m *Manifests) Start() error {
	hash, publish, err := m.Load(m.Dir)
	if err == nil {
		err = publish()
	}
	if err != nil {
		return fmt.Errorf("failed to load static %s manifests from %q: %w", m.Kind, m.Dir, err)
	}
	m.last = hash
	klog.InfoS("Loaded manifest-based admission configurations", "plugin", m.Plugin, "dir", m.Dir)
	recordReload(m.Plugin, m.ServerID, hash, true)
	return nil
}

// Watch reloads the manifests as they change until ctx ends.
func (m *Manifests) Watch(ctx context.Context) {
	filesystem.WatchUntil(ctx, ReloadInterval, m.Dir, m.Reload, func(err error) {
		klog.ErrorS(err, "watching manifest directory", "plugin", m.Plugin, "dir", m.Dir)
	})
}

// Reload loads the manifests again if their files changed. Watch calls
// it; calls must not overlap.
func (m *Manifests) Reload() {
	hash, publish, err := m.Load(m.Dir)
	if err != nil {
		klog.ErrorS(err, "reloading admission manifest config", "plugin", m.Plugin, "dir", m.Dir)
		recordReload(m.Plugin, m.ServerID, "", false)
		return
	}
	if hash == m.last {
		return
	}
	m.last = hash
	if err := publish(); err != nil {
		klog.ErrorS(err, "reloading admission manifest config", "plugin", m.Plugin, "dir", m.Dir)
		recordReload(m.Plugin, m.ServerID, "", false)
		return
	}
	klog.InfoS("reloaded admission manifest config", "plugin", m.Plugin, "dir", m.Dir)
	recordReload(m.Plugin, m.ServerID, hash, true)
}

// kube-apiserver's metrics of the static manifests (k8s.io/apiserver's
// manifest/metrics), with its names and labels. The hash of the
// configuration in force is a label of last_config_info, one series per
// plugin.
var (
	manifestReloads = metrics.Counter("apiserver_manifest_admission_config_controller_automatic_reloads_total",
		"[ALPHA] Total number of automatic reloads of admission manifest configuration split by status, plugin, and apiserver identity.",
		"status", "plugin", "apiserver_id_hash")
	manifestReloadTime = metrics.Gauge("apiserver_manifest_admission_config_controller_automatic_reload_last_timestamp_seconds",
		"[ALPHA] Timestamp of the last automatic reload of admission manifest configuration split by status, plugin, and apiserver identity.",
		"status", "plugin", "apiserver_id_hash")
	manifestConfigInfo = metrics.Gauge("apiserver_manifest_admission_config_controller_last_config_info",
		"[ALPHA] Information about the last applied admission manifest configuration with hash as label, split by plugin and apiserver identity.",
		"plugin", "apiserver_id_hash", "hash")
	manifestConfigMu sync.Mutex
)

// recordReload records a load of plugin's manifests (the first included,
// as kube's): its outcome and, when it took, the hash now in force.
func recordReload(plugin, serverID, hash string, ok bool) {
	id := ""
	if serverID != "" {
		id = fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(serverID)))
	}
	status := "failure"
	if ok {
		status = "success"
	}
	manifestReloads.WithLabelValues(status, plugin, id).Inc()
	manifestReloadTime.WithLabelValues(status, plugin, id).SetToCurrentTime()
	if !ok {
		return
	}
	manifestConfigMu.Lock()
	defer manifestConfigMu.Unlock()
	manifestConfigInfo.DeletePartialMatch(map[string]string{"plugin": plugin})
	manifestConfigInfo.WithLabelValues(plugin, id, hash).Set(1)
}
