package mqtt

import (
	"fmt"
	"testing"

	"github.com/fjordlb/fjord/config"
)

// config reads mqtt_field_value's arguments with its own table (config
// imports no other fjord package); this keeps the two in step: every
// packet type and field name, as a number or a name, gives the numbers
// TypeID and FieldID give, or the same refusal.
func TestConfigReadsTheSameFields(t *testing.T) {
	var names []string
	Fields(func(name string, _ int, _ []int) { names = append(names, name) })
	names = append(names, "FLAGS", "nothing", "0", "43")
	types := []string{"0", "16", "connected"}
	for typ := Connect; typ < numTypes; typ++ {
		types = append(types, typeNames[typ], fmt.Sprint(typ))
	}
	for _, ts := range types {
		for _, name := range names {
			expr := fmt.Sprintf("req.payload(0,0),mqtt_field_value(%s,%s)", ts, name)
			text := "listen px\n  mode tcp\n  bind 127.0.0.1:8080\n  tcp-request content accept if { " + expr + " -m found }\n  server s 127.0.0.1:8081\n"
			cfg, err := config.Parse("mqtt.cfg", []byte(text), config.Options{Resolver: config.NoResolver})
			typ := TypeID(ts)
			field := 0
			if typ != 0 {
				field = FieldID(typ, name)
			}
			if field == 0 {
				if err == nil {
					t.Errorf("%s: config accepts it, mqtt does not", expr)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: config refuses it: %v", expr, err)
				continue
			}
			args := cfg.Frontends()[0].TCPContent[0].Cond.Or[0][0].ACL.Terms[0].Expr.Convs[0].Args
			if int(args[0].Int) != typ || int(args[1].Int) != field {
				t.Errorf("%s: config reads %d,%#x; mqtt %d,%#x", expr, args[0].Int, args[1].Int, typ, field)
			}
		}
	}
}
