package agent_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/faxagent/faxagent/agent"
	"github.com/faxagent/faxagent/agent/agenttest"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/drivertest"
	"github.com/faxagent/faxagent/drivers/loopback"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/internal/testutil"
	"github.com/faxagent/faxagent/t30"
)

// Two agents on one network: A sends 1, 5 and 50 pages to three ports of
// B. Every TransmissionDetails field is checked, and B's spooled TIFF
// pages are pixel-equal to what A sent.
func TestTwoAgents(t *testing.T) {
	var spooled []spoolFile
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, loopback.Paced)
		a := f.agent("A", 0, []string{"5550100", "5550101"}, 2, func(c *agent.Config) { c.DefaultPort = &agent.PortSettings{Send: true} })
		f.agent("B", 1, []string{"5550200", "5550201", "5550202"}, 3, func(c *agent.Config) {
			c.DefaultPort = &agent.PortSettings{Receive: true}
			c.CSID = "AGENT B"
		})
		sizes := map[string]int{"5550200": 1, "5550201": 5, "5550202": 50}
		docs := map[string]t30.PagesDocument{}
		created := time.Now()
		for num, n := range sizes {
			docs[num] = doc(n, uint64(n))
			if err := f.q.Add(agent.Job{ID: "job-" + num, MessageID: "msg-1", Number: num, Doc: docs[num]}); err != nil {
				t.Fatal(err)
			}
		}
		f.wait(6 * time.Hour)
		// Every port is idle after the calls (the drivers report them
		// down once stopped).
		for _, p := range a.Ports() {
			if p.State != drivers.StateIdle {
				t.Errorf("port %s left %v", p.ID, p.State)
			}
		}
		f.stop()

		for num, n := range sizes {
			recs := f.q.Attempts("job-" + num)
			if len(recs) != 1 {
				t.Fatalf("%s: %d attempt records", num, len(recs))
			}
			r := recs[0]
			want := agent.AttemptRecord{
				AttemptID: r.AttemptID, JobID: "job-" + num, MessageID: "msg-1",
				CreateDate: created, StartDate: r.StartDate, AttemptFacts: agent.AttemptFacts{CallID: r.CallID,
					ScheduleDate: created, CompleteDate: r.CompleteDate,
					CalledNumber: num, DialedNumber: num, RemoteCSID: "AGENT B", RoutingInfo: num,
					FaxProtocol: "V17", TransmitSpeed: 14400, CompressionMode: "MMR",
					CallDuration: r.CallDuration, TransmitDuration: r.TransmitDuration,
					FaxResolution: "fine", ECM: true,
					TransmitStatus: 0, TransmitStatusDef: agent.StatusCompleted,
					AttemptNo: 1, MaxAttemptNo: 3, PageCount: n, StartPageNo: 1, PageSent: n, PagesTransmitted: n,
					FaxAgentID: "A", PortNo: r.PortNo, BoardID: fmt.Sprintf("M0,%d", r.PortNo), ServerIP: "10.0.0.1",
					CallingNumber: fmt.Sprintf("555010%d", r.PortNo)},
			}
			if r != want || !strings.HasPrefix(r.CallID, r.BoardID+"/") {
				t.Errorf("%s record\n got %+v\nwant %+v (and the loopback call ID)", num, r, want)
			}
			if !strings.HasPrefix(r.AttemptID, "job-"+num+"#1@A.") {
				t.Errorf("attempt ID %q", r.AttemptID)
			}
			if r.TransmitDuration <= 0 || r.CallDuration != loopback.RingTime+r.TransmitDuration {
				t.Errorf("%s durations call %v transmit %v", num, r.CallDuration, r.TransmitDuration)
			}
			if got := r.CompleteDate.Sub(r.StartDate); got != r.CallDuration {
				t.Errorf("%s: wall %v, call duration %v", num, got, r.CallDuration)
			}
			st, _ := f.q.Job("job-" + num)
			if st.State != agenttest.JobCompleted || len(st.Attempts) != 1 || st.Attempts[0] != r.AttemptID {
				t.Errorf("%s queue state %+v", num, st)
			}
		}
		// A 50-page call at 14400 takes minutes, not seconds.
		if r := f.q.Attempts("job-5550202")[0]; r.TransmitDuration < time.Minute {
			t.Errorf("50 pages in %v", r.TransmitDuration)
		}

		in := f.rep.InboundRecords()
		if len(in) != 3 {
			t.Fatalf("%d inbound records", len(in))
		}
		for _, r := range in {
			n := sizes[r.CalledNumber]
			if r.FaxAgentID != "B" || r.BoardID != fmt.Sprintf("M1,%d", r.PortNo) || r.DID != r.CalledNumber ||
				r.RoutingDigits != r.CalledNumber || !strings.HasPrefix(r.CallingNumber, "555010") ||
				r.CallerID != r.CallingNumber || r.RemoteCSID != r.CallingNumber || r.Pages != n || r.Partial ||
				r.ErrorID != 0 || r.FaxProtocol != "V17" || r.ServerIP != "10.0.0.2" {
				t.Errorf("inbound record %+v", r)
			}
			got := readTIFF(t, r.File)
			want := docs[r.CalledNumber]
			if len(got) != len(want) {
				t.Fatalf("%s: %d pages in %s", r.CalledNumber, len(got), r.File)
			}
			for i := range got {
				if !drivertest.Equal(got[i], want[i]) {
					t.Fatalf("%s: page %d differs", r.CalledNumber, i+1)
				}
			}
		}
		spooled = nil
		for _, r := range in {
			b, err := os.ReadFile(r.File)
			if err != nil {
				t.Fatal(err)
			}
			spooled = append(spooled, spoolFile{filepath.Base(r.File), b, docs[r.CalledNumber]})
		}
	})
	// libtiff reads the spool files to the same pixels (outside the
	// bubble: it runs an external process).
	tool := testutil.Tool(t, "tiffcp")
	dir := t.TempDir()
	for _, sf := range spooled {
		path := filepath.Join(dir, sf.name)
		if err := os.WriteFile(path, sf.data, 0o644); err != nil {
			t.Fatal(err)
		}
		got := libtiffPages(t, tool, path)
		if len(got) != len(sf.want) {
			t.Fatalf("libtiff: %d pages in %s", len(got), sf.name)
		}
		for i := range got {
			if !drivertest.Equal(got[i], sf.want[i]) {
				t.Fatalf("libtiff: %s page %d differs", sf.name, i+1)
			}
		}
	}
}

