package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/faxagent/faxagent/core/httpapi"
)

// TestDo: answers decoded, refusals as *Error with the server's message,
// the token sent, a closed port as *UnreachableError.
func TestDo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			if r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("Content-Type") != "text/plain" {
				http.Error(w, "bad headers", http.StatusBadRequest)
				return
			}
			json.NewEncoder(w).Encode(httpapi.Error{Error: "fine"})
		case "/refused":
			w.WriteHeader(http.StatusConflict)
			json.NewEncoder(w).Encode(httpapi.Error{Error: "already cancelled"})
		case "/plain":
			http.Error(w, "not JSON", http.StatusInternalServerError)
		case "/big":
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"` + strings.Repeat("x", maxErrorBody) + `"}`))
		}
	}))
	defer srv.Close()
	c := &Client{Base: srv.URL, Token: "tok"}
	ctx := context.Background()

	var got httpapi.Error
	if err := c.Do(ctx, "GET", "/ok", "text/plain", nil, &got); err != nil || got.Error != "fine" {
		t.Fatalf("decoded %+v, %v", got, err)
	}
	var raw bytes.Buffer
	if err := c.Do(ctx, "GET", "/ok", "text/plain", nil, &raw); err != nil || strings.TrimSpace(raw.String()) != `{"error":"fine"}` {
		t.Fatalf("raw %q, %v", raw.String(), err)
	}
	if err := c.DoAuth(ctx, "GET", "/ok", "text/plain", nil, nil, func(r *http.Request) { r.Header.Set("Authorization", "Basic x") }); err == nil {
		t.Fatal("DoAuth sent the token instead of its own credentials")
	}

	for _, tc := range []struct {
		path   string
		status int
		msg    string
	}{
		{"/refused", 409, "already cancelled"},
		{"/plain", 500, "500 Internal Server Error"},
		{"/big", 400, "400 Bad Request"}, // message beyond the bound: the status line
	} {
		var e *Error
		err := c.Do(ctx, "GET", tc.path, "", nil, nil)
		if !errors.As(err, &e) || e.Status != tc.status || e.Msg != tc.msg {
			t.Errorf("%s: %v (%#v)", tc.path, err, e)
		}
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	var un *UnreachableError
	err = (&Client{Base: closed}).Do(ctx, "GET", "/", "", nil, nil)
	if !errors.As(err, &un) || un.Why != "connection refused" || un.Base != closed {
		t.Fatalf("closed port: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := c.Do(cctx, "GET", "/ok", "", nil, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}
