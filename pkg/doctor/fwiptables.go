package doctor

import (
	"fmt"
	"strings"
)

// iptablesHooks maps built-in chains to hooks; FORWARD never sees the host's own traffic.
var iptablesHooks = map[string]string{"PREROUTING": "prerouting", "INPUT": "input", "OUTPUT": "output", "POSTROUTING": "postrouting"}

// parseIptables turns ip6tables-save output into the model. It understands -p, --dport,
// --dports, --icmpv6-type, -i, -o, --ctstate and --state with their negations, and -j and
// -g; any other test makes a rule "may match".
func parseIptables(b []byte) (*fwRuleset, error) {
	rs := &fwRuleset{tool: "ip6tables", chains: map[string]*fwChain{}}
	table := ""
	get := func(name string) *fwChain {
		key := table + " " + name
		c := rs.chains[key]
		if c == nil {
			c = &fwChain{name: key, policy: "accept", accept: "ip6tables -t " + table + " -I " + name + " %s -j ACCEPT"}
			rs.chains[key] = c
		}
		return c
	}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#' || line == "COMMIT":
		case line[0] == '*':
			table = line[1:]
		case line[0] == ':':
			f := strings.Fields(line[1:])
			if len(f) < 2 || table == "" {
				return nil, fmt.Errorf("doctor: ip6tables-save line %d: %q", i+1, line)
			}
			c := get(f[0])
			if hook, ok := iptablesHooks[f[0]]; ok {
				c.hook = hook
				c.policy = strings.ToLower(f[1])
				rs.base = append(rs.base, c)
			}
		case strings.HasPrefix(line, "-A "):
			if table == "" {
				return nil, fmt.Errorf("doctor: ip6tables-save line %d: rule outside a table", i+1)
			}
			f := strings.Fields(line)
			c := get(f[1])
			r := parseIptablesRule(f[2:])
			r.text = line
			r.fix = fmt.Sprintf("ip6tables -t %s -D %s", table, strings.TrimPrefix(line, "-A "))
			c.rules = append(c.rules, r)
		}
	}
	rs.lookup = func(from *fwChain, target string) *fwChain {
		t, _, _ := strings.Cut(from.name, " ")
		return rs.chains[t+" "+target]
	}
	return rs, nil
}

// noVerdict are the common targets that let the packet go on to the next rule.
var noVerdict = map[string]bool{"LOG": true, "NFLOG": true, "MARK": true, "CONNMARK": true, "CT": true, "TRACE": true}

// parseIptablesRule parses the arguments of one -A line after the chain name.
func parseIptablesRule(args []string) fwRule {
	var r fwRule
	neg := false
	mayb := func(fwPacket) tri { return maybe }
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := ""
		if i+1 < len(args) {
			val = args[i+1]
		}
		var c fwCond
		switch a {
		case "!":
			neg = true
			continue
		case "-p", "--protocol":
			i++
			want := protoNumber(val)
			c = func(p fwPacket) tri { return triOf(p.l4proto() == want) }
		case "--dport", "--destination-port", "--dports", "--destination-ports":
			i++
			c = func(p fwPacket) tri {
				if !p.udp {
					return no
				}
				return portIn(val, p.port)
			}
		case "--sport", "--source-port", "--sports", "--source-ports":
			i++
			c = mayb
		case "--icmpv6-type":
			i++
			want := icmpv6Type(val)
			c = func(p fwPacket) tri {
				if p.udp {
					return no
				}
				return triOf(p.icmpType == want)
			}
		case "-i", "--in-interface", "-o", "--out-interface":
			i++
			in := a == "-i" || a == "--in-interface"
			c = func(p fwPacket) tri {
				if in == p.out {
					return maybe
				}
				return triOf(wildcardEq(val, p.iface))
			}
		case "--ctstate", "--state":
			i++
			c = func(p fwPacket) tri {
				for _, s := range strings.Split(strings.ToLower(val), ",") {
					if s == p.ctState() {
						return yes
					}
				}
				return no
			}
		case "-m", "--match", "-c":
			i++
			if a == "-c" {
				i++
			}
			continue
		case "-j", "--jump", "-g", "--goto":
			switch up := strings.ToUpper(val); up {
			case "ACCEPT", "DROP", "REJECT", "RETURN":
				r.verdict = strings.ToLower(up)
			default:
				if noVerdict[val] {
					break
				}
				r.verdict, r.target = "jump", val
				if a == "-g" || a == "--goto" {
					r.verdict = "goto"
				}
			}
			return r // what follows are the target's own options
		default:
			// An unknown test: skip its values; the rule may or may not match.
			for i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") && args[i+1] != "!" {
				i++
			}
			if strings.HasPrefix(a, "-") {
				c = mayb
			}
		}
		if c == nil {
			continue
		}
		if neg {
			inner := c
			c = func(p fwPacket) tri { return not(inner(p)) }
			neg = false
		}
		r.conds = append(r.conds, c)
	}
	return r
}

// portIn reports whether port is in an iptables port list: "4242", "4000:5000" or "53,4242".
func portIn(list string, port int) tri {
	for _, part := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(part, ":")
		l, ok1 := asInt(lo).(int)
		h := l
		ok2 := true
		if isRange {
			h, ok2 = asInt(hi).(int)
		}
		if !ok1 || !ok2 {
			return maybe
		}
		if l <= port && port <= h {
			return yes
		}
	}
	return no
}
