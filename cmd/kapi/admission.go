package main

import (
	"errors"
	"fmt"
	"slices"

	"kapi/internal/admission"
	"kapi/internal/server"
)

// admissionControlUsage is kube's help for its deprecated --admission-control.
const admissionControlUsage = "Admission is divided into two phases. In the first phase, only mutating admission plugins run. In the second phase, only validating admission plugins run. The names in the below list may represent a validating plugin, a mutating plugin, or both. The order of plugins in which they are passed to this flag does not matter."

// applyAdmissionControl reads kube's deprecated --admission-control as
// kube does: its names are the exact plugins to run and every other one
// is disabled (kube's computePluginNames), it cannot be combined with
// --enable-admission-plugins or --disable-admission-plugins, and a name
// kube does not know fails. For example --admission-control=NamespaceLifecycle
// runs NamespaceLifecycle alone, without kube's default-on plugins.
func applyAdmissionControl(cfg *server.Config, names []string, warn func(string, ...any)) error {
	warn("Flag --admission-control has been deprecated, Use --enable-admission-plugins or --disable-admission-plugins instead. Will be removed in a future version.")
	if len(names) > 0 && (len(cfg.EnableAdmissionPlugins) > 0 || len(cfg.DisableAdmissionPlugins) > 0) {
		return errors.New("admission-control and enable-admission-plugins/disable-admission-plugins flags are mutually exclusive. Please remove `--admission-control` flag")
	}
	for _, n := range names {
		if !slices.Contains(admission.Ordered, n) {
			return fmt.Errorf("admission-control plugin %q is unknown", n)
		}
	}
	cfg.EnableAdmissionPlugins = slices.Clone(names)
	cfg.DisableAdmissionPlugins = nil
	for _, n := range admission.Ordered {
		if !slices.Contains(names, n) {
			cfg.DisableAdmissionPlugins = append(cfg.DisableAdmissionPlugins, n)
		}
	}
	return nil
}
