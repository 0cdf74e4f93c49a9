package fix

import (
	"testing"

	"github.com/fjordlb/fjord/config"
)

// config reads fix_tag_value's argument with its own code (config
// imports no other fjord package); this keeps it in step with TagID.
func TestConfigReadsTheSameTags(t *testing.T) {
	for _, name := range []string{"BeginString", "bodylength", "CHECKSUM", "MsgType", "SenderCompID", "TargetCompID",
		"8", "08", "554", "10001", "0", "", "-1", "8x", "Password", "4294967296", "4294967304"} {
		expr := "req.payload(0,0),fix_tag_value(" + name + ")"
		text := "listen px\n  mode tcp\n  bind 127.0.0.1:8080\n  tcp-request content accept if { " + expr + " -m found }\n  server s 127.0.0.1:8081\n"
		cfg, err := config.Parse("fix.cfg", []byte(text), config.Options{Resolver: config.NoResolver})
		want := TagID(name)
		if want == 0 {
			if err == nil {
				t.Errorf("%s: config accepts it, TagID does not", expr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: config refuses it: %v", expr, err)
			continue
		}
		arg := cfg.Frontends()[0].TCPContent[0].Cond.Or[0][0].ACL.Terms[0].Expr.Convs[0].Args[0]
		if uint32(arg.Int) != want {
			t.Errorf("%s: config reads %d, TagID %d", expr, arg.Int, want)
		}
	}
}
