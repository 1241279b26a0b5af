package doctor

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"
)

// nftRuleset wraps chains and rules, given as nft JSON objects, into a `nft -j list ruleset`
// document.
func nftRuleset(objs ...string) FirewallDump {
	return FirewallDump{Tool: "nft", Output: []byte(`{"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}}, {"table": {"family": "inet", "name": "filter", "handle": 1}}` +
		strings.Join(append([]string{""}, objs...), ", ") + `]}`)}
}

func nftChainJSON(name, hook, policy string) string {
	if hook == "" {
		return fmt.Sprintf(`{"chain": {"family": "inet", "table": "filter", "name": %q, "handle": 9}}`, name)
	}
	return fmt.Sprintf(`{"chain": {"family": "inet", "table": "filter", "name": %q, "handle": 1, "type": "filter", "hook": %q, "prio": 0, "policy": %q}}`, name, hook, policy)
}

func nftRuleJSON(chain string, handle int, exprs ...string) string {
	return fmt.Sprintf(`{"rule": {"family": "inet", "table": "filter", "chain": %q, "handle": %d, "expr": [%s]}}`, chain, handle, strings.Join(exprs, ", "))
}

const (
	matchUDP4242   = `{"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 4242}}`
	matchUDPSet    = `{"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": {"set": [53, 4242]}}}`
	matchUDPRange  = `{"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": {"range": [4000, 5000]}}}`
	matchSaddr     = `{"match": {"op": "==", "left": {"payload": {"protocol": "ip6", "field": "saddr"}}, "right": {"prefix": {"addr": "fd00::", "len": 8}}}}`
	matchCtEst     = `{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}}`
	matchMLD       = `{"match": {"op": "==", "left": {"payload": {"protocol": "icmpv6", "field": "type"}}, "right": {"set": ["mld-listener-query", "mld-listener-report", "mld-listener-done", "mld2-listener-report"]}}}`
	matchL4ICMP    = `{"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": "ipv6-icmp"}}`
	matchNexthdrIC = `{"match": {"op": "==", "left": {"payload": {"protocol": "ip6", "field": "nexthdr"}}, "right": "ipv6-icmp"}}`
	matchIifEth0   = `{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "eth0"}}`
	matchIifWlan   = `{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "wlan*"}}`
	matchTCP22     = `{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}}`
	matchNotTCP22  = `{"match": {"op": "!=", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}}`
	drop           = `{"drop": null}`
	accept         = `{"accept": null}`
	counter        = `{"counter": {"packets": 0, "bytes": 0}}`
)

