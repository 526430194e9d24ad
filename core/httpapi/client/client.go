// Package client calls a faxagent server's JSON API (core/httpapi): one
// request at a time, the bearer token, JSON answers decoded, refusals and
// unreachable servers returned as typed errors. The CLI and the testbench
// scenarios share it.
//
// client imports core/httpapi for the API's JSON types only; it must not
// import the store, the agent or anything of the server's.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/faxagent/faxagent/core/httpapi"
)

// maxErrorBody bounds the part of a refusal's body that is read for its
// message.
const maxErrorBody = 64 << 10

// Client calls the API at Base (http://HOST:PORT, no trailing slash) with
// Token. Its fields are read on every call; set them before sharing one.
type Client struct {
	Base  string
	Token string
	// HTTP sends the requests; nil http.DefaultClient.
	HTTP *http.Client
}

// Error is a request the server answered with a status other than 2xx.
type Error struct {
	Status int    // HTTP status code
	Msg    string // the server's message (httpapi.Error), else the status line
}

func (e *Error) Error() string { return e.Msg }

// UnreachableError is a request that reached no server.
type UnreachableError struct {
	Base string
	// Why says it in a few words: "connection refused", "timed out",
	// "unknown host" or "cannot connect".
	Why string
	Err error
}

func (e *UnreachableError) Error() string {
	return "no server at " + e.Base + " (" + e.Why + "): " + e.Err.Error()
}
func (e *UnreachableError) Unwrap() error { return e.Err }

// Do sends a request with the bearer token and decodes a JSON answer into
// out: nil discards it, an io.Writer gets the body as is. A non-2xx answer
// is an *Error, a server not reached an *UnreachableError (a cancelled or
// expired ctx is returned as it is).
func (c *Client) Do(ctx context.Context, method, path, ctype string, body io.Reader, out any) error {
	return c.DoAuth(ctx, method, path, ctype, body, out, func(r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+c.Token)
	})
}

// DoAuth is Do with auth setting the request's credentials instead of the
// token.
func (c *Client) DoAuth(ctx context.Context, method, path, ctype string, body io.Reader, out any, auth func(*http.Request)) error {
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, body)
	if err != nil {
		return err
	}
	auth(req)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return c.unreachable(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return responseError(resp)
	}
	if out == nil {
		return nil
	}
	if w, ok := out.(io.Writer); ok {
		_, err = io.Copy(w, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// unreachable words a failure to reach the server.
func (c *Client) unreachable(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}
	why := "cannot connect"
	var op *net.OpError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		why = "connection refused"
	case errors.As(err, &op) && op.Timeout():
		why = "timed out"
	case errors.As(err, new(*net.DNSError)):
		why = "unknown host"
	}
	return &UnreachableError{Base: c.Base, Why: why, Err: err}
}

// responseError is the error of a refused request with the server's
// message.
func responseError(resp *http.Response) error {
	var e httpapi.Error
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	msg := resp.Status
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	return &Error{Status: resp.StatusCode, Msg: msg}
}
