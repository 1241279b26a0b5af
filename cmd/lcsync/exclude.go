package main

import (
	"fmt"
	"os"

	"github.com/lcsync/lcsync/pkg/exclude"
)

// ruleArg is one --exclude, --include or --exclude-from, kept in command-line order because
// the first matching rule wins.
type ruleArg struct {
	kind  string // "exclude", "include" or "exclude-from"
	value string
}

// ruleFlag appends its option's values to the shared ordered list.
type ruleFlag struct {
	list *[]ruleArg
	kind string
}

func (f ruleFlag) String() string { return "" }

func (f ruleFlag) Set(v string) error {
	*f.list = append(*f.list, ruleArg{f.kind, v})
	return nil
}

// matcher builds the rules given on the command line, reading --exclude-from files ("-" is
// standard input). A bad pattern is a usage error; an unreadable file a local I/O error.
func (o *options) matcher() (*exclude.Matcher, error) {
	m := &exclude.Matcher{}
	for _, r := range o.rules {
		var err error
		switch r.kind {
		case "exclude":
			err = m.Exclude(r.value)
		case "include":
			err = m.Include(r.value)
		case "exclude-from":
			err = readRules(m, r.value)
			if err != nil {
				if _, bad := err.(ruleFileError); !bad {
					return nil, withCode(exitIO, fmt.Errorf("--exclude-from %s: %w", r.value, err))
				}
			}
		}
		if err != nil {
			return nil, usagef(fmt.Sprintf("--%s: %v", r.kind, err))
		}
	}
	return m, nil
}

// ruleFileError is a bad rule inside a readable --exclude-from file.
type ruleFileError struct{ error }

func readRules(m *exclude.Matcher, name string) error {
	f := os.Stdin
	if name != "-" {
		var err error
		if f, err = os.Open(name); err != nil {
			return err
		}
		defer f.Close()
	}
	if err := m.ReadRules(f, name); err != nil {
		return ruleFileError{err}
	}
	return nil
}
