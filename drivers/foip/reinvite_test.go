package foip

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/faxagent/faxagent/t30"
)

func (a reinviteAct) String() string {
	var parts []string
	for _, n := range []struct {
		bit  reinviteAct
		name string
	}{{actAnswer, "answer"}, {actGiveUp, "give-up"}, {actCancel, "CANCEL"}, {actAck, "ACK"}, {actAudio, "back-to-audio"}} {
		if a&n.bit != 0 {
			parts = append(parts, n.name)
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, "+")
}

// TestReinviteWait plays our re-INVITE's transaction on a virtual clock,
// the wait (4 s) armed as followReinvite arms it on the call's clock, and
// checks what is done and when: a final response within the wait goes to
// the call; past the wait the call goes on in audio, CANCEL goes at once
// if a provisional response came (else when one comes), a late 2xx is
// ACKed and, if it accepted T.38, followed by a re-INVITE back to audio.
func TestReinviteWait(t *testing.T) {
	const limit = 4 * time.Second
	type event struct {
		at       time.Duration
		code     int // 0: the transaction ended without a final response
		switches bool
	}
	tests := []struct {
		name   string
		events []event
		want   string // "at:actions" of every event that did something
	}{
		{"200 T.38 in time", []event{{100 * time.Millisecond, 100, false}, {800 * time.Millisecond, 200, true}},
			"800ms:answer"},
		{"488 in time", []event{{300 * time.Millisecond, 488, false}}, "300ms:answer"},
		{"491 in time", []event{{50 * time.Millisecond, 491, false}}, "50ms:answer"},
		{"100 Trying then nothing: CANCEL at the timeout, 487 ends it",
			[]event{{20 * time.Millisecond, 100, false}, {4100 * time.Millisecond, 487, false}},
			"4s:give-up+CANCEL"},
		{"nothing at all: give up, no CANCEL; Timer B ends it",
			[]event{{32 * time.Second, 0, false}}, "4s:give-up"},
		{"nothing, then 180 after the wait: CANCEL then",
			[]event{{6 * time.Second, 180, false}, {6100 * time.Millisecond, 487, false}},
			"4s:give-up 6s:CANCEL"},
		{"nothing, then a late 200 with T.38: ACK and back to audio",
			[]event{{5 * time.Second, 200, true}}, "4s:give-up 5s:ACK+back-to-audio"},
		{"CANCEL crossed by a 200 with T.38",
			[]event{{10 * time.Millisecond, 100, false}, {4010 * time.Millisecond, 200, true}},
			"4s:give-up+CANCEL 4.01s:ACK+back-to-audio"},
		{"late 200 without T.38: ACK only", []event{{5 * time.Second, 200, false}}, "4s:give-up 5s:ACK"},
		{"late 488: nothing", []event{{5 * time.Second, 488, false}}, "4s:give-up"},
		{"transaction error in time", []event{{time.Second, 0, false}}, "1s:answer"},
		{"200 retransmitted", []event{{time.Second, 200, true}, {1500 * time.Millisecond, 200, true}}, "1s:answer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := t30.NewVirtualClock()
			var w reinviteWait
			var got []string
			record := func(a reinviteAct) {
				if a != 0 {
					got = append(got, fmt.Sprintf("%v:%v", clock.Elapsed(), a))
				}
			}
			clock.AfterFunc(limit, func() { record(w.expire()) })
			for _, ev := range tc.events {
				clock.AfterFunc(ev.at, func() {
					if ev.code == 0 {
						record(w.ended())
						return
					}
					record(w.response(ev.code, ev.switches))
				})
			}
			for clock.Step() {
			}
			if s := strings.Join(got, " "); s != tc.want {
				t.Errorf("got %q, want %q", s, tc.want)
			}
		})
	}
}
