package bridge

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/faxagent/faxagent/drivers/brooktrout/vendor"
)

// TestErrorMapping: vendor errors survive the trip through gRPC status
// codes with the sentinels callers branch on.
func TestErrorMapping(t *testing.T) {
	tests := []struct {
		in   error
		code codes.Code
		want error
	}{
		{fmt.Errorf("open: %w", vendor.ErrChannel), codes.FailedPrecondition, vendor.ErrChannel},
		{fmt.Errorf("lost: %w", vendor.ErrUnavailable), codes.Unavailable, vendor.ErrUnavailable},
		{context.Canceled, codes.Canceled, context.Canceled},
		{context.DeadlineExceeded, codes.DeadlineExceeded, context.DeadlineExceeded},
		{errors.New("boom"), codes.Internal, vendor.ErrUnavailable},
	}
	for _, tc := range tests {
		st := toStatus(tc.in)
		if status.Code(st) != tc.code {
			t.Errorf("%v: status %v, want %v", tc.in, status.Code(st), tc.code)
		}
		if got := fromStatus(context.Background(), st); !errors.Is(got, tc.want) {
			t.Errorf("%v: back as %v, want %v", tc.in, got, tc.want)
		}
	}
	if toStatus(nil) != nil || fromStatus(context.Background(), nil) != nil {
		t.Error("nil must stay nil")
	}
	// A transport failure (the plugin died) is ErrUnavailable.
	if err := fromStatus(context.Background(), status.Error(codes.Unavailable, "connection refused")); !errors.Is(err, vendor.ErrUnavailable) {
		t.Errorf("transport failure: %v", err)
	}
	// The caller's own cancellation wins over whatever the transport says.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := fromStatus(ctx, status.Error(codes.Unavailable, "x")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func TestHandshakeVersions(t *testing.T) {
	a, b := Handshake(1), Handshake(2)
	if a.ProtocolVersion == b.ProtocolVersion || a.MagicCookieKey != b.MagicCookieKey || a.MagicCookieValue == "" {
		t.Errorf("%+v %+v", a, b)
	}
}
