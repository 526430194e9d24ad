package agentapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faxagent/faxagent/agent"
	"github.com/faxagent/faxagent/core"
)

// ClientConfig says how an agent reaches its core.
type ClientConfig struct {
	// Core is the core's base URL (https://core.example:8080); the
	// protocol's paths go below it.
	Core string
	// CAFile, if set, is a PEM file of the CAs trusted for the core's
	// certificate (instead of the system's).
	CAFile string
	// Credential is the agent credential's secret.
	Credential string
	// Spool is the directory documents are downloaded to while their job
	// runs; it is the client's own (NewClient removes what an earlier run
	// left there).
	Spool string
	// Wait is how long a long-poll is held (default 25 s).
	Wait   time.Duration
	Logger *slog.Logger
	// Transport, if set, replaces the TLS transport built from CAFile
	// (tests).
	Transport http.RoundTripper
}

// Client is the agent's side of the protocol: an agent.Queue,
// agent.Reporter, agent.Notifier and agent.ProgressReporter over HTTP(S).
type Client struct {
	cfg   ClientConfig
	base  string
	hc    *http.Client
	log   *slog.Logger
	ready chan struct{}

	refused atomic.Bool // the last answer was a credential refusal

	mu    sync.Mutex
	files map[string][]string // job ID → downloaded documents
}

var (
	_ agent.Queue            = (*Client)(nil)
	_ agent.Reporter         = (*Client)(nil)
	_ agent.Notifier         = (*Client)(nil)
	_ agent.ProgressReporter = (*Client)(nil)
	_ core.Heartbeater       = (*Client)(nil)
)

// ErrRefused is returned when the core refuses the agent's credential.
var ErrRefused = errors.New("agentapi: the core refused this agent's credential")

// Error is a refusal of the core that maps onto no agent sentinel.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("agentapi: core answered %d %s: %s", e.Status, e.Code, e.Message)
}

// NewClient returns a client; it long-polls the core for wake-ups until
// ctx ends. Documents an earlier run left in cfg.Spool (a crash in a
// call) are removed: no job of the new client runs yet, and an outcome
// waiting in the agent's outbox needs only its record.
func NewClient(ctx context.Context, cfg ClientConfig) (*Client, error) {
	u, err := url.Parse(cfg.Core)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("agentapi: core URL %q: want https://host:port", cfg.Core)
	}
	if cfg.Credential == "" {
		return nil, errors.New("agentapi: no agent credential")
	}
	if cfg.Spool == "" {
		return nil, errors.New("agentapi: no spool directory")
	}
	if err := os.MkdirAll(cfg.Spool, 0o700); err != nil {
		return nil, fmt.Errorf("agentapi: spool: %w", err)
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 25 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cleanSpool(cfg.Spool, cfg.Logger)
	tr := cfg.Transport
	if tr == nil {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("agentapi: CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("agentapi: CA file %s: no PEM certificate", cfg.CAFile)
			}
			tc.RootCAs = pool
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = tc
		// Every port's worker, the long-poll and the heartbeat talk to the
		// one core at once; Go's default keeps 2 idle connections per
		// host, so the others were closed after each request and the next
		// paid a new TCP and TLS handshake.
		t.MaxIdleConnsPerHost = idleConns
		tr = t
	}
	c := &Client{cfg: cfg, base: strings.TrimSuffix(cfg.Core, "/") + Prefix, hc: &http.Client{Transport: tr},
		log: cfg.Logger, ready: make(chan struct{}, 1), files: map[string][]string{}}
	go c.poll(ctx)
	return c, nil
}

// idleConns is how many idle connections to the core the client keeps:
// as many as the core serves requests at once by default (an agent's
// ports, its long-poll and its heartbeat fit).
const idleConns = 64

// closeBody drains what is left of an answer (bounded) and closes it, so
// that its connection is reused: a body closed before its end closes the
// connection.
func closeBody(b io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(b, 64<<10))
	b.Close()
}

// Ready implements agent.Notifier: it fires when the core says jobs may
// have become claimable.
func (c *Client) Ready() <-chan struct{} { return c.ready }

func (c *Client) poll(ctx context.Context) {
	var seen uint64
	for ctx.Err() == nil {
		var gen uint64
		err := c.call(ctx, http.MethodPost, pathWait+"?for="+c.cfg.Wait.String()+"&seen="+strconv.FormatUint(seen, 10), nil, &gen)
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		if gen != seen {
			seen = gen
			select {
			case c.ready <- struct{}{}:
			default:
			}
		}
	}
}

