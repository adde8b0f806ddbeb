package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

// kubeValue holds a flag kapi accepts for kube's sake: it checks the value
// as kube's parser of its type does (kubeTypes), so a value kube refuses
// fails here too.
type kubeValue struct{ name, typ, val string }

func (v *kubeValue) String() string { return v.val }
func (v *kubeValue) Type() string   { return v.typ }

func (v *kubeValue) Set(s string) error {
	if check, ok := kubeTypes[v.typ]; ok {
		var err error
		if s, err = check(v.name, s); err != nil {
			return err
		}
	}
	v.val = s
	return nil
}

// kubeTypes check a value as kube's parser of that type (pflag's,
// component-base's) does, and may rewrite it into the form kapi reads
// (portRange). The flag's name is there for the one type whose parsers
// differ by flag (mapStringString). Types not listed take any string
// (string, stringArray).
var kubeTypes = map[string]func(name, s string) (string, error){
	"bool":     checked(func(s string) error { _, err := strconv.ParseBool(s); return err }),
	"int":      checked(parseInt),
	"int32":    checked(parseInt),
	"int64":    checked(parseInt),
	"Level":    checked(parseInt),
	"uint":     checked(func(s string) error { _, err := strconv.ParseUint(s, 10, 64); return err }),
	"float32":  checked(func(s string) error { _, err := strconv.ParseFloat(s, 32); return err }),
	"float64":  checked(func(s string) error { _, err := strconv.ParseFloat(s, 64); return err }),
	"duration": checked(func(s string) error { _, err := time.ParseDuration(s); return err }),
	"quantity": checked(func(s string) error { _, err := resource.ParseQuantity(s); return err }),
	"ip": checked(func(s string) error {
		if net.ParseIP(strings.TrimSpace(s)) == nil {
			return fmt.Errorf("failed to parse IP: %q", s)
		}
		return nil
	}),
	// pflag's slices read one line of CSV: a bare quote fails.
	"stringSlice": checked(csvLine),
	"strings":     checked(csvLine),
	"int32Slice": checked(func(s string) error {
		for _, n := range strings.Split(s, ",") {
			if _, err := strconv.ParseInt(n, 0, 32); err != nil {
				return err
			}
		}
		return nil
	}),
	// pflag's: one "=" makes one pair of the whole value
	// ("metric,label=a,b"); none, even empty, is refused.
	"stringToString": checked(func(s string) error {
		if !strings.Contains(s, "=") {
			return fmt.Errorf("%s must be formatted as key=value", s)
		}
		return nil
	}),
	// component-base's MapStringString wants key=value pairs; its
	// ConfigurationMap (--runtime-config) takes a key alone ("api/all").
	"mapStringString": func(name, s string) (string, error) {
		for _, kv := range strings.Split(s, ",") {
			if kv != "" && !strings.Contains(kv, "=") && name != "runtime-config" {
				return s, fmt.Errorf("malformed pair, expect string=string: %q", kv)
			}
		}
		return s, nil
	},
	"mapStringBool": checked(func(s string) error { return pairs(s, "malformed pair, expect string=bool: %q") }),
	// --feature-gates: [component:]Gate=bool,...
	"colonSeparatedMultimapStringString": checked(func(s string) error { return pairs(s, "missing bool value for %s") }),
	"namedCertKey": checked(func(s string) error {
		if files, _, _ := strings.Cut(s, ":"); len(strings.Split(files, ",")) != 2 {
			return errors.New("expected comma separated certificate and key file paths")
		}
		return nil
	}),
	"portRange": func(_, s string) (string, error) { return portRange(s) },
}

func checked(f func(string) error) func(string, string) (string, error) {
	return func(_, s string) (string, error) { return s, f(s) }
}

func parseInt(s string) error { _, err := strconv.ParseInt(s, 10, 64); return err }

func csvLine(s string) error {
	if s == "" {
		return nil
	}
	_, err := csv.NewReader(strings.NewReader(s)).Read()
	return err
}

// pairs checks comma-separated key=bool pairs (empty ones skipped).
func pairs(s, missing string) error {
	for _, kv := range strings.Split(s, ",") {
		k, b, ok := strings.Cut(kv, "=")
		switch {
		case kv == "":
		case !ok || k == "":
			return fmt.Errorf(missing, kv)
		default:
			if _, err := strconv.ParseBool(strings.TrimSpace(b)); err != nil {
				return fmt.Errorf("invalid value of %s, err: %v", kv, err)
			}
		}
	}
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
