package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/lcsync/lcsync/pkg/sign"
	"github.com/lcsync/lcsync/pkg/watch"
	"github.com/lcsync/lcsync/pkg/wire"
)

// options holds every command-line setting. Each option is documented in lcsync.1 and in
// the --help text; a test keeps the two in step.
type options struct {
	blockSize   int
	channels    int
	fec         string
	delay       time.Duration
	dryRun      bool
	hex         bool
	logLevel    string
	mld         bool
	carousel    bool
	quiet       bool
	verbose     bool
	archive     bool
	perms       bool
	times       bool
	owner       bool
	group       bool
	numericIDs  bool
	maxMemory   int64
	recursive   bool
	delete      bool
	inplace     bool
	checksum    bool
	help        bool
	version     bool
	scope       string
	ifaces      string
	port        int
	mtu         int
	bwlimit     string
	timeout     time.Duration
	idleTimeout time.Duration
	progress    bool
	stats       bool
	hops        int
	cpuProfile  string
	rules       []ruleArg // --exclude, --include, --exclude-from in order
	watch       watchValue
	settle      time.Duration
	maxDelay    time.Duration
	allowShrink bool
	follow      bool
	maxDelete   int
	forceDelete bool
	exec        string

	// Operations (doctor, logs, metrics, completion).
	doctor      bool
	json        bool
	querierWait time.Duration
	logFormat   string
	metrics     string
	completion  string
	keygen      string
	signKey     string
	sigLifetime time.Duration
	trust       []string
	maxSkew     time.Duration
	stateDir    string
	user        string

	args []string // positional arguments
}

// Defaults.
const (
	defaultChannels    = 256
	defaultPort        = 4242
	defaultMTU         = 1500
	defaultIdleTimeout = 30 * time.Second
	defaultQuerierWait = 3 * time.Second
	defaultMaxMemory   = 256 << 20
	minMaxMemory       = 16 << 20
)

// optionDoc is one entry of the --help text.
type optionDoc struct {
	names string // as shown: "-c, --channels N"
	text  string
}

