package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faxagent/faxagent/agent"
	"github.com/faxagent/faxagent/core"
)

var secret = []byte("0123456789abcdef-webhook-secret")

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// receiver is a webhook endpoint that checks signatures and fails the
// first `fail` requests of each path with 500.
type receiver struct {
	t    *testing.T
	clk  *clock
	fail int
	srv  *httptest.Server

	mu     sync.Mutex
	tries  map[string]int
	got    map[string][]Payload
	badSig int
}

func newReceiver(t *testing.T, clk *clock, fail int) *receiver {
	r := &receiver{t: t, clk: clk, fail: fail, tries: map[string]int{}, got: map[string][]Payload{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := Verify(secret, req.Header.Get(SignatureHeader), body, r.clk.Now(), 5*time.Minute); err != nil {
			r.badSig++
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var p Payload
		if err := json.Unmarshal(body, &p); err != nil || req.Header.Get("X-Faxagent-Event") != p.Event {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		r.tries[req.URL.Path]++
		key := fmt.Sprintf("%s %d", req.URL.Path, p.EventID)
		r.tries[key]++
		if r.tries[key] <= r.fail {
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
		r.got[req.URL.Path] = append(r.got[req.URL.Path], p)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func openStore(t *testing.T) (core.Store, core.User) {
	st, _, err := core.Open(context.Background(), core.Options{DataDir: t.TempDir(), AdminPassword: "admin-password-x", PasswordCost: 4,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	admin, err := st.UserByName(context.Background(), core.AdminUser)
	if err != nil {
		t.Fatal(err)
	}
	return st, admin
}

func submit(t *testing.T, st core.Store, owner int64, callback string) core.MessageDetails {
	t.Helper()
	m, err := st.Submit(context.Background(), core.Submission{OwnerID: owner, Recipients: []core.Recipient{{Fax: "5550100"}}, CallbackURL: callback,
		Documents: []core.DocumentInput{{Name: "doc.tif", Body: strings.NewReader("II*\x00 doc")}}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newNotifier(t *testing.T, st core.Store, clk *clock, allow []string, maxAttempts int) *Notifier {
	t.Helper()
	al, err := ParseAllowList(allow)
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(Options{Store: st, Secret: secret, Allow: al, Backoff: time.Second, MaxBackoff: 4 * time.Second,
		MaxAttempts: maxAttempts, Timeout: 5 * time.Second, Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// drain runs the notifier, jumping the clock past each back-off, until no
// delivery is pending.
func drain(t *testing.T, n *Notifier, st core.Store, clk *clock, msgs ...int64) []core.Delivery {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < 30; i++ {
		if _, err := n.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		var all []core.Delivery
		pending := false
		for _, id := range msgs {
			ds, err := st.Deliveries(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				pending = pending || d.State == core.DeliveryPending
			}
			all = append(all, ds...)
		}
		if !pending && i > 0 {
			return all
		}
		clk.Advance(5 * time.Second)
	}
	t.Fatal("deliveries still pending after 30 rounds")
	return nil
}

// TestWebhooksSignedAndRetried: a message's callback URL gets its final
// state and the owner's webhook URL gets that and the received fax, signed,
// after two 500s each (three tries, logged); the back-off grows.
func TestWebhooksSignedAndRetried(t *testing.T) {
	st, admin := openStore(t)
	clk := &clock{t: time.Now()}
	rcv := newReceiver(t, clk, 2)
	ctx := context.Background()
	if err := st.SetUserNotify(ctx, admin.ID, core.UserNotify{WebhookURL: rcv.srv.URL + "/user"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateRoute(ctx, core.Route{UserID: admin.ID, Cond1: core.RouteCondition{Field: core.RoutePortNo, Value: "*"}, Active: true}); err != nil {
		t.Fatal(err)
	}
	m := submit(t, st, admin.ID, rcv.srv.URL+"/call")
	if _, err := st.Cancel(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	in, err := st.Receive(ctx, core.InboundFax{Key: "agent/1", Pages: 1, Body: strings.NewReader("II*\x00 fax"),
		Attempt: core.Transmission{AttemptFacts: agent.AttemptFacts{CallingNumber: "5550199", RemoteCSID: "REMOTE", PageCount: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	n := newNotifier(t, st, clk, []string{"127.0.0.1/32"}, 8)
	log := drain(t, n, st, clk, m.ID, in.ID)
	if len(log) != 3 {
		t.Fatalf("deliveries: %+v", log)
	}
	for _, d := range log {
		if d.State != core.DeliveryDelivered || d.Attempts != 3 || d.LastStatus != http.StatusNoContent || d.Channel != core.ChannelWebhook {
			t.Errorf("delivery %+v", d)
		}
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if rcv.badSig != 0 {
		t.Fatalf("%d requests with a bad signature", rcv.badSig)
	}
	call, user := rcv.got["/call"], rcv.got["/user"]
	slices.SortFunc(user, func(a, b Payload) int { return int(a.EventID - b.EventID) })
	if len(call) != 1 || call[0].Event != core.EventFinal || call[0].Message.ID != m.ID || call[0].Message.Status != "Cancelled" ||
		len(call[0].Message.Recipients) != 1 || call[0].Message.Recipients[0].Fax != "5550100" {
		t.Fatalf("callback got %+v", call)
	}
	if len(user) != 2 || user[0].Event != core.EventFinal || user[1].Event != core.EventReceived || user[1].Message.ID != in.ID ||
		user[1].Message.Received == nil || user[1].Message.Received.RemoteCSID != "REMOTE" || user[1].Message.Owner != "admin" {
		t.Fatalf("user webhook got %+v", user)
	}
	// A delivery that never succeeds fails after MaxAttempts tries.
	rcv.fail = 1 << 30
	m2 := submit(t, st, admin.ID, rcv.srv.URL+"/never")
	st.Cancel(ctx, m2.ID)
	st.SetUserNotify(ctx, admin.ID, core.UserNotify{})
	rcv.mu.Unlock()
	n3 := newNotifier(t, st, clk, []string{"127.0.0.1"}, 3)
	log = drain(t, n3, st, clk, m2.ID)
	rcv.mu.Lock()
	if len(log) != 1 || log[0].State != core.DeliveryFailed || log[0].Attempts != 3 || log[0].LastStatus != 500 || rcv.tries["/never"] != 3 {
		t.Fatalf("never-succeeding delivery: %+v, %d tries", log, rcv.tries["/never"])
	}
}

// TestWebhookAllowList: addresses outside the allow-list are never
// connected to: a literal address is refused when the event is expanded, a
// name is refused at connect time after resolution (so DNS rebinding
// cannot reach elsewhere), an empty list refuses everything, and a
// redirect is not followed.
func TestWebhookAllowList(t *testing.T) {
	st, admin := openStore(t)
	clk := &clock{t: time.Now()}
	rcv := newReceiver(t, clk, 0)
	port := rcv.srv.URL[strings.LastIndex(rcv.srv.URL, ":")+1:]
	elsewhere := newReceiver(t, clk, 0)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.srv.URL+"/redirected", http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()
	ctx := context.Background()
	cases := []struct {
		name, url string
		allow     []string
		state     string
		attempts  int
		errText   string
	}{
		{"literal address outside", rcv.srv.URL + "/literal", []string{"127.0.0.2/32"}, core.DeliveryRefused, 0, "127.0.0.1"},
		{"name resolving outside", "http://localhost:" + port + "/name", []string{"127.0.0.2/32", "::2/128"}, core.DeliveryRefused, 1, "allow-list"},
		{"empty allow-list", rcv.srv.URL + "/empty", nil, core.DeliveryRefused, 0, "empty"},
		{"redirect not followed", redirect.URL + "/r", []string{"127.0.0.1/32"}, core.DeliveryFailed, 2, "HTTP 307"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := submit(t, st, admin.ID, c.url)
			st.Cancel(ctx, m.ID)
			n := newNotifier(t, st, clk, c.allow, 2)
			log := drain(t, n, st, clk, m.ID)
			if len(log) != 1 || log[0].State != c.state || log[0].Attempts != c.attempts || !strings.Contains(log[0].LastError, c.errText) {
				t.Fatalf("log %+v", log)
			}
		})
	}
	for _, r := range []*receiver{rcv, elsewhere} {
		r.mu.Lock()
		if len(r.tries) != 0 || r.badSig != 0 {
			t.Errorf("a refused webhook reached %s: %v", r.srv.URL, r.tries)
		}
		r.mu.Unlock()
	}
	if _, err := ParseAllowList([]string{"10.0.0.0/8", "::1", "bogus"}); err == nil {
		t.Error("bogus allow-list entry accepted")
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"event":"fax.received"}`)
	good := Sign(secret, now, body)
	if err := Verify(secret, good, body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatalf("good signature: %v", err)
	}
	for _, c := range []struct {
		name, header string
		body         []byte
		key          []byte
		at           time.Time
	}{
		{"other secret", good, body, []byte("another-secret-entirely"), now},
		{"body changed", good, []byte(`{"event":"fax.received "}`), secret, now},
		{"too old", good, body, secret, now.Add(10 * time.Minute)},
		{"no header", "", body, secret, now},
		{"no v1", fmt.Sprintf("t=%d", now.Unix()), body, secret, now},
		{"bad hex", fmt.Sprintf("t=%d,v1=zz", now.Unix()), body, secret, now},
		{"bad time", "t=x,v1=00", body, secret, now},
	} {
		if err := Verify(c.key, c.header, c.body, c.at, 5*time.Minute); !errors.Is(err, ErrSignature) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}
