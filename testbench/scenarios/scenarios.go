package scenarios

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/faxagent/faxagent/core/httpapi"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/faxdoc"
)

// Result is one scenario's outcome.
type Result struct {
	Name    string  `json:"name"`
	Pass    bool    `json:"pass"`
	Seconds float64 `json:"seconds"`
	Jobs    int     `json:"jobs"`
	Pages   int     `json:"pages"`
	Detail  string  `json:"detail,omitempty"`
	Error   string  `json:"error,omitempty"`
	// ServerLog is the server's output of a failed scenario.
	ServerLog string `json:"server_log,omitempty"`
}

// Report is the JSON report of a run.
type Report struct {
	Started time.Time `json:"started"`
	Binary  string    `json:"binary"`
	Passed  int       `json:"passed"`
	Failed  int       `json:"failed"`
	Results []Result  `json:"results"`
}

// Options configure Run.
type Options struct {
	// Binary is the faxagent program to run as the server.
	Binary string
	// Letter is the one-page sample document (testdata/sample/letter.png).
	Letter string
	// TempDir holds the scenarios' data directories ("" the system's).
	TempDir string
	// Timeout bounds each scenario (0: 5 min).
	Timeout time.Duration
}

type env struct {
	o   Options
	dir string
	srv *server
	res *Result
}

type scenario struct {
	name, about string
	run         func(ctx context.Context, e *env) error
}

func all() []scenario {
	return []scenario{
		{"send-1", "one page to a port of ours; delivered and received back", sendPages(1, "5550103", true)},
		{"send-20", "twenty pages to a port of ours; delivered and received back", sendPages(20, "5550104", true)},
		{"send-100", "a hundred pages to a fax machine on the network", sendPages(100, "5559100", false)},
		{"lines", "one message to clean, noisy, slow, audio (modem), busy and unanswered lines", lines},
		{"resume", "a call dropped after page 2 of 3 is retried from page 3", resume},
		{"cancel", "a scheduled message is cancelled before any call", cancel},
		{"inbound", "faxes to both receiving ports arrive in the admin's inbox", inbound},
		{"load", "500 jobs on 64 ports", load},
		{"crash", "SIGKILL during a call, restart: the job ends once", crash},
	}
}

// Names lists the scenarios with what they check.
func Names() [][2]string {
	var out [][2]string
	for _, s := range all() {
		out = append(out, [2]string{s.name, s.about})
	}
	return out
}

// baseConfig: no pacing, quick retries and polls.
const baseConfig = `agent:
  poll: 100ms
  lease: 5s
  grace: 2s
  retry: {max_attempts: 3, now: 100ms, later: 100ms}
  loopback:
    pacing: none
`

// Run runs the named scenarios (all when names is empty) one after the
// other, prints a table to w and returns the report.
func Run(ctx context.Context, o Options, names []string, w io.Writer) (Report, error) {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	var run []scenario
	if len(names) == 0 {
		run = all()
	}
	for _, n := range names {
		found := false
		for _, s := range all() {
			if s.name == n {
				run, found = append(run, s), true
			}
		}
		if !found {
			return Report{}, fmt.Errorf("unknown scenario %q", n)
		}
	}
	rep := Report{Started: time.Now().UTC(), Binary: o.Binary}
	const row = "%-10s %-6s %8s %5s %5s  %s\n"
	fmt.Fprintf(w, row, "SCENARIO", "RESULT", "SECONDS", "JOBS", "PAGES", "DETAIL")
	for _, s := range run {
		r := runOne(ctx, o, s)
		rep.Results = append(rep.Results, r)
		verdict := "PASS"
		if r.Pass {
			rep.Passed++
		} else {
			rep.Failed++
			verdict = "FAIL"
		}
		detail := r.Detail
		if r.Error != "" {
			detail = r.Error
		}
		fmt.Fprintf(w, row, r.Name, verdict, fmt.Sprintf("%.2f", r.Seconds), fmt.Sprint(r.Jobs), fmt.Sprint(r.Pages), detail)
		if ctx.Err() != nil {
			break
		}
	}
	return rep, nil
}

func runOne(ctx context.Context, o Options, s scenario) (r Result) {
	r.Name = s.name
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	dir, err := os.MkdirTemp(o.TempDir, "faxagent-testbench-"+s.name+"-*")
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer os.RemoveAll(dir)
	e := &env{o: o, dir: dir, res: &r}
	start := time.Now()
	err = s.run(ctx, e)
	r.Seconds = time.Since(start).Seconds()
	if e.srv != nil {
		if serr := e.srv.stop(); err == nil {
			err = serr
		}
		if err != nil {
			r.ServerLog = e.srv.out.String()
		}
	}
	if err != nil {
		r.Error = err.Error()
		return r
	}
	r.Pass = true
	return r
}