// optionDocs lists the options in --help order. lcsync.1 must mention every one of them.
var optionDocs = []optionDoc{
	{"-a, --archive", "archive mode: same as -r -p -t -o -g (symlinks are always copied as links)"},
	{"-r, --recursive", "recurse into directories (implied when the source is a directory)"},
	{"-p, --perms", "apply the source's permission bits to the destination"},
	{"-t, --times", "apply the source's modification times to the destination"},
	{"-o, --owner", "local sync as root: keep the source's owner (setuid is cleared otherwise)"},
	{"-g, --group", "local sync as root: keep the source's group (setgid is cleared otherwise)"},
	{"--numeric-ids", "keep owners and groups by number (always so: accepted for rsync's scripts)"},
	{"--delete", "delete destination entries that are absent from the source"},
	{"--inplace", "local sync: write changed blocks into the existing file (no temp file)"},
	{"--checksum", "local sync: compare every file, even one whose size and mtime match"},
	{"-I, --ignore-times", "the same as --checksum (rsync's name for it)"},
	{"-n, --dry-run", "show what would change (files, blocks, bytes) and change nothing"},
	{"--hex", "dump the merkle tree of a local FILE"},
	{"--blocksz N", "serve, local sync, --hex: block size, a power of two 1024..1048576 (default 16384)"},
	{"-c, --channels N", "fetch: join at most N tree and data channels at once (default 256)"},
	{"--fec MODE", "fetch: parity layers to join: auto (by measured loss), off, or 1..8 (default auto)"},
	{"--mld", "serve: send a channel only while MLD shows a listener (the default)"},
	{"--carousel", "serve: repeat everything continuously, without MLD (no raw-socket privilege needed)"},
	{"--bwlimit RATE", "serve: total send rate, bits/s with k, M or G suffix; auto = link speed, at most 3G (default auto)"},
	{"--delay USEC", "serve: pause USEC microseconds after each datagram (as the original lcsync)"},
	{"--watch", "serve: follow changes to SRC (inotify) and publish each at once; --watch=poll:10s polls instead"},
	{"--settle DURATION", "serve --watch: a file written but not closed is published once quiet this long (default 100ms)"},
	{"--max-delay DURATION", "serve --watch: a file that never goes quiet (a log) is published at most this often (default 10s)"},
	{"--allow-shrink", "serve --watch: publish a change that removes more than half of the files (refused otherwise)"},
	{"--follow", "fetch NAME/ into DST and keep it a live mirror: apply every new generation (implies --delete)"},
	{"--max-delete PCT", "follow: refuse a generation that deletes more than PCT% of DST's files (default 50)"},
	{"--force-delete", "follow: apply generations whatever they delete"},
	{"--exec CMD", "follow: run CMD (sh -c) after each applied generation; LCSYNC_GENERATION, LCSYNC_SHARE, LCSYNC_DEST set"},
	{"--exclude PATTERN", "serve, fetch, follow: leave out paths matching PATTERN (rsync's rules: first match wins, * stops at /, ** does not)"},
	{"--include PATTERN", "keep paths matching PATTERN even if a later --exclude matches them"},
	{"--exclude-from FILE", "read exclude patterns from FILE, one a line ('+ ' includes, # comments; - is stdin)"},
	{"--iface LIST", "comma-separated interfaces to use (default: every up, multicast, IPv6 interface, followed as they come and go)"},
	{"--scope SCOPE", "multicast scope: link, site, org or global (default site)"},
	{"--port N", "UDP port of every channel (default 4242)"},
	{"--mtu N", "serve: path MTU; datagrams fit it without fragmentation (default 1500)"},
	{"--hops N", "serve: multicast hop limit (default 1: the local link)"},
	{"--user NAME", "serve: once the sockets are open, run as user NAME and its group, with no capability"},
	{"--timeout DURATION", "fetch: give up after DURATION in total (default: none)"},
	{"--idle-timeout DURATION", "fetch: give up when nothing useful arrives for DURATION (default 30s)"},
	{"--max-memory SIZE", "fetch: memory bound, with K, M or G suffix (default 256M; at least 16M)"},
	{"--progress", "fetch: show a progress bar even when stderr is not a terminal"},
	{"--stats", "print transfer statistics at the end"},
	{"-q, --quiet", "print errors only"},
	{"-v, --verbose", "print every entry and debug detail (same as --loglevel debug)"},
	{"--loglevel LEVEL", "error, warn, info or debug (or the original's numeric mask)"},
	{"--keygen FILE", "write a new signing key to FILE (mode 0600) and FILE.pub, and print the public key"},
	{"--sign FILE", "serve: sign the share with the minisign secret key in FILE"},
	{"--sig-lifetime DURATION", "serve: how long a signature stays valid; re-signed at half of it (default 24h)"},
	{"--trust KEY", "fetch: accept only manifests signed by KEY (a public key or key file; repeatable)"},
	{"--max-skew DURATION", "fetch: how far in the future a signature may have been made (default 5m)"},
	{"--state DIR", "where signed shares keep their generations (default $XDG_STATE_HOME/lcsync; root: /var/lib/lcsync)"},
	{"--cpuprofile FILE", "write a Go CPU profile (pprof) to FILE, for performance work"},
	{"--doctor", "check that this host and its network can carry lcsync and say how to fix what cannot (exit 8 if something blocks)"},
	{"--json", "--doctor: print the results as JSON"},
	{"--querier-wait DURATION", "--doctor: how long to listen for an MLD querier (default 3s; 0 skips the check)"},
	{"--log-format FORMAT", "text or json (default text)"},
	{"--metrics ADDR", "serve, fetch, follow: Prometheus metrics at http://ADDR/metrics (keep ADDR on loopback or a management network)"},
	{"--completion SHELL", "print the completion script for bash, zsh or fish and exit"},
	{"-h, --help", "show this help and exit"},
	{"--version", "show the version and exit"},
}