type spoolFile struct {
	name string
	data []byte
	want t30.PagesDocument
}

// Each line model gives the right completion code, retry decision and
// resume page.
func TestLineModels(t *testing.T) {
	type att struct {
		code   t30.Code
		status string
		start  int // StartPageNo
		sent   int
	}
	tests := []struct {
		name  string
		model loopback.Model
		pages int
		max   int
		want  []att
		final agenttest.JobState
		check func(t *testing.T, recs []agent.AttemptRecord)
		// extra pages the remote keeps from failed attempts (an ECM
		// page ended with EOR is kept as received)
		extra int
	}{
		{name: "clean", pages: 2, want: []att{{t30.OK, agent.StatusCompleted, 1, 2}}, final: agenttest.JobCompleted},
		{name: "busy once", model: loopback.Model{Kind: loopback.Busy, Calls: 1}, pages: 1,
			want: []att{{t30.CodeBusy, agent.StatusRetry, 1, 0}, {t30.OK, agent.StatusCompleted, 1, 1}}, final: agenttest.JobCompleted,
			check: func(t *testing.T, recs []agent.AttemptRecord) {
				if d := recs[1].StartDate.Sub(recs[0].CompleteDate); d < time.Minute {
					t.Errorf("busy retried after %v, want the later interval", d)
				}
			}},
		{name: "no answer", model: loopback.Model{Kind: loopback.NoAnswer}, pages: 1, max: 2,
			want: []att{{t30.CodeNoAnswer, agent.StatusRetry, 1, 0}, {t30.CodeNoAnswer, agent.StatusFailed, 1, 0}}, final: agenttest.JobFailed},
		{name: "rings out", model: loopback.Model{Kind: loopback.RingsOut, Calls: 1}, pages: 1,
			want: []att{{t30.CodeNoAnswer, agent.StatusRetry, 1, 0}, {t30.OK, agent.StatusCompleted, 1, 1}}, final: agenttest.JobCompleted},
		{name: "voice", model: loopback.Model{Kind: loopback.Voice}, pages: 1, max: 2,
			want: []att{{t30.CodeNoFax, agent.StatusRetry, 1, 0}, {t30.CodeNoFax, agent.StatusFailed, 1, 0}}, final: agenttest.JobFailed},
		{name: "drop on page 3 of 5", model: loopback.Model{DropAfterPage: 2, Calls: 1}, pages: 5,
			want: []att{{t30.CodeCallDropped, agent.StatusRetry, 1, 2}, {t30.OK, agent.StatusCompleted, 3, 3}}, final: agenttest.JobCompleted},
		{name: "MH only 4800", model: loopback.Model{RemoteCompressions: []imaging.Compression{imaging.MH}, RemoteMaxRate: 4800, RemoteNoECM: true}, pages: 1,
			want: []att{{t30.OK, agent.StatusCompleted, 1, 1}}, final: agenttest.JobCompleted,
			check: func(t *testing.T, recs []agent.AttemptRecord) {
				if r := recs[0]; r.CompressionMode != "MH" || r.TransmitSpeed != 4800 || r.FaxProtocol != "V27" || r.ECM {
					t.Errorf("negotiated %s %d %s ECM %v", r.CompressionMode, r.TransmitSpeed, r.FaxProtocol, r.ECM)
				}
			}},
		{name: "ECM fails, retried without ECM", model: loopback.Model{FrameErrorRate: 1, Calls: 1}, pages: 1,
			want: []att{{t30.CodeECMFailed, agent.StatusRetry, 1, 0}, {t30.OK, agent.StatusCompleted, 1, 1}}, final: agenttest.JobCompleted, extra: 1,
			check: func(t *testing.T, recs []agent.AttemptRecord) {
				if recs[0].ECMDisabled || !recs[1].ECMDisabled || recs[1].ECM {
					t.Errorf("ECM memory: %v then %v (ECM %v)", recs[0].ECMDisabled, recs[1].ECMDisabled, recs[1].ECM)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, loopback.Virtual)
				f.net.SetModel("999", tc.model)
				f.agent("A", 0, []string{"100"}, 1, nil)
				d := doc(tc.pages, 1)
				if err := f.q.Add(agent.Job{ID: "j", Number: "999", Doc: d, MaxAttempts: tc.max}); err != nil {
					t.Fatal(err)
				}
				f.wait(24 * time.Hour)
				f.stop()
				recs := f.q.Attempts("j")
				if len(recs) != len(tc.want) {
					t.Fatalf("%d attempts, want %d: %+v", len(recs), len(tc.want), recs)
				}
				for i, w := range tc.want {
					r := recs[i]
					if t30.Code(r.ErrorID) != w.code || r.TransmitStatusDef != w.status || r.StartPageNo != w.start || r.PageSent != w.sent || r.AttemptNo != i+1 {
						t.Errorf("attempt %d: code %d %s start %d sent %d (%s), want %v %s %d %d", i+1, r.ErrorID, r.TransmitStatusDef, r.StartPageNo, r.PageSent, r.ErrorInfo, w.code, w.status, w.start, w.sent)
					}
					if w.status == agent.StatusRetry && r.NextPage != recs[i+1].StartPageNo {
						t.Errorf("attempt %d: next page %d, next attempt started at %d", i+1, r.NextPage, recs[i+1].StartPageNo)
					}
				}
				if st, _ := f.q.Job("j"); st.State != tc.final {
					t.Errorf("final state %v, want %v", st.State, tc.final)
				}
				if tc.final == agenttest.JobCompleted {
					// The remote got every page exactly once, in order.
					got := decodeReceived(t, f.net.BuiltinPages("999"))
					if len(got) != tc.pages+tc.extra {
						t.Fatalf("remote got %d pages", len(got))
					}
					got = got[tc.extra:]
					for i := range got {
						if !drivertest.Equal(got[i], d[i]) {
							t.Errorf("page %d differs", i+1)
						}
					}
				}
				if tc.check != nil {
					tc.check(t, recs)
				}
			})
		})
	}
}

