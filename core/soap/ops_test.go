package soap

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faxagent/faxagent/agent"
	"github.com/faxagent/faxagent/core"
)

// submit stores an outbound message for owner straight in the store.
func (e *env) submit(owner int64, hold bool, fax ...string) int64 {
	e.t.Helper()
	var rs []core.Recipient
	for i, f := range fax {
		rs = append(rs, core.Recipient{Name: fmt.Sprintf("R%d", i+1), Fax: f})
	}
	md, err := e.store.Submit(context.Background(), core.Submission{OwnerID: owner, Subject: "direct", Hold: hold,
		Recipients: rs, Documents: []core.DocumentInput{{Name: "three.tif", ContentType: "image/tiff", Pages: 3,
			Body: bytes.NewReader(fixture(e.t, "three.tif"))}}})
	if err != nil {
		e.t.Fatal(err)
	}
	return md.ID
}

// deliver claims every queued job and reports it done (or failed) with a
// full attempt record.
func (e *env) deliver(fail bool) {
	e.t.Helper()
	ctx := context.Background()
	jobs, err := e.store.Claim(ctx, core.Claim{Agent: "agent-7", Max: 100, Ports: []string{"M0,0"}})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, j := range jobs {
		out := core.OutcomeDone
		status, def, errID := 0, "Completed", 0
		if fail {
			out, status, def, errID = core.OutcomeFailed, 3, "Busy", 3
		}
		at := &core.Transmission{JobID: j.ID, MessageID: j.MessageID, Direction: core.Outbound,
			CreateDate: e.clock.t, AttemptFacts: agent.AttemptFacts{ScheduleDate: e.clock.t, CompleteDate: e.clock.t.Add(17 * time.Second),
				CallingNumber: "30327268800", CalledNumber: j.Recipient.Fax, RemoteCSID: "ROBOFAX", FaxProtocol: "V17",
				TransmitSpeed: 14400, CompressionMode: "MH", CallDuration: 17 * time.Second, TransmitDuration: 15 * time.Second,
				FaxResolution: "Fine", TransmitStatus: status, TransmitStatusDef: def, AttemptNo: 1, MaxAttemptNo: 1,
				PageCount: 3, StartPageNo: 1, PageSent: 3, FaxAgentID: "agent-7", PortNo: 0, BoardID: "M0,0",
				ServerIP: "10.15.7.6", ErrorID: errID}}
		if _, err := e.store.Report(ctx, core.Report{Lease: j.Lease, Key: fmt.Sprintf("att-%d", j.ID), Outcome: out,
			PagesSent: 3, ErrorID: errID, Attempt: at}); err != nil {
			e.t.Fatal(err)
		}
	}
}

// receive stores an inbound fax with routing digits.
func (e *env) receive(digits string) int64 {
	e.t.Helper()
	md, err := e.store.Receive(context.Background(), core.InboundFax{Key: "in-" + digits, Pages: 3,
		Body: bytes.NewReader(fixture(e.t, "three.tif")),
		Attempt: core.Transmission{Direction: core.Inbound, CreateDate: e.clock.t,

			Outcome: core.OutcomeReceived, AttemptFacts: agent.AttemptFacts{CompleteDate: e.clock.t.Add(30 * time.Second),
				CallingNumber: "0333429136", CalledNumber: digits, RoutingInfo: digits, RemoteCSID: "60333429136", FaxProtocol: "V29",
				TransmitSpeed: 9600, CompressionMode: "MH", CallDuration: 31 * time.Second, TransmitDuration: 31 * time.Second,
				TransmitStatusDef: "Completed", AttemptNo: 1, MaxAttemptNo: 1, PageCount: 3, StartPageNo: 1, PageSent: 3,
				FaxAgentID: "agent-7", BoardID: "M0,1", PortNo: 1, ServerIP: "10.165.7.36"}}})
	if err != nil {
		e.t.Fatal(err)
	}
	return md.ID
}