// serve starts the scenario's server with baseConfig plus extra YAML
// under agent.loopback.
func (e *env) serve(ctx context.Context, loopbackYAML string) error {
	srv, err := startServer(ctx, e.o.Binary, e.dir, baseConfig+loopbackYAML)
	if err != nil {
		return err
	}
	e.srv = srv
	return nil
}

// document writes an n-page TIFF of the letter: the picture is rendered
// once, and its fax page repeated.
func (e *env) document(n int) (string, error) {
	one := filepath.Join(e.dir, "letter.tif")
	if _, err := os.Stat(one); err != nil {
		if err := writeTIFF([]string{e.o.Letter}, one); err != nil {
			return "", err
		}
	}
	paths := make([]string, n)
	for i := range paths {
		paths[i] = one
	}
	out := filepath.Join(e.dir, fmt.Sprintf("doc-%d.tif", n))
	return out, writeTIFF(paths, out)
}

func writeTIFF(paths []string, out string) error {
	_, err := faxdoc.Convert(context.Background(), paths, faxdoc.Options{Resolution: imaging.Fine, KeepResolution: true},
		out, faxdoc.WriteOptions{Compression: imaging.MMR})
	return err
}

// expectJob checks a job's end state and its last attempt's error ID.
func expectJob(j httpapi.Job, state string, errorID int) error {
	if j.State != state {
		return fmt.Errorf("%s: job %s (%s), want %s", j.Fax, j.State, j.ErrorText, state)
	}
	if n := len(j.Attempts); n == 0 || j.Attempts[n-1].ErrorID != errorID {
		return fmt.Errorf("%s: attempts %+v, want the last with error %d", j.Fax, j.Attempts, errorID)
	}
	return nil
}

func sendPages(n int, to string, inbound bool) func(context.Context, *env) error {
	return func(ctx context.Context, e *env) error {
		if err := e.serve(ctx, ""); err != nil {
			return err
		}
		doc, err := e.document(n)
		if err != nil {
			return err
		}
		start := time.Now()
		m, err := e.srv.submit(ctx, submission{to: []string{to}, files: []string{doc}})
		if err != nil {
			return err
		}
		if m, err = e.srv.final(ctx, m.ID); err != nil {
			return err
		}
		took := time.Since(start)
		j := m.Jobs[0]
		if err := expectJob(j, "done", 0); err != nil {
			return err
		}
		a := j.Attempts[len(j.Attempts)-1]
		if a.PageSent != n || a.PageCount != n {
			return fmt.Errorf("sent %d of %d pages, want %d", a.PageSent, a.PageCount, n)
		}
		e.res.Jobs, e.res.Pages = 1, n
		e.res.Detail = fmt.Sprintf("%s %d bit/s %s, %.0f s of line time in %.2f s (%.1f pages/s)", a.FaxProtocol,
			a.TransmitSpeed, a.CompressionMode, a.CallDuration, took.Seconds(), float64(n)/took.Seconds())
		if inbound {
			l, err := e.srv.inbox(ctx, 1)
			if err != nil {
				return err
			}
			if l.Total != 1 {
				return fmt.Errorf("inbox has %d messages, want 1", l.Total)
			}
			in, err := e.srv.message(ctx, l.Messages[0].ID)
			if err != nil {
				return err
			}
			if len(in.Received) != 1 || in.Received[0].PageCount != n || in.Received[0].CalledNumber != to {
				return fmt.Errorf("inbound copy: %+v", in.Received)
			}
		}
		return nil
	}
}