// call sends a JSON request (body nil: none) and decodes the answer into
// out.
func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	_, err := c.exchange(ctx, method, path, body, out)
	return err
}

// exchange is call that also returns the answer's header.
func (c *Client) exchange(ctx context.Context, method, path string, body, out any) (http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("agentapi: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("agentapi: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.do(req)
	if err != nil {
		return nil, err
	}
	defer closeBody(resp.Body)
	if out == nil {
		return resp.Header, nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out); err != nil {
		return nil, fmt.Errorf("agentapi: %s answer: %w", path, err)
	}
	return resp.Header, nil
}

// do sends req with the credential and turns refusals into errors; on
// success the caller closes the body.
func (c *Client) do(req *http.Request) (*http.Response, error) {
	req.Header.Set("Authorization", "Bearer "+c.cfg.Credential)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("agentapi: core %s: %w", c.cfg.Core, err)
	}
	if resp.StatusCode == http.StatusOK {
		if c.refused.Swap(false) {
			c.log.Info("agent protocol: the core accepts this agent's credential again", "core", c.cfg.Core)
		}
		return resp, nil
	}
	defer closeBody(resp.Body)
	var eb errorBody
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&eb)
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		if !c.refused.Swap(true) {
			c.log.Error("agent protocol: the core refused this agent's credential (wrong or revoked); ask the core's admin for a new one (faxagent agent-credential create)",
				"core", c.cfg.Core, "answer", eb.Message)
		}
		return nil, fmt.Errorf("%w: %s", ErrRefused, eb.Message)
	case eb.Code == codeLeaseLost:
		return nil, fmt.Errorf("%w: %s", agent.ErrLeaseLost, eb.Message)
	case eb.Code == codeCancelled:
		return nil, fmt.Errorf("%w: %s", agent.ErrCancelled, eb.Message)
	case eb.Code == codeNoJob:
		return nil, fmt.Errorf("%w: %s", agent.ErrNoJob, eb.Message)
	case eb.Code == codeRejected && resp.StatusCode < 500:
		return nil, fmt.Errorf("%w: %s", agent.ErrRejected, eb.Message)
	}
	return nil, &Error{Status: resp.StatusCode, Code: eb.Code, Message: eb.Message}
}

// Claim implements agent.Queue: the jobs come with their documents
// downloaded to the spool; a job whose documents cannot be fetched is
// given back.
func (c *Client) Claim(ctx context.Context, r agent.ClaimRequest) ([]agent.Job, error) {
	var jobs []claimedJob
	if err := c.call(ctx, http.MethodPost, pathClaim, r, &jobs); err != nil {
		return nil, err
	}
	out := make([]agent.Job, 0, len(jobs))
	var firstErr error
	for _, cj := range jobs {
		j := cj.Job
		paths, err := c.fetch(ctx, j, cj.Inline)
		if err != nil {
			c.log.Warn("agent protocol: job documents not fetched; job given back", "job", j.ID, "err", err)
			if rerr := c.Release(ctx, j.Lease); rerr != nil {
				c.log.Warn("agent protocol: give back", "job", j.ID, "err", rerr)
			}
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		j.Documents = paths
		out = append(out, j)
	}
	if len(out) == 0 && firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// fetch puts a job's documents in the spool: those the claim's answer
// carried inline (inline[n] not empty) from there, the others downloaded.
func (c *Client) fetch(ctx context.Context, j agent.Job, inline [][]byte) ([]string, error) {
	var paths []string
	for n := range j.Documents {
		p := filepath.Join(c.cfg.Spool, fmt.Sprintf("%s%s-%s-%d", docPrefix, j.ID, j.Lease.Token, n))
		var err error
		if n < len(inline) && len(inline[n]) > 0 {
			err = writeFile(p, bytes.NewReader(inline[n]))
		} else {
			err = c.download(ctx, j, n, p)
		}
		if err != nil {
			removeAll(append(paths, p))
			return nil, fmt.Errorf("agentapi: document %d of job %s: %w", n, j.ID, err)
		}
		paths = append(paths, p)
	}
	c.mu.Lock()
	c.files[j.ID] = paths
	c.mu.Unlock()
	return paths, nil
}

// download fetches document n of job j to the file p.
func (c *Client) download(ctx context.Context, j agent.Job, n int, p string) error {
	q := url.Values{"job": {j.ID}, "token": {j.Lease.Token}, "n": {strconv.Itoa(n)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+pathDocument+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return writeFile(p, resp.Body)
}

// docPrefix starts the name of every document downloaded to the spool.
const docPrefix = "job-"

// cleanSpool removes the documents an earlier run downloaded to dir (only
// files named as fetch names them).
func cleanSpool(dir string, log *slog.Logger) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		log.Warn("agent protocol: reading the document spool", "dir", dir, "err", err)
		return
	}
	n := 0
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), docPrefix) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			log.Warn("agent protocol: removing a document left by an earlier run", "file", e.Name(), "err", err)
			continue
		}
		n++
	}
	if n > 0 {
		log.Info("agent protocol: documents left by an earlier run removed", "dir", dir, "files", n)
	}
}

