package rules

import (
	"net/netip"
	"testing"

	"github.com/fjordlb/fjord/config"
)

func TestConverterIPMask(t *testing.T) {
	// HAProxy's reg-test http-rules/converters_ipmask_concat_strcmp_field_word.vtc.
	head := getHead("/",
		"Addr1: 2001:db8::1\r\n",
		"Addr2: 2001:db8::bad:c0f:ffff\r\n",
		"Addr3: 2001:db8:c001:c01a:ffff:ffff:10:ffff\r\n",
		"Addr4: ::FFFF:192.168.1.101\r\n",
		"Addr5: 192.168.1.2\r\n",
		"Addr6: 192.168.1.255\r\n",
	)
	src := func(tx *Txn) { tx.Src = netip.MustParseAddrPort("192.168.1.101:1234") }
	a := config.TypeAddr
	runSampleCases(t, head, src, []sampleCase{
		{"src,ipmask(24)", "192.168.1.0", a},
		{"src,ipmask(16)", "192.168.0.0", a},
		{"src,ipmask(8)", "192.0.0.0", a},
		{"hdr(addr1),ipmask(24,128)", "2001:db8::1", a},
		{"hdr(addr2),ipmask(24,64)", "2001:db8::", a},
		{"hdr(addr2),ipmask(24,128)", "2001:db8::bad:c0f:ffff", a},
		{"hdr(addr2),ipmask(24,120)", "2001:db8::bad:c0f:ff00", a},
		{"hdr(addr2),ipmask(24,ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00)", "2001:db8::bad:c0f:ff00", a},
		{"hdr(addr2),ipmask(24,ffff:ffff:ffff:ffff:ffff:ffff:ffff:fee0)", "2001:db8::bad:c0f:fee0", a},
		{"hdr(addr3),ipmask(24,64)", "2001:db8:c001:c01a::", a},
		{"hdr(addr3),ipmask(24,ffff:ffff:ffff:ffff:0:0:0:0)", "2001:db8:c001:c01a::", a},
		{"hdr(addr3),ipmask(24,ffff:ffff:ffff:ffff::)", "2001:db8:c001:c01a::", a},
		{"hdr(addr3),ipmask(24,ffff:ffff:ffff:ffff:0:ffff:ffff:0)", "2001:db8:c001:c01a:0:ffff:10:0", a},
		{"hdr(addr3),ipmask(24,ffff:ffff:ffff:ffff:c001:c001:0000:0000)", "2001:db8:c001:c01a:c001:c001::", a},
		{"hdr(addr4),ipmask(32,64)", "192.168.1.101", a},
		{"hdr(addr5),ipmask(24)", "192.168.1.0", a},
		{"hdr(addr6),ipmask(24)", "192.168.1.0", a},
		{"hdr(addr6),ipmask(25)", "192.168.1.128", a},
		// Beyond the reg-test.
		{"hdr(addr1),ipmask(24)", noSample, 0}, // IPv6 without mask6
		{"str(10.1.2.3),ipmask(255.0.255.0)", "10.0.2.0", a},
		{"str(10.1.2.3),ipmask(0)", "0.0.0.0", a},
		{"int(3232235877),ipmask(24)", "192.168.1.0", a},
		{"str(10.1.2.3:8080),ipmask(24)", "10.1.2.0", a}, // buf2ip stops after the address
		{"str(nope),ipmask(24)", noSample, 0},
	})
	runErrorCases(t, map[string][]string{
		"src,ipmask(33)":            {"argument 1 of 'ipmask'", "'33' is not an IPv4 mask"},
		"src,ipmask(255.0.0)":       {"argument 1 of 'ipmask'", "not an IPv4 mask"},
		"src,ipmask(24,129)":        {"argument 2 of 'ipmask'", "'129' is not an IPv6 mask"},
		"src,ipmask(24,1.2.3.4)":    {"argument 2 of 'ipmask'", "not an IPv6 mask"},
		"src,ipmask":                {"'ipmask' takes 1 to 2 argument(s), found 0"},
		"req.body,ipmask(24)":       {"converter 'ipmask' cannot be applied", "takes an address sample, and is given a binary one"},
		"always_true,ipmask(24)":    {"converter 'ipmask' cannot be applied"},
		"src,ipmask(255.255.0.255)": nil,
	})
}
