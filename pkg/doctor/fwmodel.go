package doctor

import (
	"fmt"
	"strings"
)

// tri is a three-valued truth: a rule matches a packet, does not, or may (it tests something
// the doctor cannot know, such as a source address).
type tri int8

const (
	no tri = iota
	maybe
	yes
)

func and(a, b tri) tri { return min(a, b) }

func not(a tri) tri { return yes - a }

func triOf(b bool) tri {
	if b {
		return yes
	}
	return no
}

// MLD message types (RFC 2710 §3, RFC 3810 §5).
const (
	icmpQuery    = 130
	icmpReportV1 = 131
	icmpDone     = 132
	icmpReportV2 = 143
)

// Protocol numbers.
const (
	protoHopByHop = 0
	protoTCP      = 6
	protoUDP      = 17
	protoICMPv6   = 58
)

// fwPacket is a packet lcsync sends or receives, as a firewall rule sees it.
type fwPacket struct {
	out      bool   // leaving the host (output, postrouting) rather than arriving
	iface    string // interface it arrives on or leaves by
	udp      bool   // a channel datagram; else an MLD message
	port     int    // UDP destination port
	icmpType int    // MLD message type
}

// nexthdr is the IPv6 header's Next Header: MLD messages carry a Hop-by-Hop Options header
// (the Router Alert, RFC 3810 §5), so a rule on "ip6 nexthdr icmpv6" never sees them.
func (p fwPacket) nexthdr() int {
	if p.udp {
		return protoUDP
	}
	return protoHopByHop
}

func (p fwPacket) l4proto() int {
	if p.udp {
		return protoUDP
	}
	return protoICMPv6
}

// ctState is the conntrack state: channel datagrams never see a reply, so they stay new;
// conntrack leaves MLD messages untracked.
func (p fwPacket) ctState() string {
	if p.udp {
		return "new"
	}
	return "untracked"
}

func (p fwPacket) String() string {
	dir := "arriving on"
	if p.out {
		dir = "leaving by"
	}
	if p.udp {
		return fmt.Sprintf("udp port %d %s %s", p.port, dir, p.iface)
	}
	return fmt.Sprintf("%s (icmpv6 type %d) %s %s", mldName(p.icmpType), p.icmpType, dir, p.iface)
}

func mldName(t int) string {
	switch t {
	case icmpQuery:
		return "MLD query"
	case icmpReportV1:
		return "MLDv1 report"
	case icmpDone:
		return "MLD done"
	case icmpReportV2:
		return "MLDv2 report"
	}
	return fmt.Sprintf("icmpv6 type %d", t)
}

// fwCond is one test of a rule.
type fwCond func(p fwPacket) tri

// fwRule is one rule: its tests, all of which must hold, and its verdict.
type fwRule struct {
	text    string   // how the tool shows it, for messages
	conds   []fwCond // all must match
	verdict string   // accept, drop, reject, jump, goto, return, or "" for none
	target  string   // chain of jump and goto
	vmap    func(p fwPacket) []fwVerdict
	fix     string // how to remove or bypass this rule
}

// fwVerdict is a verdict a verdict map may give, and whether it applies.
type fwVerdict struct {
	match   tri
	verdict string
	target  string
}

// fwChain is a chain; base chains have a hook and a policy.
type fwChain struct {
	name   string // unique: "inet filter input" or "filter INPUT"
	hook   string // prerouting, input, output, postrouting, or "" for a regular chain
	policy string // accept or drop (base chains)
	rules  []fwRule
	accept string // a command that accepts lcsync's traffic in this chain, with %s for the match
}

// fwRuleset is a whole firewall configuration.
type fwRuleset struct {
	tool   string
	chains map[string]*fwChain // by name
	base   []*fwChain          // base chains, in order
	lookup func(from *fwChain, target string) *fwChain
}

// fwOutcome is what a ruleset does to a packet.
type fwOutcome struct {
	drop tri    // dropped for sure, maybe, or not
	by   string // the rule or policy that drops it
	fix  string
}

