package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"

	"kapi/internal/kubeflags"
)

// addKubeFlags gives fs every kube-apiserver flag kapi does not define
// itself: it parses as kube's type (a bad value fails as in kube) and has
// no effect. It returns their names, to warn about those given.
// Kube's hidden flags (deprecated ones its --help omits) are accepted
// and hidden alike.
func addKubeFlags(fs *pflag.FlagSet) []string {
	var noEffect []string
	add := func(f kubeflags.Flag, hidden bool) {
		if fs.Lookup(f.Name) != nil || f.Name == "help" {
			return
		}
		fl := fs.VarPF(&kubeValue{name: f.Name, typ: f.Type, val: strings.Trim(f.Default, "[]")}, f.Name, f.Short, f.Usage+" (No effect in kapi.)")
		fl.DefValue, fl.Hidden = f.Default, hidden
		if f.Type == "bool" {
			fl.NoOptDefVal = "true"
		}
		noEffect = append(noEffect, f.Name)
	}
	for _, s := range kubeflags.Sections {
		for _, f := range s.Flags {
			add(f, false)
		}
	}
	for _, f := range kubeflags.Hidden {
		add(f, true)
	}
	return noEffect
}

// kubeValue holds a flag kapi accepts for kube's sake: it checks the value
// as kube's type would. name tells kube's two mapStringString parsers
// apart: --runtime-config's takes a key alone ("api/all"), the others
// refuse it.
type kubeValue struct{ name, typ, val string }

func (v *kubeValue) String() string { return v.val }
func (v *kubeValue) Type() string   { return v.typ }

var moduleSpec = regexp.MustCompile(`^([^=,]+=\d+)(,[^=,]+=\d+)*$`)

func (v *kubeValue) Set(s string) error {
	var err error
	switch v.typ {
	case "bool":
		_, err = strconv.ParseBool(s)
	case "int", "int32", "int64", "Level":
		_, err = strconv.ParseInt(s, 10, 64)
	case "uint", "uint32", "uint64":
		_, err = strconv.ParseUint(s, 10, 64)
	case "float", "float32", "float64":
		_, err = strconv.ParseFloat(s, 64)
	case "duration":
		_, err = time.ParseDuration(s)
	case "ip":
		if net.ParseIP(s) == nil {
			err = fmt.Errorf("failed to parse IP: %q", s)
		}
	case "stringToString": // pflag's: one "=" makes one pair of the whole value; none (even empty) is refused
		if !strings.Contains(s, "=") {
			err = fmt.Errorf("%s must be formatted as key=value", s)
		}
	case "mapStringString":
		for _, kv := range strings.Split(s, ",") {
			if kv != "" && !strings.Contains(kv, "=") && v.name != "runtime-config" {
				err = fmt.Errorf("malformed pair, expect string=string: %q", kv)
			}
		}
	case "colonSeparatedMultimapStringString": // --feature-gates: [component:]Gate=bool,...
		for _, kv := range strings.Split(s, ",") {
			if _, b, ok := strings.Cut(kv, "="); kv != "" && !ok {
				err = fmt.Errorf("missing bool value for %s", kv)
			} else if ok {
				if _, e := strconv.ParseBool(strings.TrimSpace(b)); e != nil {
					err = fmt.Errorf("invalid value of %s, err: %v", kv, e)
				}
			}
		}
	case "stringSlice", "strings": // pflag's: one line of CSV
		if s != "" {
			_, err = csv.NewReader(strings.NewReader(s)).Read()
		}
	case "portRange":
		s, err = portRange(s)
	case "namedCertKey":
		if files, _, _ := strings.Cut(s, ":"); len(strings.Split(files, ",")) != 2 {
			err = errors.New("expected comma separated certificate and key file paths")
		}
	case "int32Slice":
		for _, n := range strings.Split(s, ",") {
			if _, e := strconv.ParseInt(n, 0, 32); e != nil {
				err = e
			}
		}
	case "quantity":
		_, err = resource.ParseQuantity(s)
	case "mapStringBool":
		for _, kv := range strings.Split(s, ",") {
			if k, b, ok := strings.Cut(kv, "="); kv != "" && (!ok || k == "") {
				err = fmt.Errorf("malformed pair, expect string=bool: %q", kv)
			} else if ok {
				_, err = strconv.ParseBool(b)
			}
		}
	case "moduleSpec":
		if s != "" && !moduleSpec.MatchString(s) {
			err = fmt.Errorf("%q is not pattern=N,...", s)
		}
	}
	if err != nil {
		return err
	}
	v.val = s
	return nil
}

