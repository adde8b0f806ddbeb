package router

import (
	"github.com/prometheus/client_golang/prometheus"
	utilversion "k8s.io/apimachinery/pkg/util/version"

	"kapi/internal/metrics"
)

// binaryVersion is kube's binary version of a /version's gitVersion:
// "1.37.2+kapi" of "v1.37.2+kapi" (component-base parses the gitVersion,
// build metadata and all).
func binaryVersion(gitVersion string) string {
	if parsed, err := utilversion.Parse(gitVersion); err == nil {
		return parsed.String()
	}
	return gitVersion
}

// versionMetrics are component-base's kubernetes_build_info and
// version_info, read from Version when /metrics is read (--version=vX.Y.Z
// sets it after the metrics are registered).
type versionMetrics struct{}

var (
	buildInfoDesc = prometheus.NewDesc("kubernetes_build_info",
		"[BETA] A metric with a constant '1' value labeled by major, minor, git version, git commit, git tree state, build date, Go version, and compiler from which Kubernetes was built, and platform on which it is running.",
		[]string{"major", "minor", "git_version", "git_commit", "git_tree_state", "build_date", "go_version", "compiler", "platform"}, nil)
	versionInfoDesc = prometheus.NewDesc("version_info",
		"[ALPHA] Provides the compatibility version info of the component. The component label is the name of the component, usually kube, but is relevant for aggregated-apiservers.",
		[]string{"component", "binary", "emulation", "min_compat"}, nil)
)

func init() { metrics.Registry.MustRegister(versionMetrics{}) }

func (versionMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- buildInfoDesc
	ch <- versionInfoDesc
}

func (versionMetrics) Collect(ch chan<- prometheus.Metric) {
	v := Version
	ch <- prometheus.MustNewConstMetric(buildInfoDesc, prometheus.GaugeValue, 1,
		v.Major, v.Minor, v.GitVersion, v.GitCommit, v.GitTreeState, v.BuildDate, v.GoVersion, v.Compiler, v.Platform)
	ch <- prometheus.MustNewConstMetric(versionInfoDesc, prometheus.GaugeValue, 1,
		"kube", binaryVersion(v.GitVersion), v.EmulationMajor+"."+v.EmulationMinor, v.MinCompatibilityMajor+"."+v.MinCompatibilityMinor)
}
