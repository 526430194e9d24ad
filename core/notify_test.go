package core

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/faxagent/faxagent/agent"
)

// TestNotificationQueue: a message's final state and a reception each
// write one event in their own transaction; an event turns into its
// deliveries once, a delivery is claimed by one taker at a time, and its
// tries are logged; on both backends.
func TestNotificationQueue(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			st, clk, _ := openTest(t, be, nil)
			ctx := context.Background()
			admin, _ := st.UserByName(ctx, AdminUser)
			if _, err := st.Submit(ctx, Submission{OwnerID: admin.ID, Recipients: []Recipient{{Fax: "5550100"}}, CallbackURL: "javascript:alert(1)",
				Documents: []DocumentInput{{Name: "doc.tif", Body: strings.NewReader("II*\x00 doc")}}}); !errors.Is(err, ErrInvalid) {
				t.Fatalf("bad callback URL: %v", err)
			}
			m, err := st.Submit(ctx, Submission{OwnerID: admin.ID, Recipients: []Recipient{{Fax: "5550100"}}, CallbackURL: "http://127.0.0.1:9/hook",
				Documents: []DocumentInput{{Name: "doc.tif", Body: strings.NewReader("II*\x00 doc")}}})
			if err != nil {
				t.Fatal(err)
			}
			if u, err := st.MessageCallback(ctx, m.ID); err != nil || u != "http://127.0.0.1:9/hook" {
				t.Fatalf("callback %q %v", u, err)
			}
			if evs, _ := st.NotifyEvents(ctx, 10); len(evs) != 0 {
				t.Fatalf("events before any final state: %+v", evs)
			}
			if _, err := st.Cancel(ctx, m.ID); err != nil {
				t.Fatal(err)
			}
			in, err := st.Receive(ctx, InboundFax{Key: "agent/1", Pages: 1, Body: strings.NewReader("II*\x00 fax"), Attempt: Transmission{AttemptFacts: agent.AttemptFacts{CallingNumber: "5550199"}}})
			if err != nil {
				t.Fatal(err)
			}
			evs, err := st.NotifyEvents(ctx, 10)
			if err != nil || len(evs) != 2 || evs[0].MessageID != m.ID || evs[0].Kind != EventFinal || evs[1].MessageID != in.ID || evs[1].Kind != EventReceived {
				t.Fatalf("events %+v %v", evs, err)
			}
			// Cancelling again changes nothing and writes no second event.
			st.Cancel(ctx, m.ID)
			if evs2, _ := st.NotifyEvents(ctx, 10); len(evs2) != 2 {
				t.Fatalf("events after a second cancel: %+v", evs2)
			}
			ds := []NewDelivery{{Channel: ChannelWebhook, Target: "http://127.0.0.1:9/hook", Payload: `{"a":1}`},
				{Channel: ChannelWebhook, Target: "http://10.0.0.1/", Payload: `{}`, State: DeliveryRefused, LastError: "not allowed"}}
			for i := 0; i < 2; i++ { // the second expansion (another process) stores nothing
				if err := st.ExpandEvent(ctx, evs[0], admin.ID, ds); err != nil {
					t.Fatal(err)
				}
			}
			if rest, _ := st.NotifyEvents(ctx, 10); len(rest) != 1 || rest[0].ID != evs[1].ID {
				t.Fatalf("events left: %+v", rest)
			}
			got, err := st.ClaimDeliveries(ctx, clk.Now(), time.Minute, 10)
			if err != nil || len(got) != 1 || got[0].Target != "http://127.0.0.1:9/hook" || got[0].Payload != `{"a":1}` || got[0].OwnerID != admin.ID {
				t.Fatalf("claim: %+v %v", got, err)
			}
			if again, _ := st.ClaimDeliveries(ctx, clk.Now(), time.Minute, 10); len(again) != 0 {
				t.Fatalf("claimed twice: %+v", again)
			}
			if err := st.FinishDelivery(ctx, DeliveryResult{ID: got[0].ID, State: DeliveryPending, Status: 500, Error: "HTTP 500", NextAt: clk.Now().Add(10 * time.Second)}); err != nil {
				t.Fatal(err)
			}
			if early, _ := st.ClaimDeliveries(ctx, clk.Now(), time.Minute, 10); len(early) != 0 {
				t.Fatalf("claimed before its retry time: %+v", early)
			}
			clk.Advance(11 * time.Second)
			got, _ = st.ClaimDeliveries(ctx, clk.Now(), time.Minute, 10)
			if len(got) != 1 || got[0].Attempts != 1 || got[0].LastStatus != 500 {
				t.Fatalf("retry claim: %+v", got)
			}
			st.FinishDelivery(ctx, DeliveryResult{ID: got[0].ID, State: DeliveryDelivered, Status: 204})
			log, err := st.Deliveries(ctx, m.ID)
			if err != nil || len(log) != 2 || log[0].State != DeliveryDelivered || log[0].Attempts != 2 || log[0].LastStatus != 204 ||
				log[1].State != DeliveryRefused || log[1].LastError != "not allowed" || log[0].Kind != EventFinal {
				t.Fatalf("log %+v %v", log, err)
			}
			if err := st.FinishDelivery(ctx, DeliveryResult{ID: got[0].ID, State: "bogus"}); !errors.Is(err, ErrInvalid) {
				t.Fatalf("bogus state: %v", err)
			}
			// Settings.
			if n, err := st.UserNotify(ctx, admin.ID); err != nil || n != (UserNotify{}) {
				t.Fatalf("default settings %+v %v", n, err)
			}
			want := UserNotify{WebhookURL: "https://example.test/fax", EmailResults: true}
			for i := 0; i < 2; i++ {
				if err := st.SetUserNotify(ctx, admin.ID, want); err != nil {
					t.Fatal(err)
				}
			}
			if n, _ := st.UserNotify(ctx, admin.ID); n != want {
				t.Fatalf("settings %+v", n)
			}
			if err := st.SetUserNotify(ctx, admin.ID, UserNotify{WebhookURL: "ftp://x/"}); !errors.Is(err, ErrInvalid) {
				t.Fatalf("ftp webhook: %v", err)
			}
			if err := st.SetUserNotify(ctx, 99999, want); !errors.Is(err, ErrNotFound) {
				t.Fatalf("unknown user: %v", err)
			}
		})
	}
}
