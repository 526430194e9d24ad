package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/httpapi"
)

// faultAgent is one `serve --role agent` process of the fault run, with
// its own credential, configuration and data directory.
type faultAgent struct {
	name, core string
	argv       []string
	cmd        *exec.Cmd
	done       chan error
	outs       []*syncBuffer // one per run of the process
	deliveries string        // its far end's log ("": the far end is btsim)
}

func (a *faultAgent) out() string {
	var b strings.Builder
	for _, o := range a.outs {
		b.WriteString(o.String())
	}
	return b.String()
}

// TestFaultRunOverProtocol is the fault run of issue 16 over the agent
// protocol: a private PostgreSQL, two cores on it (A and B), three agents
// that reach only a core (credentials, own data directories, no --db):
// agents 0 and 1 with loopback ports on core A, agent 2 with Brooktrout
// ports (the board simulator, btsim) on core B. 1000 one-page jobs, each
// to a number of its own, are submitted to core A. While they are sent,
// agent 0 is killed with SIGKILL and started again on its data directory,
// core A is killed and started again on its address, and PostgreSQL is
// stopped for 60 s with calls in flight. Then every job has ended exactly
// once (done, one applied completed attempt, attempt numbers unique and
// in range), every attempt record is whole, and the far ends (the
// loopback networks' fax machines and btsim's) logged each fax received
// exactly once, by the agent that recorded the job done.
func TestFaultRunOverProtocol(t *testing.T) {
	bin := faxagentBinary(t)
	plugin := brooktroutPlugin.Path(t)
	pg := startPrivatePostgres(t)
	begin := time.Now()
	const (
		jobs      = 1000
		sendPorts = 12 // per loopback agent
		schema    = "faxagent_fault"
		outage    = 60 * time.Second
		// A one-page letter takes about 40 s on the line; at 20 times
		// real time a loopback call holds its port about 2 s.
		speedup = 20
	)
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The agents' lease survives a core's restart; short polls; attempts
	// enough for the faults to cost some.
	agentCommon := "agent:\n  lease: 10s\n  poll: 200ms\n  grace: 1s\n" +
		"  retry:\n    max_attempts: 10\n    now: 100ms\n    later: 100ms\n"

	// The cores: A on an address it keeps across its restart, B on a free
	// port; each its own directory and data.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addrA := ln.Addr().String()
	ln.Close()
	coreCfg := write("core.yaml", "schema: "+schema+"\n")
	dirA, dirB := filepath.Join(dir, "core-a"), filepath.Join(dir, "core-b")
	os.MkdirAll(dirA, 0o700)
	os.MkdirAll(dirB, 0o700)
	argvA := []string{bin, "serve", "--config", coreCfg, "--role", "core", "--db", pg.url, "--listen", addrA}
	coreA := startServe(t, dirA, argvA)
	coreB := startServe(t, dirB, []string{bin, "serve", "--config", coreCfg, "--role", "core", "--db", pg.url})

	// btsim: two boards of four channels; numbers that are no channel
	// reach the fax machine of its loopback network, which logs what it
	// received whole.
	btDeliveries := filepath.Join(dir, "btsim.deliveries")
	sock := filepath.Join(dir, "bt.sock")
	startBtsim(t, bin, sock, "-boards", "2", "-channels", "4", "-no-default-lines", "-network",
		"-deliveries", btDeliveries, "-page-time", "1500ms")

	agents := make([]*faultAgent, 3)
	for i := range agents {
		a := &faultAgent{name: fmt.Sprintf("fault-agent-%d", i), core: coreA.url}
		var cfg string
		if i < 2 {
			a.deliveries = filepath.Join(dir, a.name+".deliveries")
			var ports strings.Builder
			for p := range sendPorts {
				fmt.Fprintf(&ports, "      - {number: \"555%d%03d\", send: true}\n", i, p)
			}
			cfg = write(a.name+".yaml", agentCommon+"  loopback:\n    pacing: demo\n    speedup: "+fmt.Sprint(speedup)+
				"\n    deliveries: "+a.deliveries+"\n    ports:\n"+ports.String())
		} else {
			a.core = coreB.url
			cfg = write(a.name+".yaml", agentCommon+"  loopback:\n    enabled: false\n  brooktrout:\n    plugin: "+plugin+
				"\n    service: unix:"+sock+"\n    receive: false\n")
		}
		out, err := runIn(dirA, []string{bin, "agent-credential", "create", a.name})
		secret := ""
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, core.AgentCredentialPrefix) {
				secret = strings.TrimSpace(l)
			}
		}
		if err != nil || secret == "" {
			t.Fatalf("agent-credential create %s: %v\n%s", a.name, err, out)
		}
		cred := write(a.name+".credential", secret+"\n")
		a.argv = []string{bin, "serve", "--config", cfg, "--role", "agent", "--agent-id", a.name, "--core", a.core,
			"--core-credential-file", cred, "--data", filepath.Join(dir, a.name+"-data")}
		agents[i] = a
	}
	start := func(a *faultAgent) {
		out := &syncBuffer{}
		cmd := exec.Command(a.argv[0], a.argv[1:]...)
		cmd.Dir = dir
		cmd.Env = cleanEnv("FAXAGENT_LISTEN=127.0.0.1:0")
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		a.cmd, a.done = cmd, done
		a.outs = append(a.outs, out)
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				cmd.Process.Kill()
				<-done
			}
		})
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, a := range agents {
				t.Logf("%s output:\n%s", a.name, a.out())
			}
		}
	})
	for _, a := range agents {
		start(a)
	}
	// Every agent's ports are known before the jobs come, so that all
	// three take their share.
	for i := 0; ; i++ {
		var p httpapi.Ports
		coreB.get("/api/v1/ports", &p)
		if len(p.Agents) == 3 && len(p.Ports) == 2*sendPorts+8 {
			break
		}
		if i > 600 {
			t.Fatalf("the agents' ports did not all reach the cores: %+v", p)
		}
		time.Sleep(100 * time.Millisecond)
	}

	letter, err := filepath.Abs("../../testdata/sample/letter.png")
	if err != nil {
		t.Fatal(err)
	}
	send := []string{bin, "send"}
	for i := range jobs {
		send = append(send, "--to", fmt.Sprintf("556%04d", i))
	}
	if out, err := runIn(dirA, append(send, letter)); err != nil || !strings.Contains(out, "message 1 queued") {
		t.Fatalf("send: %v\n%s", err, out)
	}
	submitted := time.Now()

	counts := func() (done, ended int, err error) {
		err = pg.query(func(ctx context.Context, c *pgx.Conn) error {
			return c.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state = 'done'), count(*) FILTER (WHERE state NOT IN ('queued', 'leased'))
				FROM `+schema+`.jobs`).Scan(&done, &ended)
		})
		return done, ended, err
	}
	// The faults, each at a share of the jobs done.
	var (
		atAgentKill, atCoreKill, atOutage = -1, -1, -1
		inFlightAtKill, inFlightAtOutage  int
		outageEnd                         time.Time
	)
	leased := func() int {
		n := 0
		pg.query(func(ctx context.Context, c *pgx.Conn) error {
			return c.QueryRow(ctx, `SELECT count(*) FROM `+schema+`.jobs WHERE state = 'leased'`).Scan(&n)
		})
		return n
	}
	for i := 0; ; i++ {
		done, ended, err := counts()
		if err != nil {
			t.Fatalf("counting jobs: %v", err)
		}
		switch {
		case atAgentKill < 0 && done >= jobs*15/100:
			// Agent 0 with its calls in flight, a moment after one of
			// them had its page confirmed (its far end logged the fax)
			// and before that call ended: started again on its data
			// directory, it reports that call from its journal and its
			// outbox delivers what it kept. Sent again, the fax would
			// be received twice.
			inFlightAtKill = leased()
			size := func() int64 {
				fi, err := os.Stat(agents[0].deliveries)
				if err != nil {
					return 0
				}
				return fi.Size()
			}
			for s0, w := size(), 0; size() == s0 && w < 2500; w++ {
				time.Sleep(2 * time.Millisecond)
			}
			time.Sleep(20 * time.Millisecond)
			agents[0].cmd.Process.Kill()
			<-agents[0].done
			atAgentKill = done
			start(agents[0])
		case atAgentKill >= 0 && atCoreKill < 0 && done >= jobs*35/100:
			// Core A, with agents 0 and 1 on it: started again on its
			// address.
			atCoreKill = done
			coreA.cmd.Process.Kill()
			<-coreA.done
			coreA = startServe(t, dirA, argvA)
		case atCoreKill >= 0 && atOutage < 0 && done >= jobs*55/100:
			// PostgreSQL down for 60 s while the calls in flight
			// complete: their outcomes wait in the agents' outboxes.
			atOutage, inFlightAtOutage = done, leased()
			if out, err := pg.ctl("stop", "-m", "fast"); err != nil {
				t.Fatalf("pg_ctl stop: %v\n%s\n%s", err, out, pg.log())
			}
			time.Sleep(outage)
			if out, err := pg.ctl("start"); err != nil {
				t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, pg.log())
			}
			outageEnd = time.Now()
		}
		if ended == jobs {
			break
		}
		for _, a := range agents {
			select {
			case err := <-a.done:
				t.Fatalf("%s exited: %v", a.name, err)
			default:
			}
		}
		if time.Since(submitted) > 6*time.Minute {
			t.Fatalf("%d of %d jobs ended (%d done); agent killed at %d done, core at %d, PostgreSQL stopped at %d",
				ended, jobs, done, atAgentKill, atCoreKill, atOutage)
		}
		time.Sleep(100 * time.Millisecond)
	}
	finished := time.Now()
	if atOutage < 0 || atOutage >= jobs {
		t.Fatalf("the jobs ended before the faults: agent killed at %d done, core at %d, PostgreSQL stopped at %d",
			atAgentKill, atCoreKill, atOutage)
	}

	// Every job ended exactly once.
	var (
		notDone, notOnce, dupNo, outOfRange, stale, retried, sentTwice, notWhole, attempts, made int
		byAgent                                                                                  = map[string]int{}
		doneBy                                                                                   = map[string]string{} // number → agent name
	)
	// The whole record: every attempt names its agent, port, number and
	// times; a completed one its pages, speed, protocol and durations.
	notWholeSQL := `a.direction <> 'outbound' OR a.fax_agent_id = '' OR a.board_id = '' OR a.calling_number = ''
				OR a.called_number <> j.fax OR a.routing_info <> j.fax OR a.create_date <= 0 OR a.schedule_date <= 0
				OR a.complete_date < a.schedule_date OR a.max_attempt_no < a.attempt_no OR a.page_count <> 1 OR a.start_page_no <> 1
				OR a.transmit_status_def = ''
				OR (a.outcome = 'done' AND (a.page_sent <> 1 OR a.transmit_speed <= 0 OR a.fax_protocol = ''
					OR a.call_duration_ms <= 0 OR a.transmit_status <> 0 OR a.transmit_status_def <> 'Completed' OR a.error_info <> ''))
				OR (a.outcome <> 'done' AND (a.transmit_status = 0 OR a.error_info = ''))`
	err = pg.query(func(ctx context.Context, c *pgx.Conn) error {
		a, j := schema+".attempts", schema+".jobs"
		for _, q := range []struct {
			sql string
			dst *int
		}{
			{`SELECT count(*) FROM ` + j + ` WHERE state <> 'done'`, &notDone},
			{`SELECT count(*) FROM ` + j + ` j WHERE (SELECT count(*) FROM ` + a + ` a
				WHERE a.job_id = j.id AND a.applied = 1 AND a.outcome = 'done') <> 1`, &notOnce},
			{`SELECT count(*) FROM (SELECT job_id, attempt_no FROM ` + a + ` WHERE job_id IS NOT NULL
				GROUP BY job_id, attempt_no HAVING count(*) > 1) d`, &dupNo},
			{`SELECT count(*) FROM ` + a + ` a JOIN ` + j + ` j ON j.id = a.job_id
				WHERE a.attempt_no < 1 OR a.attempt_no > j.attempts`, &outOfRange},
			{`SELECT count(*) FROM ` + a + ` WHERE stale = 1`, &stale},
			{`SELECT count(*) FROM ` + j + ` j WHERE (SELECT count(*) FROM ` + a + ` a
				WHERE a.job_id = j.id AND a.page_sent >= 1) > 1`, &sentTwice},
			{`SELECT count(*) FROM ` + j + ` WHERE attempts > 1`, &retried},
			{`SELECT count(*) FROM ` + a, &attempts},
			{`SELECT sum(attempts) FROM ` + j, &made},
			{`SELECT count(*) FROM ` + a + ` a JOIN ` + j + ` j ON j.id = a.job_id WHERE ` + notWholeSQL, &notWhole},
		} {
			if err := c.QueryRow(ctx, q.sql).Scan(q.dst); err != nil {
				return fmt.Errorf("%s: %w", q.sql, err)
			}
		}
		if notWhole > 0 {
			rows, err := c.Query(ctx, `SELECT CAST(row_to_json(a) AS TEXT) FROM `+a+` a JOIN `+j+` j ON j.id = a.job_id WHERE `+notWholeSQL+` LIMIT 3`)
			if err != nil {
				return err
			}
			for rows.Next() {
				var r string
				if err := rows.Scan(&r); err != nil {
					return err
				}
				t.Logf("not whole: %s", r)
			}
			rows.Close()
		}
		rows, err := c.Query(ctx, `SELECT f.name, j.fax FROM `+a+` a JOIN `+schema+`.fax_agents f ON a.fax_agent_id = CAST(f.id AS TEXT)
			JOIN `+j+` j ON j.id = a.job_id WHERE a.applied = 1 AND a.outcome = 'done'`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var name, number string
			if err := rows.Scan(&name, &number); err != nil {
				return err
			}
			byAgent[name]++
			doneBy[number] = name
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if notDone != 0 || notOnce != 0 || dupNo != 0 || outOfRange != 0 || sentTwice != 0 {
		t.Errorf("%d jobs not done, %d not completed exactly once, %d attempt numbers used twice, %d outside 1..attempts, %d with two attempts that sent the page",
			notDone, notOnce, dupNo, outOfRange, sentTwice)
	}
	if notWhole != 0 {
		t.Errorf("%d of %d attempt records are not whole", notWhole, attempts)
	}
	if len(byAgent) != 3 {
		t.Errorf("completions by agent %v: want all three agents", byAgent)
	}

	// The far ends: each fax received exactly once, at the far end of the
	// agent that recorded it done.
	received := map[string][]string{} // number → the far ends that logged it
	lines := map[string]int{}
	for _, far := range []struct{ name, file string }{
		{agents[0].name, agents[0].deliveries}, {agents[1].name, agents[1].deliveries}, {agents[2].name, btDeliveries},
	} {
		b, err := os.ReadFile(far.file)
		if err != nil {
			t.Fatalf("far end of %s: %v", far.name, err)
		}
		for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			f := strings.Split(l, "\t")
			if len(f) != 4 || f[2] != "1" {
				t.Errorf("far end of %s: line %q", far.name, l)
				continue
			}
			received[f[0]] = append(received[f[0]], far.name)
			lines[far.name]++
		}
	}
	twice, never, elsewhere := 0, 0, 0
	for i := range jobs {
		number := fmt.Sprintf("556%04d", i)
		switch r := received[number]; {
		case len(r) == 0:
			never++
			t.Errorf("%s: no far end received it (done by %q)", number, doneBy[number])
		case len(r) > 1:
			twice++
			t.Errorf("%s: received %d times, by the far ends of %v (done by %q)", number, len(r), r, doneBy[number])
		case r[0] != doneBy[number]:
			elsewhere++
			t.Errorf("%s: received at the far end of %s, done by %q", number, r[0], doneBy[number])
		}
	}
	if len(received) != jobs {
		t.Errorf("the far ends received faxes for %d numbers, want %d", len(received), jobs)
	}

	late, recovered, recoveredSent, warnings := 0, 0, 0, 0
	for _, a := range agents {
		o := a.out()
		late += strings.Count(o, `msg="outcome delivered"`) + strings.Count(o, `msg="outbox: delivering`)
		for _, l := range strings.Split(o, "\n") {
			if strings.Contains(l, `msg="outbox: a call the agent did not see end`) {
				recovered++
				if strings.Contains(l, "pages_confirmed=1") {
					recoveredSent++
				}
			}
		}
		warnings += strings.Count(o, "level=WARN")
	}
	t.Logf("%d jobs over the protocol (2 cores, 3 agents: %d+%d loopback ports, 8 btsim channels); agent 0 killed at %d done (%d jobs leased), core A killed at %d, PostgreSQL stopped for %v at %d (%d jobs leased)",
		jobs, sendPorts, sendPorts, atAgentKill, inFlightAtKill, atCoreKill, outage, atOutage, inFlightAtOutage)
	t.Logf("every job done once: completions by agent %v; %d attempts stored of %d made (the others: claims that never became a call, their agent or core killed first), %d jobs retried, %d stale attempts, %d outcomes delivered late from the outboxes (%d of calls the killed agent did not see end, %d of them with the page confirmed), %d warnings",
		byAgent, attempts, made, retried, stale, late, recovered, recoveredSent, warnings)
	t.Logf("far ends: %v faxes logged, %d numbers received twice, %d never, %d at another agent's far end; jobs ran %v after submission (%v after PostgreSQL came back), test %v",
		lines, twice, never, elsewhere, finished.Sub(submitted).Round(time.Second), finished.Sub(outageEnd).Round(time.Second), time.Since(begin).Round(time.Second))

	// The cores came through and agree.
	var m httpapi.Message
	coreB.get("/api/v1/messages/1", &m)
	if m.Folder != "sent" || m.Status != "Completed" || m.JobsComplete != jobs {
		t.Errorf("message 1 on core B: %s in %s, %d of %d jobs complete", m.Status, m.Folder, m.JobsComplete, jobs)
	}
	coreA.get("/api/v1/messages/1", &m)
	if m.JobsComplete != jobs {
		t.Errorf("message 1 on core A: %d of %d jobs complete", m.JobsComplete, jobs)
	}
}