func TestFirewallNft(t *testing.T) {
	in := nftChainJSON("input", "input", "accept")
	inDrop := nftChainJSON("input", "input", "drop")
	allowAll := []string{nftRuleJSON("input", 5, matchUDPSet, accept), nftRuleJSON("input", 6, matchMLD, accept)}
	cases := []struct {
		name  string
		objs  []string
		st    Status
		words []string
	}{
		{"empty", nil, Pass, []string{"no rule of 0 drops udp port 4242"}},
		{"port dropped", []string{in, nftRuleJSON("input", 4, matchUDP4242, counter, drop)}, Fail,
			[]string{"inet filter input: udp dport == 4242 drop (handle 4)", "udp port 4242 arriving on eth0", "nft delete rule inet filter input handle 4"}},
		{"port range rejected", []string{in, nftRuleJSON("input", 4, matchUDPRange, `{"reject": null}`)}, Fail, []string{"udp port 4242"}},
		{"other port dropped", []string{in, nftRuleJSON("input", 4, matchTCP22, drop)}, Pass, nil},
		{"tcp != 22 does not match udp", []string{in, nftRuleJSON("input", 4, matchNotTCP22, drop)}, Pass, nil},
		{"policy drop, all accepted", append([]string{inDrop, nftRuleJSON("input", 2, matchCtEst, accept)}, allowAll...), Pass, nil},
		{"policy drop, port missing", []string{inDrop, nftRuleJSON("input", 2, matchCtEst, accept), nftRuleJSON("input", 6, matchMLD, accept)}, Fail,
			[]string{"inet filter input policy drop drops udp port 4242", "nft insert rule inet filter input udp dport 4242 accept"}},
		{"policy drop, MLD missing", []string{inDrop, nftRuleJSON("input", 5, matchUDP4242, accept)}, Fail,
			[]string{"MLD query (icmpv6 type 130) arriving on eth0", "mld2-listener-report"}},
		{"l4proto accepts MLD", []string{inDrop, nftRuleJSON("input", 5, matchUDP4242, accept), nftRuleJSON("input", 6, matchL4ICMP, accept)}, Pass, nil},
		// MLD carries a hop-by-hop header: ip6 nexthdr is 0, not icmpv6.
		{"nexthdr misses MLD", []string{inDrop, nftRuleJSON("input", 5, matchUDP4242, accept), nftRuleJSON("input", 6, matchNexthdrIC, accept)}, Fail, []string{"MLD"}},
		{"MLD from link-local accepted", []string{inDrop, nftRuleJSON("input", 3, `{"match": {"op": "==", "left": {"payload": {"protocol": "ip6", "field": "saddr"}}, "right": {"prefix": {"addr": "fe80::", "len": 10}}}}`, matchMLD, accept),
			nftRuleJSON("input", 4, matchUDP4242, accept)}, Pass, nil},
		{"MLD from ULA only", []string{inDrop, nftRuleJSON("input", 3, matchSaddr, matchMLD, accept), nftRuleJSON("input", 4, matchUDP4242, accept)}, Fail, []string{"MLD"}},
		{"conditional drop", []string{in, nftRuleJSON("input", 3, matchSaddr, matchUDPRange, drop)}, Warn,
			[]string{"may drop udp port 4242", "ip6 saddr", "handle 3"}},
		{"ULA accept then policy: MLD is link-local", []string{inDrop, nftRuleJSON("input", 3, matchSaddr, accept)}, Fail, []string{"policy drop drops MLD query"}},
		{"conditional accept then policy", []string{inDrop, nftRuleJSON("input", 3, matchSaddr, accept), nftRuleJSON("input", 4, matchL4ICMP, accept)}, Warn,
			[]string{"policy drop may drop udp port 4242"}},
		{"interface: ours", []string{in, nftRuleJSON("input", 3, matchIifEth0, drop)}, Fail, []string{"eth0"}},
		{"interface: not ours", []string{in, nftRuleJSON("input", 3, matchIifWlan, drop)}, Pass, nil},
		{"jump to a dropping chain", []string{in, nftChainJSON("lcs", "", ""),
			nftRuleJSON("input", 3, matchIifEth0, `{"jump": {"target": "lcs"}}`), nftRuleJSON("lcs", 10, matchUDP4242, drop)}, Fail,
			[]string{"inet filter lcs: udp dport == 4242 drop"}},
		{"jump then accept", []string{inDrop, nftChainJSON("lcs", "", ""),
			nftRuleJSON("input", 3, `{"jump": {"target": "lcs"}}`), nftRuleJSON("lcs", 10, matchUDP4242, accept), nftRuleJSON("lcs", 11, matchL4ICMP, accept)}, Pass, nil},
		{"jump and return", []string{inDrop, nftChainJSON("lcs", "", ""),
			nftRuleJSON("input", 3, `{"jump": {"target": "lcs"}}`), nftRuleJSON("lcs", 10, `{"return": null}`), nftRuleJSON("input", 4, matchUDP4242, accept), nftRuleJSON("input", 5, matchL4ICMP, accept)}, Pass, nil},
		{"verdict map", []string{in, nftRuleJSON("input", 3, `{"vmap": {"key": {"payload": {"protocol": "ip6", "field": "nexthdr"}}, "data": {"set": [["tcp", {"accept": null}], ["udp", {"drop": null}]]}}}`)}, Fail,
			[]string{"vmap ip6 nexthdr", "udp port 4242"}},
		{"output dropped", []string{nftChainJSON("output", "output", "accept"), nftRuleJSON("output", 3, `{"match": {"op": "==", "left": {"payload": {"protocol": "icmpv6", "field": "type"}}, "right": "mld2-listener-report"}}`, drop)}, Fail,
			[]string{"MLDv2 report (icmpv6 type 143) leaving by eth0"}},
		{"named set", []string{in, nftRuleJSON("input", 3, `{"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": "@blocked"}}`, drop)}, Warn, nil},
		{"ct status dnat accept does not match", []string{inDrop, nftRuleJSON("input", 2, `{"match": {"op": "in", "left": {"ct": {"key": "status"}}, "right": "dnat"}}`, accept)}, Fail, []string{"policy drop"}},
		{"fib daddr type multicast accepted", []string{inDrop, nftRuleJSON("input", 2, `{"match": {"op": "==", "left": {"fib": {"result": "type", "flags": ["daddr"]}}, "right": "multicast"}}`, accept)}, Pass, nil},
		{"fib daddr type local does not match", []string{inDrop, nftRuleJSON("input", 2, `{"match": {"op": "==", "left": {"fib": {"result": "type", "flags": ["daddr"]}}, "right": "local"}}`, accept)}, Fail, nil},
		{"ip family ignored", []string{`{"chain": {"family": "ip", "table": "f", "name": "input", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}}`}, Pass, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sys := healthy()
			sys.fw = nftRuleset(c.objs...)
			expect(t, Firewall(context.Background(), sys, []Interface{eth("eth0", 2)}, 4242), c.st, c.words...)
		})
	}
}

