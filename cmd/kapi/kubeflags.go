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
