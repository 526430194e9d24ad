package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConfigLimits: the limits section is read from YAML; zero fields take
// the defaults; negative ones are refused.
func TestConfigLimits(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	os.WriteFile(file, []byte("limits:\n  max_requests: 7\n  max_pages: 12\n  body_timeout: 3s\n  soap_max_attributes: 99\n"), 0o600)
	c, err := loadConfig([]string{"--config", file}, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	l := c.Limits.withDefaults()
	d := defaultConfig().Limits
	if l.MaxRequests != 7 || l.MaxPages != 12 || l.BodyTimeout != 3*time.Second || l.SOAPMaxAttributes != 99 ||
		l.MaxConversions != d.MaxConversions || l.MaxPictureMemory != d.MaxPictureMemory || l.ReadHeaderTimeout != d.ReadHeaderTimeout {
		t.Fatalf("limits %+v", l)
	}
	if dl := l.documentLimits(); dl.MaxPages != 12 || dl.Picture.MaxMemory != d.MaxPictureMemory {
		t.Errorf("document limits %+v", dl)
	}
	os.WriteFile(file, []byte("limits:\n  max_conversions: -1\n"), 0o600)
	if _, err := loadConfig([]string{"--config", file}, envOf(nil)); err == nil || !strings.Contains(err.Error(), "limits") {
		t.Errorf("negative limit: %v", err)
	}
}

// TestServeRequestCapAndSlowBody runs serve with one request slot and a
// short body grace: a request whose body never comes holds the slot, so
// others get 503 with Retry-After, until its body deadline cuts it; then
// requests are served again.
func TestServeRequestCapAndSlowBody(t *testing.T) {
	dir := t.TempDir()
	cfg := defaultConfig()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.Listen = "127.0.0.1:0"
	cfg.Agent.ID = "limits"
	cfg.Agent.Loopback.Pacing = "none"
	cfg.Limits.MaxRequests = 1
	cfg.Limits.RetryAfter = 9 * time.Second
	cfg.Limits.ReadHeaderTimeout = 2 * time.Second
	cfg.Limits.BodyMinRate = 1000
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, "limits-admin-password", io.Discard, io.Discard) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	var url string
	for url == "" {
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if b, err := os.ReadFile(filepath.Join(cfg.DataDir, serverURLFile)); err == nil {
			url = strings.TrimSpace(string(b))
		}
	}
	get := func() *http.Response {
		t.Helper()
		resp, err := http.Get(url + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if resp := get(); resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}

	// A submission whose body never comes: 100000 bytes announced, 10
	// sent.
	token, err := os.ReadFile(filepath.Join(cfg.DataDir, tokenFile))
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\nConte", strings.TrimSpace(string(token)))
	busy := false
	for range 200 {
		resp := get()
		if resp.StatusCode == http.StatusServiceUnavailable {
			if ra := resp.Header.Get("Retry-After"); ra != "9" {
				t.Errorf("Retry-After %q", ra)
			}
			busy = true
			break
		}
	}
	if !busy {
		t.Fatal("no 503 while the slow request held the only slot")
	}
	// The slow body is cut: the server answers or closes the connection.
	c.SetReadDeadline(time.Now().Add(time.Minute)) // a hang, not a timing assertion
	line, err := bufio.NewReader(c).ReadString('\n')
	var ne net.Error
	if err != nil && errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the slow body was not cut")
	}
	t.Logf("slow request ended: %q %v", strings.TrimSpace(line), err)
	// Its slot is free again (the handler returns just after answering).
	for i := 0; ; i++ {
		if resp := get(); resp.StatusCode == http.StatusOK {
			break
		}
		if i == 200 {
			t.Fatal("the slot was not freed")
		}
		<-time.After(10 * time.Millisecond) // poll interval
	}
}