// judge runs p through every base chain of its hooks: the packet is dropped if any drops it.
func (rs *fwRuleset) judge(p fwPacket) fwOutcome {
	hooks := []string{"prerouting", "input"}
	if p.out {
		hooks = []string{"output", "postrouting"}
	}
	var worst fwOutcome
	for _, c := range rs.base {
		if c.hook != hooks[0] && c.hook != hooks[1] {
			continue
		}
		o := rs.runBase(c, p)
		if o.drop > worst.drop {
			worst = o
		}
	}
	return worst
}

// runBase runs p through a base chain and applies its policy if no rule decides.
func (rs *fwRuleset) runBase(c *fwChain, p fwPacket) fwOutcome {
	r := rs.run(c, p, 0)
	if r.final {
		return r.outcome
	}
	if c.policy == "drop" {
		return fwOutcome{drop: r.sure, by: c.name + " policy drop", fix: fmt.Sprintf(c.accept, matchFor(p, rs.tool))}
	}
	return fwOutcome{drop: r.outcome.drop, by: r.outcome.by, fix: r.outcome.fix}
}

// chainResult is the result of running a chain: final when a rule accepted or dropped the
// packet (outcome says which), else it falls through; sure is how certain it is that the
// packet got this far (maybe after a rule that may have accepted it); outcome also carries
// the worst "maybe dropped" seen.
type chainResult struct {
	final   bool
	sure    tri
	outcome fwOutcome
}

// maxJumpDepth bounds jump chains (the kernel allows 16).
const maxJumpDepth = 16

func (rs *fwRuleset) run(c *fwChain, p fwPacket, depth int) chainResult {
	res := chainResult{sure: yes}
	if depth > maxJumpDepth {
		return res
	}
	for _, r := range c.rules {
		m := yes
		for _, cond := range r.conds {
			if m = and(m, cond(p)); m == no {
				break
			}
		}
		if m == no {
			continue
		}
		verdicts := []fwVerdict{{match: yes, verdict: r.verdict, target: r.target}}
		if r.vmap != nil {
			verdicts = r.vmap(p)
		}
		for _, v := range verdicts {
			vm := and(m, v.match)
			if vm == no {
				continue
			}
			reach := and(vm, res.sure) // how sure it is that this verdict applies
			switch v.verdict {
			case "accept":
				if reach == yes {
					res.final, res.outcome.drop = true, min(res.outcome.drop, maybe)
					return res
				}
				res.sure = maybe
			case "drop", "reject":
				if reach > res.outcome.drop {
					res.outcome = fwOutcome{drop: reach, by: c.name + ": " + r.text, fix: r.fix}
				}
				if reach == yes {
					res.final = true
					return res
				}
			case "jump", "goto":
				sub := rs.lookup(c, v.target)
				if sub == nil {
					continue
				}
				sr := rs.run(sub, p, depth+1)
				if d := and(sr.outcome.drop, reach); d > res.outcome.drop {
					res.outcome = fwOutcome{drop: d, by: sr.outcome.by, fix: sr.outcome.fix}
				}
				if sr.final && reach == yes {
					res.final = true
					if sr.outcome.drop != yes {
						res.outcome.drop = min(res.outcome.drop, maybe)
					}
					return res
				}
				if sr.final || sr.sure != yes {
					res.sure = and(res.sure, maybe)
				}
				if v.verdict == "goto" && reach == yes {
					return res // the base chain's policy decides
				}
			case "return":
				if reach == yes {
					return res
				}
				res.sure = maybe
			}
		}
	}
	return res
}

// matchFor is how the tool spells a match of p, for fixes.
func matchFor(p fwPacket, tool string) string {
	if tool == "ip6tables" {
		if p.udp {
			return fmt.Sprintf("-p udp --dport %d", p.port)
		}
		return fmt.Sprintf("-p ipv6-icmp --icmpv6-type %d", p.icmpType)
	}
	if p.udp {
		return fmt.Sprintf("udp dport %d", p.port)
	}
	return "icmpv6 type { mld-listener-query, mld-listener-report, mld-listener-done, mld2-listener-report }"
}

// wildcardEq compares an interface name with a pattern that may end in * (nft and iptables
// both allow it).
func wildcardEq(pattern, name string) bool {
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(name, p)
	}
	if p, ok := strings.CutSuffix(pattern, "+"); ok { // iptables spells it +
		return strings.HasPrefix(name, p)
	}
	return pattern == name
}
