package doctor

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// nftDoc is `nft -j list ruleset` (libnftables-json(5)).
type nftDoc struct {
	Nftables []map[string]json.RawMessage `json:"nftables"`
}

type nftChain struct {
	Family string `json:"family"`
	Table  string `json:"table"`
	Name   string `json:"name"`
	Hook   string `json:"hook"`
	Policy string `json:"policy"`
}

type nftRule struct {
	Family string            `json:"family"`
	Table  string            `json:"table"`
	Chain  string            `json:"chain"`
	Handle int               `json:"handle"`
	Expr   []json.RawMessage `json:"expr"`
}

// parseNft turns nft's JSON ruleset into the model. Only the ip6 and inet families see
// IPv6 packets on the host's own hooks; ip, arp, bridge and netdev tables are left out.
func parseNft(b []byte) (*fwRuleset, error) {
	var doc nftDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("doctor: nft -j list ruleset: %w", err)
	}
	rs := &fwRuleset{tool: "nft", chains: map[string]*fwChain{}}
	key := func(family, table, chain string) string { return family + " " + table + " " + chain }
	for _, obj := range doc.Nftables {
		if raw, ok := obj["chain"]; ok {
			var c nftChain
			if err := json.Unmarshal(raw, &c); err != nil {
				return nil, fmt.Errorf("doctor: nft chain: %w", err)
			}
			if c.Family != "ip6" && c.Family != "inet" {
				continue
			}
			fc := &fwChain{name: key(c.Family, c.Table, c.Name), hook: c.Hook, policy: c.Policy,
				accept: "nft insert rule " + key(c.Family, c.Table, c.Name) + " %s accept"}
			if fc.policy == "" {
				fc.policy = "accept"
			}
			rs.chains[fc.name] = fc
			if fc.hook != "" {
				rs.base = append(rs.base, fc)
			}
		}
	}
	for _, obj := range doc.Nftables {
		raw, ok := obj["rule"]
		if !ok {
			continue
		}
		var r nftRule
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("doctor: nft rule: %w", err)
		}
		c := rs.chains[key(r.Family, r.Table, r.Chain)]
		if c == nil {
			continue
		}
		fr := fwRule{fix: fmt.Sprintf("nft delete rule %s %s %s handle %d", r.Family, r.Table, r.Chain, r.Handle)}
		var text []string
		for _, e := range r.Expr {
			t, err := addNftStatement(&fr, e)
			if err != nil {
				return nil, fmt.Errorf("doctor: nft rule %s handle %d: %w", c.name, r.Handle, err)
			}
			if t != "" {
				text = append(text, t)
			}
		}
		fr.text = strings.Join(text, " ") + fmt.Sprintf(" (handle %d)", r.Handle)
		c.rules = append(c.rules, fr)
	}
	rs.lookup = func(from *fwChain, target string) *fwChain {
		f := strings.Fields(from.name)
		return rs.chains[key(f[0], f[1], target)]
	}
	return rs, nil
}

