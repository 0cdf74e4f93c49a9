package rules

import (
	"net/netip"

	"github.com/fjordlb/fjord/config"
)

func init() {
	// ipmask(mask4[,mask6]), as sample_conv_ipmask: an IPv4-mapped IPv6
	// address is IPv4 first; an IPv6 address without mask6 gives no
	// sample. Masks need not be contiguous.
	convFns["ipmask"] = func(_ *Txn, a []config.Arg, v Value) (Value, bool) {
		addr := v.A.Unmap()
		if addr.Is4() {
			return addrValue(andAddr4(addr.As4(), a[0].Mask.As4())), true
		}
		if len(a) < 2 || !addr.Is6() {
			return Value{}, false
		}
		b, m := addr.As16(), a[1].Mask.As16()
		for i := range b {
			b[i] &= m[i]
		}
		return addrValue(netip.AddrFrom16(b)), true
	}
}

func andAddr4(b, m [4]byte) netip.Addr {
	for i := range b {
		b[i] &= m[i]
	}
	return netip.AddrFrom4(b)
}
