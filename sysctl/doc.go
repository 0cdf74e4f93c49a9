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
// The package knows nothing of sockets, HTTP or the rest of fjord; it
// imports no other fjord package.
package sysctl
