package email

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/faxagent/faxagent/core"
)

// FuzzGatewayData: any mail body gets an answer (accepted or an SMTP
// error), never a panic, and what is submitted has at least one document
// with a clean name.
func FuzzGatewayData(f *testing.F) {
	f.Add([]byte(pdfMail))
	f.Add([]byte("From: alice@example.test\r\n\r\ntext"))
	f.Add([]byte("From: alice@example.test\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--x--"))
	f.Add([]byte("\r\n\r\n"))
	if _, err := NewGateway(GatewayConfig{Domain: "fax.test"}, nil, g0submit, nil); err == nil {
		f.Fatal("a gateway without users was made")
	}
	g, err := NewGateway(GatewayConfig{Domain: "fax.test", AllowedSenders: []string{"@example.test"}}, noUsers{},
		g0submit, slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &session{g: g, user: &core.User{ID: 1000, Username: "alice", Email: "alice@example.test", Active: true},
			from: "alice@example.test", numbers: []string{"5550103"}}
		_ = s.Data(strings.NewReader(string(data)))
	})
}

type noUsers struct{}

func (noUsers) Users(context.Context) ([]core.User, error) { return nil, nil }

func g0submit(ctx context.Context, u core.User, numbers []string, subject string, files []File) (int64, error) {
	if len(files) == 0 {
		panic("no documents submitted")
	}
	for _, fl := range files {
		if fl.Name == "" || strings.ContainsAny(fl.Name, "/\\\x00") {
			panic("unclean file name " + fl.Name)
		}
	}
	return 1, nil
}
