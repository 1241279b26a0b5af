package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"
)

// env carries what every mode needs: options, output streams and the logger.
type env struct {
	o      *options
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
}

// run is the whole command: it parses args, dispatches to a mode and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args)
	if err != nil {
		fmt.Fprintf(stderr, "lcsync: %s\n", escapeMessage(err.Error()))
		fmt.Fprintln(stderr, "Try 'lcsync --help' for more information.")
		return exitUsage
	}
	switch {
	case o.help:
		writeHelp(stdout)
		return exitOK
	case o.version:
		fmt.Fprint(stdout, versionText())
		return exitOK
	case o.completion != "":
		if err := writeCompletion(stdout, o.completion); err != nil {
			fmt.Fprintf(stderr, "lcsync: %v\n", err)
			return exitUsage
		}
		return exitOK
	}
	level, _ := o.level() // validated by parseOptions
	e := &env{o: o, stdout: stdout, stderr: stderr, log: newLogger(stderr, level, o.logFormat)}
	ctx, stopHangup := hangupInterrupts(ctx, o)
	defer stopHangup()
	stopProfile, err := startProfile(o.cpuProfile)
	if err == nil {
		err = dispatch(ctx, e)
		stopProfile()
	}
	code := exitCode(ctx, err)
	switch {
	case code == exitInterrupted:
		fmt.Fprintln(stderr, "lcsync: interrupted")
	case err != nil:
		fmt.Fprintf(stderr, "lcsync: %s\n", escapeMessage(err.Error()))
		if code == exitUsage {
			fmt.Fprintln(stderr, "Try 'lcsync --help' for more information.")
		}
	}
	return code
}

// isLocal reports whether an argument names a local path: it starts with /, ./ or ../, or is
// . or .. Anything else is a remote name served by some lcsync server.
func isLocal(arg string) bool {
	return arg == "." || arg == ".." || strings.HasPrefix(arg, "/") ||
		strings.HasPrefix(arg, "./") || strings.HasPrefix(arg, "../")
}

func dispatch(ctx context.Context, e *env) error {
	a := e.o.args
	if err := checkSigningOptions(e.o); err != nil {
		return err
	}
	if e.o.keygen != "" {
		if len(a) != 0 {
			return usagef("--keygen FILE takes no other arguments")
		}
		return keygen(e, e.o.keygen)
	}
	if e.o.doctor {
		return runDoctor(ctx, e)
	}
	if e.o.hex {
		if len(a) != 1 {
			return usagef("--hex takes exactly one FILE")
		}
		if e.o.metrics != "" {
			return usagef("--metrics applies to serving and fetching, not to --hex")
		}
		if !isLocal(a[0]) {
			return usagef(fmt.Sprintf("--hex %s: not a local path (local paths start with /, ./ or ../)", a[0]))
		}
		return hexDump(ctx, e, a[0])
	}
	if len(e.o.rules) > 0 && len(a) == 2 && isLocal(a[0]) {
		return usagef("--exclude, --include and --exclude-from apply to serving, fetching and --follow, not to local sync")
	}
	if e.o.watch.on && (len(a) != 1 || !isLocal(a[0])) {
		return usagef("--watch applies only when serving: lcsync --watch SRC")
	}
	if e.o.follow {
		return followMirror(ctx, e)
	}
	switch {
	case len(a) == 0:
		return usagef("missing arguments: lcsync SRC [DST]")
	case len(a) > 2:
		return usagef(fmt.Sprintf("too many arguments (%d): lcsync SRC [DST]", len(a)))
	case len(a) == 1 && isLocal(a[0]):
		return serve(ctx, e, a[0])
	case len(a) == 1:
		return usagef(fmt.Sprintf("%s: a remote name needs a local destination: lcsync %s ./DST", a[0], a[0]))
	case !isLocal(a[1]):
		return usagef(fmt.Sprintf("%s: the destination must be a local path (starting with /, ./ or ../)", a[1]))
	case isLocal(a[0]) && e.o.metrics != "":
		return usagef("--metrics applies to serving and fetching, not to local sync")
	case isLocal(a[0]):
		return localSync(ctx, e, a[0], a[1])
	default:
		return fetch(ctx, e, a[0], a[1])
	}
}

// writeHelp prints the usage summary and every option.
func writeHelp(w io.Writer) {
	fmt.Fprint(w, `usage: lcsync [OPTIONS] SRC              serve SRC (a local file or directory) on IPv6 multicast
       lcsync [OPTIONS] NAME DST         fetch the served NAME (file or directory/) into local DST
       lcsync [OPTIONS] SRC DST          sync local SRC into local DST, copying only changed blocks
       lcsync --follow NAME/ DST         keep DST a live mirror of the served NAME/ (until SIGTERM)
       lcsync --hex FILE                 print the merkle tree of a local FILE
       lcsync --keygen FILE              make a signing key (FILE, FILE.pub) for --sign and --trust
       lcsync --doctor [SRC]             check this host and network for lcsync (and SRC for watching)

A local path starts with /, ./ or ../ (or is . or ..); anything else is a remote name, such as
share/dir/file for a server started with 'lcsync /srv/share'.

Options:
`)
	for _, d := range optionDocs {
		fmt.Fprintf(w, "  %-24s %s\n", d.names, d.text)
	}
	fmt.Fprint(w, `
Exit status: 0 success, 1 error, 2 usage, 3 local I/O, 4 verification, 5 network or timeout,
6 missing privilege, 7 no trusted manifest, 8 --doctor found a blocking problem, 130 interrupted.
See lcsync(1).
`)
}

// startProfile starts a CPU profile if path is set; the returned func stops it.
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, withCode(exitIO, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