func lines(ctx context.Context, e *env) error {
	err := e.serve(ctx, `    lines:
      - {number: "5559002", bit_error_rate: 0.0001}
      - {number: "5559003", remote_max_rate: 4800, remote_no_ecm: true}
      - {number: "5559004", audio: true}
`)
	if err != nil {
		return err
	}
	to := []string{"5559001", "5559002", "5559003", "5559004", "5550111", "5550112"}
	m, err := e.srv.submit(ctx, submission{to: to, files: []string{e.o.Letter}, fields: map[string]string{"retries": "0"}})
	if err != nil {
		return err
	}
	if m, err = e.srv.final(ctx, m.ID); err != nil {
		return err
	}
	byFax := map[string]httpapi.Job{}
	for _, j := range m.Jobs {
		byFax[j.Fax] = j
	}
	var errs []error
	for _, c := range []struct {
		fax   string
		state string
		code  int
	}{{"5559001", "done", 0}, {"5559002", "done", 0}, {"5559003", "done", 0}, {"5559004", "done", 0}, {"5550111", "failed", 2}, {"5550112", "failed", 1}} {
		errs = append(errs, expectJob(byFax[c.fax], c.state, c.code))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	slow := byFax["5559003"].Attempts[0]
	if slow.TransmitSpeed > 4800 {
		return fmt.Errorf("the 4800 bit/s remote was sent to at %d bit/s", slow.TransmitSpeed)
	}
	audio := byFax["5559004"].Attempts[0]
	e.res.Jobs, e.res.Pages = len(to), 4
	e.res.Detail = fmt.Sprintf("clean, noisy, 4800 bit/s (%s %d) and audio (%s %d over our modems) sent; busy and no answer failed",
		slow.FaxProtocol, slow.TransmitSpeed, audio.FaxProtocol, audio.TransmitSpeed)
	return nil
}

func resume(ctx context.Context, e *env) error {
	if err := e.serve(ctx, "    lines:\n      - {number: \"5559010\", drop_after_page: 2, calls: 1}\n"); err != nil {
		return err
	}
	doc, err := e.document(3)
	if err != nil {
		return err
	}
	m, err := e.srv.submit(ctx, submission{to: []string{"5559010"}, files: []string{doc}})
	if err != nil {
		return err
	}
	if m, err = e.srv.final(ctx, m.ID); err != nil {
		return err
	}
	j := m.Jobs[0]
	if err := expectJob(j, "done", 0); err != nil {
		return err
	}
	if len(j.Attempts) != 2 {
		return fmt.Errorf("%d attempts, want 2", len(j.Attempts))
	}
	a1, a2 := j.Attempts[0], j.Attempts[1]
	if a1.PageSent != 2 || a1.Outcome != "retry" || a2.StartPageNo != 3 || a2.PageSent != 1 || j.PagesSent != 3 {
		return fmt.Errorf("attempt 1 sent %d (%s), attempt 2 started at page %d and sent %d; job pages %d",
			a1.PageSent, a1.Outcome, a2.StartPageNo, a2.PageSent, j.PagesSent)
	}
	e.res.Jobs, e.res.Pages = 1, 3
	e.res.Detail = fmt.Sprintf("attempt 1: %d pages, %s; attempt 2 from page %d: %d page", a1.PageSent, a1.ErrorInfo, a2.StartPageNo, a2.PageSent)
	return nil
}

func cancel(ctx context.Context, e *env) error {
	if err := e.serve(ctx, ""); err != nil {
		return err
	}
	m, err := e.srv.submit(ctx, submission{to: []string{"5559001", "5559002", "5559003"}, files: []string{e.o.Letter},
		fields: map[string]string{"schedule": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}})
	if err != nil {
		return err
	}
	var cr httpapi.CancelResult
	if err := e.srv.do(ctx, "POST", fmt.Sprintf("/api/v1/messages/%d/cancel", m.ID), "", nil, &cr); err != nil {
		return err
	}
	if m, err = e.srv.final(ctx, m.ID); err != nil {
		return err
	}
	for _, j := range m.Jobs {
		if j.State != "cancelled" || len(j.Attempts) != 0 {
			return fmt.Errorf("%s: %s with %d attempts", j.Fax, j.State, len(j.Attempts))
		}
	}
	if m.Folder != "cancelled" || cr.Cancelled != 3 {
		return fmt.Errorf("message in %s, %d cancelled", m.Folder, cr.Cancelled)
	}
	e.res.Jobs = 3
	e.res.Detail = "3 jobs cancelled, none dialled"
	return nil
}

func inbound(ctx context.Context, e *env) error {
	if err := e.serve(ctx, ""); err != nil {
		return err
	}
	m, err := e.srv.submit(ctx, submission{to: []string{"5550103", "5550104"}, files: []string{e.o.Letter}})
	if err != nil {
		return err
	}
	if _, err = e.srv.final(ctx, m.ID); err != nil {
		return err
	}
	l, err := e.srv.inbox(ctx, 2)
	if err != nil {
		return err
	}
	called := map[string]bool{}
	for _, x := range l.Messages {
		in, err := e.srv.message(ctx, x.ID)
		if err != nil {
			return err
		}
		if in.Direction != "inbound" || len(in.Received) != 1 || len(in.Documents) != 1 {
			return fmt.Errorf("inbound message %+v", in)
		}
		called[in.Received[0].CalledNumber] = true
	}
	if l.Total != 2 || !called["5550103"] || !called["5550104"] {
		return fmt.Errorf("inbox: %d messages to %v", l.Total, called)
	}
	unrouted, err := e.srv.list(ctx, "unrouted")
	if err != nil || unrouted.Total != 0 {
		return fmt.Errorf("unrouted: %d, %v", unrouted.Total, err)
	}
	e.res.Jobs, e.res.Pages = 2, 2
	e.res.Detail = "2 faxes routed to the admin's inbox, none unrouted"
	return nil
}

func load(ctx context.Context, e *env) error {
	// A long lease: 64 calls share two cores, and a job must not be
	// reclaimed while its slow call still runs.
	var b strings.Builder
	b.WriteString("agent:\n  poll: 100ms\n  lease: 2m\n  loopback:\n    pacing: none\n    ports:\n")
	for i := 0; i < 64; i++ {
		fmt.Fprintf(&b, "      - {number: \"557%04d\", send: true}\n", i)
	}
	srv, err := startServer(ctx, e.o.Binary, e.dir, b.String())
	if err != nil {
		return err
	}
	e.srv = srv
	const jobs = 500
	to := make([]string, jobs)
	for i := range to {
		to[i] = fmt.Sprintf("558%04d", i)
	}
	start := time.Now()
	m, err := e.srv.submit(ctx, submission{to: to, files: []string{e.o.Letter}})
	if err != nil {
		return err
	}
	if m, err = e.srv.final(ctx, m.ID); err != nil {
		return err
	}
	took := time.Since(start)
	ports := map[string]bool{}
	for _, j := range m.Jobs {
		if err := expectJob(j, "done", 0); err != nil {
			return err
		}
		if len(j.Attempts) != 1 {
			return fmt.Errorf("%s: %d attempts", j.Fax, len(j.Attempts))
		}
		ports[j.Attempts[0].BoardID] = true
	}
	e.res.Jobs, e.res.Pages = jobs, jobs
	e.res.Detail = fmt.Sprintf("%d jobs in %.1f s (%.0f jobs/s) on %d ports", jobs, took.Seconds(), jobs/took.Seconds(), len(ports))
	return nil
}

func crash(ctx context.Context, e *env) error {
	// Calls paced (a page takes about 5 s) so one can be killed midway;
	// a short lease so the restarted server reclaims it soon.
	srv, err := startServer(ctx, e.o.Binary, e.dir, "agent:\n  poll: 100ms\n  lease: 2s\n  grace: 1s\n  loopback:\n    pacing: demo\n    speedup: 5\n")
	if err != nil {
		return err
	}
	e.srv = srv
	m, err := srv.submit(ctx, submission{to: []string{"5559030"}, files: []string{e.o.Letter}})
	if err != nil {
		return err
	}
	for {
		if m, err = srv.message(ctx, m.ID); err != nil {
			return err
		}
		if m.Jobs[0].State == "leased" {
			break
		}
		if m.Jobs[0].State != "queued" {
			return fmt.Errorf("job %s before any kill", m.Jobs[0].State)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	srv.kill()
	if err := srv.start(ctx); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	if m, err = srv.final(ctx, m.ID); err != nil {
		return err
	}
	j := m.Jobs[0]
	if err := expectJob(j, "done", 0); err != nil {
		return err
	}
	done := 0
	for _, a := range j.Attempts {
		if a.Outcome == "done" {
			done++
		}
	}
	if done != 1 || j.AttemptCount != 2 {
		return fmt.Errorf("%d completed attempts of %d claims, want 1 of 2", done, j.AttemptCount)
	}
	e.res.Jobs, e.res.Pages = 1, 1
	e.res.Detail = "killed in the call, reclaimed after the lease, completed once"
	return nil
}

// inbox waits until the inbox has at least n messages (an inbound report
// may land just after the outbound one) and returns it.
func (s *server) inbox(ctx context.Context, n int) (httpapi.List, error) {
	for {
		l, err := s.list(ctx, "inbox")
		if err != nil || l.Total >= n {
			return l, err
		}
		select {
		case <-ctx.Done():
			return l, fmt.Errorf("inbox has %d messages, want %d: %w", l.Total, n, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WriteReport writes the report as indented JSON.
func WriteReport(path string, r Report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