func TestAgentStartsNothingWithoutValidLicense(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, loopback.Virtual)
		good := f.license("A", 4, time.Now().Add(time.Hour))
		tampered := []byte(strings.Replace(string(good), `"loopback": 4`, `"loopback": 8`, 1))
		if string(tampered) == string(good) {
			t.Fatalf("tampering found nothing to change in %s", good)
		}
		otherPub, _, _ := agent.GenerateKey(nil)
		tests := []struct {
			name string
			lic  []byte
			key  []byte
			want error
		}{
			{"tampered", tampered, f.pub, agent.ErrLicenseSignature},
			{"expired", f.license("A", 4, time.Now().Add(-time.Second)), f.pub, agent.ErrLicenseExpired},
			{"other agent", f.license("B", 4, time.Now().Add(time.Hour)), f.pub, agent.ErrLicenseAgent},
			{"other key", good, otherPub, agent.ErrLicenseSignature},
			{"garbage", []byte("{"), f.pub, agent.ErrLicenseFormat},
		}
		for _, tc := range tests {
			d := loopback.New(f.net, loopback.DriverOptions{Numbers: []string{"1"}})
			_, err := agent.New(agent.Config{AgentID: "A", Drivers: []drivers.Driver{d}, License: tc.lic, LicenseKey: tc.key, Queue: f.q, Reporter: f.rep})
			if !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
			if ps := d.Ports(); ps[0].State != drivers.StateDown {
				t.Errorf("%s: port opened", tc.name)
			}
		}
		// A license that expires while the agent runs stops sending.
		f.agent("A", 0, []string{"100"}, 1, func(c *agent.Config) { c.License = f.license("A", 1, time.Now().Add(time.Hour)) })
		if err := f.q.Add(agent.Job{ID: "before", Number: "999", Doc: doc(1, 1)}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Hour)
		if err := f.q.Add(agent.Job{ID: "after", Number: "999", Doc: doc(1, 1)}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Hour)
		f.stop()
		before, _ := f.q.Job("before")
		after, _ := f.q.Job("after")
		if before.State != agenttest.JobCompleted || after.State != agenttest.JobQueued {
			t.Errorf("before expiry %v, after %v", before.State, after.State)
		}
	})
}