// addNftStatement adds one statement of a rule's expr array to r and returns its text.
func addNftStatement(r *fwRule, raw json.RawMessage) (string, error) {
	var st map[string]json.RawMessage
	if err := json.Unmarshal(raw, &st); err != nil {
		return "", err
	}
	for kind, body := range st {
		switch kind {
		case "match":
			var m struct {
				Op    string          `json:"op"`
				Left  json.RawMessage `json:"left"`
				Right json.RawMessage `json:"right"`
			}
			if err := json.Unmarshal(body, &m); err != nil {
				return "", err
			}
			f := nftField(m.Left)
			r.conds = append(r.conds, matchCond(f, m.Op, m.Right))
			return f.name + " " + m.Op + " " + string(m.Right), nil
		case "accept", "drop", "return":
			r.verdict = kind
			return kind, nil
		case "reject":
			r.verdict = "reject"
			return "reject", nil
		case "jump", "goto":
			var t struct {
				Target string `json:"target"`
			}
			if err := json.Unmarshal(body, &t); err != nil {
				return "", err
			}
			r.verdict, r.target = kind, t.Target
			return kind + " " + t.Target, nil
		case "queue":
			r.verdict = "drop" // to user space: gone unless a program there passes it on
			return "queue", nil
		case "limit", "quota":
			r.conds = append(r.conds, func(fwPacket) tri { return maybe })
			return kind, nil
		case "vmap":
			var v struct {
				Key  json.RawMessage `json:"key"`
				Data json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(body, &v); err != nil {
				return "", err
			}
			r.vmap = nftVmap(nftField(v.Key), v.Data)
			return "vmap " + nftField(v.Key).name, nil
		case "xt":
			r.conds = append(r.conds, func(fwPacket) tri { return maybe }) // an iptables-nft extension
			return "xt", nil
		}
	}
	return "", nil // counter, log, comment, mangle...: no effect on the verdict
}

// mldSource stands for the link-local address every MLD message comes from.
var mldSource = netip.MustParseAddr("fe80::1")

// nftFieldOf is a packet field a match tests.
type nftFieldOf struct {
	name string
	// get returns the packet's value (a number or a string), or no when the match implies a
	// protocol the packet does not have, or maybe when the doctor cannot know.
	get func(p fwPacket) (any, tri)
	// norm turns a literal of the rule into the form get returns.
	norm func(v any) any
}

var unknownField = nftFieldOf{name: "?", get: func(fwPacket) (any, tri) { return nil, maybe }}

// nftField decodes the left side of a match.
func nftField(raw json.RawMessage) nftFieldOf {
	var l struct {
		Payload *struct{ Protocol, Field string } `json:"payload"`
		Meta    *struct{ Key string }             `json:"meta"`
		Ct      *struct{ Key string }             `json:"ct"`
		Fib     *struct {
			Result string   `json:"result"`
			Flags  []string `json:"flags"`
		} `json:"fib"`
	}
	if json.Unmarshal(raw, &l) != nil {
		return unknownField
	}
	switch {
	case l.Payload != nil:
		return payloadField(l.Payload.Protocol, l.Payload.Field)
	case l.Meta != nil:
		return metaField(l.Meta.Key)
	case l.Ct != nil && l.Ct.Key == "state":
		return nftFieldOf{name: "ct state", get: func(p fwPacket) (any, tri) { return p.ctState(), yes }}
	case l.Ct != nil && l.Ct.Key == "status":
		// Neither channel datagrams nor MLD messages are NATed or expected.
		return nftFieldOf{name: "ct status", get: func(fwPacket) (any, tri) { return "", yes }}
	case l.Fib != nil && l.Fib.Result == "type" && len(l.Fib.Flags) > 0 && l.Fib.Flags[0] == "daddr":
		// Both go to multicast addresses.
		return nftFieldOf{name: "fib daddr type", get: func(fwPacket) (any, tri) { return "multicast", yes }}
	}
	return unknownField
}

func payloadField(proto, field string) nftFieldOf {
	name := proto + " " + field
	switch proto {
	case "udp", "th":
		if field == "dport" {
			return nftFieldOf{name: name, norm: asInt, get: func(p fwPacket) (any, tri) {
				if !p.udp {
					return nil, no
				}
				return p.port, yes
			}}
		}
		return nftFieldOf{name: name, get: func(p fwPacket) (any, tri) {
			if !p.udp && proto == "udp" {
				return nil, no
			}
			return nil, maybe
		}}
	case "icmpv6":
		switch field {
		case "type":
			return nftFieldOf{name: name, norm: icmpv6Type, get: func(p fwPacket) (any, tri) {
				if p.udp {
					return nil, no
				}
				return p.icmpType, yes
			}}
		case "code":
			return nftFieldOf{name: name, norm: asInt, get: func(p fwPacket) (any, tri) {
				if p.udp {
					return nil, no
				}
				return 0, yes
			}}
		}
		return nftFieldOf{name: name, get: func(p fwPacket) (any, tri) {
			if p.udp {
				return nil, no
			}
			return nil, maybe
		}}
	case "ip6":
		switch field {
		case "nexthdr":
			return nftFieldOf{name: name, norm: protoNumber, get: func(p fwPacket) (any, tri) { return p.nexthdr(), yes }}
		case "saddr":
			// MLD messages come from a link-local address (RFC 3810 §5); a channel
			// datagram's source is the server's, unknown here.
			return nftFieldOf{name: name, get: func(p fwPacket) (any, tri) {
				if p.udp {
					return nil, maybe
				}
				return mldSource, yes
			}}
		}
		return nftFieldOf{name: name, get: func(fwPacket) (any, tri) { return nil, maybe }}
	case "ip", "tcp", "icmp", "igmp", "sctp", "dccp", "arp", "esp", "ah", "comp":
		return nftFieldOf{name: name, get: func(fwPacket) (any, tri) { return nil, no }}
	}
	return nftFieldOf{name: name, get: func(fwPacket) (any, tri) { return nil, maybe }}
}

func metaField(key string) nftFieldOf {
	name := "meta " + key
	switch key {
	case "l4proto":
		return nftFieldOf{name: name, norm: protoNumber, get: func(p fwPacket) (any, tri) { return p.l4proto(), yes }}
	case "nfproto":
		return nftFieldOf{name: name, norm: func(v any) any {
			switch v {
			case "ipv6", 10.0:
				return 10
			case "ipv4", 2.0:
				return 2
			}
			return v
		}, get: func(fwPacket) (any, tri) { return 10, yes }}
	case "iifname", "iif", "oifname", "oif":
		in := key[0] == 'i'
		return nftFieldOf{name: name, get: func(p fwPacket) (any, tri) {
			if in == p.out {
				return nil, maybe // not set on that hook; let it be
			}
			return p.iface, yes
		}}
	case "pkttype":
		return nftFieldOf{name: name, get: func(p fwPacket) (any, tri) {
			if p.out {
				return nil, maybe
			}
			return "multicast", yes
		}}
	}
	return nftFieldOf{name: name, get: func(fwPacket) (any, tri) { return nil, maybe }}
}

// matchCond builds the test of one match: left op right.
func matchCond(f nftFieldOf, op string, right json.RawMessage) fwCond {
	var r any
	if json.Unmarshal(right, &r) != nil {
		return func(fwPacket) tri { return maybe }
	}
	return func(p fwPacket) tri {
		v, ok := f.get(p)
		if ok != yes {
			return ok
		}
		switch op {
		case "==", "in":
			return nftContains(f, r, v)
		case "!=":
			return not(nftContains(f, r, v))
		case "<", ">", "<=", ">=":
			n, isNum := v.(int)
			lit, isLit := r.(float64)
			if !isNum || !isLit {
				return maybe
			}
			x := int(lit)
			return triOf(op == "<" && n < x || op == ">" && n > x || op == "<=" && n <= x || op == ">=" && n >= x)
		}
		return maybe
	}
}

// nftContains reports whether v is in the right side: a literal, a set, a range or a prefix.
func nftContains(f nftFieldOf, r any, v any) tri {
	switch r := r.(type) {
	case []any: // an anonymous set, as nft writes a ct state list
		res := no
		for _, e := range r {
			res = max(res, nftContains(f, e, v))
		}
		return res
	case map[string]any:
		if set, ok := r["set"].([]any); ok {
			res := no
			for _, e := range set {
				res = max(res, nftContains(f, e, v))
			}
			return res
		}
		if rg, ok := r["range"].([]any); ok && len(rg) == 2 {
			n, isNum := v.(int)
			lo, ok1 := norm(f, rg[0]).(int)
			hi, ok2 := norm(f, rg[1]).(int)
			if !isNum || !ok1 || !ok2 {
				return maybe
			}
			return triOf(lo <= n && n <= hi)
		}
		if pf, ok := r["prefix"].(map[string]any); ok {
			a, isAddr := v.(netip.Addr)
			base, err := netip.ParseAddr(fmt.Sprint(pf["addr"]))
			bits, isNum := pf["len"].(float64)
			if !isAddr || err != nil || !isNum {
				return maybe
			}
			return triOf(netip.PrefixFrom(base, int(bits)).Masked().Contains(a))
		}
		return maybe // concatenation...
	case string:
		if strings.HasPrefix(r, "@") {
			return maybe // a named set: its elements are not looked up
		}
		if s, ok := v.(string); ok {
			return triOf(wildcardEq(r, s))
		}
		if a, ok := v.(netip.Addr); ok {
			b, err := netip.ParseAddr(r)
			return triOf(err == nil && a == b)
		}
	}
	return triOf(norm(f, r) == v)
}

func norm(f nftFieldOf, v any) any {
	if f.norm != nil {
		return f.norm(v)
	}
	if n, ok := v.(float64); ok {
		return int(n)
	}
	return v
}

func asInt(v any) any {
	switch v := v.(type) {
	case float64:
		return int(v)
	case string:
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return v
}

// icmpv6Names are nft's and iptables' names of the ICMPv6 types that matter here.
var icmpv6Names = map[string]int{
	"mld-listener-query": icmpQuery, "mld-listener-report": icmpReportV1, "mld-listener-done": icmpDone,
	"mld-listener-reduction": icmpDone, "mld2-listener-report": icmpReportV2,
	"nd-router-solicit": 133, "nd-router-advert": 134, "nd-neighbor-solicit": 135, "nd-neighbor-advert": 136,
	"echo-request": 128, "echo-reply": 129, "destination-unreachable": 1, "packet-too-big": 2,
	"time-exceeded": 3, "parameter-problem": 4, "router-solicitation": 133, "router-advertisement": 134,
	"neighbour-solicitation": 135, "neighbour-advertisement": 136, "neighbor-solicitation": 135,
	"neighbor-advertisement": 136, "redirect": 137, "nd-redirect": 137,
}

func icmpv6Type(v any) any {
	if s, ok := v.(string); ok {
		if n, ok := icmpv6Names[s]; ok {
			return n
		}
		n, _, _ := strings.Cut(s, "/") // iptables: type/code
		if x, err := strconv.Atoi(n); err == nil {
			return x
		}
		return -1 // another type by name
	}
	return asInt(v)
}

var protoNames = map[string]int{"udp": protoUDP, "tcp": protoTCP, "ipv6-icmp": protoICMPv6, "icmpv6": protoICMPv6,
	"hopopt": protoHopByHop, "icmp": 1, "sctp": 132, "dccp": 33, "esp": 50, "ah": 51, "gre": 47, "udplite": 136}

func protoNumber(v any) any {
	if s, ok := v.(string); ok {
		if n, ok := protoNames[strings.ToLower(s)]; ok {
			return n
		}
		if n, err := strconv.Atoi(s); err == nil {
			return n
		}
		return -1
	}
	return asInt(v)
}

// nftVmap decodes a verdict map: {"set": [[key, {"accept": null}], ...]}.
func nftVmap(key nftFieldOf, data json.RawMessage) func(p fwPacket) []fwVerdict {
	var d struct {
		Set [][2]json.RawMessage `json:"set"`
	}
	type entry struct {
		lit     any
		verdict string
		target  string
	}
	var entries []entry
	if json.Unmarshal(data, &d) == nil {
		for _, e := range d.Set {
			var lit any
			_ = json.Unmarshal(e[0], &lit)
			var r fwRule
			_, _ = addNftStatement(&r, e[1])
			entries = append(entries, entry{lit, r.verdict, r.target})
		}
	}
	return func(p fwPacket) []fwVerdict {
		v, ok := key.get(p)
		if ok == no {
			return nil
		}
		var out []fwVerdict
		for _, e := range entries {
			m := maybe
			if ok == yes {
				m = nftContains(key, e.lit, v)
			}
			out = append(out, fwVerdict{match: m, verdict: e.verdict, target: e.target})
		}
		return out
	}
}