// portRange checks s as kube's utilnet.PortRange does ("30000-32767",
// "30000+2767", a single port, or empty) and writes it as low-high, the
// form kapi's node-port allocator reads: "30000+2767" is "30000-32767".
func portRange(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return s, nil
	}
	low, rest, sep := s, "", ""
	if i := strings.IndexAny(s, "-+"); i >= 0 {
		low, sep, rest = s[:i], s[i:i+1], s[i+1:]
	}
	lo, err := strconv.Atoi(low)
	hi := lo
	if err == nil && sep != "" {
		hi, err = strconv.Atoi(rest)
		if sep == "+" {
			hi += lo
		}
	}
	if err != nil || lo < 0 || hi > 65535 || hi < lo {
		return "", fmt.Errorf("%q is not a port range (like 30000-32767 or 30000+2767)", s)
	}
	return fmt.Sprintf("%d-%d", lo, hi), nil
}

// kubeString is a string field of kapi's Config read as kube's type
// (--bind-address is an ip, --service-node-port-range a portRange), so a
// value kube refuses fails at parsing, as in kube.
type kubeString struct {
	p   *string
	typ string
}

func (v kubeString) String() string { return *v.p }
func (v kubeString) Type() string   { return v.typ }

func (v kubeString) Set(s string) error {
	k := kubeValue{typ: v.typ}
	if err := k.Set(s); err != nil {
		return err
	}
	*v.p = k.val
	return nil
}

// authorizationModes keeps the modes kapi implements; the other modes
// kube knows are dropped with a warning: each could only allow what the
// kept ones refuse (AlwaysDeny has no opinion in kube's union), so
// dropping them never grants more. A name kube does not know is kept,
// for the server to refuse.
func authorizationModes(modes []string, warn func(string, ...any)) []string {
	var out []string
	for _, m := range modes {
		switch m {
		case "Node", "Webhook", "ABAC", "AlwaysDeny":
			warn("--authorization-mode=%s has no effect in kapi: the other modes decide alone", m)
		default:
			out = append(out, m)
		}
	}
	return out
}

// printHelp writes kube-apiserver's --help: the description, the usage
// line, then the flags by kube's sections, and kapi's own flags last.
func printHelp(w io.Writer, fs *pflag.FlagSet, program string) {
	fmt.Fprintf(w, `The Kubernetes API server validates and configures data
for the api objects which include pods, services, replicationcontrollers, and
others. The API Server services REST operations and provides the frontend to the
cluster's shared state through which all other components interact.
(This is kapi, a Kubernetes-compatible API server: flags it does not implement
are accepted and have no effect.)

Usage:
  %s [flags]
`, filepath.Base(program))
	seen := map[string]bool{}
	section := func(name string, names []string) {
		part := pflag.NewFlagSet(name, pflag.ContinueOnError)
		for _, n := range names {
			if f := fs.Lookup(n); f != nil {
				part.AddFlag(f)
				seen[n] = true
			} else if n == "help" {
				part.BoolP("help", "h", false, "help for "+filepath.Base(program))
				seen[n] = true
			}
		}
		part.SortFlags = false
		fmt.Fprintf(w, "\n%s:\n\n%s", name, part.FlagUsagesWrapped(0))
	}
	for _, s := range kubeflags.Sections {
		var names []string
		for _, f := range s.Flags {
			names = append(names, f.Name)
		}
		section(s.Name, names)
	}
	var own []string
	fs.VisitAll(func(f *pflag.Flag) {
		if !seen[f.Name] && !f.Hidden {
			own = append(own, f.Name)
		}
	})
	slices.Sort(own)
	section("kapi flags", own)
}
