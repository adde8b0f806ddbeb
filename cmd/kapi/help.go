package main

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"

	"github.com/spf13/pflag"

	"kapi/internal/kubeflags"
)

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
