package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"strings"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/email"
	"github.com/faxagent/faxagent/core/httpapi"
	"github.com/faxagent/faxagent/core/notify"
)

// startEmailGateway runs the e-mail to fax listener when configured; its
// faxes go through the API's own intake (api).
func startEmailGateway(cfg Config, st core.Store, api http.Handler, log *slog.Logger) (stop func(), addr string, err error) {
	gc := cfg.Notify.EmailGateway
	if gc.Listen == "" {
		return func() {}, "", nil
	}
	if gc.MaxMessageBytes <= 0 {
		gc.MaxMessageBytes = cfg.MaxUpload
	}
	relays, err := notify.ParseAllowList(gc.Relays)
	if err != nil {
		return nil, "", fmt.Errorf("notify.email_gateway relays: %w", err)
	}
	ec := email.GatewayConfig{Domain: gc.Domain, AllowedSenders: gc.AllowedSenders, Relays: relays, MaxMessageBytes: gc.MaxMessageBytes}
	if gc.TLSCert != "" || gc.TLSKey != "" {
		cert, err := tls.LoadX509KeyPair(gc.TLSCert, gc.TLSKey)
		if err != nil {
			return nil, "", fmt.Errorf("notify.email_gateway tls_cert/tls_key: %w", err)
		}
		ec.TLS, ec.RequireTLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, true
	}
	g, err := email.NewGateway(ec, st, apiSubmitter(api), log)
	if err != nil {
		return nil, "", err
	}
	ln, err := net.Listen("tcp", gc.Listen)
	if err != nil {
		return nil, "", fmt.Errorf("email gateway: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := g.Serve(ln); err != nil {
			log.Warn("email gateway", "err", err)
		}
	}()
	log.Info("email gateway listening", "addr", ln.Addr().String(), "domain", gc.Domain)
	return func() { g.Close(); <-done }, ln.Addr().String(), nil
}

// apiSubmitter submits a gateway's fax as a POST /api/v1/messages made in
// the process as the sending user, so that it meets the API's checks,
// limits and conversion.
func apiSubmitter(api http.Handler) email.Submitter {
	return func(ctx context.Context, user core.User, numbers []string, subject string, files []email.File) (int64, error) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		mw.WriteField("to", strings.Join(numbers, ","))
		if subject != "" {
			mw.WriteField("subject", subject)
		}
		for _, f := range files {
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, f.Name))
			h.Set("Content-Type", "application/octet-stream")
			pw, err := mw.CreatePart(h)
			if err != nil {
				return 0, err
			}
			pw.Write(f.Data)
		}
		mw.Close()
		req, err := http.NewRequestWithContext(httpapi.WithPrincipal(ctx, httpapi.Principal{UserID: user.ID}),
			http.MethodPost, "/api/v1/messages", &body)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.RemoteAddr = "127.0.0.1:0"
		rec := &recorder{header: http.Header{}}
		api.ServeHTTP(rec, req)
		var out struct {
			ID    int64  `json:"id"`
			Error string `json:"error"`
		}
		json.Unmarshal(rec.body.Bytes(), &out)
		switch {
		case rec.status == http.StatusCreated:
			return out.ID, nil
		case rec.status >= 400 && rec.status < 500:
			return 0, fmt.Errorf("%w: %s", core.ErrInvalid, out.Error)
		}
		return 0, fmt.Errorf("submission: HTTP %d %s", rec.status, out.Error)
	}
}

// recorder is the response of an in-process request.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}
