package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

// buildInfo is what the binary knows about its own build.
type buildInfo struct {
	Version, Revision, Time, GoVersion string
	Modified                           bool
}

// readBuildInfo reads the module version and the VCS stamp Go writes into
// every binary built from a checkout.
func readBuildInfo() buildInfo {
	b := buildInfo{Version: "(devel)", Revision: "unknown", GoVersion: "unknown"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	b.GoVersion = bi.GoVersion
	if v := bi.Main.Version; v != "" {
		b.Version = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

func (b buildInfo) String() string {
	rev := b.Revision
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if b.Modified {
		rev += "+modified"
	}
	s := fmt.Sprintf("faxagent %s (commit %s", b.Version, rev)
	if b.Time != "" {
		s += ", " + b.Time
	}
	return s + ", " + b.GoVersion + ")"
}

func runVersion(args []string, stdout, stderr io.Writer) error {
	if err := noArgs("version", args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, readBuildInfo())
	return nil
}
