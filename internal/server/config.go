// Package server assembles the parts, owns start-up, readiness and
// graceful shutdown, and the TLS material and admin kubeconfig in the data
// folder.
package server

import (
	"io"
	"os"
)

// Config is everything the flags set. Names follow kube-apiserver's flags.
type Config struct {
	DataDir     string // --data-dir
	BindAddress string // --bind-address
	SecurePort  int    // --secure-port; 0 picks a free port

	EtcdServers  []string // --etcd-servers; empty starts an embedded etcd
	EtcdCAFile   string   // --etcd-cafile
	EtcdCertFile string   // --etcd-certfile
	EtcdKeyFile  string   // --etcd-keyfile
	EtcdPrefix   string   // --etcd-prefix

	TLSCertFile       string // --tls-cert-file
	TLSPrivateKeyFile string // --tls-private-key-file
	ClientCAFile      string // --client-ca-file

	// Out receives the start-up line; nil means stdout.
	Out io.Writer
}

// Defaults returns the configuration of a plain `kapi`.
func Defaults() Config {
	return Config{
		DataDir:     "./kapi-data",
		BindAddress: "127.0.0.1",
		SecurePort:  6443,
		EtcdPrefix:  "/registry",
		Out:         os.Stdout,
	}
}
