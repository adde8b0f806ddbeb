package main

import (
	"strings"

	"github.com/spf13/pflag"

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

// authorizationModes keeps the modes kapi implements; ABAC, the one
// kube mode kapi lacks, is dropped with a warning: it could only allow
// what the kept ones refuse, so dropping it never grants more. A name
// kube does not know is kept, for the server to refuse.
func authorizationModes(modes []string, warn func(string, ...any)) []string {
	var out []string
	for _, m := range modes {
		switch m {
		case "ABAC":
			warn("--authorization-mode=%s has no effect in kapi: the other modes decide alone", m)
		default:
			out = append(out, m)
		}
	}
	return out
}
