package main

import (
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// sdNotify sends a state to systemd's notification socket, when fjord runs
// as a Type=notify service (systemd sets NOTIFY_SOCKET). The protocol is
// one datagram of newline-separated assignments on a unix socket; a name
// starting with '@' is in the abstract namespace, which Go's net package
// maps itself. Outside systemd it does nothing.
func sdNotify(state string) error {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("NOTIFY_SOCKET %s: %w", path, err)
	}
	defer c.Close()
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte(state)); err != nil {
		return fmt.Errorf("NOTIFY_SOCKET %s: %w", path, err)
	}
	return nil
}

// notifyReady tells systemd that this process is the service's main
// process and that it is ready. After a reload the new process sends it,
// which NotifyAccess=all allows: systemd then follows the new process,
// not the old one that is finishing its sessions.
func notifyReady() error {
	return sdNotify(fmt.Sprintf("MAINPID=%d\nREADY=1\nSTATUS=serving\n", os.Getpid()))
}

// notifyReloading tells systemd that a reload began; READY=1 (from the new
// process, or from this one when the reload failed) ends it.
func notifyReloading() error {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	usec := ts.Sec*1_000_000 + ts.Nsec/1000
	return sdNotify(fmt.Sprintf("RELOADING=1\nMONOTONIC_USEC=%d\nSTATUS=reloading\n", usec))
}