func (e *env) message(id int64) core.MessageDetails {
	e.t.Helper()
	m, err := e.store.Message(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

func mustID(t *testing.T, s string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("not an ID: %q", s)
	}
	return v
}

func (e *env) user(id int64) core.User {
	e.t.Helper()
	u, err := e.store.User(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) profile(id int64) core.UserProfile {
	e.t.Helper()
	ps, ok := e.store.(interface {
		Profile(context.Context, int64) (core.UserProfile, error)
	})
	if !ok {
		e.t.Fatal("the store keeps no profiles")
	}
	p, err := ps.Profile(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) messageCount() int {
	e.t.Helper()
	return countMessages(e.t, e.store)
}

func countMessages(tb testing.TB, st core.Store) int {
	tb.Helper()
	n := 0
	for _, f := range core.Folders() {
		_, total, err := st.Messages(context.Background(), core.MessageQuery{Folder: f, Limit: 1})
		if err != nil {
			tb.Fatal(err)
		}
		n += total
	}
	return n
}

func id(n int64) string { return strconv.FormatInt(n, 10) }

func want[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// opCase is one request of one operation and what its answer must be.
type opCase struct {
	op   string
	name string
	run  func(t *testing.T, e *env)
}

// sendOps are the operations that take the SendCompleteMessage parameters
// (DelegateMessage differs only in its first two).
var sendOps = []string{"SendCompleteMessage", "SendCompleteMessageWithPresetAgents", "SendCompleteMessageWithPresetAgentsAndByPassRender"}

func opCases() []opCase {
	var cs []opCase
	add := func(op, name string, run func(t *testing.T, e *env)) {
		cs = append(cs, opCase{op: op, name: name, run: run})
	}

	add("AuthenticateUser", "ok", func(t *testing.T, e *env) {
		got := e.call("AuthenticateUser", `<userName>alice</userName><password>alice-password</password>`).result()
		want(t, "result", got, id(e.alice))
	})
	add("AuthenticateUser", "admin", func(t *testing.T, e *env) {
		// FaxCore clients read 1 as a failed login: no account has ID 1.
		got := e.call("AuthenticateUser", `<userName>admin</userName><password>`+adminPassword+`</password>`).result()
		want(t, "result", got, id(e.admin))
		want(t, "first user ID", e.admin, int64(core.FirstUserID))
		if got == "1" {
			t.Fatal("admin login reads as a failure")
		}
	})
	add("AuthenticateUser", "wrong password and rate limit", func(t *testing.T, e *env) {
		for i := 0; i < 5; i++ {
			want(t, "result", e.call("AuthenticateUser", `<userName>alice</userName><password>nope</password>`).result(), "1")
		}
		// Locked out now, even with the right password.
		want(t, "locked", e.call("AuthenticateUser", `<userName>alice</userName><password>alice-password</password>`).result(), "1")
		e.clock.t = e.clock.t.Add(2 * time.Minute)
		want(t, "after window", e.call("AuthenticateUser", `<password>alice-password</password><userName>alice</userName>`).result(), id(e.alice))
	})
	add("AuthenticateUser", "inactive and missing", func(t *testing.T, e *env) {
		want(t, "inactive", e.call("AuthenticateUser", `<userName>carol</userName><password>carol-password</password>`).result(), "1")
		want(t, "missing", e.call("AuthenticateUser", ``).result(), "1")
	})
	add("ServerStatus", "ok", func(t *testing.T, e *env) {
		want(t, "result", e.call("ServerStatus", ``).result(), "OK")
	})

	for _, op := range sendOps {
		add(op, "bytes", func(t *testing.T, e *env) {
			body := sendXML(e.alice, fixture(t, "three.tif"), "+1 (555) 010-0001", "5550102")
			if op != "SendCompleteMessage" {
				body += `<agentID><int>0</int></agentID><presetType><int>1</int></presetType><presetValue><int>3</int></presetValue>`
			}
			if strings.HasSuffix(op, "ByPassRender") {
				body += `<byPassRender>true</byPassRender>`
			}
			got := e.call(op, body).result()
			n, err := strconv.ParseInt(got, 10, 64)
			if err != nil {
				t.Fatalf("result %q is not a message ID", got)
			}
			m := e.message(n)
			want(t, "owner", m.OwnerID, e.alice)
			want(t, "subject", m.Subject, "Test")
			want(t, "billing", m.BillingCode, "B-7")
			want(t, "priority", m.Priority, core.PriorityHigh)
			want(t, "sender", m.SenderName, "John Wick")
			want(t, "jobs", len(m.Jobs), 2)
			want(t, "fax 1", m.Jobs[0].Recipient.Fax, "+15550100001")
			want(t, "company 2", m.Jobs[1].Recipient.Company, "Comp 2")
			want(t, "pages", m.Documents[0].Pages, 3)
			want(t, "content type", m.Documents[0].ContentType, "image/tiff")
			if op != "SendCompleteMessage" {
				want(t, "preset", m.Jobs[0].Preset, core.Preset{Type: core.PresetPort, Value: "M0,3"})
			}
		})
		if op != "SendCompleteMessage" {
			add(op, "an enrolled agent's ID pins the jobs, an unknown one fails at once", func(t *testing.T, e *env) {
				a, err := e.store.EnrolAgent(context.Background(), "branch")
				if err != nil {
					t.Fatal(err)
				}
				body := sendXML(e.alice, fixture(t, "three.tif"), "5550101")
				if strings.HasSuffix(op, "ByPassRender") {
					body += `<byPassRender>true</byPassRender>`
				}
				preset := func(agent int64) string {
					return fmt.Sprintf(`<agentID><int>%d</int></agentID><presetType><int>2</int></presetType><presetValue><int>7</int></presetValue>`, agent)
				}
				n, err := strconv.ParseInt(e.call(op, body+preset(a.ID)).result(), 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				want(t, "preset", e.message(n).Jobs[0].Preset, core.Preset{Agent: strconv.FormatInt(a.ID, 10), Type: core.PresetGroup, Value: "7"})
				before := e.messageCount()
				f := e.call(op, body+preset(100999)).fault()
				if !strings.Contains(f, "preset agent 100999: no such agent") {
					t.Errorf("fault %q", f)
				}
				want(t, "stored", e.messageCount(), before)
			})
		}
		add(op, "invalid user stores nothing", func(t *testing.T, e *env) {
			want(t, "result", e.call(op, sendXML(e.carol, fixture(t, "three.tif"), "5550101")).result(), "INVALID_USER")
			want(t, "stored", e.messageCount(), 0)
		})
		add(op, "bad document stores nothing", func(t *testing.T, e *env) {
			f := e.call(op, sendXML(e.alice, []byte("%PDF-1.4 not a fax"), "5550101")).fault()
			if !strings.Contains(f, "document 1") {
				t.Errorf("fault %q does not name the document", f)
			}
			want(t, "stored", e.messageCount(), 0)
		})
	}
	add("SendCompleteMessage", "documentPath inside and outside the import directory", func(t *testing.T, e *env) {
		if err := os.WriteFile(filepath.Join(e.imports, "in.png"), fixture(t, "one.png"), 0o644); err != nil {
			t.Fatal(err)
		}
		outside := filepath.Join(t.TempDir(), "secret.tif")
		if err := os.WriteFile(outside, fixture(t, "three.tif"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, filepath.Join(e.imports, "link.tif")); err != nil {
			t.Fatal(err)
		}
		body := func(p string) string {
			return fmt.Sprintf(`<userID>%d</userID><priority>0</priority><isOnHold>true</isOnHold><mss>false</mss><msf>false</msf><recpAddress><string>5550101</string></recpAddress><documentPath><string>%s</string></documentPath>`, e.alice, p)
		}
		got := e.call("SendCompleteMessage", body("in.png")).result()
		n, _ := strconv.ParseInt(got, 10, 64)
		m := e.message(n)
		want(t, "hold", m.Hold, true)
		want(t, "priority default", m.Priority, core.PriorityNormal)
		want(t, "doc", m.Documents[0].Name, "in.png")
		// The full path, as the guide asks for it.
		got = e.call("SendCompleteMessage", body(filepath.Join(e.imports, "in.png"))).result()
		n, _ = strconv.ParseInt(got, 10, 64)
		want(t, "full path doc", e.message(n).Documents[0].Name, "in.png")
		for _, p := range []string{"../secret.tif", outside, "link.tif", filepath.Join(e.imports, "link.tif"),
			filepath.Join(e.imports, "..", filepath.Base(filepath.Dir(outside)), "secret.tif"), "nothere.tif", `..\x.tif`} {
			e.call("SendCompleteMessage", body(p)).fault()
		}
		want(t, "stored", e.messageCount(), 2)
	})
	add("SendCompleteMessageWithPresetAgentsAndByPassRender", "bypass refuses pictures", func(t *testing.T, e *env) {
		body := sendXML(e.alice, fixture(t, "one.png"), "5550101") + `<byPassRender>true</byPassRender>`
		e.call("SendCompleteMessageWithPresetAgentsAndByPassRender", body).fault()
		want(t, "stored", e.messageCount(), 0)
	})
	add("BasicSendMessageWithBytes", "bytes", func(t *testing.T, e *env) {
		body := fmt.Sprintf(`<userID>%d</userID><senderName>Johnny</senderName><senderCompName>Fax Inc</senderCompName><subject>test</subject><note /><trackLabel><string /></trackLabel><trackValue><string /></trackValue><recpName><string>Dan</string></recpName><recpAddress><string>170923202</string></recpAddress><recpRawFax><boolean>true</boolean></recpRawFax><documentName><string>one.png</string></documentName><documentBytes><anyType xsi:type="xsd:base64Binary">%s</anyType></documentBytes><documentIsMerge><boolean>false</boolean></documentIsMerge>`, e.alice, b64(fixture(t, "one.png")))
		got := e.call("BasicSendMessageWithBytes", body).result()
		n, err := strconv.ParseInt(got, 10, 64)
		if err != nil {
			t.Fatalf("result %q", got)
		}
		m := e.message(n)
		want(t, "fax", m.Jobs[0].Recipient.Fax, "170923202")
		want(t, "name", m.Jobs[0].Recipient.Name, "Dan")
		want(t, "doc type", m.Documents[0].ContentType, "image/tiff") // converted at submit
		want(t, "priority", m.Priority, core.PriorityNormal)
	})
	add("BasicSendMessageWithBytes", "invalid user", func(t *testing.T, e *env) {
		body := fmt.Sprintf(`<userID>999999</userID><recpAddress><string>1</string></recpAddress><documentBytes><anyType xsi:type="xsd:base64Binary">%s</anyType></documentBytes>`, b64(fixture(t, "one.png")))
		want(t, "result", e.call("BasicSendMessageWithBytes", body).result(), "INVALID_USER")
	})
	add("DelegateMessage", "admin on behalf of alice", func(t *testing.T, e *env) {
		body := strings.Replace(sendXML(e.admin, fixture(t, "three.tif"), "5550101"),
			fmt.Sprintf("<userID>%d</userID>", e.admin), fmt.Sprintf("<delegateUserID>%d</delegateUserID><userName>alice</userName>", e.admin), 1)
		got := e.call("DelegateMessage", body).result()
		n, _ := strconv.ParseInt(got, 10, 64)
		want(t, "owner", e.message(n).OwnerID, e.alice)
	})
	add("DelegateMessage", "not a delegator", func(t *testing.T, e *env) {
		body := strings.Replace(sendXML(e.bob, fixture(t, "three.tif"), "5550101"),
			fmt.Sprintf("<userID>%d</userID>", e.bob), fmt.Sprintf("<delegateUserID>%d</delegateUserID><userName>alice</userName>", e.bob), 1)
		want(t, "result", e.call("DelegateMessage", body).result(), "INVALID_DELEGATOR")
		want(t, "stored", e.messageCount(), 0)
	})
	add("SendMixedMode", "documents and recipients", func(t *testing.T, e *env) {
		body := fmt.Sprintf(`<userID>%d</userID><subject>mixed</subject><priority>50</priority><scheduleDate>2026-03-02T10:00:00Z</scheduleDate><isOnHold>false</isOnHold><mss>true</mss><msf>true</msf><useDefaultNotify>false</useDefaultNotify><useDefaultCP>false</useDefaultCP>`+
			`<documents><MsgDocument><Name>three.tif</Name><Bytes>%s</Bytes><IsMerge>false</IsMerge><RemoveFirstPage>false</RemoveFirstPage></MsgDocument></documents>`+
			`<recipients><MsgRecipient><Name>A</Name><CompName>Comp A</CompName><Address>5550101</Address><AddressType>2</AddressType><IsRRFOn>false</IsRRFOn><IsRRSOn>false</IsRRSOn></MsgRecipient>`+
			`<MsgRecipient><Name>B</Name><Address>5550102</Address><AddressType>9</AddressType><IsRRFOn>false</IsRRFOn><IsRRSOn>false</IsRRSOn></MsgRecipient></recipients>`+
			`<trackings><MsgTracking><TrackLabel>PO</TrackLabel><TrackValue>42</TrackValue><TrackID>0</TrackID></MsgTracking></trackings>`, e.alice, b64(fixture(t, "three.tif")))
		got := e.call("SendMixedMode", body).result()
		n, _ := strconv.ParseInt(got, 10, 64)
		m := e.message(n)
		want(t, "jobs", len(m.Jobs), 2)
		want(t, "priority", m.Priority, core.PriorityLow)
		want(t, "schedule", m.Schedule.UTC(), time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
		want(t, "company", m.Jobs[0].Recipient.Company, "Comp A")
	})
	add("SendMixedMode", "email recipient refused", func(t *testing.T, e *env) {
		body := fmt.Sprintf(`<userID>%d</userID><priority>60</priority><isOnHold>false</isOnHold><mss>false</mss><msf>false</msf><useDefaultNotify>false</useDefaultNotify><useDefaultCP>false</useDefaultCP><documents><MsgDocument><Bytes>%s</Bytes><IsMerge>false</IsMerge><RemoveFirstPage>false</RemoveFirstPage></MsgDocument></documents><recipients><MsgRecipient><Address>a@b.c</Address><AddressType>1</AddressType><IsRRFOn>false</IsRRFOn><IsRRSOn>false</IsRRSOn></MsgRecipient></recipients>`, e.alice, b64(fixture(t, "three.tif")))
		e.call("SendMixedMode", body).fault()
		want(t, "stored", e.messageCount(), 0)
	})

	add("GetMessageDetails1", "outbound with attempts", func(t *testing.T, e *env) {
		m := e.submit(e.alice, false, "5550101")
		e.deliver(false)
		doc := e.call("GetMessageDetails1", `<msgID>`+id(m)+`</msgID>`).result()
		d := parseDoc(t, doc)
		want(t, "root", d.XMLName.Local, "MessageDetails")
		want(t, "MessageID", d.path("MessageID"), id(m))
		want(t, "OwnerName", d.path("OwnerName"), "alice")
		want(t, "MessageType", d.path("MessageType"), "Outbound")
		want(t, "Status", d.path("Status"), "Completed")
		want(t, "TotalTransactions", d.path("TotalTransactions"), "1")
		want(t, "TransactionStatusDef", d.path("Transactions", "TransactionDetails", "TransactionStatusDef"), "Completed")
		want(t, "TotalTransmitTime", d.path("Transactions", "TransactionDetails", "TotalTransmitTime"), "15 sec")
		a := []string{"Transactions", "TransactionDetails", "Attempts", "TransmissionDetails"}
		for k, v := range map[string]string{"CalledNumber": "5550101", "RemoteCSID": "ROBOFAX", "FaxProtocol": "V17",
			"TransmitSpeed": "14400", "CompressionMode": "MH", "CallDuration": "17", "TransmitDuration": "15",
			"TransmitStatusDef": "Completed", "PageSent": "3", "StartPageNo": "1", "FaxAgentID": "agent-7", "BoardID": "M0,0",
			"ServerIP": "10.15.7.6", "CreateDate": "3/1/2026 9:00:00 AM", "CompleteDate": "3/1/2026 9:00:17 AM", "ErrorInfo": ""} {
			want(t, k, d.path(append(a, k)...), v)
		}
		wantOrder(t, d.find(a...), transmissionFields("CreateDate"))
	})
	add("GetMessageDetails1", "not found", func(t *testing.T, e *env) {
		want(t, "result", e.call("GetMessageDetails1", `<msgID>424242</msgID>`).result(), "MESSAGE_NOT_FOUND")
		want(t, "garbage", e.call("GetMessageDetails1", `<msgID>x</msgID>`).result(), "MESSAGE_NOT_FOUND")
	})
	add("GetMessageDetails2", "inbound, owner only", func(t *testing.T, e *env) {
		if _, err := e.store.CreateRoute(context.Background(), core.Route{UserID: e.bob, Active: true,
			Cond1: core.RouteCondition{Field: core.RouteRoutingDigits, Value: "0327268913"}}); err != nil {
			t.Fatal(err)
		}
		m := e.receive("0327268913")
		doc := e.call("GetMessageDetails2", `<msgID>`+id(m)+`</msgID><userID>`+id(e.bob)+`</userID>`).result()
		d := parseDoc(t, doc)
		want(t, "root", d.XMLName.Local, "MessageDetails2")
		want(t, "MessageType", d.path("MessageType"), "Inbound")
		want(t, "IsRead", d.path("IsRead"), "False")
		want(t, "RoutingInfo", d.path("Transactions", "TransactionDetails", "Attempts", "TransmissionDetails", "RoutingInfo"), "0327268913")
		wantOrder(t, d.find("Transactions", "TransactionDetails", "Attempts", "TransmissionDetails"), transmissionFields("CreatedDate"))
		want(t, "alice", e.call("GetMessageDetails2", `<msgID>`+id(m)+`</msgID><userID>`+id(e.alice)+`</userID>`).result(), "NOT_MESSAGE_OWNER")
	})
	add("GetMessageStatus", "states", func(t *testing.T, e *env) {
		m := e.submit(e.alice, false, "5550101")
		want(t, "queued", e.call("GetMessageStatus", `<msgID>`+id(m)+`</msgID>`).result(), "Queued")
		e.deliver(true)
		want(t, "failed", e.call("GetMessageStatus", `<msgID>`+id(m)+`</msgID>`).result(), "Failed")
		want(t, "unknown", e.call("GetMessageStatus", `<msgID>99</msgID>`).result(), "MESSAGE_NOT_FOUND")
	})
	add("IsMessageDeleted", "before and after delete", func(t *testing.T, e *env) {
		m := e.submit(e.alice, true, "5550101")
		body := `<messageID>` + id(m) + `</messageID><userID>` + id(e.alice) + `</userID>`
		want(t, "before", e.call("IsMessageDeleted", body).result(), "False")
		if err := e.store.Move(context.Background(), m, core.FolderTrash); err != nil {
			t.Fatal(err)
		}
		want(t, "after", e.call("IsMessageDeleted", body).result(), "True")
		want(t, "bob", e.call("IsMessageDeleted", `<messageID>`+id(m)+`</messageID><userID>`+id(e.bob)+`</userID>`).result(), "NOT_MESSAGE_OWNER")
	})
	add("DeleteMessage", "owner, other, missing", func(t *testing.T, e *env) {
		m := e.submit(e.alice, true, "5550101")
		want(t, "bob", e.call("DeleteMessage", `<msgID>`+id(m)+`</msgID><userID>`+id(e.bob)+`</userID>`).result(), "NOT_MESSAGE_OWNER")
		want(t, "folder", e.message(m).Folder, core.FolderHold)
		want(t, "alice", e.call("DeleteMessage", `<msgID>`+id(m)+`</msgID><userID>`+id(e.alice)+`</userID>`).result(), "OK")
		want(t, "folder", e.message(m).Folder, core.FolderTrash)
		want(t, "missing", e.call("DeleteMessage", `<msgID>777</msgID><userID>`+id(e.alice)+`</userID>`).result(), "MESSAGE_NOT_FOUND")
	})
	add("CancelMessage", "queued then sent", func(t *testing.T, e *env) {
		m := e.submit(e.alice, false, "5550101")
		want(t, "queued", e.call("CancelMessage", `<msgID>`+id(m)+`</msgID>`).result(), "OK")
		want(t, "status", e.message(m).Status, "Cancelled")
		m2 := e.submit(e.alice, false, "5550101")
		e.deliver(false)
		want(t, "sent", e.call("CancelMessage", `<msgID>`+id(m2)+`</msgID>`).result(), "CANCEL_NOT_ALLOW")
		want(t, "missing", e.call("CancelMessage", `<msgID>31337</msgID>`).result(), "MESSAGE_NOT_FOUND")
	})
	add("RetryFailed", "failed job queued again", func(t *testing.T, e *env) {
		m := e.submit(e.alice, false, "5550101")
		e.deliver(true)
		want(t, "result", e.call("RetryFailed", `<msgID>`+id(m)+`</msgID>`).result(), "OK")
		want(t, "state", e.message(m).Jobs[0].State, core.JobQueued)
		want(t, "missing", e.call("RetryFailed", `<msgID>5</msgID>`).result(), "MESSAGE_NOT_FOUND")
	})
	for _, op := range []string{"ForwardToUser", "AssignMessage"} {
		add(op, "checks", func(t *testing.T, e *env) {
			m := e.submit(e.alice, true, "5550101")
			want(t, "not owner", e.call(op, `<userID>`+id(e.bob)+`</userID><msgID>`+id(m)+`</msgID><usernames><string>admin</string></usernames>`).result(), "NOT_MESSAGE_OWNER")
			want(t, "unknown user", e.call(op, `<userID>`+id(e.alice)+`</userID><msgID>`+id(m)+`</msgID><usernames><string>nobody</string></usernames>`).result(), "INVALID_USER")
			want(t, "missing", e.call(op, `<userID>`+id(e.alice)+`</userID><msgID>999</msgID><usernames><string>bob</string></usernames>`).result(), "MESSAGE_NOT_FOUND")
			// One unknown name among good ones: nothing is given to anyone.
			n := e.messageCount()
			want(t, "some unknown", e.call(op, `<userID>`+id(e.alice)+`</userID><msgID>`+id(m)+`</msgID><usernames><string>bob</string><string>nobody</string></usernames>`).result(), "INVALID_USER")
			want(t, "inactive", e.call(op, `<userID>`+id(e.alice)+`</userID><msgID>`+id(m)+`</msgID><usernames><string>carol</string></usernames>`).result(), "INVALID_USER")
			want(t, "messages after bad input", e.messageCount(), n)
			want(t, "owner after bad input", e.message(m).OwnerID, e.alice)
		})
	}
	add("ForwardToUser", "copies", func(t *testing.T, e *env) {
		ctx := context.Background()
		got := e.call("SendCompleteMessage", sendXML(e.alice, fixture(t, "three.tif"), "5550101")).result()
		m, err := strconv.ParseInt(got, 10, 64)
		if err != nil {
			t.Fatalf("send: %s", got)
		}
		orig := e.message(m)
		want(t, "forward", e.call("ForwardToUser", `<userID>`+id(e.alice)+`</userID><msgID>`+id(m)+`</msgID><usernames><string>bob</string><string>admin</string></usernames>`).result(), "OK")
		for _, to := range []int64{e.bob, e.admin} {
			ms, n, err := e.store.Messages(ctx, core.MessageQuery{OwnerID: to, Folder: core.FolderInbox})
			if err != nil || n != 1 {
				t.Fatalf("messages of %d: %v %v", to, ms, err)
			}
			c := e.message(ms[0].ID)
			want(t, "copy folder", c.Folder, core.FolderInbox)
			want(t, "copy subject", c.Subject, "Test")
			want(t, "copy read", c.Read, false)
			want(t, "copy jobs", len(c.Jobs), 0)
			if len(c.Documents) != 1 || c.Documents[0].ID != orig.Documents[0].ID || c.Documents[0].Name != orig.Documents[0].Name {
				t.Fatalf("copy documents %+v, want %+v", c.Documents, orig.Documents)
			}
			recs := e.call("GetTrackRecords", `<msgID>`+id(c.ID)+`</msgID>`).strings()
			want(t, "copy tracks", strings.Join(recs, ","), "1|Label 1|Value 1")
			want(t, "bob may read the copy", e.call("IsMessageRead", `<userID>`+id(to)+`</userID><msgID>`+id(c.ID)+`</msgID>`).result(), "false")
		}
		// The original stays alice's, with its job.
		o := e.message(m)
		want(t, "original owner", o.OwnerID, e.alice)
		want(t, "original jobs", len(o.Jobs), 1)
		want(t, "bob cannot touch the original", e.call("MarkMsgAsRead", `<userID>`+id(e.bob)+`</userID><msgID>`+id(m)+`</msgID>`).result(), "NOT_MESSAGE_OWNER")
	})
	add("AssignMessage", "reassigns", func(t *testing.T, e *env) {
		m := e.submit(e.alice, true, "5550101")
		want(t, "read", e.call("MarkMsgAsRead", `<userID>`+id(e.alice)+`</userID><msgID>`+id(m)+`</msgID>`).result(), "OK")
		n := e.messageCount()
		want(t, "assign", e.call("AssignMessage", `<userID>`+id(e.alice)+`</userID><msgID>`+id(m)+`</msgID><usernames><string>bob</string></usernames>`).result(), "OK")
		got := e.message(m)
		want(t, "owner", got.OwnerID, e.bob)
		want(t, "unread", got.Read, false)
		want(t, "folder", got.Folder, core.FolderHold)
		want(t, "jobs", len(got.Jobs), 1)
		want(t, "no copy", e.messageCount(), n)
		want(t, "alice lost it", e.call("MarkMsgAsRead", `<userID>`+id(e.alice)+`</userID><msgID>`+id(m)+`</msgID>`).result(), "NOT_MESSAGE_OWNER")
		want(t, "bob has it", e.call("MarkMsgAsRead", `<userID>`+id(e.bob)+`</userID><msgID>`+id(m)+`</msgID>`).result(), "OK")
		// To several users: copies for all but the last, who gets the
		// message itself.
		want(t, "assign to two", e.call("AssignMessage", `<userID>`+id(e.bob)+`</userID><msgID>`+id(m)+`</msgID><usernames><string>admin</string><string>alice</string></usernames>`).result(), "OK")
		want(t, "owner now", e.message(m).OwnerID, e.alice)
		ms, total, err := e.store.Messages(context.Background(), core.MessageQuery{OwnerID: e.admin, Folder: core.FolderInbox})
		if err != nil || total != 1 || ms[0].Subject != e.message(m).Subject {
			t.Fatalf("admin's copy %v %d %v", ms, total, err)
		}
		want(t, "one copy", e.messageCount(), n+1)
	})
	for _, op := range []string{"GetMessageList1", "GetMessageList2", "GetMessageList3", "GetMessageList4",
		"GetMessageList5", "GetMessageList6", "GetMessageList7", "GetMessageList8"} {
		add(op, "filters", func(t *testing.T, e *env) {
			m1 := e.submit(e.alice, true, "5550101")
			e.clock.t = e.clock.t.Add(48 * time.Hour)
			m2 := e.submit(e.alice, true, "5550101")
			m3 := e.submit(e.alice, true, "5550101")
			e.submit(e.bob, true, "5550101")
			if err := e.store.MarkRead(context.Background(), m3, true); err != nil {
				t.Fatal(err)
			}
			params := map[string]string{
				"userID": id(e.alice), "userList": `<long>` + id(e.alice) + `</long><long>999</long>`, "folderName": "Hold",
				"isRead": "false", "isDownloaded": "false", "startDate": "20260303", "endDate": "20260303",
				"sortDescending": "true", "maxResults": "5",
			}
			var b strings.Builder
			decl := e.h.contract.Params[op]
			for i := len(decl) - 1; i >= 0; i-- { // reverse order: matched by name
				fmt.Fprintf(&b, "<%s>%s</%s>", decl[i].Name, params[decl[i].Name], decl[i].Name)
			}
			got := e.call(op, b.String()).strings()
			all := []string{id(m3), id(m2), id(m1)}
			var exp []string
			for _, s := range all {
				n, _ := strconv.ParseInt(s, 10, 64)
				if e.h.contract.hasParam(op, "isRead") && n == m3 {
					continue
				}
				if e.h.contract.hasParam(op, "startDate") && n == m1 {
					continue
				}
				exp = append(exp, s)
			}
			if !slices.Equal(got, exp) {
				t.Errorf("list = %v, want %v", got, exp)
			}
		})
	}
	add("GetMessageList8", "ascending and capped", func(t *testing.T, e *env) {
		m1 := e.submit(e.alice, false, "1")
		m2 := e.submit(e.alice, false, "1")
		e.submit(e.alice, false, "1")
		got := e.call("GetMessageList8", `<userID>`+id(e.alice)+`</userID><folderName>outbox</folderName><sortDescending>false</sortDescending><maxResults>2</maxResults>`).strings()
		if !slices.Equal(got, []string{id(m1), id(m2)}) {
			t.Errorf("list = %v", got)
		}
	})
	for _, op := range []string{"DownloadMessageByte1", "DownloadMessageInByte2", "DownloadMessageInByte3", "DownloadMessageInByte4"} {
		add(op, "tif and pdf", func(t *testing.T, e *env) {
			m := e.submit(e.alice, false, "5550101")
			job := e.message(m).Jobs[0].ID
			for _, typ := range []string{"TIF", "PDF"} {
				var body string
				if e.h.contract.hasParam(op, "messageID") {
					body = `<messageID>` + id(m) + `</messageID><deliveryNum>1</deliveryNum>`
				} else {
					body = `<deliveryID>` + id(job) + `</deliveryID>`
				}
				body += `<downloadType>` + typ + `</downloadType><startPageIndex>1</startPageIndex>`
				pages := []int{2, 3}
				if e.h.contract.hasParam(op, "excludePageList") {
					body += `<excludePageList><int>3</int></excludePageList>`
					pages = []int{2}
				}
				res, out := e.call(op, body).download()
				want(t, "result", res, "")
				checkDownload(t, typ, out, pages)
			}
			var missing string
			if e.h.contract.hasParam(op, "messageID") {
				missing = `<messageID>` + id(m) + `</messageID><deliveryNum>2</deliveryNum><downloadType>TIF</downloadType><startPageIndex>0</startPageIndex>`
			} else {
				missing = `<deliveryID>9999</deliveryID><downloadType>TIF</downloadType><startPageIndex>0</startPageIndex>`
			}
			res, out := e.call(op, missing).download()
			want(t, "missing", res, "MESSAGE_NOT_FOUND")
			want(t, "missing output", len(out), 0)
		})
	}
	for _, tc := range []struct {
		op   string
		read bool
	}{{"MarkMsgAsRead", true}, {"MarkMsgAsUnread", false}} {
		add(tc.op, "owner only", func(t *testing.T, e *env) {
			m := e.submit(e.alice, true, "5550101")
			if err := e.store.MarkRead(context.Background(), m, !tc.read); err != nil {
				t.Fatal(err)
			}
			want(t, "bob", e.call(tc.op, `<userID>`+id(e.bob)+`</userID><msgID>`+id(m)+`</msgID>`).result(), "NOT_MESSAGE_OWNER")
			want(t, "unchanged", e.message(m).Read, !tc.read)
			want(t, "alice", e.call(tc.op, `<msgID>`+id(m)+`</msgID><userID>`+id(e.alice)+`</userID>`).result(), "OK")
			want(t, "read", e.message(m).Read, tc.read)
		})
	}
	add("IsMessageRead", "boolean", func(t *testing.T, e *env) {
		m := e.submit(e.alice, true, "5550101")
		want(t, "unread", e.call("IsMessageRead", `<userID>`+id(e.alice)+`</userID><msgID>`+id(m)+`</msgID>`).result(), "false")
		if err := e.store.MarkRead(context.Background(), m, true); err != nil {
			t.Fatal(err)
		}
		want(t, "read", e.call("IsMessageRead", `<userID>`+id(e.alice)+`</userID><msgID>`+id(m)+`</msgID>`).result(), "true")
		want(t, "bob", e.call("IsMessageRead", `<userID>`+id(e.bob)+`</userID><msgID>`+id(m)+`</msgID>`).result(), "false")
	})
	add("DownloadMessageByte1", "inbound fax as received", func(t *testing.T, e *env) {
		m := e.receive("0327268805")
		res, out := e.call("DownloadMessageByte1", `<messageID>`+id(m)+`</messageID><downloadType>TIF</downloadType><startPageIndex>0</startPageIndex>`).download()
		want(t, "result", res, "")
		checkDownload(t, "TIF", out, []int{1, 2, 3})
		res, out = e.call("DownloadMessageByte1", `<messageID>`+id(m)+`</messageID><deliveryNum>1</deliveryNum><downloadType>pdf</downloadType><startPageIndex>0</startPageIndex>`).download()
		want(t, "result", res, "")
		checkDownload(t, "PDF", out, []int{1, 2, 3})
		e.call("DownloadMessageByte1", `<messageID>`+id(m)+`</messageID><deliveryNum>1</deliveryNum><downloadType>DOCX</downloadType><startPageIndex>0</startPageIndex>`).fault()
		e.call("DownloadMessageByte1", `<messageID>`+id(m)+`</messageID><deliveryNum>1</deliveryNum><downloadType>TIF</downloadType><startPageIndex>3</startPageIndex>`).fault()
	})
	add("MarkMsgAsDownloaded", "owner", func(t *testing.T, e *env) {
		m := e.submit(e.alice, true, "5550101")
		want(t, "alice", e.call("MarkMsgAsDownloaded", `<userID>`+id(e.alice)+`</userID><msgID>`+id(m)+`</msgID>`).result(), "OK")
		want(t, "downloaded", e.message(m).Downloaded, true)
		want(t, "invalid user", e.call("MarkMsgAsDownloaded", `<userID>0</userID><msgID>`+id(m)+`</msgID>`).result(), "INVALID_USER")
	})
	add("GetTrackRecords", "none stored", func(t *testing.T, e *env) {
		m := e.submit(e.alice, true, "5550101")
		got := e.call("GetTrackRecords", `<msgID>`+id(m)+`</msgID>`).strings()
		want(t, "records", len(got), 0)
		want(t, "missing message", len(e.call("GetTrackRecords", `<msgID>4242</msgID>`).strings()), 0)
	})
	add("GetTrackRecords", "stored with the message", func(t *testing.T, e *env) {
		body := strings.Replace(sendXML(e.alice, fixture(t, "three.tif"), "5550101"),
			`<trackLabel><string>Label 1</string></trackLabel><trackValue><string>Value 1</string></trackValue>`,
			`<trackLabel><string>Order</string><string>Dept</string></trackLabel><trackValue><string>A-17</string><string>Sales</string></trackValue>`, 1)
		got := e.call("SendCompleteMessage", body).result()
		m, err := strconv.ParseInt(got, 10, 64)
		if err != nil {
			t.Fatalf("send: %s", got)
		}
		recs := e.call("GetTrackRecords", `<msgID>`+id(m)+`</msgID>`).strings()
		want(t, "records", strings.Join(recs, ","), "1|Order|A-17,2|Dept|Sales")
	})
	add("UpdateTrackRecord", "missing message", func(t *testing.T, e *env) {
		want(t, "result", e.call("UpdateTrackRecord", `<msgID>4242</msgID><trackID>1</trackID><trackValue>x</trackValue>`).result(), "MESSAGE_NOT_FOUND")
	})
	add("UpdateTrackRecord", "stored", func(t *testing.T, e *env) {
		got := e.call("SendCompleteMessage", sendXML(e.alice, fixture(t, "three.tif"), "5550101")).result()
		m, err := strconv.ParseInt(got, 10, 64)
		if err != nil {
			t.Fatalf("send: %s", got)
		}
		want(t, "update", e.call("UpdateTrackRecord", `<msgID>`+id(m)+`</msgID><trackID>1</trackID><trackValue>new value</trackValue>`).result(), "OK")
		want(t, "no such record", e.call("UpdateTrackRecord", `<msgID>`+id(m)+`</msgID><trackID>2</trackID><trackValue>x</trackValue>`).result(), "MESSAGE_NOT_FOUND")
		e.call("UpdateTrackRecord", `<msgID>`+id(m)+`</msgID><trackID>1</trackID><trackValue>`+strings.Repeat("x", 1001)+`</trackValue>`).fault()
		recs := e.call("GetTrackRecords", `<msgID>`+id(m)+`</msgID>`).strings()
		want(t, "records", strings.Join(recs, ","), "1|Label 1|new value")
		d := parseDoc(t, e.call("GetMessageDetails1", `<msgID>`+id(m)+`</msgID>`).result())
		want(t, "Tracking", d.path("Tracking"), "Label 1=new value")
	})
	add("MoveMessage", "to processed", func(t *testing.T, e *env) {
		m := e.receive("1234")
		// Unrouted: nobody owns it.
		want(t, "unrouted", e.call("MoveMessage", `<userID>`+id(e.alice)+`</userID><msgID>`+id(m)+`</msgID><newFolderName>processed</newFolderName>`).result(), "NOT_MESSAGE_OWNER")
		m2 := e.submit(e.alice, true, "5550101")
		want(t, "own", e.call("MoveMessage", `<userID>`+id(e.alice)+`</userID><msgID>`+id(m2)+`</msgID><newFolderName>Processed</newFolderName>`).result(), "OK")
		want(t, "folder", e.message(m2).Folder, core.FolderProcessed)
		want(t, "missing", e.call("MoveMessage", `<userID>`+id(e.alice)+`</userID><msgID>555</msgID><newFolderName>inbox</newFolderName>`).result(), "MESSAGE_NOT_FOUND")
		e.call("MoveMessage", `<userID>`+id(e.alice)+`</userID><msgID>`+id(m2)+`</msgID><newFolderName>nowhere</newFolderName>`).fault()
	})

	for _, op := range []string{"CreateNewUser1", "CreateNewUser2", "CreateNewUser3"} {
		add(op, "create", func(t *testing.T, e *env) {
			body := `<userID>` + id(e.admin) + `</userID><domainName>sales</domainName><userName>dave</userName><password>dave-pw-1</password><role>StandardUser</role><isExternalAuth>false</isExternalAuth><isActive>true</isActive><displayName>Dave D</displayName><firstName>Dave</firstName><middleName /><lastName>D</lastName><companyName>Company A</companyName><preferAddrType>Email</preferAddrType><email>dave@example.com</email><fax>123</fax><rawFax />`
			if op != "CreateNewUser1" {
				body += `<NOR>true</NOR><NOS>false</NOS>`
			}
			body += `<desc />`
			if op == "CreateNewUser3" {
				body += `<callerID>2345</callerID><csid>Company A</csid>`
			}
			got := e.call(op, body).result()
			u, err := e.store.UserByName(context.Background(), "dave")
			if err != nil {
				t.Fatal(err)
			}
			want(t, "result", got, id(u.ID))
			want(t, "domain", u.DomainID, e.salesID)
			want(t, "name", u.FullName, "Dave D")
			want(t, "admin", u.Admin, false)
			want(t, "login", e.call("AuthenticateUser", `<userName>dave</userName><password>dave-pw-1</password>`).result(), id(u.ID))
			want(t, "not admin", e.call(op, strings.Replace(body, id(e.admin), id(e.alice), 1)).result(), "INVALID_ADMIN")
			e.call(op, body).fault() // exists
			// Every field the WSDL gives is stored, as UpdateUser stores it.
			p := e.profile(u.ID)
			want(t, "role", p.Role, core.RoleStandardUser)
			want(t, "first", p.FirstName, "Dave")
			want(t, "last", p.LastName, "D")
			want(t, "company", p.CompanyName, "Company A")
			want(t, "addr type", p.PreferAddrType, "Email")
			want(t, "fax", p.Fax, "123")
			want(t, "desc", p.Description, "")
			want(t, "notify receive", p.NotifyReceive, op != "CreateNewUser1")
			want(t, "csid", p.LocalCSID, map[bool]string{true: "Company A"}[op == "CreateNewUser3"])
			want(t, "caller ID", p.CallerID, map[bool]string{true: "2345"}[op == "CreateNewUser3"])
			d := parseDoc(t, e.call("GetUserDetailsByUserName", `<adminID>`+id(e.admin)+`</adminID><userName>dave</userName>`).result())
			want(t, "details first", d.path("FirstName"), "Dave")
			want(t, "details last", d.path("LastName"), "D")
			want(t, "details prefer", d.path("PreferAddressType"), "EMAIL")
			var addrs []string
			for _, a := range d.find("Addresses").Kids {
				addrs = append(addrs, a.path("AddressType")+"="+a.path("Address")+" primary="+a.path("IsPrimary")+" nor="+a.path("NotifyOnReceive"))
			}
			want(t, "details addresses", strings.Join(addrs, ", "),
				fmt.Sprintf("EMAIL=dave@example.com primary=true nor=%v, FAX=123 primary=false nor=false", op != "CreateNewUser1"))
			fs := parseDoc(t, e.call("GetUserFaxSettingByUserID", `<adminID>`+id(e.admin)+`</adminID><userID>`+id(u.ID)+`</userID>`).result())
			want(t, "setting csid", fs.path("LocalCSID"), p.LocalCSID)
			want(t, "setting caller ID", fs.path("LocalCallerID"), p.CallerID)
			// A domain administrator is created as one (not as a system
			// administrator), inactive when asked, with middle name and
			// description; a profile the store refuses creates nobody.
			body2 := strings.NewReplacer("<userName>dave", "<userName>erin", "StandardUser", "DomainAdmin",
				"<isActive>true", "<isActive>false", "<middleName />", "<middleName>M</middleName>",
				"<desc />", "<desc>sales lead</desc>", "<rawFax />", "<rawFax>5550109</rawFax>").Replace(body)
			got = e.call(op, body2).result()
			u2, err := e.store.UserByName(context.Background(), "erin")
			if err != nil {
				t.Fatalf("erin: %v (answer %s)", err, got)
			}
			want(t, "erin role", u2.Role, core.RoleDomainAdmin)
			want(t, "erin admin", u2.Admin, true)
			want(t, "erin inactive", u2.Active, false)
			p2 := e.profile(u2.ID)
			want(t, "erin middle", p2.MiddleName, "M")
			want(t, "erin desc", p2.Description, "sales lead")
			want(t, "erin raw fax", p2.RawFax, "5550109")
			e.call(op, strings.NewReplacer("<userName>dave", "<userName>frank", "<companyName>Company A", "<companyName>"+strings.Repeat("x", 201)).Replace(body)).fault()
			if _, err := e.store.UserByName(context.Background(), "frank"); !errors.Is(err, core.ErrNotFound) {
				t.Errorf("frank with a refused profile: %v, want not found", err)
			}
		})
	}
	for _, op := range []string{"UpdateUser-basic", "UpdateUser-extra", "UpdateUser-advance"} {
		add(op, "checks", func(t *testing.T, e *env) {
			body := `<adminID>%d</adminID><userID>%d</userID><role>DomainAdmin</role><isExternalAuth>false</isExternalAuth><isActive>true</isActive><displayName>new</displayName><preferAddrType>Email</preferAddrType>`
			want(t, "not admin", e.call(op, fmt.Sprintf(body, e.bob, e.alice)).result(), "INVALID_ADMIN")
			want(t, "no user", e.call(op, fmt.Sprintf(body, e.admin, 98765)).result(), "INVALID_USER")
			// Bad values and leaving no administrator store nothing.
			e.call(op, strings.Replace(fmt.Sprintf(body, e.admin, e.alice), "Email", "Pigeon", 1)).fault()
			e.call(op, strings.Replace(fmt.Sprintf(body, e.admin, e.alice), "DomainAdmin", "Boss", 1)).fault()
			e.call(op, strings.Replace(fmt.Sprintf(body, e.admin, e.alice), "<isExternalAuth>false", "<isExternalAuth>true", 1)).fault()
			e.call(op, strings.Replace(fmt.Sprintf(body, e.admin, e.admin), "DomainAdmin", "StandardUser", 1)).fault()
			e.call(op, strings.Replace(fmt.Sprintf(body, e.admin, e.admin), "<isActive>true", "<isActive>false", 1)).fault()
			for _, u := range []int64{e.alice, e.admin} {
				got, p := e.user(u), e.profile(u)
				want(t, "name unchanged", got.FullName, map[int64]string{e.alice: "User alice", e.admin: "Administrator"}[u])
				want(t, "admin unchanged", got.Admin, u == e.admin)
				want(t, "active unchanged", got.Active, true)
				want(t, "addr type unchanged", p.PreferAddrType, "")
			}
		})
		add(op, "stores the profile", func(t *testing.T, e *env) {
			body := `<adminID>` + id(e.admin) + `</adminID><userID>` + id(e.alice) + `</userID><role>DomainAdmin</role><isExternalAuth>false</isExternalAuth><isActive>true</isActive><displayName>Alice A</displayName><firstName>Alice</firstName><middleName>M</middleName><lastName>A</lastName><companyName>Co</companyName><preferAddrType>Email</preferAddrType><desc>d</desc>`
			switch op {
			case "UpdateUser-extra":
				body += `<localCSID>ALICE</localCSID><callerID>5550100</callerID>`
			case "UpdateUser-advance":
				body += `<config><UserConfig><ConfigName>FaxHeader</ConfigName><ConfigValue>Alice's fax</ConfigValue></UserConfig></config>`
			}
			want(t, "result", e.call(op, body).result(), "OK")
			u, p := e.user(e.alice), e.profile(e.alice)
			want(t, "full name", u.FullName, "Alice A")
			want(t, "admin", u.Admin, true)
			want(t, "role", u.Role, core.RoleDomainAdmin)
			want(t, "profile role", p.Role, core.RoleDomainAdmin)
			want(t, "active", u.Active, true)
			want(t, "email kept", u.Email, "alice@example.com")
			want(t, "first", p.FirstName, "Alice")
			want(t, "middle", p.MiddleName, "M")
			want(t, "last", p.LastName, "A")
			want(t, "company", p.CompanyName, "Co")
			want(t, "addr type", p.PreferAddrType, "Email")
			want(t, "desc", p.Description, "d")
			csid, cfg := "", ""
			if op == "UpdateUser-extra" {
				csid = "ALICE"
			}
			if op == "UpdateUser-advance" {
				cfg = "Alice's fax"
			}
			want(t, "csid", p.LocalCSID, csid)
			want(t, "config", p.Config["FaxHeader"], cfg)
			// The details documents show the stored profile.
			d := parseDoc(t, e.call("GetUserDetailsByUserID", `<adminID>`+id(e.admin)+`</adminID><userID>`+id(e.alice)+`</userID>`).result())
			want(t, "details first", d.path("FirstName"), "Alice")
			want(t, "details middle", d.path("MiddleName"), "M")
			want(t, "details last", d.path("LastName"), "A")
			want(t, "details display", d.path("DisplayName"), "Alice A")
			want(t, "details role", d.path("Role"), "DOMAIN ADMIN")
			want(t, "details prefer", d.path("PreferAddressType"), "EMAIL")
			want(t, "details desc", d.path("Description"), "d")
			fs := parseDoc(t, e.call("GetUserFaxSettingByUserName", `<adminID>`+id(e.admin)+`</adminID><userName>alice</userName>`).result())
			want(t, "setting csid", fs.path("LocalCSID"), csid)
			want(t, "setting caller ID", fs.path("LocalCallerID"), map[bool]string{true: "5550100"}[csid != ""])
			// Now an administrator: alice may remove users.
			want(t, "alice is admin", e.call("RemoveUser", `<adminID>`+id(e.alice)+`</adminID><userID>`+id(e.bob)+`</userID>`).result(), "OK")
			// Deactivated and demoted again.
			want(t, "demote", e.call(op, strings.Replace(strings.Replace(body, "DomainAdmin", "StandardUser", 1), "<isActive>true", "<isActive>false", 1)).result(), "OK")
			u = e.user(e.alice)
			want(t, "demoted", u.Admin, false)
			want(t, "role", u.Role, core.RoleStandardUser)
			want(t, "inactive", u.Active, false)
			want(t, "login", e.call("AuthenticateUser", `<userName>alice</userName><password>alice-password</password>`).result(), "1")
		})
	}
	add("RemoveUser", "checks", func(t *testing.T, e *env) {
		want(t, "not admin", e.call("RemoveUser", `<adminID>`+id(e.alice)+`</adminID><userID>`+id(e.bob)+`</userID>`).result(), "INVALID_ADMIN")
		want(t, "no user", e.call("RemoveUser", `<adminID>`+id(e.admin)+`</adminID><userID>98765</userID>`).result(), "INVALID_USER")
		// The last administrator stays.
		e.call("RemoveUser", `<adminID>`+id(e.admin)+`</adminID><userID>`+id(e.admin)+`</userID>`).fault()
		want(t, "admin kept", e.user(e.admin).Active, true)
	})
	add("RemoveUser", "soft delete", func(t *testing.T, e *env) {
		ctx := context.Background()
		m := e.submit(e.bob, true, "5550101")
		want(t, "remove", e.call("RemoveUser", `<adminID>`+id(e.admin)+`</adminID><userID>`+id(e.bob)+`</userID>`).result(), "OK")
		if _, err := e.store.User(ctx, e.bob); !errors.Is(err, core.ErrNotFound) {
			t.Fatalf("removed user: %v", err)
		}
		if _, err := e.store.UserByName(ctx, "bob"); !errors.Is(err, core.ErrNotFound) {
			t.Fatalf("removed user by name: %v", err)
		}
		want(t, "login", e.call("AuthenticateUser", `<userName>bob</userName><password>bob-password</password>`).result(), "1")
		want(t, "again", e.call("RemoveUser", `<adminID>`+id(e.admin)+`</adminID><userID>`+id(e.bob)+`</userID>`).result(), "INVALID_USER")
		want(t, "activate", e.call("ActivateUser", `<adminID>`+id(e.admin)+`</adminID><userID>`+id(e.bob)+`</userID>`).result(), "INVALID_USER")
		// The history stays.
		got := e.message(m)
		want(t, "message owner", got.OwnerID, e.bob)
		want(t, "message jobs", len(got.Jobs), 1)
		// The name is free again, for a new account with a new ID.
		nu, err := e.store.CreateUser(ctx, core.NewUser{Username: "bob", Password: "new-bob-password"})
		if err != nil || nu.ID == e.bob {
			t.Fatalf("new bob %+v %v", nu, err)
		}
		want(t, "new bob login", e.call("AuthenticateUser", `<userName>bob</userName><password>new-bob-password</password>`).result(), id(nu.ID))
	})
	for _, tc := range []struct {
		op     string
		active bool
	}{{"DeactivateUser", false}, {"ActivateUser", true}} {
		add(tc.op, "admin only", func(t *testing.T, e *env) {
			target := e.bob
			if tc.active {
				target = e.carol
			}
			want(t, "not admin", e.call(tc.op, `<adminID>`+id(e.alice)+`</adminID><userID>`+id(target)+`</userID>`).result(), "INVALID_ADMIN")
			u, _ := e.store.User(context.Background(), target)
			want(t, "unchanged", u.Active, !tc.active)
			want(t, "ok", e.call(tc.op, `<adminID>`+id(e.admin)+`</adminID><userID>`+id(target)+`</userID>`).result(), "OK")
			u, _ = e.store.User(context.Background(), target)
			want(t, "changed", u.Active, tc.active)
			want(t, "missing", e.call(tc.op, `<adminID>`+id(e.admin)+`</adminID><userID>5555</userID>`).result(), "INVALID_USER")
		})
	}
	add("UpdateUser-basic", "a domain administrator manages its own domain only", func(t *testing.T, e *env) {
		upd := func(admin, user int64, role string) string {
			return e.call("UpdateUser-basic", `<adminID>`+id(admin)+`</adminID><userID>`+id(user)+`</userID><role>`+role+`</role><isExternalAuth>false</isExternalAuth><isActive>true</isActive><displayName>X</displayName><preferAddrType>Fax</preferAddrType>`).result()
		}
		want(t, "make alice domain admin", upd(e.admin, e.alice, "DomainAdmin"), "OK")
		// alice (domain "default") and bob in her domain, carol in sales.
		want(t, "deactivate bob", e.call("DeactivateUser", `<adminID>`+id(e.alice)+`</adminID><userID>`+id(e.bob)+`</userID>`).result(), "OK")
		want(t, "bob inactive", e.user(e.bob).Active, false)
		want(t, "activate carol", e.call("ActivateUser", `<adminID>`+id(e.alice)+`</adminID><userID>`+id(e.carol)+`</userID>`).result(), "INVALID_ADMIN")
		list := `<userIDList><long>` + id(e.bob) + `</long><long>` + id(e.carol) + `</long></userIDList>`
		want(t, "activate list", e.call("ActivateUsers", `<adminID>`+id(e.alice)+`</adminID>`+list).result(), "SOME_INVALID_USER")
		want(t, "bob active", e.user(e.bob).Active, true)
		want(t, "carol still inactive", e.user(e.carol).Active, false)
		want(t, "update carol", upd(e.alice, e.carol, "StandardUser"), "INVALID_ADMIN")
		want(t, "bob to system admin", upd(e.alice, e.bob, "SystemAdmin"), "INVALID_ADMIN")
		want(t, "bob not admin", e.user(e.bob).Admin, false)
		want(t, "update the system admin", upd(e.alice, e.admin, "SystemAdmin"), "INVALID_ADMIN")
		want(t, "remove the system admin", e.call("RemoveUser", `<adminID>`+id(e.alice)+`</adminID><userID>`+id(e.admin)+`</userID>`).result(), "INVALID_ADMIN")
		want(t, "remove carol", e.call("RemoveUser", `<adminID>`+id(e.alice)+`</adminID><userID>`+id(e.carol)+`</userID>`).result(), "INVALID_ADMIN")
		want(t, "carol kept", e.user(e.carol).Username, "carol")
		want(t, "bob to domain admin", upd(e.alice, e.bob, "DomainAdmin"), "OK")
		want(t, "bob role", e.user(e.bob).Role, core.RoleDomainAdmin)
		create := func(domain, role string) string {
			return e.call("CreateNewUser1", `<userID>`+id(e.alice)+`</userID><domainName>`+domain+`</domainName><userName>dave</userName><password>dave-pw-1</password><role>`+role+`</role><isExternalAuth>false</isExternalAuth><isActive>true</isActive><displayName>Dave D</displayName><preferAddrType>Fax</preferAddrType><desc />`).result()
		}
		want(t, "create in sales", create("sales", "StandardUser"), "INVALID_ADMIN")
		want(t, "create in a new domain", create("other", "StandardUser"), "INVALID_ADMIN")
		want(t, "create a system admin", create("default", "SystemAdmin"), "INVALID_ADMIN")
		if _, err := e.store.UserByName(context.Background(), "dave"); !errors.Is(err, core.ErrNotFound) {
			t.Fatalf("refused creation stored dave: %v", err)
		}
		// Reading and routing are scoped too.
		want(t, "details of carol", e.call("GetUserDetailsByUserID", `<adminID>`+id(e.alice)+`</adminID><userID>`+id(e.carol)+`</userID>`).result(), "INVALID_ADMIN")
		want(t, "fax setting of carol", e.call("GetUserFaxSettingByUserName", `<adminID>`+id(e.alice)+`</adminID><userName>carol</userName>`).result(), "INVALID_ADMIN")
		want(t, "sales list", len(e.call("GetUserListWithDomainName", `<adminID>`+id(e.alice)+`</adminID><domainName>sales</domainName>`).strings()), 0)
		want(t, "own list", len(e.call("GetUserListWithDomainName", `<adminID>`+id(e.alice)+`</adminID><domainName>default</domainName>`).strings()), 3)
		want(t, "domains", strings.Join(e.call("GetDomainList", `<adminID>`+id(e.alice)+`</adminID>`).strings(), ","), id(e.user(e.alice).DomainID)+"||default")
		want(t, "details of bob", parseDoc(t, e.call("GetUserDetailsByUserID", `<adminID>`+id(e.alice)+`</adminID><userID>`+id(e.bob)+`</userID>`).result()).path("UserName"), "bob")
		route := `<userID>` + id(e.alice) + `</userID><forwardedUserName>%s</forwardedUserName><condition1>RoutingDigits</condition1><conditionExp1>77</conditionExp1><isAndOperator>false</isAndOperator><condition2>None</condition2><conditionExp2 /><isActive>true</isActive><priority>100</priority>`
		want(t, "route to carol", e.call("CreateInboundRoute", fmt.Sprintf(route, "carol")).result(), "INVALID_ADMIN")
		if rs, _ := e.store.Routes(context.Background()); len(rs) != 0 {
			t.Fatalf("refused route stored: %+v", rs)
		}
		want(t, "route to bob", e.call("CreateInboundRoute", fmt.Sprintf(route, "bob")).result(), "")
		got := create("default", "StandardUser")
		want(t, "create in own domain", e.user(mustID(t, got)).Username, "dave")
	})
	add("DeactivateUser", "the last administrator stays", func(t *testing.T, e *env) {
		e.call("DeactivateUser", `<adminID>`+id(e.admin)+`</adminID><userID>`+id(e.admin)+`</userID>`).fault()
		want(t, "admin active", e.user(e.admin).Active, true)
		list := `<userIDList><long>` + id(e.bob) + `</long><long>` + id(e.admin) + `</long></userIDList>`
		want(t, "list", e.call("DeactivateUsers", `<adminID>`+id(e.admin)+`</adminID>`+list).result(), "SOME_INVALID_USER")
		want(t, "bob inactive", e.user(e.bob).Active, false)
		want(t, "admin still active", e.user(e.admin).Active, true)
	})
	for _, tc := range []struct {
		op     string
		active bool
	}{{"DeactivateUsers", false}, {"ActivateUsers", true}} {
		add(tc.op, "list", func(t *testing.T, e *env) {
			list := `<userIDList><long>` + id(e.bob) + `</long><long>` + id(e.carol) + `</long></userIDList>`
			want(t, "not admin", e.call(tc.op, `<adminID>`+id(e.alice)+`</adminID>`+list).result(), "INVALID_ADMIN")
			want(t, "ok", e.call(tc.op, `<adminID>`+id(e.admin)+`</adminID>`+list).result(), "OK")
			for _, u := range []int64{e.bob, e.carol} {
				got, _ := e.store.User(context.Background(), u)
				want(t, "active", got.Active, tc.active)
			}
			list = `<userIDList><long>` + id(e.bob) + `</long><long>8888</long></userIDList>`
			want(t, "some", e.call(tc.op, `<adminID>`+id(e.admin)+`</adminID>`+list).result(), "SOME_INVALID_USER")
		})
	}
	add("GetUserListWithDomainID", "sales", func(t *testing.T, e *env) {
		got := e.call("GetUserListWithDomainID", `<adminID>`+id(e.admin)+`</adminID><domainID>`+id(e.salesID)+`</domainID>`).strings()
		if !slices.Equal(got, []string{id(e.carol) + "||carol"}) {
			t.Errorf("list = %v", got)
		}
		if got := e.call("GetUserListWithDomainID", `<adminID>`+id(e.alice)+`</adminID><domainID>1</domainID>`).strings(); got != nil {
			t.Errorf("non-admin got %v", got)
		}
	})
	add("GetUserListWithDomainName", "default", func(t *testing.T, e *env) {
		got := e.call("GetUserListWithDomainName", `<adminID>`+id(e.admin)+`</adminID><domainName>DEFAULT</domainName>`).strings()
		exp := []string{id(e.admin) + "||admin", id(e.alice) + "||alice", id(e.bob) + "||bob"}
		slices.Sort(got)
		slices.Sort(exp)
		if !slices.Equal(got, exp) {
			t.Errorf("list = %v, want %v", got, exp)
		}
	})
	for _, op := range []string{"GetUserDetailsByUserID", "GetUserDetailsByUserName"} {
		add(op, "alice", func(t *testing.T, e *env) {
			who := `<userID>` + id(e.alice) + `</userID>`
			if op == "GetUserDetailsByUserName" {
				who = `<userName>alice</userName>`
			}
			d := parseDoc(t, e.call(op, `<adminID>`+id(e.admin)+`</adminID>`+who).result())
			want(t, "root", d.XMLName.Local, "UserDetails")
			want(t, "UserID", d.path("UserID"), id(e.alice))
			want(t, "UserName", d.path("UserName"), "alice")
			want(t, "Address", d.path("Addresses", "UserAddress", "Address"), "alice@example.com")
			want(t, "Role", d.path("Role"), "STANDARD USER")
			want(t, "IsActive", d.path("IsActive"), "true")
			want(t, "not admin", e.call(op, `<adminID>`+id(e.bob)+`</adminID>`+who).result(), "INVALID_ADMIN")
		})
	}
	for _, op := range []string{"GetUserFaxSettingByUserID", "GetUserFaxSettingByUserName"} {
		add(op, "alice", func(t *testing.T, e *env) {
			who := `<userID>` + id(e.alice) + `</userID>`
			if op == "GetUserFaxSettingByUserName" {
				who = `<userName>alice</userName>`
			}
			d := parseDoc(t, e.call(op, `<adminID>`+id(e.admin)+`</adminID>`+who).result())
			want(t, "root", d.XMLName.Local, "UserFaxSetting")
			want(t, "UserID", d.path("UserID"), id(e.alice))
			want(t, "Resolution", d.path("Resolution"), "Standard (204x98dpi)")
			want(t, "not admin", e.call(op, `<adminID>`+id(e.bob)+`</adminID>`+who).result(), "INVALID_ADMIN")
		})
	}
	add("CreateInboundRoute", "routing digits route a received fax", func(t *testing.T, e *env) {
		body := `<userID>` + id(e.admin) + `</userID><forwardedUserName>bob</forwardedUserName><condition1>RoutingDigits</condition1><conditionExp1>0327268805</conditionExp1><isAndOperator>false</isAndOperator><condition2>None</condition2><conditionExp2 /><isActive>true</isActive><priority>100</priority>`
		want(t, "result", e.call("CreateInboundRoute", body).result(), "")
		m := e.receive("0327268805")
		want(t, "owner", e.message(m).OwnerID, e.bob)
		want(t, "folder", e.message(m).Folder, core.FolderInbox)
		want(t, "not admin", e.call("CreateInboundRoute", strings.Replace(body, id(e.admin), id(e.alice), 1)).result(), "INVALID_ADMIN")
		want(t, "bad user", e.call("CreateInboundRoute", strings.Replace(body, ">bob<", ">nobody<", 1)).result(), "INVALID_USER")
		e.call("CreateInboundRoute", strings.Replace(body, "RoutingDigits", "BarCode", 1)).fault()
	})
	add("SearchIBRouteRules", "search", func(t *testing.T, e *env) {
		for _, r := range []core.Route{
			{UserID: e.bob, Active: true, Priority: 100, Cond1: core.RouteCondition{Field: core.RouteRoutingDigits, Value: "0327268805"}},
			{UserID: e.alice, Active: true, Priority: 110, Cond1: core.RouteCondition{Field: core.RouteRemoteCSID, Value: "ROBOFAX"},
				And: true, Cond2: core.RouteCondition{Field: core.RouteCallerID, Value: "555*"}},
		} {
			if _, err := e.store.CreateRoute(context.Background(), r); err != nil {
				t.Fatal(err)
			}
		}
		d := parseDoc(t, e.call("SearchIBRouteRules", `<adminID>`+id(e.admin)+`</adminID><input>robofax</input>`).result())
		rules := d.find("IBRouteRules").Kids
		want(t, "rules", len(rules), 1)
		want(t, "by", rules[0].path("RouteByString"), "[Remote CSID] = 'ROBOFAX' AND [Remote Caller ID] = '555*'")
		want(t, "forward", rules[0].path("ForwardAddress"), "alice (default)")
		want(t, "priority", rules[0].path("Priority"), "110")
		d = parseDoc(t, e.call("SearchIBRouteRules", `<adminID>`+id(e.admin)+`</adminID><input />`).result())
		want(t, "all", len(d.find("IBRouteRules").Kids), 2)
		want(t, "not admin", e.call("SearchIBRouteRules", `<adminID>`+id(e.bob)+`</adminID>`).result(), "INVALID_ADMIN")
	})
	add("DisabledInboudRoute", "disable", func(t *testing.T, e *env) {
		r, err := e.store.CreateRoute(context.Background(), core.Route{UserID: e.bob, Active: true,
			Cond1: core.RouteCondition{Field: core.RouteRoutingDigits, Value: "77"}})
		if err != nil {
			t.Fatal(err)
		}
		want(t, "not admin", e.call("DisabledInboudRoute", `<adminID>`+id(e.bob)+`</adminID><routeID>`+id(r.ID)+`</routeID>`).result(), "INVALID_ADMIN")
		want(t, "ok", e.call("DisabledInboudRoute", `<adminID>`+id(e.admin)+`</adminID><routeID>`+id(r.ID)+`</routeID>`).result(), "")
		m := e.receive("77")
		want(t, "unrouted", e.message(m).Folder, core.FolderUnrouted)
	})
	add("GetMsgFolders", "folders", func(t *testing.T, e *env) {
		got := e.call("GetMsgFolders", `<userID>`+id(e.alice)+`</userID>`).strings()
		exp := []string{"inbox", "outbox", "sent", "cancelled", "hold", "trash", "unrouted", "Processed"}
		if !slices.Equal(got, exp) {
			t.Errorf("folders = %v", got)
		}
	})
	add("GetDomainList", "domains", func(t *testing.T, e *env) {
		got := e.call("GetDomainList", `<adminID>`+id(e.admin)+`</adminID>`).strings()
		if !slices.Contains(got, id(e.salesID)+"||sales") || len(got) != 2 {
			t.Errorf("domains = %v", got)
		}
		if got := e.call("GetDomainList", `<adminID>`+id(e.alice)+`</adminID>`).strings(); got != nil {
			t.Errorf("non-admin got %v", got)
		}
	})
	return cs
}

func (c *contract) hasParam(op, name string) bool {
	for _, p := range c.Params[op] {
		if p.Name == name {
			return true
		}
	}
	return false
}

func transmissionFields(created string) []string {
	return []string{"TransmissionID", created, "ScheduleDate", "CompleteDate", "CallingNumber", "CalledNumber", "RemoteCSID",
		"RoutingInfo", "FaxProtocol", "TransmitSpeed", "CompressionMode", "CallDuration", "TransmitDuration", "FaxResolution",
		"TransmitStatus", "TransmitStatusDef", "AttemptNo", "MaxAttemptNo", "PageCount", "StartPageNo", "PageSent",
		"FaxAgentID", "PortNo", "BoardID", "ServerIP", "ErrorID", "ErrorInfo"}
}

func wantOrder(t *testing.T, n *xnode, names []string) {
	t.Helper()
	if n == nil {
		t.Fatal("element missing")
	}
	var got []string
	for _, k := range n.Kids {
		got = append(got, k.XMLName.Local)
	}
	if !slices.Equal(got, names) {
		t.Errorf("children of %s:\n got %v\nwant %v", n.XMLName.Local, got, names)
	}
}

func parseDoc(t *testing.T, s string) *xnode {
	t.Helper()
	var n xnode
	if err := xml.Unmarshal([]byte(s), &n); err != nil {
		t.Fatalf("result is not an XML document: %v\n%s", err, s)
	}
	return &n
}

func (n *xnode) find(path ...string) *xnode {
	cur := n
	for _, p := range path {
		var next *xnode
		for i := range cur.Kids {
			if cur.Kids[i].XMLName.Local == p {
				next = &cur.Kids[i]
				break
			}
		}
		if next == nil {
			return nil
		}
		cur = next
	}
	return cur
}

func (n *xnode) path(path ...string) string {
	if f := n.find(path...); f != nil {
		return f.Text
	}
	return "<missing>"
}

// pgCases are the cases also run on PostgreSQL (every case with
// FAXAGENT_SOAP_PG_ALL=1; each PostgreSQL store takes about a second to
// set up).
var pgCases = map[string]bool{
	"SendCompleteMessage/bytes": true, "GetMessageDetails1/outbound with attempts": true,
	"GetMessageList5/filters": true, "DownloadMessageInByte2/tif and pdf": true,
	"CreateInboundRoute/routing digits route a received fax": true, "CreateNewUser3/create": true,
	"ActivateUsers/list": true, "CancelMessage/queued then sent": true,
	"AuthenticateUser/admin": true, "ForwardToUser/copies": true, "AssignMessage/reassigns": true,
	"UpdateUser-advance/stores the profile": true, "UpdateUser-basic/checks": true, "RemoveUser/soft delete": true,
	"UpdateTrackRecord/stored": true,
}

// TestOperations runs every case in SOAP 1.1 and 1.2 on SQLite, and in
// SOAP 1.1 on PostgreSQL.
func TestOperations(t *testing.T) {
	cases := opCases()
	for _, run := range []struct {
		ver     Version
		backend string
	}{{SOAP11, "sqlite"}, {SOAP12, "sqlite"}, {SOAP11, "postgres"}} {
		t.Run(fmt.Sprintf("SOAP%d/%s", run.ver, run.backend), func(t *testing.T) {
			if run.backend == "postgres" {
				postgresSchema(t) // skip early when unreachable
			}
			for _, c := range cases {
				if run.backend == "postgres" && !pgCases[c.op+"/"+c.name] && os.Getenv("FAXAGENT_SOAP_PG_ALL") != "1" {
					continue
				}
				t.Run(c.op+"/"+c.name, func(t *testing.T) {
					t.Parallel()
					c.run(t, newEnvOn(t, run.ver, run.backend))
				})
			}
		})
	}
}

// TestEveryOperationTested fails when an operation of the WSDL has no
// case in the table.
func TestEveryOperationTested(t *testing.T) {
	ct, err := parseContract(wsdlText)
	if err != nil {
		t.Fatal(err)
	}
	tested := map[string]bool{}
	for _, c := range opCases() {
		tested[c.op] = true
	}
	for _, op := range ct.Ops {
		if !tested[op] {
			t.Errorf("operation %s has no test case", op)
		}
	}
}
