package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/faxagent/faxagent/core"
)

func TestCallbackURLAndDeliveryLog(t *testing.T) {
	e := newEnv(t, 0)
	for _, bad := range []string{"ftp://example.test/", "javascript:alert(1)", "http://user:pw@example.test/", "/relative"} {
		body, ct := form(t, part{"to", "", []byte("5550100")}, part{"callback_url", "", []byte(bad)}, part{"file", "letter.png", letter(t)})
		if resp, b := e.do(http.MethodPost, "/api/v1/messages", testToken, body, ct); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("callback_url %q: %d %s", bad, resp.StatusCode, b)
		}
	}
	if n, _ := e.stored(); n != 0 {
		t.Fatalf("refused submissions stored %d messages", n)
	}
	m := e.submit(part{"to", "", []byte("5550100")}, part{"callback_url", "", []byte("https://hooks.example.test/fax")}, part{"file", "letter.png", letter(t)})
	ctx := context.Background()
	if u, err := e.store.MessageCallback(ctx, m.ID); err != nil || u != "https://hooks.example.test/fax" {
		t.Fatalf("stored callback %q %v", u, err)
	}
	var log Deliveries
	e.getJSON(fmt.Sprintf("/api/v1/messages/%d/deliveries", m.ID), http.StatusOK, &log)
	if log.Deliveries == nil || len(log.Deliveries) != 0 {
		t.Fatalf("log before the final state: %+v", log)
	}
	e.do(http.MethodPost, fmt.Sprintf("/api/v1/messages/%d/cancel", m.ID), testToken, nil, "")
	evs, _ := e.store.NotifyEvents(ctx, 10)
	if len(evs) != 1 {
		t.Fatalf("events %+v", evs)
	}
	e.store.ExpandEvent(ctx, evs[0], m.OwnerID, []core.NewDelivery{{Channel: core.ChannelWebhook, Target: "https://hooks.example.test/fax", Payload: "{}"}})
	e.getJSON(fmt.Sprintf("/api/v1/messages/%d/deliveries", m.ID), http.StatusOK, &log)
	if len(log.Deliveries) != 1 || log.Deliveries[0].State != "pending" || log.Deliveries[0].Event != core.EventFinal || log.Deliveries[0].NextTry == nil {
		t.Fatalf("log %+v", log)
	}
	if resp, _ := e.do(http.MethodGet, fmt.Sprintf("/api/v1/messages/%d/deliveries", m.ID), "", nil, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("log without a token: %d", resp.StatusCode)
	}
}
