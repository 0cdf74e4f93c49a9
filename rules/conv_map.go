package rules

import (
	"encoding/binary"
	"net/netip"
	"regexp"
	"slices"

	"github.com/fjordlb/fjord/config"
)

// The map converters: map, map_<match>[_<output>] (HAProxy's src/map.c
// and the match functions of src/pattern.c). config reads each map file
// once and checks its keys and values for every converter using it;
// rules builds one lookup structure per file and match method, shared by
// every converter of a configuration (the Compiler's), and one array of
// output values per file and output type. Lookups allocate nothing,
// except map_regm's (Go's regexp gives match positions in a new slice).
//
// Which entry is found when several match is HAProxy's: str, beg and ip
// are trees there, so str finds the exact key (the first, when a key is
// repeated), beg the longest key that begins the input, and ip the most
// specific network; sub, dir, dom, end, reg, regm and int are lists, and
// the first matching line of the file wins.

func init() {
	for _, s := range config.Converters() {
		if s.Map == nil {
			continue
		}
		mc, out := *s.Map, s.Out
		convMakers[s.Name] = func(cp *Compiler, a []config.Arg) convFn {
			return cp.mapConverter(a, mc, out)
		}
	}
}

// mapKey and valuesKey name what a Compiler shares between converters.
type mapKey struct {
	file  *config.MapFile
	match config.MatchMethod
}

type valuesKey struct {
	file *config.MapFile
	out  config.SampleType
}

func (cp *Compiler) mapConverter(a []config.Arg, mc config.MapConv, out config.SampleType) convFn {
	file := a[0].Map
	idx := cp.maps[mapKey{file, mc.Match}]
	if idx == nil {
		idx = newMapIndex(file, mc.Match)
		cp.maps[mapKey{file, mc.Match}] = idx
	}
	vals := cp.mapValues[valuesKey{file, out}]
	if vals == nil {
		vals = newMapValues(file, out)
		cp.mapValues[valuesKey{file, out}] = vals
	}
	var def Value
	hasDef := len(a) > 1
	if hasDef {
		switch out {
		case config.TypeInt:
			def = intValue(a[1].Int)
		case config.TypeAddr:
			def = addrValue(a[1].Addr)
		default:
			def = strValue(strBytes(a[1].Str))
		}
	}
	miss := func() (Value, bool) { return def, hasDef }
	if mc.Regm {
		return func(t *Txn, _ []config.Arg, v Value) (Value, bool) {
			for i, re := range idx.res {
				m := re.FindSubmatchIndex(v.B)
				if m == nil {
					continue
				}
				off := len(t.scratch)
				var ok bool
				if t.scratch, ok = appendExpReplace(t.scratch, v.B, file.Entries[i].Value, m); !ok {
					t.scratch = t.scratch[:off]
					return Value{}, false
				}
				return strValue(t.built(off)), true
			}
			return miss()
		}
	}
	return func(_ *Txn, _ []config.Arg, v Value) (Value, bool) {
		if i := idx.find(v); i >= 0 {
			return vals[i], true
		}
		return miss()
	}
}

// newMapValues gives the file's values as out.
func newMapValues(file *config.MapFile, out config.SampleType) []Value {
	vals := make([]Value, len(file.Entries))
	for i, e := range file.Entries {
		switch out {
		case config.TypeInt:
			vals[i] = intValue(file.Ints()[i])
		case config.TypeAddr:
			vals[i] = addrValue(file.Addrs()[i])
		default:
			vals[i] = strValue(strBytes(e.Value))
		}
	}
	return vals
}

// mapIndex finds a map file's entry for a sample with one match method.
type mapIndex struct {
	file  *config.MapFile
	match config.MatchMethod

	exact map[string]int32 // str, and beg by key length
	lens  []int            // beg: the key lengths, longest first

	res    []*regexp.Regexp // reg, regm
	ranges []config.IntRange
	v4     v4Levels
	v6     v6Levels
	masks  []int32 // ip: the IPv4 keys with a netmask that is not contiguous, in file order
}

func newMapIndex(file *config.MapFile, match config.MatchMethod) *mapIndex {
	x := &mapIndex{file: file, match: match}
	switch match {
	case config.MatchStr, config.MatchBeg:
		x.exact = make(map[string]int32, len(file.Entries))
		for i, e := range file.Entries {
			if _, dup := x.exact[e.Key]; !dup {
				x.exact[e.Key] = int32(i)
				if !slices.Contains(x.lens, len(e.Key)) {
					x.lens = append(x.lens, len(e.Key))
				}
			}
		}
		slices.SortFunc(x.lens, func(a, b int) int { return b - a })
	case config.MatchReg:
		x.res = file.Regexps()
	case config.MatchInt:
		x.ranges = file.IntRanges()
	case config.MatchIP:
		for i, ip := range file.IPs() {
			switch {
			case !ip.Net.IsValid():
				x.masks = append(x.masks, int32(i))
			case ip.Net.Addr().Is4():
				x.v4.add(ip.Net.Addr().As4(), ip.Net.Bits(), int32(i))
			default:
				x.v6.add(ip.Net.Addr().As16(), ip.Net.Bits(), int32(i))
			}
		}
	}
	return x
}