func writeFile(p string, r io.Reader) error {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func removeAll(paths []string) {
	for _, p := range paths {
		_ = os.Remove(p)
	}
}

// done drops a job's downloaded documents.
func (c *Client) done(jobID string) {
	c.mu.Lock()
	paths := c.files[jobID]
	delete(c.files, jobID)
	c.mu.Unlock()
	removeAll(paths)
}

// Renew implements agent.Queue.
func (c *Client) Renew(ctx context.Context, l agent.Lease, d time.Duration) (agent.Lease, error) {
	var nl agent.Lease
	if err := c.call(ctx, http.MethodPost, pathRenew, renewReq{Lease: l, For: d}, &nl); err != nil {
		return l, err
	}
	return nl, nil
}

// Progress implements agent.ProgressReporter.
func (c *Client) Progress(ctx context.Context, l agent.Lease, pagesSent, pagesTotal int) error {
	var ok bool
	return c.call(ctx, http.MethodPost, pathProgress, progressReq{Lease: l, PagesSent: pagesSent, PagesTotal: pagesTotal}, &ok)
}

// Finish implements agent.Queue: the whole record in one request,
// idempotent by r.AttemptID as the core's store is. agent.ErrStale when the
// core kept it as a stale attempt (the lease had moved on).
func (c *Client) Finish(ctx context.Context, l agent.Lease, r agent.AttemptRecord) error {
	var ok bool
	h, err := c.exchange(ctx, http.MethodPost, pathFinish, finishReq{Lease: l, Record: r}, &ok)
	if err == nil && h.Get(staleHeader) != "" {
		err = fmt.Errorf("%w: %w: job %s, attempt %s kept by the core", agent.ErrStale, agent.ErrLeaseLost, l.JobID, r.AttemptID)
	}
	if err == nil || errors.Is(err, agent.ErrLeaseLost) || errors.Is(err, agent.ErrNoJob) {
		c.done(l.JobID)
	}
	return err
}

// Release implements agent.Queue.
func (c *Client) Release(ctx context.Context, l agent.Lease) error {
	var ok bool
	err := c.call(ctx, http.MethodPost, pathRelease, l, &ok)
	if err == nil {
		c.done(l.JobID)
	}
	return err
}

// Inbound implements agent.Reporter: the record in a header, the TIFF
// streamed as the body; nil once the core has stored it.
func (c *Client) Inbound(ctx context.Context, r agent.InboundRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("agentapi: %w", err)
	}
	var body io.Reader = http.NoBody
	if r.File != "" {
		f, err := os.Open(r.File)
		if err != nil {
			return fmt.Errorf("agentapi: inbound file: %w", err)
		}
		defer f.Close()
		body = f
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+pathInbound, body)
	if err != nil {
		return fmt.Errorf("agentapi: %w", err)
	}
	req.Header.Set(recordHeader, base64.RawURLEncoding.EncodeToString(b))
	req.Header.Set("Content-Type", "image/tiff")
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	closeBody(resp.Body)
	return nil
}

// Self returns the agent ID the core bound this agent's credential to.
func (c *Client) Self(ctx context.Context) (int64, error) {
	var id int64
	err := c.call(ctx, http.MethodGet, pathSelf, nil, &id)
	return id, err
}

// Heartbeat implements core.Heartbeater over the protocol: the core
// stores it under the credential's agent ID.
func (c *Client) Heartbeat(ctx context.Context, a core.AgentInfo) error {
	var ok bool
	return c.call(ctx, http.MethodPost, pathBeat, a, &ok)
}
