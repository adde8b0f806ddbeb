package router

import (
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/version"
)

// Version is what /version reports: the Kubernetes API version kapi
// serves, read from the k8s.io/api module it is built with (v0.37.2 ->
// v1.37.2), so it cannot drift from the types it serves.
var Version = buildVersion()

func buildVersion() version.Info {
	gitVersion := "v1.37.0"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "k8s.io/api" && strings.HasPrefix(m.Version, "v0.") {
				gitVersion = "v1." + strings.TrimPrefix(m.Version, "v0.")
			}
		}
	}
	major, minor := "1", "37"
	if parts := strings.SplitN(strings.TrimPrefix(gitVersion, "v"), ".", 3); len(parts) >= 2 {
		major, minor = parts[0], parts[1]
	}
	// The minimum compatibility version is kube's default: one minor
	// below the emulated one (KEP-4330, --min-compatibility-version).
	minCompat := minor
	if n, err := strconv.Atoi(minor); err == nil && n > 0 {
		minCompat = strconv.Itoa(n - 1)
	}
	return version.Info{
		Major: major, Minor: minor, EmulationMajor: major, EmulationMinor: minor,
		MinCompatibilityMajor: major, MinCompatibilityMinor: minCompat,
		GitVersion: gitVersion + "+kapi", GitCommit: "kapi", GitTreeState: "clean",
		BuildDate: "1970-01-01T00:00:00Z", GoVersion: runtime.Version(), Compiler: runtime.Compiler,
		Platform: fmt.Sprintf("%s/%s", runtime.GOOS, runtime.GOARCH),
	}
}

func serveVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, Version)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(b)
}
