package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/faxagent/faxagent/core/httpapi"
	"github.com/faxagent/faxagent/core/notify"
)

// TestServeWebhook: a fax submitted with callback_url to a running serve
// is delivered, and its final state reaches the callback as a signed JSON
// POST, tried again after a 500 (the retry and its outcome are in the
// message's delivery log).
func TestServeWebhook(t *testing.T) {
	bin := faxagentBinary(t)
	const secret = "e2e-webhook-secret-0123456789"
	var mu sync.Mutex
	tries, bad := 0, 0
	var got []notify.Payload
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := notify.Verify([]byte(secret), r.Header.Get(notify.SignatureHeader), body, time.Now(), time.Minute); err != nil {
			bad++
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if tries++; tries == 1 {
			http.Error(w, "not now", http.StatusInternalServerError)
			return
		}
		var p notify.Payload
		json.Unmarshal(body, &p)
		got = append(got, p)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()

	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "faxagent.yaml")
	os.WriteFile(cfgFile, []byte(fmt.Sprintf("notify:\n  webhook_allow: [127.0.0.1/32]\n  webhook_secret: %s\n  backoff: 1s\n", secret)), 0o600)
	s := startServe(t, dir, []string{bin, "serve", "--config", cfgFile, "--data", filepath.Join(dir, "faxagent-data"), "--pacing", "none"})

	letter, err := os.ReadFile("../../testdata/sample/letter.png")
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("to", "5550103")
	mw.WriteField("callback_url", rcv.URL+"/fax-done")
	fw, _ := mw.CreateFormFile("file", "letter.png")
	fw.Write(letter)
	mw.Close()
	req, _ := http.NewRequest("POST", s.url+"/api/v1/messages", &body)
	req.Header.Set("Authorization", "Bearer "+s.tok)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var m httpapi.Message
	json.NewDecoder(resp.Body).Decode(&m)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("submit: %d", resp.StatusCode)
	}
	var log httpapi.Deliveries
	deadline := time.Now().Add(2 * time.Minute)
	for {
		s.get(fmt.Sprintf("/api/v1/messages/%d/deliveries", m.ID), &log)
		if len(log.Deliveries) == 1 && log.Deliveries[0].State == "delivered" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no delivery: %+v", log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	d := log.Deliveries[0]
	if d.Attempts != 2 || d.LastStatus != 204 || d.Event != "message.final" || d.Channel != "webhook" || d.Target != rcv.URL+"/fax-done" {
		t.Fatalf("delivery %+v", d)
	}
	mu.Lock()
	defer mu.Unlock()
	if bad != 0 || len(got) != 1 || got[0].Message.ID != m.ID || got[0].Message.Status != "Completed" ||
		len(got[0].Message.Recipients) != 1 || got[0].Message.Recipients[0].PagesSent != 1 {
		t.Fatalf("webhook got %+v (%d bad signatures)", got, bad)
	}
	s.stop()
}
