package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"
	"k8s.io/client-go/tools/clientcmd"

	"kapi/internal/console"
)

// runConsole is `kapi console`: the web console as a process of its own,
// reached through the API server's service proxy. It returns the exit
// code.
func runConsole(args []string, out, errOut io.Writer) int {
	fs := pflag.NewFlagSet("kapi console", pflag.ContinueOnError)
	fs.SetOutput(errOut)
	kubeconfig := fs.String("kubeconfig", os.Getenv("KUBECONFIG"), "Path to the kubeconfig used to reach kapi. Its identity needs only to create and update the Service and EndpointSlice kube-system/kapi-console; users act as themselves.")
	var cfg console.Config
	fs.StringVar(&cfg.BindAddress, "bind-address", "127.0.0.1", "The IP address on which to listen (0.0.0.0 for all interfaces).")
	fs.IntVar(&cfg.Port, "port", 0, "The port on which to serve; 0 picks a free port.")
	fs.StringVar(&cfg.AdvertiseAddress, "advertise-address", "", "The IP address published in the EndpointSlice, which the API server's proxy dials. Empty: --bind-address when it is specific, else the host's first non-loopback address.")
	fs.Usage = func() {
		fmt.Fprintf(errOut, "Usage: kapi console [flags]\n\nServes kapi's web console and registers it as the Service %s/%s;\nopen it with kubectl proxy at %s\n\n%s", console.Namespace, console.Name, console.ProxyPath, fs.FlagUsages())
	}
	if err := fs.Parse(args); errors.Is(err, pflag.ErrHelp) {
		return 0
	} else if err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(errOut, "kapi console: unexpected arguments %q\n", fs.Args())
		return 2
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = *kubeconfig
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		fmt.Fprintln(errOut, "kapi console:", err)
		return 1
	}
	cfg.API, cfg.Out = rc, out
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := console.Run(ctx, cfg); err != nil {
		fmt.Fprintln(errOut, "kapi console:", err)
		return 1
	}
	return 0
}
