package e2e

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"k8s.io/client-go/tools/portforward"
)

// TestKubeletPortForwardWebSocketTunnel: a port forward tunnelled in a
// WebSocket (client-go's SPDY-over-WebSocket dialer alone, without the
// SPDY fallback kubectl has), which kapi unwraps into SPDY to the
// kubelet, carries bytes both ways.
func TestKubeletPortForwardWebSocketTunnel(t *testing.T) {
	k, _ := kubeletCluster(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	u := k.client.CoreV1().RESTClient().Post().Namespace("default").Resource("pods").Name("web").SubResource("portforward").URL()
	dialer, err := portforward.NewSPDYOverWebsocketDialer(u, k.rest)
	if err != nil {
		t.Fatal(err)
	}
	stop, ready := make(chan struct{}), make(chan struct{})
	fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{"0:" + strconv.Itoa(port)}, stop, ready, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- fw.ForwardPorts() }()
	defer func() { close(stop); <-done }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("the tunnelled port forward ended: %v", err)
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) != 1 {
		t.Fatalf("ports %v %v", ports, err)
	}
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(ports[0].Local)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A broken tunnel leaves the read waiting: a deadline turns that
	// into a failure (not a measure of speed).
	c.SetDeadline(time.Now().Add(30 * time.Second))
	io.WriteString(c, "ping through the tunnel\n")
	if got, err := bufio.NewReader(c).ReadString('\n'); got != "ping through the tunnel\n" {
		t.Errorf("through the tunnelled port forward: %q %v", got, err)
	}
}
