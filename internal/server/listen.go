package server

import (
	"context"
	"net"
	"strconv"
	"syscall"
)

// listen opens the secure port as kube-apiserver does
// (SecureServingOptions.ApplyTo): with SO_REUSEPORT when
// --permit-port-sharing (several servers on one address and port, the
// kernel spreading connections among them) and SO_REUSEADDR when
// --permit-address-sharing (a wildcard and a specific address on one
// port; Go sets it on Unix listeners anyway).
func listen(cfg Config) (net.Listener, error) {
	var lc net.ListenConfig
	var controls []func(network, addr string, conn syscall.RawConn) error
	if cfg.PermitPortSharing {
		controls = append(controls, permitPortReuse)
	}
	if cfg.PermitAddressSharing {
		controls = append(controls, permitAddressReuse)
	}
	if len(controls) > 0 {
		lc.Control = func(network, addr string, conn syscall.RawConn) error {
			for _, c := range controls {
				if err := c(network, addr, conn); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return lc.Listen(context.Background(), "tcp", net.JoinHostPort(cfg.BindAddress, strconv.Itoa(cfg.SecurePort)))
}
