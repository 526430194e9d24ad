package drivers

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/faxagent/faxagent/t30"
)

func TestPortID(t *testing.T) {
	tests := []struct {
		in        string
		board, ch int
		ok        bool
	}{
		{"M0,0", 0, 0, true}, {"M12,345", 12, 345, true}, {"M0,3", 0, 3, true},
		{"0,3", 0, 0, false}, {"M0;3", 0, 0, false}, {"M-1,2", 0, 0, false}, {"M1,", 0, 0, false}, {"", 0, 0, false},
	}
	for _, tc := range tests {
		b, c, err := ParsePortID(tc.in)
		if (err == nil) != tc.ok || b != tc.board || c != tc.ch {
			t.Errorf("ParsePortID(%q) = %d, %d, %v", tc.in, b, c, err)
		}
		if tc.ok && PortID(b, c) != tc.in {
			t.Errorf("PortID(%d, %d) = %q", b, c, PortID(b, c))
		}
		if !tc.ok && !errors.Is(err, ErrPortID) {
			t.Errorf("%q: error %v does not wrap ErrPortID", tc.in, err)
		}
	}
}

func FuzzParsePortID(f *testing.F) {
	for _, s := range []string{"M0,0", "M12,345", "M,", "M0,3,4", "M+1,2", "M99999999999999999999,1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, c, err := ParsePortID(s)
		if err != nil {
			return
		}
		if b < 0 || c < 0 {
			t.Fatalf("%q: negative %d %d", s, b, c)
		}
		b2, c2, err := ParsePortID(PortID(b, c))
		if err != nil || b2 != b || c2 != c {
			t.Fatalf("%q: round trip %d,%d -> %d,%d %v", s, b, c, b2, c2, err)
		}
	})
}

func TestResultErrors(t *testing.T) {
	r := Result{Result: t30.Result{Code: t30.OK}}
	if r.AsError() != nil {
		t.Fatal("OK result has an error")
	}
	r.Code, r.Cause, r.Err = t30.CodeBusy, "486 Busy Here", errors.New("detail")
	var ce *CallError
	if err := r.AsError(); !errors.As(err, &ce) || ce.Code != t30.CodeBusy || ce.Error() != "call failed: busy (code 2): 486 Busy Here: detail" {
		t.Fatalf("AsError: %v", err)
	}
	end := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	dr := DialResult(fmt.Errorf("wrapped: %w", &DialError{Code: t30.CodeNoAnswer, Cause: "480", CauseCode: 480, Duration: time.Minute}), CallInfo{Port: "M0,1"}, end)
	if dr.Code != t30.CodeNoAnswer || dr.Cause != "480" || dr.CauseCode != 480 || dr.DialDuration != time.Minute || dr.CallDuration != time.Minute || dr.Info.Port != "M0,1" || !dr.Ended.Equal(end) {
		t.Fatalf("DialResult %+v", dr)
	}
	if dr := DialResult(context.Canceled, CallInfo{}, end); dr.Code != t30.CodeCancelled {
		t.Fatalf("cancelled dial: %v", dr.Code)
	}
	if dr := DialResult(errors.New("boom"), CallInfo{}, end); dr.Code != t30.CodeInternal {
		t.Fatalf("broken dial: %v", dr.Code)
	}
	protos := map[t30.Modem]string{t30.V17: "V17", t30.V29: "V29", t30.V27ter: "V27", t30.V34: "V34", t30.ModemNone: ""}
	for m, want := range protos {
		r := Result{Result: t30.Result{Speed: t30.Speed{Modem: m}}}
		if got := r.Protocol(); got != want {
			t.Errorf("Protocol(%v) = %q", m, got)
		}
	}
	if StateUnlicensed.String() != "unlicensed" || !StateSending.Busy() || StateIdle.Busy() || CauseWatchdog.String() != "watchdog" {
		t.Fatal("names")
	}
}
