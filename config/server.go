package config

import (
	"fmt"
	"math"
	"net/netip"
	"time"
)

func (p *parser) kwServer(px *Proxy, pos Pos, args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("'server' expects a name and an address")
	}
	name := args[0]
	if err := checkName("server", name); err != nil {
		return err
	}
	for _, s := range px.Servers {
		if s.Name == name {
			return fmt.Errorf("%s has two servers named '%s' (the other is at %s)", px, name, s.Pos)
		}
	}
	s := px.DefaultServer
	s.Pos, s.Name = pos, name
	u, isUnix, err := parseUnixAddr(args[1], false)
	if err != nil {
		return fmt.Errorf("server '%s': '%s': %v", name, args[1], err)
	}
	if isUnix {
		s.Unix = u
	} else {
		addr, mode, delta, err := parseServerAddr(p.resolver, args[1])
		if err != nil {
			return fmt.Errorf("server '%s': %v", name, err)
		}
		s.Addr, s.PortMode, s.PortDelta = addr, mode, delta
	}
	// The TLS options the default-server set, in a state of the
	// server's own (tlsserver.go).
	p.inheritServerTLS(&s, &px.DefaultServer)
	if st := p.srvTLS[&s]; st != nil {
		st.defSSL = st.ssl == 1
	}
	if err := parseServerOptions(p, &s, pos, args[2:], false); err != nil {
		delete(p.srvTLS, &s)
		return fmt.Errorf("server '%s': %v", name, err)
	}
	if s.Unix.IsValid() {
		// A default-server's check port and address are for the
		// servers with an IP address; this one's checks connect to its
		// socket (its own line cannot set them: parseServerOptions).
		s.CheckPort, s.CheckAddr = 0, netip.Addr{}
	}
	px.Servers = append(px.Servers, &s)
	return nil
}

func (p *parser) kwDefaultServer(px *Proxy, pos Pos, args []string) error {
	if err := parseServerOptions(p, &px.DefaultServer, pos, args, true); err != nil {
		return fmt.Errorf("default-server: %v", err)
	}
	return nil
}

// parseServerOptions applies the options of a "server" or "default-server"
// (def) line to s.
func parseServerOptions(p *parser, s *Server, pos Pos, opts []string, def bool) error {
	value := func() (string, error) {
		if len(opts) < 2 {
			return "", fmt.Errorf("option '%s' expects a value", opts[0])
		}
		v := opts[1]
		opts = opts[1:]
		return v, nil
	}
	positiveDuration := func(dst *time.Duration) error {
		name := opts[0]
		v, err := value()
		if err != nil {
			return err
		}
		d, err := parseDuration(v)
		if err != nil {
			return fmt.Errorf("'%s': %v", name, err)
		}
		if d <= 0 && name != "slowstart" {
			return fmt.Errorf("'%s' must be greater than zero", name)
		}
		*dst = d
		return nil
	}
	intOpt := func(dst *int, min, max int) error {
		name := opts[0]
		v, err := value()
		if err != nil {
			return err
		}
		n, err := parseInt(name, v, min, max)
		if err != nil {
			return err
		}
		*dst = n
		return nil
	}
	for len(opts) > 0 {
		var err error
		switch o := opts[0]; o {
		case "check":
			s.Check = true
		case "no-check":
			s.Check = false
		case "backup":
			s.Backup = true
		case "no-backup":
			s.Backup = false
		case "disabled":
			s.Disabled = true
		case "enabled":
			s.Disabled = false
		case "send-proxy":
			s.SendProxy = 1
		case "send-proxy-v2":
			s.SendProxy = 2
		case "no-send-proxy", "no-send-proxy-v2":
			s.SendProxy = 0
		case "inter":
			err = positiveDuration(&s.Inter)
		case "fastinter":
			err = positiveDuration(&s.FastInter)
		case "downinter":
			err = positiveDuration(&s.DownInter)
		case "slowstart":
			err = positiveDuration(&s.SlowStart)
		case "rise":
			err = intOpt(&s.Rise, 1, math.MaxInt32)
		case "fall":
			err = intOpt(&s.Fall, 1, math.MaxInt32)
		case "port":
			if err = unixCheckOption(s, o, def); err == nil {
				err = intOpt(&s.CheckPort, 1, 65535)
			}
		case "weight":
			err = intOpt(&s.Weight, 0, maxWeight)
		case "maxconn":
			err = intOpt(&s.MaxConn, 0, math.MaxInt32)
		case "maxqueue":
			err = intOpt(&s.MaxQueue, 0, math.MaxInt32)
		case "error-limit":
			err = intOpt(&s.ErrorLimit, 1, math.MaxInt32)
		case "addr":
			var v string
			if err = unixCheckOption(s, o, def); err != nil {
				break
			}
			if v, err = value(); err == nil {
				if s.CheckAddr, err = resolveHost(p.resolver, v); err != nil {
					err = fmt.Errorf("'addr': %v", err)
				}
			}
		case "observe":
			var v string
			if v, err = value(); err == nil {
				var ok bool
				if s.Observe, ok = observeWords.parse(v); !ok {
					err = fmt.Errorf("'observe' expects %s, not '%s'", observeWords.alternatives(), v)
				}
			}
		case "on-error":
			var v string
			if v, err = value(); err == nil {
				var ok bool
				if s.OnError, ok = onErrorWords.parse(v); !ok {
					err = fmt.Errorf("'on-error' expects %s, not '%s'", onErrorWords.alternatives(), v)
				}
			}
		case "cookie", "resolvers", "track", "agent-check", "id":
			err = fmt.Errorf("option '%s' is not supported by fjord", o)
		default:
			var n int
			if n, err = p.serverTLSOption(s, pos, opts, def); err == nil && n == 0 {
				err = fmt.Errorf("unknown option '%s' (supported: check, inter, fastinter, downinter, rise, fall, port, addr, weight, backup, maxconn, maxqueue, disabled, slowstart, send-proxy, send-proxy-v2, observe, error-limit, on-error; for TLS: %s)", o, serverTLSOptionNames())
			}
			if n > 1 {
				opts = opts[n-1:]
			}
		}
		if err != nil {
			return err
		}
		opts = opts[1:]
	}
	return nil
}

// unixCheckOption refuses 'port' and 'addr' on the line of a server
// reached over a Unix socket: its checks connect to that socket, and a
// check on another address would say nothing of it.
func unixCheckOption(s *Server, opt string, def bool) error {
	if def || !s.Unix.IsValid() {
		return nil
	}
	return fmt.Errorf("'%s' sets where the checks of a server with an IP address connect; the checks of %s connect to that Unix socket", opt, s.Unix)
}
