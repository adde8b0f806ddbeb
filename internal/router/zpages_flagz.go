package router

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	flagzv1alpha1 "k8s.io/apiserver/pkg/server/flagz/api/v1alpha1"
	flagzv1beta1 "k8s.io/apiserver/pkg/server/flagz/api/v1beta1"
)

// newFlagz is /flagz: every flag of the command line with its value, as
// flags reads them. In text, sorted by name, as kube's:
//
//	apiserver flagz
//	Warning: This endpoint is not meant to be machine parseable, ...
//	admission-control-config-file=
//	advertise-address=<nil>
//	...
//
// with "=" one of kube's random delimiters. The command line does not
// change once parsed, so the text is made once, as kube caches it (its
// delimiter stays the same too).
func newFlagz(flags func() map[string]string) http.Handler {
	beta := flagzv1beta1.SchemeGroupVersion.WithKind("Flagz")
	alpha := flagzv1alpha1.SchemeGroupVersion.WithKind("Flagz")
	text := sync.OnceValue(func() []byte { return flagzText(flags()) })
	return &zpage{
		name:  "flagz",
		kinds: map[schema.GroupVersionKind]bool{beta: true, alpha: true},
		text:  text,
		object: func(gvk schema.GroupVersionKind) runtime.Object {
			meta := metav1.ObjectMeta{Name: zpagesComponent}
			if gvk == alpha {
				return &flagzv1alpha1.Flagz{TypeMeta: metav1.TypeMeta{Kind: alpha.Kind, APIVersion: alpha.GroupVersion().String()}, ObjectMeta: meta, Flags: flags()}
			}
			return &flagzv1beta1.Flagz{TypeMeta: metav1.TypeMeta{Kind: beta.Kind, APIVersion: beta.GroupVersion().String()}, ObjectMeta: meta, Flags: flags()}
		},
	}
}

// flagzText is kube's flagzTextSerializer: "name<delimiter>value" a line,
// sorted by name.
func flagzText(flags map[string]string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, zpagesWarning, zpagesComponent, "flagz")
	delim := zpagesDelimiter()
	names := make([]string, 0, len(flags))
	for name := range flags {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Fprintf(&b, "%s%s%s\n", name, delim, flags[name])
	}
	return []byte(b.String())
}

// classifiedFlags are the flags whose value /flagz withholds ("CLASSIFIED",
// as kube's for a flag annotated "classified"): kapi's --token, the
// cluster's join token, is a secret.
var classifiedFlags = map[string]bool{"token": true}

// kubeSpelling rewrites a value of a flag's type the way kube's value of
// that type prints it, for the values kapi keeps as given ("2h" is
// "2h0m0s", "1" of a bool "true"); a value printed by its own type is
// already spelt so and stays as it is.
var kubeSpelling = map[string]func(string) string{
	"duration": func(s string) string {
		if d, err := time.ParseDuration(s); err == nil {
			return d.String()
		}
		return s
	},
	"bool": func(s string) string {
		if b, err := strconv.ParseBool(s); err == nil {
			return strconv.FormatBool(b)
		}
		return s
	},
	"int":     kubeInt,
	"int32":   kubeInt,
	"int64":   kubeInt,
	"float32": func(s string) string { return kubeFloat(s, 32) },
	"float64": func(s string) string { return kubeFloat(s, 64) },
	"ip": func(s string) string {
		if ip := net.ParseIP(strings.TrimSpace(s)); ip != nil {
			return ip.String()
		}
		return s
	},
}

func kubeInt(s string) string {
	if n, err := strconv.ParseInt(s, 0, 64); err == nil {
		return strconv.FormatInt(n, 10)
	}
	return s
}

func kubeFloat(s string, bits int) string {
	if f, err := strconv.ParseFloat(s, bits); err == nil {
		return strconv.FormatFloat(f, 'g', -1, bits)
	}
	return s
}

// Flagz reads a parsed command line as kube's /flagz lists kube-apiserver's
// (flagz.NamedFlagSetsReader): every flag, hidden ones included, with its
// value as kube spells it, and kube's --help (false: a server that runs
// was not asked for help), which kapi's pflag does not define.
//
// A flag kapi accepts for kube's sake keeps its value as given; it is
// listed as kube prints its type (kubeSpelling), in brackets where kube
// spells the flag's value as a list ("[]", "[RS256]": "a,b" -> "[a,b]"),
// and as its default, kube's spelling, when not given.
func Flagz(fs *pflag.FlagSet) func() map[string]string {
	return func() map[string]string {
		flags := map[string]string{"help": "false"}
		fs.VisitAll(func(f *pflag.Flag) {
			if f.Value == nil {
				return
			}
			v := f.Value.String()
			switch {
			case classifiedFlags[f.Name] || len(f.Annotations["classified"]) > 0:
				v = "CLASSIFIED"
			case !f.Changed:
				v = f.DefValue
			case strings.HasPrefix(f.DefValue, "[") && !strings.HasPrefix(v, "["):
				v = "[" + v + "]"
			case kubeSpelling[f.Value.Type()] != nil:
				v = kubeSpelling[f.Value.Type()](v)
			}
			flags[f.Name] = v
		})
		return flags
	}
}