// find returns the index of the entry v matches, or -1. v has the type
// the converter takes: a string, an integer or an address.
func (x *mapIndex) find(v Value) int {
	entries := x.file.Entries
	switch x.match {
	case config.MatchStr:
		if i, ok := x.exact[string(v.B)]; ok {
			return int(i)
		}
	case config.MatchBeg:
		for _, n := range x.lens {
			if n > len(v.B) {
				continue
			}
			if i, ok := x.exact[string(v.B[:n])]; ok {
				return int(i)
			}
		}
	case config.MatchSub, config.MatchDir, config.MatchDom, config.MatchEnd:
		for i := range entries {
			if matchString(x.match, false, v.B, entries[i].Key) {
				return i
			}
		}
	case config.MatchReg:
		for i, re := range x.res {
			if re.Match(v.B) {
				return i
			}
		}
	case config.MatchInt:
		for i, r := range x.ranges {
			if r.Contains(v.I) {
				return i
			}
		}
	case config.MatchIP:
		return x.findIP(v.A)
	}
	return -1
}

// findIP is pat_match_ip: an IPv4 address is looked up among the IPv4
// networks, then as ::ffff:a.b.c.d among the IPv6 ones; an IPv6 address
// among the IPv6 networks, then, when it carries an IPv4 address
// (::ffff:a.b.c.d, ::a.b.c.d, 2002:AABB:CCDD::/16), as that among the
// IPv4 ones. The most specific network wins; the keys with a netmask
// that is not contiguous come last, in file order.
func (x *mapIndex) findIP(a netip.Addr) int {
	var v4 [4]byte
	has4 := false
	if a.Is4() {
		v4, has4 = a.As4(), true
		if i := x.v4.longest(v4); i >= 0 {
			return i
		}
		if i := x.v6.longest(netip.AddrFrom4(v4).As16()); i >= 0 {
			return i
		}
	} else if a.Is6() {
		b := a.As16()
		if i := x.v6.longest(b); i >= 0 {
			return i
		}
		switch {
		case binary.BigEndian.Uint64(b[:8]) == 0 && (binary.BigEndian.Uint32(b[8:12]) == 0 || binary.BigEndian.Uint32(b[8:12]) == 0xffff):
			v4, has4 = [4]byte(b[12:16]), true
		case b[0] == 0x20 && b[1] == 0x02:
			v4, has4 = [4]byte(b[2:6]), true
		}
		if has4 {
			if i := x.v4.longest(v4); i >= 0 {
				return i
			}
		}
	}
	if !has4 {
		return -1
	}
	ips := x.file.IPs()
	for _, i := range x.masks {
		ip := &ips[i]
		if (binary.BigEndian.Uint32(v4[:])^binary.BigEndian.Uint32(ip.Addr4[:]))&binary.BigEndian.Uint32(ip.Mask4[:]) == 0 {
			return int(i)
		}
	}
	return -1
}

// v4Levels and v6Levels are longest-prefix lookups: the networks of
// each prefix length in a map of their masked addresses, longest length
// first.
type (
	v4Levels []v4Level
	v4Level  struct {
		bits int
		nets map[uint32]int32
	}
	v6Levels []v6Level
	v6Level  struct {
		bits int
		nets map[[16]byte]int32
	}
)

func mask4(a uint32, bits int) uint32 {
	if bits == 0 {
		return 0
	}
	return a & (^uint32(0) << (32 - bits))
}

func mask16(a [16]byte, bits int) [16]byte {
	for i := range a {
		switch {
		case bits >= 8:
			bits -= 8
		case bits > 0:
			a[i] &= ^byte(0) << (8 - bits)
			bits = 0
		default:
			a[i] = 0
		}
	}
	return a
}

// add records entry i for addr/bits, unless an earlier line has it.
func (ls *v4Levels) add(addr [4]byte, bits int, i int32) {
	j := slices.IndexFunc(*ls, func(l v4Level) bool { return l.bits == bits })
	if j < 0 {
		*ls = append(*ls, v4Level{bits, map[uint32]int32{}})
		j = len(*ls) - 1
	}
	k := mask4(binary.BigEndian.Uint32(addr[:]), bits)
	if _, dup := (*ls)[j].nets[k]; !dup {
		(*ls)[j].nets[k] = i
	}
	slices.SortFunc(*ls, func(a, b v4Level) int { return b.bits - a.bits })
}

func (ls *v6Levels) add(addr [16]byte, bits int, i int32) {
	j := slices.IndexFunc(*ls, func(l v6Level) bool { return l.bits == bits })
	if j < 0 {
		*ls = append(*ls, v6Level{bits, map[[16]byte]int32{}})
		j = len(*ls) - 1
	}
	k := mask16(addr, bits)
	if _, dup := (*ls)[j].nets[k]; !dup {
		(*ls)[j].nets[k] = i
	}
	slices.SortFunc(*ls, func(a, b v6Level) int { return b.bits - a.bits })
}

// longest returns the entry of the longest network holding addr, or -1.
func (ls v4Levels) longest(addr [4]byte) int {
	a := binary.BigEndian.Uint32(addr[:])
	for _, l := range ls {
		if i, ok := l.nets[mask4(a, l.bits)]; ok {
			return int(i)
		}
	}
	return -1
}

func (ls v6Levels) longest(addr [16]byte) int {
	for _, l := range ls {
		if i, ok := l.nets[mask16(addr, l.bits)]; ok {
			return int(i)
		}
	}
	return -1
}