// 4 licensed ports of 8 never carry more than 4 calls at once.
func TestLicensedPortsOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, loopback.Paced)
		m := &countMetrics{}
		nums := []string{"100", "101", "102", "103", "104", "105", "106", "107"}
		a := f.agent("A", 0, nums, 4, func(c *agent.Config) { c.Metrics = m })
		for i := range 20 {
			if err := f.q.Add(agent.Job{ID: fmt.Sprint("j", i), Number: fmt.Sprint("900", i), Doc: doc(2, uint64(i))}); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(10 * time.Second)
		unlicensed := 0
		for _, p := range a.Ports() {
			if p.State == drivers.StateUnlicensed {
				unlicensed++
				if p.Licensed || p.Channel < 4 {
					t.Errorf("port %s unlicensed", p.ID)
				}
			}
		}
		if unlicensed != 4 {
			t.Errorf("%d ports unlicensed", unlicensed)
		}
		f.wait(6 * time.Hour)
		f.stop()
		if s := f.net.Stats(); s.MaxActive != 4 || s.Calls != 20 {
			t.Errorf("network: %+v, want 4 calls at most, 20 in all", s)
		}
		if m.maxBusy != 4 {
			t.Errorf("metrics: %d ports busy at most", m.maxBusy)
		}
		for _, r := range f.q.Attempts("") {
			if r.PortNo >= 4 {
				t.Errorf("unlicensed port %s used", r.BoardID)
			}
		}
	})
}

func TestPriorityOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, loopback.Paced)
		t0 := time.Now()
		jobs := []agent.Job{
			{ID: "low", Priority: agent.PriorityLow, Created: t0.Add(-4 * time.Second)},
			{ID: "normal-new", Priority: agent.PriorityNormal, Created: t0.Add(-2 * time.Second)},
			{ID: "high", Priority: agent.PriorityHigh, Created: t0.Add(-1 * time.Second)},
			{ID: "normal-old", Priority: agent.PriorityNormal, Created: t0.Add(-3 * time.Second)},
		}
		for _, j := range jobs {
			j.Number, j.Doc = "999", doc(1, 1)
			if err := f.q.Add(j); err != nil {
				t.Fatal(err)
			}
		}
		f.agent("A", 0, []string{"100"}, 1, nil)
		f.wait(time.Hour)
		f.stop()
		var claims []string
		for _, op := range f.q.Ops() {
			if id, ok := strings.CutPrefix(op, "claim "); ok {
				claims = append(claims, id)
			}
		}
		if got := strings.Join(claims, " "); got != "high normal-old normal-new low" {
			t.Errorf("claim order %s", got)
		}
	})
}

