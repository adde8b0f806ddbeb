package server

import (
	"errors"
	"syscall"
)

// permitPortReuse and permitAddressReuse fail on Windows, as kube's:
// SO_REUSEADDR there lets another process take the port.
func permitPortReuse(network, addr string, conn syscall.RawConn) error {
	return errors.New("port reuse is not supported on Windows")
}

func permitAddressReuse(network, addr string, conn syscall.RawConn) error {
	return errors.New("address reuse is not supported on Windows")
}
