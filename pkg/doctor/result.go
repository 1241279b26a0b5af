package doctor

import (
	"encoding/json"
	"fmt"
)

// Status is the outcome of one check.
type Status int

// Statuses, from best to worst. Only Fail blocks lcsync; Skip means the check could not run
// here (its Detail says why) and blocks nothing.
const (
	Pass Status = iota
	Skip
	Warn
	Fail
)

var statusNames = [...]string{Pass: "pass", Skip: "skip", Warn: "warn", Fail: "fail"}

// String returns "pass", "skip", "warn" or "fail".
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// MarshalJSON writes the status as its name.
func (s Status) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Result is the outcome of one check: what was found and, unless it passed, how to fix it.
type Result struct {
	// Check names the check ("ipv6", "interfaces", "route", "querier", "capability",
	// "buffers", "firewall", "inotify").
	Check string `json:"check"`
	// Status is the outcome.
	Status Status `json:"status"`
	// Detail says what was found, in one line.
	Detail string `json:"detail"`
	// Fix says what to do about it, in one line; empty when nothing needs doing.
	Fix string `json:"fix,omitempty"`
}

// Ready reports whether no result failed.
func Ready(rs []Result) bool {
	for _, r := range rs {
		if r.Status == Fail {
			return false
		}
	}
	return true
}

func pass(check, detail string) Result { return Result{Check: check, Status: Pass, Detail: detail} }

func skip(check, detail, fix string) Result {
	return Result{Check: check, Status: Skip, Detail: detail, Fix: fix}
}

func warn(check, detail, fix string) Result {
	return Result{Check: check, Status: Warn, Detail: detail, Fix: fix}
}

func fail(check, detail, fix string) Result {
	return Result{Check: check, Status: Fail, Detail: detail, Fix: fix}
}
