// Package sysctl tunes the kernel and process limits a load balancer needs:
// it reads the values in force, compares them with what the configuration
// requires, applies what the process is allowed to change, and persists
// settings that must survive a reboot.
//
// The open files limit is the one every configuration depends on:
// NoFileNeeded computes RLIMIT_NOFILE from maxconn and the rest of the
// configuration the way HAProxy computes its maxsock, and RaiseNoFile
// applies it or explains what the operator must change.
//
// Two settings are taken back: a port the tuner adds to
// net.ipv4.ip_local_reserved_ports is recorded in the network namespace's
// Ledger, with the processes that need it, and released once none runs
// (Tuner.Release), so that reservations do not pile up over restarts; and
// the ephemeral port range the tuner widened is put back first, so that
// the ports those reservations protected are not handed out again.
//
// The package knows nothing of serving, HTTP or the rest of fjord; it
// imports no other fjord package. It only asks the kernel about sockets
// (which ports listen, through NETLINK_SOCK_DIAG or /proc/net/tcp; the
// network namespace's cookie), and never listens itself.
package sysctl
