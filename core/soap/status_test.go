package soap

import (
	"context"
	"encoding/xml"
	"testing"
	"time"

	"github.com/faxagent/faxagent/core"
)

// TestServerStatusFigures checks ServerStatus's exact answer: the result
// string stays the guide's "OK" and the figures ride in the
// ServerFigures header block, counted from the store (live agents only,
// their ports, the queue by state and the age of its oldest queued job).
func TestServerStatusFigures(t *testing.T) {
	const empty = `<Agents>0</Agents><AgentsKnown>0</AgentsKnown><Ports>0</Ports><PortsLicensed>0</PortsLicensed><PortsBusy>0</PortsBusy>` +
		`<Held>0</Held><Queued>0</Queued><InCall>0</InCall><Failed>0</Failed><OldestQueuedSeconds>0</OldestQueuedSeconds>`
	const busy = `<Agents>1</Agents><AgentsKnown>2</AgentsKnown><Ports>4</Ports><PortsLicensed>3</PortsLicensed><PortsBusy>1</PortsBusy>` +
		`<Held>1</Held><Queued>1</Queued><InCall>1</InCall><Failed>0</Failed><OldestQueuedSeconds>90</OldestQueuedSeconds>`
	wire := func(v Version, figures string) string {
		ns := ns11
		if v == SOAP12 {
			ns = ns12
		}
		return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="` + ns + `" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">` +
			`<soap:Header><ServerFigures xmlns="urn:faxagent:wfapi:status">` + figures + `</ServerFigures></soap:Header>` +
			`<soap:Body><ServerStatusResponse xmlns="http://faxcoreserver/services/"><ServerStatusResult>OK</ServerStatusResult></ServerStatusResponse></soap:Body></soap:Envelope>`
	}
	for _, v := range []Version{SOAP11, SOAP12} {
		t.Run(map[Version]string{SOAP11: "SOAP11", SOAP12: "SOAP12"}[v], func(t *testing.T) {
			e := newEnv(t, v)
			r := e.call("ServerStatus", ``)
			want(t, "result", r.result(), "OK")
			want(t, "empty server", string(r.raw), wire(v, empty))

			ctx := context.Background()
			start := e.clock.t
			// The store stamps heartbeats with its own clock: "gone" beat
			// at the start, "live" 80 s later; at 90 s only "live" has
			// beaten within three heartbeat periods.
			beat := func(name string, a core.AgentInfo) {
				en, err := e.store.EnrolAgent(ctx, name)
				if err != nil {
					t.Fatal(err)
				}
				a.ID = en.ID
				if err := e.store.Heartbeat(ctx, a); err != nil {
					t.Fatal(err)
				}
			}
			beat("gone", core.AgentInfo{Host: "h2", Ports: 8, Licensed: 8, Busy: 8, Started: start.Add(-time.Hour)})
			e.clock.t = start.Add(80 * time.Second)
			beat("live", core.AgentInfo{Host: "h1", Ports: 4, Licensed: 3, Busy: 1, Started: start.Add(-time.Hour)})
			e.clock.t = start
			e.submit(e.alice, true, "5550101")
			e.submit(e.alice, false, "5550102", "5550103")
			if jobs, err := e.store.Claim(ctx, core.Claim{Agent: "live", Max: 1, Ports: []string{"M0,0"}}); err != nil || len(jobs) != 1 {
				t.Fatalf("claim: %v %v", jobs, err)
			}
			e.clock.t = start.Add(90 * time.Second)
			r = e.call("ServerStatus", ``)
			want(t, "result", r.result(), "OK")
			want(t, "figures", string(r.raw), wire(v, busy))
			if len(r.header) != 1 || r.header[0].XMLName != (xml.Name{Space: StatusNamespace, Local: "ServerFigures"}) {
				t.Fatalf("header blocks %+v", r.header)
			}
			for _, a := range r.header[0].Attrs {
				if a.Name.Local == "mustUnderstand" {
					t.Fatalf("figures must stay ignorable: %v", a)
				}
			}
		})
	}
}