// shortBools are the single-letter boolean flags that may be bundled (-avn).
const shortBools = "arptognqvhI"

func newFlagSet(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("lcsync", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	both := func(p *bool, short, long string) {
		fs.BoolVar(p, short, false, "")
		fs.BoolVar(p, long, false, "")
	}
	both(&o.archive, "a", "archive")
	both(&o.recursive, "r", "recursive")
	both(&o.perms, "p", "perms")
	both(&o.times, "t", "times")
	both(&o.owner, "o", "owner")
	both(&o.group, "g", "group")
	fs.BoolVar(&o.numericIDs, "numeric-ids", false, "")
	o.maxMemory = defaultMaxMemory
	fs.Var(sizeValue{&o.maxMemory}, "max-memory", "")
	both(&o.dryRun, "n", "dry-run")
	both(&o.quiet, "q", "quiet")
	both(&o.verbose, "v", "verbose")
	both(&o.help, "h", "help")
	fs.BoolVar(&o.delete, "delete", false, "")
	fs.BoolVar(&o.inplace, "inplace", false, "")
	fs.BoolVar(&o.checksum, "checksum", false, "")
	both(&o.checksum, "I", "ignore-times")
	fs.BoolVar(&o.hex, "hex", false, "")
	fs.BoolVar(&o.mld, "mld", false, "")
	fs.BoolVar(&o.carousel, "carousel", false, "")
	fs.BoolVar(&o.progress, "progress", false, "")
	fs.BoolVar(&o.stats, "stats", false, "")
	fs.BoolVar(&o.version, "version", false, "")
	fs.IntVar(&o.blockSize, "blocksz", 16384, "")
	fs.IntVar(&o.channels, "c", defaultChannels, "")
	fs.IntVar(&o.channels, "channels", defaultChannels, "")
	fs.StringVar(&o.fec, "fec", "auto", "")
	fs.Var(usecValue{&o.delay}, "delay", "")
	fs.StringVar(&o.logLevel, "loglevel", "", "")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "")
	fs.StringVar(&o.user, "user", "", "")
	fs.StringVar(&o.scope, "scope", "site", "")
	fs.StringVar(&o.ifaces, "iface", "", "")
	fs.IntVar(&o.port, "port", defaultPort, "")
	fs.IntVar(&o.mtu, "mtu", defaultMTU, "")
	fs.IntVar(&o.hops, "hops", 1, "")
	fs.StringVar(&o.bwlimit, "bwlimit", "auto", "")
	fs.DurationVar(&o.timeout, "timeout", 0, "")
	fs.DurationVar(&o.idleTimeout, "idle-timeout", defaultIdleTimeout, "")
	fs.BoolVar(&o.doctor, "doctor", false, "")
	fs.BoolVar(&o.json, "json", false, "")
	fs.DurationVar(&o.querierWait, "querier-wait", defaultQuerierWait, "")
	fs.StringVar(&o.logFormat, "log-format", "text", "")
	fs.StringVar(&o.metrics, "metrics", "", "")
	fs.StringVar(&o.completion, "completion", "", "")
	fs.Var(&o.watch, "watch", "")
	fs.DurationVar(&o.settle, "settle", watch.DefaultSettle, "")
	fs.DurationVar(&o.maxDelay, "max-delay", watch.DefaultMaxDelay, "")
	fs.BoolVar(&o.allowShrink, "allow-shrink", false, "")
	fs.BoolVar(&o.follow, "follow", false, "")
	fs.IntVar(&o.maxDelete, "max-delete", defaultMaxDelete, "")
	fs.BoolVar(&o.forceDelete, "force-delete", false, "")
	fs.StringVar(&o.exec, "exec", "", "")
	fs.Var(ruleFlag{&o.rules, "exclude"}, "exclude", "")
	fs.Var(ruleFlag{&o.rules, "include"}, "include", "")
	fs.Var(ruleFlag{&o.rules, "exclude-from"}, "exclude-from", "")
	fs.StringVar(&o.keygen, "keygen", "", "")
	fs.StringVar(&o.signKey, "sign", "", "")
	fs.DurationVar(&o.sigLifetime, "sig-lifetime", sign.DefaultLifetime, "")
	fs.Var(listValue{&o.trust}, "trust", "")
	fs.DurationVar(&o.maxSkew, "max-skew", sign.DefaultMaxSkew, "")
	fs.StringVar(&o.stateDir, "state", "", "")
	return fs
}