func TestPresets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, loopback.Paced)
		f.agent("A", 0, []string{"100", "101", "102", "103"}, 4, func(c *agent.Config) {
			c.Groups = map[string][]string{"legal": {"M0,1", "M0,2"}}
		})
		jobs := []agent.Job{
			{ID: "port3", Preset: agent.Preset{Kind: agent.PresetPort, Port: "M0,3"}},
			{ID: "port3b", Preset: agent.Preset{Kind: agent.PresetPort, Port: "M0,3"}},
			{ID: "legal1", Preset: agent.Preset{Kind: agent.PresetGroup, Group: "legal"}},
			{ID: "legal2", Preset: agent.Preset{Kind: agent.PresetGroup, Group: "legal"}},
			{ID: "legal3", Preset: agent.Preset{Kind: agent.PresetGroup, Group: "legal"}},
			{ID: "nowhere", Preset: agent.Preset{Kind: agent.PresetGroup, Group: "sales"}},
			{ID: "other agent", Preset: agent.Preset{Kind: agent.PresetPort, AgentID: "B", Port: "M0,0"}},
			{ID: "any"},
		}
		for _, j := range jobs {
			j.Number, j.Doc = "999", doc(1, 1)
			if err := f.q.Add(j); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(2 * time.Hour)
		f.stop()
		for _, j := range jobs {
			st, _ := f.q.Job(j.ID)
			recs := f.q.Attempts(j.ID)
			if j.ID == "nowhere" || j.ID == "other agent" {
				if st.State != agenttest.JobQueued || len(recs) != 0 {
					t.Errorf("job for a group this agent lacks: %v, %d records", st.State, len(recs))
				}
				continue
			}
			if st.State != agenttest.JobCompleted || len(recs) != 1 {
				t.Fatalf("%s: %v, %d records", j.ID, st.State, len(recs))
			}
			port := recs[0].BoardID
			switch j.Preset.Kind {
			case agent.PresetPort:
				if port != "M0,3" {
					t.Errorf("%s sent from %s", j.ID, port)
				}
			case agent.PresetGroup:
				if port != "M0,1" && port != "M0,2" {
					t.Errorf("%s sent from %s", j.ID, port)
				}
			}
		}
	})
}

// TestPresetOnlyPorts: ports set PresetOnly (serve's simulated loopback
// ports beside a real trunk) take only jobs preset to them or their
// group; every job that may go anywhere leaves on the other ports.
func TestPresetOnlyPorts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, loopback.Paced)
		f.agent("A", 0, []string{"100", "101", "102"}, 3, func(c *agent.Config) {
			c.Groups = map[string][]string{"sim": {"M0,1", "M0,2"}}
			c.Ports = map[string]agent.PortSettings{
				"M0,0": {Send: true},
				"M0,1": {Send: true, PresetOnly: true},
				"M0,2": {Send: true, PresetOnly: true},
			}
		})
		var jobs []agent.Job
		for i := range 6 {
			jobs = append(jobs, agent.Job{ID: fmt.Sprintf("any%d", i)})
		}
		jobs = append(jobs, agent.Job{ID: "sim", Preset: agent.Preset{Kind: agent.PresetGroup, Group: "sim"}},
			agent.Job{ID: "port2", Preset: agent.Preset{Kind: agent.PresetPort, Port: "M0,2"}})
		for _, j := range jobs {
			j.Number, j.Doc = "999", doc(1, 1)
			if err := f.q.Add(j); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(2 * time.Hour)
		f.stop()
		for _, j := range jobs {
			st, _ := f.q.Job(j.ID)
			recs := f.q.Attempts(j.ID)
			if st.State != agenttest.JobCompleted || len(recs) != 1 {
				t.Fatalf("%s: %v, %d records", j.ID, st.State, len(recs))
			}
			port := recs[0].BoardID
			switch {
			case j.Preset.Kind == agent.PresetNone && port != "M0,0":
				t.Errorf("%s, preset to nothing, sent from preset-only port %s", j.ID, port)
			case j.ID == "sim" && port != "M0,1" && port != "M0,2", j.ID == "port2" && port != "M0,2":
				t.Errorf("%s sent from %s", j.ID, port)
			}
		}
	})
}
