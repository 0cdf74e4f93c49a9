package main

import (
	"errors"
	"fmt"
	"net"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/config"
)

// The TLS record layer in use, and why. fjord's data path seals and
// opens records in user space on its loops (tls/record); the kernel's
// (kTLS: TCP_ULP "tls", then TLS_TX/TLS_RX) would let the loops splice
// plaintext, and is probed so that the log and 'fjord -vv' say whether
// this kernel has it. This build has no kTLS data path yet: 'tune.ssl.ktls
// on' is refused rather than quietly served in user space.

// probeKTLS reports whether the kernel takes the "tls" upper-layer
// protocol on a TCP socket: nil, or why not.
func probeKTLS() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen on loopback to probe: %w", err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return fmt.Errorf("connect on loopback to probe: %w", err)
	}
	defer c.Close()
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_ULP, "tls")
	}); err != nil {
		return err
	}
	switch {
	case serr == nil:
		return nil
	case errors.Is(serr, unix.ENOENT):
		return fmt.Errorf("setsockopt TCP_ULP tls: %w (the kernel has no CONFIG_TLS, or the tls module is not loaded)", serr)
	}
	return fmt.Errorf("setsockopt TCP_ULP tls: %w", serr)
}

// recordLayer says which record layer serves TLS under mode, or why
// fjord cannot start with it.
func recordLayer(mode config.KTLSMode) (string, error) {
	kernel := "the kernel has kTLS"
	if err := probeKTLS(); err != nil {
		kernel = "the kernel has no kTLS: " + err.Error()
	}
	if mode == config.KTLSOn {
		return "", fmt.Errorf("'tune.ssl.ktls on': this build of fjord carries TLS records in user space only (%s); use 'auto' or 'off'", kernel)
	}
	return "TLS records are sealed and opened in user space on the event loops (" + kernel + "; fjord's kTLS data path is not built yet)", nil
}