// parseOptions parses args. Options may come before or after positional arguments, `--` ends
// options, `--opt=value` and `--opt value` both work, and short boolean flags bundle (-av).
func parseOptions(args []string) (*options, error) {
	o := &options{}
	fs := newFlagSet(o)
	rest := expandBundles(args)
	for len(rest) > 0 {
		if err := fs.Parse(rest); err != nil {
			return nil, flagError(err)
		}
		left := fs.Args()
		if consumed := len(rest) - len(left); consumed > 0 && rest[consumed-1] == "--" {
			o.args = append(o.args, left...)
			break
		}
		if len(left) == 0 {
			break
		}
		o.args = append(o.args, left[0])
		rest = left[1:]
	}
	if o.archive {
		o.recursive, o.perms, o.times, o.owner, o.group = true, true, true, true, true
	}
	return o, o.check()
}

// flagError rewords the flag package's messages for people.
func flagError(err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		return usagef("unknown option " + name)
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return usagef("option " + name + " needs a value")
	}
	return usagef(strings.Replace(msg, "invalid value", "bad value", 1))
}

// expandBundles turns -avn into -a -v -n; anything else is left alone.
func expandBundles(args []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' && !strings.Contains(a, "=") && allIn(a[1:], shortBools) {
			for _, c := range a[1:] {
				out = append(out, "-"+string(c))
			}
			continue
		}
		out = append(out, a)
	}
	return out
}

func allIn(s, set string) bool {
	for _, c := range s {
		if !strings.ContainsRune(set, c) {
			return false
		}
	}
	return true
}

func (o *options) check() error {
	switch {
	case o.help || o.version || o.completion != "":
		return nil
	case o.blockSize < 1024 || o.blockSize > 1<<20 || o.blockSize&(o.blockSize-1) != 0:
		return usagef(fmt.Sprintf("--blocksz %d: must be a power of two from 1024 to 1048576", o.blockSize))
	case o.mld && o.carousel:
		return usagef("--mld and --carousel exclude each other")
	case o.channels < 1 || o.channels > 4096:
		return usagef(fmt.Sprintf("--channels %d: must be between 1 and 4096", o.channels))
	case o.port < 1 || o.port > 65535:
		return usagef(fmt.Sprintf("--port %d: must be between 1 and 65535", o.port))
	case o.mtu < 1280 || o.mtu > 65535:
		return usagef(fmt.Sprintf("--mtu %d: must be between 1280 (the IPv6 minimum) and 65535", o.mtu))
	case o.hops < 1 || o.hops > 255:
		return usagef(fmt.Sprintf("--hops %d: must be between 1 and 255", o.hops))
	case o.timeout < 0 || o.idleTimeout < 0:
		return usagef("--timeout and --idle-timeout must not be negative")
	case o.sigLifetime < sign.MinLifetime:
		return usagef(fmt.Sprintf("--sig-lifetime %v: must be at least %v", o.sigLifetime, sign.MinLifetime))
	case o.maxSkew < 0:
		return usagef("--max-skew must not be negative")
	case o.maxMemory < minMaxMemory:
		return usagef(fmt.Sprintf("--max-memory %d: must be at least 16M", o.maxMemory))
	}
	if err := o.checkOperations(); err != nil {
		return err
	}
	if err := o.checkWatch(); err != nil {
		return err
	}
	if err := o.checkFollow(); err != nil {
		return err
	}
	if _, err := parseFEC(o.fec); err != nil {
		return usagef(err.Error())
	}
	if _, err := parseRate(o.bwlimit); err != nil && o.bwlimit != "auto" {
		return usagef(err.Error())
	}
	if _, err := o.level(); err != nil {
		return err
	}
	return nil
}

