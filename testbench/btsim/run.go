package btsim

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/faxagent/faxagent/drivers/brooktrout/localsvc"
	"github.com/faxagent/faxagent/drivers/loopback"
)

// ErrLineSpec is returned for a line model specification that cannot be
// parsed.
var ErrLineSpec = errors.New("btsim: bad line model")

var kindNames = [...]string{
	LineFax:       "fax",
	LineBusy:      "busy",
	LineNoAnswer:  "noanswer",
	LineNoFax:     "nofax",
	LineTrainFail: "trainfail",
	LineDropAfter: "drop",
}

// String is the kind's name in a line specification.
func (k LineKind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "LineKind(" + strconv.Itoa(int(k)) + ")"
}

// ParseLine parses a line model specification
//
//	NUMBER=KIND[,pages=K][,rate=R][,csid=TEXT]
//
// KIND is fax, busy, noanswer, nofax, trainfail or drop (a fax machine
// whose line drops after `pages` pages, default 1); rate is the highest
// rate the remote trains at (2400..14400), csid its identification (no
// commas, at most 20 characters). Example: "9007=fax,rate=9600,csid=V29
// REMOTE".
func ParseLine(spec string) (string, Line, error) {
	number, rest, ok := strings.Cut(spec, "=")
	if !ok || number == "" {
		return "", Line{}, fmt.Errorf("%w %q: want NUMBER=KIND", ErrLineSpec, spec)
	}
	for _, r := range number {
		if !strings.ContainsRune("0123456789*#+", r) {
			return "", Line{}, fmt.Errorf("%w %q: number %q is not dialable", ErrLineSpec, spec, number)
		}
	}
	parts := strings.Split(rest, ",")
	var l Line
	kind := -1
	for i, k := range kindNames {
		if k == parts[0] {
			kind = i
		}
	}
	if kind < 0 {
		return "", Line{}, fmt.Errorf("%w %q: unknown kind %q (want one of %s)", ErrLineSpec, spec, parts[0],
			strings.Join(kindNames[:], ", "))
	}
	l.Kind = LineKind(kind)
	seen := map[string]bool{}
	for _, p := range parts[1:] {
		key, val, ok := strings.Cut(p, "=")
		if !ok || seen[key] {
			return "", Line{}, fmt.Errorf("%w %q: option %q", ErrLineSpec, spec, p)
		}
		seen[key] = true
		switch key {
		case "pages", "rate":
			n, err := strconv.Atoi(val)
			if err != nil {
				return "", Line{}, fmt.Errorf("%w %q: %s: %v", ErrLineSpec, spec, key, err)
			}
			if key == "pages" {
				if n < 0 || n > 10000 {
					return "", Line{}, fmt.Errorf("%w %q: pages %d out of range", ErrLineSpec, spec, n)
				}
				l.Pages = n
				continue
			}
			switch n {
			case 2400, 4800, 7200, 9600, 12000, 14400:
			default:
				return "", Line{}, fmt.Errorf("%w %q: rate %d is not a fax rate", ErrLineSpec, spec, n)
			}
			l.Rate = n
		case "csid":
			if len(val) > 20 {
				return "", Line{}, fmt.Errorf("%w %q: csid longer than 20 characters", ErrLineSpec, spec)
			}
			for _, r := range val {
				if r < 0x20 || r > 0x7e {
					return "", Line{}, fmt.Errorf("%w %q: csid is not printable ASCII", ErrLineSpec, spec)
				}
			}
			l.CSID = val
		default:
			return "", Line{}, fmt.Errorf("%w %q: unknown option %q", ErrLineSpec, spec, key)
		}
	}
	if l.Kind == LineDropAfter && !seen["pages"] {
		l.Pages = 1
	}
	return number, l, nil
}

// FormatLine is the specification ParseLine reads back as number and l.
func FormatLine(number string, l Line) string {
	var b strings.Builder
	b.WriteString(number)
	b.WriteByte('=')
	b.WriteString(l.Kind.String())
	if l.Pages != 0 || l.Kind == LineDropAfter {
		fmt.Fprintf(&b, ",pages=%d", l.Pages)
	}
	if l.Rate != 0 {
		fmt.Fprintf(&b, ",rate=%d", l.Rate)
	}
	if l.CSID != "" {
		b.WriteString(",csid=")
		b.WriteString(l.CSID)
	}
	return b.String()
}

