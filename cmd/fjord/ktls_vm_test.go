package main

import (
	"os"
	"testing"
)

// TestKTLSProbeFindsKernelTLS checks probeKTLS on a kernel known to have
// kTLS: the guest of `make test-ktls` (.ci/ktlsvm.sh), which sets
// FJORD_EXPECT_KTLS=1. Elsewhere it skips, since a kernel without
// CONFIG_TLS (this project's development host) rightly reports none.
func TestKTLSProbeFindsKernelTLS(t *testing.T) {
	err := probeKTLS()
	if os.Getenv("FJORD_EXPECT_KTLS") != "1" {
		t.Skipf("FJORD_EXPECT_KTLS is not 1 (make test-ktls sets it in its guest); the probe here says: %v", err)
	}
	if err != nil {
		t.Fatalf("FJORD_EXPECT_KTLS=1, but the probe found no kTLS: %v", err)
	}
	t.Log("probe: setsockopt TCP_ULP tls succeeded: the kernel has kTLS")
}