// checkOperations checks the options of --doctor, --log-format, --metrics and --completion.
func (o *options) checkOperations() error {
	switch {
	case o.json && !o.doctor:
		return usagef("--json goes with --doctor")
	case o.querierWait < 0:
		return usagef("--querier-wait must not be negative")
	case o.logFormat != "text" && o.logFormat != "json":
		return usagef(fmt.Sprintf("--log-format %q: want text or json", o.logFormat))
	case o.doctor && (o.hex || o.metrics != ""):
		return usagef("--doctor runs alone (no --hex, no --metrics)")
	}
	if o.metrics != "" {
		if _, port, err := net.SplitHostPort(o.metrics); err != nil || port == "" {
			return usagef(fmt.Sprintf("--metrics %q: want HOST:PORT, such as 127.0.0.1:9142 or [::1]:9142", o.metrics))
		}
	}
	return nil
}

// listValue collects a repeatable option.
type listValue struct{ list *[]string }

func (l listValue) String() string {
	if l.list == nil {
		return ""
	}
	return strings.Join(*l.list, ",")
}

func (l listValue) Set(s string) error {
	*l.list = append(*l.list, s)
	return nil
}

// usecValue parses --delay as microseconds (the original's unit), also accepting Go durations.
type usecValue struct{ d *time.Duration }

func (u usecValue) String() string {
	if u.d == nil {
		return "0"
	}
	return strconv.FormatInt(u.d.Microseconds(), 10)
}

func (u usecValue) Set(s string) error {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return fmt.Errorf("--delay %s: must not be negative", s)
		}
		*u.d = time.Duration(n) * time.Microsecond
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return fmt.Errorf("--delay %q: want microseconds or a duration such as 50us", s)
	}
	*u.d = d
	return nil
}

// parseRate parses a bit rate such as 800M, 1.5G, 100k or 0 (unlimited).
func parseRate(s string) (float64, error) {
	orig := s
	mult := 1.0
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k', 'K':
			mult, s = 1e3, s[:n-1]
		case 'm', 'M':
			mult, s = 1e6, s[:n-1]
		case 'g', 'G':
			mult, s = 1e9, s[:n-1]
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || v*mult > 1e12 {
		return 0, fmt.Errorf("--bwlimit %q: want bits per second such as 800M, 1G or 0 for unlimited", orig)
	}
	return v * mult, nil
}

// parseFEC turns --fec into receiver.Config.FEC: 0 for auto, -1 for off, else the layers.
func parseFEC(v string) (int, error) {
	switch v {
	case "auto":
		return 0, nil
	case "off", "0":
		return -1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > wire.ParityLayers {
		return 0, fmt.Errorf("--fec %s: must be auto, off or a number of parity layers from 1 to %d", v, wire.ParityLayers)
	}
	return n, nil
}

// sizeValue parses a byte count such as 256M, 1G, 512k or 1048576 (binary units).
type sizeValue struct{ n *int64 }

func (v sizeValue) String() string {
	if v.n == nil {
		return "0"
	}
	return strconv.FormatInt(*v.n, 10)
}

func (v sizeValue) Set(s string) error {
	num, shift := s, 0
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k', 'K':
			num, shift = s[:n-1], 10
		case 'm', 'M':
			num, shift = s[:n-1], 20
		case 'g', 'G':
			num, shift = s[:n-1], 30
		case 't', 'T':
			num, shift = s[:n-1], 40
		}
	}
	x, err := strconv.ParseInt(num, 10, 64)
	if err != nil || x < 0 || x > 1<<(62-shift) {
		return fmt.Errorf("%q: want a size such as 256M or 1G", s)
	}
	*v.n = x << shift
	return nil
}
