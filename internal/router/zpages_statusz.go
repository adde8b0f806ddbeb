package router

import (
	"fmt"
	"html"
	"net/http"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	statuszv1alpha1 "k8s.io/apiserver/pkg/server/statusz/api/v1alpha1"
	statuszv1beta1 "k8s.io/apiserver/pkg/server/statusz/api/v1beta1"
)

// newStatusz is /statusz: when the process started and for how long it has
// run, its Go, binary and emulation versions (those of /version), and
// paths, the debugging pages to look at next. In text, as kube's:
//
//	apiserver statusz
//	Warning: This endpoint is not meant to be machine parseable, ...
//
//	Started: Mon Jan  5 10:00:00 UTC 2026
//	Up: 0 hr 02 min 13 sec
//	Go version: go1.26.0
//	Binary version: 1.37.2+kapi
//	Emulation version: 1.37
//	Paths: /flagz /healthz /livez /metrics /readyz /statusz /version
//
// with ":" one of kube's random delimiters.
func newStatusz(paths []string) http.Handler {
	beta := statuszv1beta1.SchemeGroupVersion.WithKind("Statusz")
	alpha := statuszv1alpha1.SchemeGroupVersion.WithKind("Statusz")
	return &zpage{
		name:  "statusz",
		kinds: map[schema.GroupVersionKind]bool{beta: true, alpha: true},
		text:  func() []byte { return statuszText(statusz(paths, time.Now())) },
		object: func(gvk schema.GroupVersionKind) runtime.Object {
			s := statusz(paths, time.Now())
			if gvk == alpha {
				return &statuszv1alpha1.Statusz{TypeMeta: metav1.TypeMeta{Kind: alpha.Kind, APIVersion: alpha.GroupVersion().String()},
					ObjectMeta: s.ObjectMeta, StartTime: s.StartTime, UptimeSeconds: s.UptimeSeconds, GoVersion: s.GoVersion,
					BinaryVersion: s.BinaryVersion, EmulationVersion: s.EmulationVersion, Paths: s.Paths}
			}
			return s
		},
	}
}

// statusz is the page's object at now.
func statusz(paths []string, now time.Time) *statuszv1beta1.Statusz {
	v := Version // read when asked: --version=vX.Y.Z sets it before kapi serves
	binary := binaryVersion(v.GitVersion)
	var emulation string
	if v.EmulationMajor != "" {
		emulation = v.EmulationMajor + "." + v.EmulationMinor
	}
	return &statuszv1beta1.Statusz{
		TypeMeta:   metav1.TypeMeta{Kind: "Statusz", APIVersion: statuszv1beta1.SchemeGroupVersion.String()},
		ObjectMeta: metav1.ObjectMeta{Name: zpagesComponent},
		StartTime:  metav1.Time{Time: processStart}, UptimeSeconds: max(0, int64(now.Sub(processStart).Seconds())),
		GoVersion: v.GoVersion, BinaryVersion: binary, EmulationVersion: emulation, Paths: paths,
	}
}

// statuszText is kube's statuszTextSerializer: a line per field, the
// emulation version's and the paths' left empty when there are none;
// values HTML-escaped.
func statuszText(s *statuszv1beta1.Statusz) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, zpagesWarning, zpagesComponent, "statusz")
	delim := html.EscapeString(zpagesDelimiter())
	var emulation, paths string
	if s.EmulationVersion != "" {
		emulation = fmt.Sprintf("Emulation version%s %s", delim, html.EscapeString(s.EmulationVersion))
	}
	if len(s.Paths) > 0 {
		paths = fmt.Sprintf("Paths%s %s", delim, html.EscapeString(strings.Join(s.Paths, " ")))
	}
	up := s.UptimeSeconds
	fmt.Fprintf(&b, "\nStarted%[1]s %[2]s\nUp%[1]s %[3]s\nGo version%[1]s %[4]s\nBinary version%[1]s %[5]s\n%[6]s\n%[7]s\n",
		delim, html.EscapeString(s.StartTime.Format(time.UnixDate)),
		fmt.Sprintf("%d hr %02d min %02d sec", up/3600, (up/60)%60, up%60),
		html.EscapeString(s.GoVersion), html.EscapeString(s.BinaryVersion), emulation, paths)
	return []byte(b.String())
}