// lineFlags collects repeated -line flags.
type lineFlags map[string]Line

func (f lineFlags) String() string {
	nums := make([]string, 0, len(f))
	for n := range f {
		nums = append(nums, n)
	}
	sort.Strings(nums)
	for i, n := range nums {
		nums[i] = FormatLine(n, f[n])
	}
	return strings.Join(nums, " ")
}

func (f lineFlags) Set(s string) error {
	n, l, err := ParseLine(s)
	if err != nil {
		return err
	}
	f[n] = l
	return nil
}

// Run runs the simulator standalone with command-line arguments args
// until ctx ends (the caller cancels it on SIGINT): it listens on the
// local service address, logs to stderr and lists the channels' numbers
// and the line models on stdout.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("btsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "unix:/tmp/btsim.sock", `local service address: "unix:/path" or "tcp:127.0.0.1:port"`)
	boards := fs.Int("boards", 2, "boards")
	channels := fs.Int("channels", 4, "channels per board")
	pageTime := fs.Duration("page-time", 0, "wall time per page (0: 1ms)")
	ringTime := fs.Duration("ring-time", 0, "ring time before a line model answers (0: 1ms)")
	delay := fs.Duration("response-delay", 0, "delay of every response (a slow service)")
	noDefault := fs.Bool("no-default-lines", false, "no built-in line models (9001..9007)")
	network := fs.Bool("network", false, "numbers that are neither channels nor line models reach a loopback network's fax machine (instead of being unobtainable)")
	copyOnly := fs.Bool("copy-only", false, "copy pages file to file instead of running T.30")
	deliveries := fs.String("deliveries", "", "with -network: a file the network's fax machine appends a line to for every fax it received whole (loopback.Delivery)")
	lines := lineFlags{}
	fs.Var(lines, "line", "line model NUMBER=KIND[,pages=K][,rate=R][,csid=TEXT], KIND one of "+
		strings.Join(kindNames[:], ", ")+" (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("btsim: unexpected arguments %q", fs.Args())
	}
	if *boards < 1 || *boards > 64 || *channels < 1 || *channels > 99 {
		return fmt.Errorf("btsim: %d boards x %d channels: want 1..64 boards of 1..99 channels", *boards, *channels)
	}
	all := DefaultLines()
	if *noDefault {
		all = map[string]Line{}
	}
	for n, l := range lines {
		all[n] = l
	}
	cfg := Config{Boards: *boards, Channels: *channels, PageTime: *pageTime, RingTime: *ringTime,
		ResponseDelay: *delay, Lines: all, CopyOnly: *copyOnly,
		Log: slog.New(slog.NewTextHandler(stderr, nil))}
	var lnet *loopback.Network
	if *network {
		o := loopback.Options{Mode: loopback.Virtual}
		if *deliveries != "" {
			f, err := os.OpenFile(*deliveries, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
			if err != nil {
				return fmt.Errorf("btsim: %w", err)
			}
			defer f.Close()
			o.Deliveries = f
		}
		lnet = loopback.NewNetwork(o)
		defer lnet.Close()
		cfg.Network = lnet
	}
	nw, addr := localsvc.SplitAddr(*listen)
	if nw == "unix" {
		if fi, err := os.Lstat(addr); err == nil && fi.Mode()&os.ModeSocket != 0 {
			_ = os.Remove(addr) // a stale socket of an earlier run
		}
	}
	ln, err := net.Listen(nw, addr)
	if err != nil {
		return fmt.Errorf("btsim: %w", err)
	}
	sim := New(cfg)
	for b := 0; b < *boards; b++ {
		for c := 0; c < *channels; c++ {
			fmt.Fprintf(stdout, "channel M%d,%d number %s\n", b, c, Number(b, c))
		}
	}
	fmt.Fprintf(stdout, "line models: %s\n", lineFlags(all))
	fmt.Fprintf(stdout, "serving %s\n", *listen)
	served := make(chan error, 1)
	go func() { served <- sim.Serve(ln) }()
	select {
	case <-ctx.Done():
		sim.Close()
		<-served
		if nw == "unix" {
			_ = os.Remove(addr)
		}
		return nil
	case err := <-served:
		sim.Close()
		return err
	}
}
