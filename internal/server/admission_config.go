package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"k8s.io/apiserver/pkg/admission/plugin/manifest"
	policyconfig "k8s.io/apiserver/pkg/admission/plugin/policy/config"
	webhookutil "k8s.io/apiserver/pkg/util/webhook"

	"kapi/internal/admission"
)

// admissionConfig is --admission-control-config-file: an
// AdmissionConfiguration (apiserver.config.k8s.io/v1) giving plugins their
// configuration, inline or in a file of its own (relative to the
// configuration file).
type admissionConfig struct {
	// plugins are each plugin's configuration, as JSON.
	plugins map[string][]byte
	dir     string
}

type admissionConfigFile struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Plugins    []struct {
		Name          string          `json:"name"`
		Path          string          `json:"path"`
		Configuration json.RawMessage `json:"configuration"`
	} `json:"plugins"`
}

func loadAdmissionConfig(path string) (*admissionConfig, error) {
	c := &admissionConfig{plugins: map[string][]byte{}}
	if path == "" {
		return c, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--admission-control-config-file: %w", err)
	}
	var f admissionConfigFile
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, fmt.Errorf("--admission-control-config-file %s: %w", path, err)
	}
	if f.Kind != "AdmissionConfiguration" || (f.APIVersion != "apiserver.config.k8s.io/v1" && f.APIVersion != "apiserver.config.k8s.io/v1alpha1" && f.APIVersion != "apiserver.k8s.io/v1alpha1") {
		return nil, fmt.Errorf("--admission-control-config-file %s: expected an apiserver.config.k8s.io/v1 AdmissionConfiguration, got %s %s", path, f.APIVersion, f.Kind)
	}
	c.dir = filepath.Dir(path)
	for _, p := range f.Plugins {
		if !slices.Contains(admission.Ordered, p.Name) {
			return nil, fmt.Errorf("--admission-control-config-file %s: plugin %q is unknown", path, p.Name)
		}
		conf := []byte(p.Configuration)
		if p.Path != "" {
			file := p.Path
			if !filepath.IsAbs(file) {
				file = filepath.Join(c.dir, file)
			}
			b, err := os.ReadFile(file)
			if err != nil {
				return nil, fmt.Errorf("configuration of admission plugin %s: %w", p.Name, err)
			}
			if conf, err = yaml.YAMLToJSON(b); err != nil {
				return nil, fmt.Errorf("configuration of admission plugin %s: %w", p.Name, err)
			}
		}
		c.plugins[p.Name] = conf
	}
	return c, nil
}

// webhookAuth is the authentication of the webhooks of plugin name
// (MutatingAdmissionWebhook, ValidatingAdmissionWebhook): the kubeconfig
// its WebhookAdmissionConfiguration names, whose users are webhook hosts
// ("webhook.example.com:443", "*.ns.svc", "*"), as kube-apiserver reads
// it. nil when there is none.
func (c *admissionConfig) webhookAuth(name string) (webhookutil.AuthenticationInfoResolver, error) {
	conf := c.plugins[name]
	if len(conf) == 0 {
		return nil, nil
	}
	var w struct {
		APIVersion     string `json:"apiVersion"`
		Kind           string `json:"kind"`
		KubeConfigFile string `json:"kubeConfigFile"`
	}
	if err := json.Unmarshal(conf, &w); err != nil {
		return nil, fmt.Errorf("configuration of admission plugin %s: %w", name, err)
	}
	if w.Kind != "WebhookAdmissionConfiguration" && w.Kind != "WebhookAdmission" {
		return nil, fmt.Errorf("configuration of admission plugin %s: expected a WebhookAdmissionConfiguration, got %q", name, w.Kind)
	}
	if w.KubeConfigFile == "" {
		return nil, nil
	}
	file := w.KubeConfigFile
	if !filepath.IsAbs(file) {
		file = filepath.Join(c.dir, file)
	}
	return webhookutil.NewDefaultAuthenticationInfoResolver(file)
}

// staticManifestsDir is the staticManifestsDir of plugin name's
// configuration (its WebhookAdmissionConfiguration, or its
// ValidatingAdmissionPolicyConfiguration or
// MutatingAdmissionPolicyConfiguration, read by k8s.io/apiserver's
// loader): "" for none. As kube's, it must be the absolute path of a
// directory (manifest.ValidateStaticManifestsDir).
func (c *admissionConfig) staticManifestsDir(name string) (string, error) {
	conf := c.plugins[name]
	if len(conf) == 0 {
		return "", nil
	}
	var dir string
	switch name {
	case "ValidatingAdmissionPolicy", "MutatingAdmissionPolicy":
		load := policyconfig.LoadValidatingConfig
		if name == "MutatingAdmissionPolicy" {
			load = policyconfig.LoadMutatingConfig
		}
		pc, err := load(bytes.NewReader(conf))
		if err != nil {
			return "", fmt.Errorf("couldn't init admission plugin %q: %w", name, err)
		}
		return pc.StaticManifestsDir, nil
	default:
		var w struct {
			StaticManifestsDir string `json:"staticManifestsDir"`
		}
		if err := json.Unmarshal(conf, &w); err != nil {
			return "", fmt.Errorf("configuration of admission plugin %s: %w", name, err)
		}
		dir = w.StaticManifestsDir
	}
	if err := manifest.ValidateStaticManifestsDir(dir); err != nil {
		return "", fmt.Errorf("couldn't init admission plugin %q: %w", name, err)
	}
	return dir, nil
}

// restAuth turns an authentication resolver into what the webhooks ask
// for a host (host:port) or a service.
func restAuth(r webhookutil.AuthenticationInfoResolver) func(hostPort, svcName, svcNamespace string, svcPort int) (*rest.Config, error) {
	if r == nil {
		return nil
	}
	return func(hostPort, svcName, svcNamespace string, svcPort int) (*rest.Config, error) {
		if svcName != "" {
			return r.ClientConfigForService(svcName, svcNamespace, svcPort)
		}
		return r.ClientConfigFor(hostPort)
	}
}
