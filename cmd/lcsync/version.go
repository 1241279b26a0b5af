package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=..." (the Makefile passes
// `git describe`); otherwise the module version from the build info is shown.
var version = "dev"

// buildInfo is what --version and the metrics' build_info report.
type buildInfo struct {
	version  string // release or git describe; the module version when not set at build time
	module   string // module path and version, as the go tool recorded them
	revision string // VCS revision, "+modified" when the tree had local changes; "unknown" without VCS info
	time     string // commit time, if known
	goVer    string
}

// readBuildInfo reads the module version and VCS stamp that the go tool embeds (go build
// records vcs.revision, vcs.time and vcs.modified when built inside a git checkout).
func readBuildInfo() buildInfo {
	bi := buildInfo{version: version, module: "github.com/lcsync/lcsync", revision: "unknown", goVer: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return bi
	}
	bi.module = info.Main.Path + " " + info.Main.Version
	if bi.version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		bi.version = info.Main.Version
	}
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			bi.revision = s.Value
		case "vcs.time":
			bi.time = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified && bi.revision != "unknown" {
		bi.revision += "+modified"
	}
	return bi
}

// versionText is the --version output.
func versionText() string {
	bi := readBuildInfo()
	s := fmt.Sprintf("lcsync %s\nmodule %s\nrevision %s", bi.version, bi.module, bi.revision)
	if bi.time != "" {
		s += " (" + bi.time + ")"
	}
	return s + fmt.Sprintf("\nbuilt with %s for %s/%s\n", bi.goVer, runtime.GOOS, runtime.GOARCH)
}
