// Package scenarios runs named end-to-end scenarios against a real
// `faxagent serve` process on the loopback network: sending 1, 20 and 100
// pages, line models, retry with resume, cancel, inbound routing, many
// jobs on many ports, and a crash (SIGKILL mid-call, restart, every job
// ends once). Each scenario starts its own server in a temporary data
// directory, talks to it only through the HTTP API, and returns a Result
// for the table and the JSON report.
//
// scenarios imports core/httpapi (the API's JSON types and its client) and imaging; it
// drives everything else through the program.
package scenarios

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/faxagent/faxagent/core/httpapi"
	apiclient "github.com/faxagent/faxagent/core/httpapi/client"
)

// server is a running `faxagent serve`.
type server struct {
	bin, dir string
	args     []string
	cmd      *exec.Cmd
	out      *syncBuffer
	done     chan error
	url, tok string
	http     *http.Client
}

type syncBuffer struct {
	mu sync.Mutex
	bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Buffer.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Buffer.String()
}

// startServer writes config to dir and runs serve on a free port.
func startServer(ctx context.Context, bin, dir, config string) (*server, error) {
	cfg := filepath.Join(dir, "faxagent.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		return nil, err
	}
	s := &server{bin: bin, dir: dir, http: &http.Client{Timeout: 2 * time.Minute},
		args: []string{"serve", "--config", cfg, "--data", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0", "--log-level", "warn"}}
	return s, s.start(ctx)
}

func (s *server) start(ctx context.Context) error {
	data := filepath.Join(s.dir, "data")
	os.Remove(filepath.Join(data, "server-url"))
	s.out = &syncBuffer{}
	s.cmd = exec.Command(s.bin, s.args...)
	s.cmd.Env = append(os.Environ(), "FAXAGENT_ADMIN_PASSWORD=testbench-admin-password")
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.done = make(chan error, 1)
	go func() { s.done <- s.cmd.Wait() }()
	for {
		if b, err := os.ReadFile(filepath.Join(data, "server-url")); err == nil {
			s.url = strings.TrimSpace(string(b))
			if resp, err := s.http.Get(s.url + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
		}
		select {
		case err := <-s.done:
			return fmt.Errorf("serve exited: %v\n%s", err, s.out.String())
		case <-ctx.Done():
			s.kill()
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	tok, err := os.ReadFile(filepath.Join(data, "api-token"))
	if err != nil {
		s.kill()
		return err
	}
	s.tok = strings.TrimSpace(string(tok))
	return nil
}

// kill ends the server with SIGKILL.
func (s *server) kill() {
	if s.cmd.ProcessState == nil {
		s.cmd.Process.Kill()
		<-s.done
	}
}

// stop ends the server with SIGTERM and reports an unclean exit.
func (s *server) stop() error {
	if s.cmd.ProcessState != nil {
		return nil
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			return fmt.Errorf("serve exited with %v after SIGTERM", err)
		}
		return nil
	case <-time.After(time.Minute):
		s.kill()
		return errors.New("serve did not stop within a minute of SIGTERM")
	}
}

// do calls the API with the server's token.
func (s *server) do(ctx context.Context, method, path, ctype string, body io.Reader, out any) error {
	c := apiclient.Client{Base: s.url, Token: s.tok, HTTP: s.http}
	if err := c.Do(ctx, method, path, ctype, body, out); err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	return nil
}

// submission is a fax to submit.
type submission struct {
	to     []string
	files  []string
	fields map[string]string
}

func (s *server) submit(ctx context.Context, sub submission) (httpapi.Message, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, n := range sub.to {
		mw.WriteField("to", n)
	}
	for k, v := range sub.fields {
		mw.WriteField(k, v)
	}
	for _, f := range sub.files {
		b, err := os.ReadFile(f)
		if err != nil {
			return httpapi.Message{}, err
		}
		w, err := mw.CreateFormFile("file", filepath.Base(f))
		if err != nil {
			return httpapi.Message{}, err
		}
		w.Write(b)
	}
	mw.Close()
	var m httpapi.Message
	err := s.do(ctx, http.MethodPost, "/api/v1/messages", mw.FormDataContentType(), &buf, &m)
	return m, err
}

func (s *server) message(ctx context.Context, id int64) (httpapi.Message, error) {
	var m httpapi.Message
	err := s.do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/messages/%d", id), "", nil, &m)
	return m, err
}

func (s *server) list(ctx context.Context, folder string) (httpapi.List, error) {
	var l httpapi.List
	err := s.do(ctx, http.MethodGet, "/api/v1/messages?limit=1000&folder="+folder, "", nil, &l)
	return l, err
}

// final waits until every job of a message has ended.
func (s *server) final(ctx context.Context, id int64) (httpapi.Message, error) {
	for {
		m, err := s.message(ctx, id)
		if err != nil {
			return m, err
		}
		live := false
		for _, j := range m.Jobs {
			switch j.State {
			case "queued", "leased", "held":
				live = true
			}
		}
		if !live {
			return m, nil
		}
		select {
		case <-ctx.Done():
			return m, fmt.Errorf("message %d not final: %w", id, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
