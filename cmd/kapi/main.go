// Command kapi is a Kubernetes-compatible API server: flags -> config ->
// server.Run.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"

	"kapi/internal/server"
)

func main() {
	cfg := server.Defaults()
	fs := pflag.NewFlagSet("kapi", pflag.ExitOnError)
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "Folder for the embedded etcd, the certificates and the admin kubeconfig.")
	fs.StringVar(&cfg.BindAddress, "bind-address", cfg.BindAddress, "The IP address on which to listen for the --secure-port port.")
	fs.IntVar(&cfg.SecurePort, "secure-port", cfg.SecurePort, "The port on which to serve HTTPS (0 picks a free port).")
	fs.StringSliceVar(&cfg.EtcdServers, "etcd-servers", nil, "List of etcd servers to connect with (scheme://ip:port), comma separated. When set, no embedded etcd is started.")
	fs.StringVar(&cfg.EtcdCAFile, "etcd-cafile", "", "SSL Certificate Authority file used to secure etcd communication.")
	fs.StringVar(&cfg.EtcdCertFile, "etcd-certfile", "", "SSL certification file used to secure etcd communication.")
	fs.StringVar(&cfg.EtcdKeyFile, "etcd-keyfile", "", "SSL key file used to secure etcd communication.")
	fs.StringVar(&cfg.EtcdPrefix, "etcd-prefix", cfg.EtcdPrefix, "The prefix to prepend to all resource paths in etcd.")
	fs.StringVar(&cfg.TLSCertFile, "tls-cert-file", "", "File containing the default x509 certificate for HTTPS. If not set, one is generated in <data-dir>/pki.")
	fs.StringVar(&cfg.TLSPrivateKeyFile, "tls-private-key-file", "", "File containing the default x509 private key matching --tls-cert-file.")
	fs.StringVar(&cfg.ClientCAFile, "client-ca-file", "", "Clients presenting a certificate signed by one of the authorities in this file are accepted, besides the kapi CA.")
	fs.Parse(os.Args[1:])
	if (cfg.TLSCertFile == "") != (cfg.TLSPrivateKeyFile == "") {
		fmt.Fprintln(os.Stderr, "kapi: --tls-cert-file and --tls-private-key-file go together")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := server.Run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "kapi:", err)
		os.Exit(1)
	}
}