// TestFirewallWorkstation reads nftables' own workstation example (testdata/workstation.json,
// from /usr/share/doc/nftables/examples/workstation.nft): it accepts MLD from link-local
// sources and drops everything else, so the channel port fails and MLD passes.
func TestFirewallWorkstation(t *testing.T) {
	b, err := os.ReadFile("testdata/workstation.json")
	if err != nil {
		t.Fatal(err)
	}
	sys := healthy()
	sys.fw = FirewallDump{Tool: "nft", Output: b}
	r := Firewall(context.Background(), sys, []Interface{eth("eth0", 2)}, 4242)
	expect(t, r, Fail, "inet filter input: ", "drop", "udp port 4242 arriving on eth0", "nft delete rule inet filter input handle")
	if strings.Contains(r.Detail, "MLD") {
		t.Errorf("the example accepts MLD from link-local sources, yet: %s", r.Detail)
	}
}

func TestFirewallIptables(t *testing.T) {
	save := func(policy string, rules ...string) FirewallDump {
		return FirewallDump{Tool: "ip6tables", Output: []byte("# Generated by ip6tables-save\n*filter\n:INPUT " + policy +
			" [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:LCS - [0:0]\n" + strings.Join(rules, "\n") + "\nCOMMIT\n")}
	}
	cases := []struct {
		name  string
		dump  FirewallDump
		st    Status
		words []string
	}{
		{"empty", save("ACCEPT"), Pass, nil},
		{"port dropped", save("ACCEPT", "-A INPUT -p udp -m udp --dport 4242 -j DROP"), Fail,
			[]string{"ip6tables filter INPUT: -A INPUT -p udp -m udp --dport 4242 -j DROP", "ip6tables -t filter -D INPUT -p udp -m udp --dport 4242 -j DROP"}},
		{"multiport range", save("ACCEPT", "-A INPUT -p udp -m multiport --dports 53,4000:5000 -j REJECT --reject-with icmp6-port-unreachable"), Fail, nil},
		{"policy drop", save("DROP", "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", "-A INPUT -p ipv6-icmp -j ACCEPT"), Fail,
			[]string{"policy drop", "ip6tables -t filter -I INPUT -p udp --dport 4242 -j ACCEPT"}},
		{"policy drop, accepted", save("DROP", "-A INPUT -p udp --dport 4242 -j ACCEPT", "-A INPUT -p ipv6-icmp -j ACCEPT"), Pass, nil},
		{"icmp type dropped", save("ACCEPT", "-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 143 -j DROP"), Fail, []string{"MLDv2 report"}},
		{"negated interface", save("ACCEPT", "-A INPUT ! -i eth0 -p udp -j DROP"), Pass, nil},
		{"user chain", save("ACCEPT", "-A INPUT -i eth+ -j LCS", "-A LCS -p udp --dport 4242 -j DROP"), Fail, []string{"filter LCS"}},
		{"source address", save("ACCEPT", "-A INPUT -s fd00::/8 -p udp -j DROP"), Warn, nil},
		{"log only", save("ACCEPT", "-A INPUT -p udp -j LOG --log-prefix x"), Pass, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sys := healthy()
			sys.fw = c.dump
			expect(t, Firewall(context.Background(), sys, []Interface{eth("eth0", 2)}, 4242), c.st, c.words...)
		})
	}
}

func TestFirewallUnreadable(t *testing.T) {
	ifs := []Interface{eth("eth0", 2)}
	sys := healthy()
	sys.fwErr = ErrNoFirewallTool
	expect(t, Firewall(context.Background(), sys, ifs, 4242), Skip, "neither nft nor ip6tables-save")
	sys.fwErr = fmt.Errorf("nft: Operation not permitted: %w", fs.ErrPermission)
	expect(t, Firewall(context.Background(), sys, ifs, 4242), Skip, "CAP_NET_ADMIN", "as root")
	sys.fwErr = nil
	sys.fw = FirewallDump{Tool: "nft", Output: []byte("not json")}
	expect(t, Firewall(context.Background(), sys, ifs, 4242), Warn, "nft -j list ruleset")
	expect(t, Firewall(context.Background(), sys, nil, 4242), Skip)
}
