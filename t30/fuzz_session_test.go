package t30

import (
	"context"
	"testing"
	"time"

	"github.com/faxagent/faxagent/imaging"
)

// FuzzSession drives a session in each role with a remote whose every move
// comes from the fuzzer: V.21 frames (good or bad FCS), high-speed
// carriers with data or ECM frames, tones, pauses and hang-ups. The
// session must end with a valid code, without panicking or hanging.
func FuzzSession(f *testing.F) {
	disCaps := fullDIS()
	dis, _ := disCaps.AppendFIF(nil, false)
	dcs, _ := (&Caps{ReceiveFax: true, Speed: Speed{V17, 14400}, ECM: true, MMR: true}).AppendFIF(nil, true)
	seed := func(role byte, ops ...[]byte) []byte {
		out := []byte{role}
		for _, op := range ops {
			out = append(out, op...)
		}
		return out
	}
	frameOp := func(fcf FCF, info []byte) []byte {
		b := (&Frame{FCF: fcf, Final: true, Info: info}).Marshal()
		return append([]byte{0, byte(len(b))}, b...)
	}
	f.Add(seed(0, frameOp(FCFDIS, dis), []byte{4, 30}, frameOp(FCFCFR, nil), []byte{4, 200}, frameOp(FCFMCF, nil)))
	f.Add(seed(1, frameOp(FCFDCS|1, dcs), []byte{2, 10}, []byte{4, 10}, frameOp(FCFPPS|1, []byte{0x2F, 0, 0, 0}), frameOp(FCFDCN|1, nil)))
	f.Add(seed(2, frameOp(FCFDTC, dis), frameOp(FCFPPR, make([]byte, 32)), frameOp(FCFRNR, nil)))
	f.Add(seed(3, frameOp(FCFDIS, append([]byte(nil), 0x00, 0x02, 0x00)), frameOp(FCFEOR|1, []byte{0}), []byte{5}))
	doc := textDoc(2, 1728, 40, imaging.Fine)
	f.Fuzz(func(t *testing.T, in []byte) { fuzzSessionOnce(t, doc, in) })
}

func fuzzSessionOnce(t testing.TB, doc PagesDocument, in []byte) {
	if len(in) == 0 {
		return
	}
	role := in[0]
	in = in[1:]
	clock := NewVirtualClock()
	corrupt := false
	a, b := NewLinePair(clock, LineModel{Frame: func(from, _ int, _ []byte) Fate {
		if from == 1 && corrupt {
			return Corrupt
		}
		return Deliver
	}})
	b.SetHandler(func(Event) {})
	cfg := Config{Calling: role&1 == 0, Transmit: role&2 == 0, ECM: role&4 != 0, Document: doc, Sink: &PageCollector{}}
	s, err := NewSession(cfg, a, clock)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	// Play the remote's moves one after the other.
	at := time.Duration(0)
	for len(in) > 0 {
		op := in[0] % 6
		in = in[1:]
		n := 0
		if len(in) > 0 {
			n = int(in[0])
			in = in[1:]
		}
		n = min(n, len(in))
		payload := in[:n]
		in = in[n:]
		at += 500 * time.Millisecond
		clock.AfterFunc(at, func() {
			if b.Pair().Down() {
				return
			}
			switch op {
			case 0, 1: // V.21 burst of one frame, FCS good (0) or bad (1)
				corrupt = op == 1
				_ = b.StartTx(Speed{V21, 300}, false)
				_ = b.SendFrame(payload)
				_ = b.StopTx()
				corrupt = false
			case 2: // high-speed ECM frames
				_ = b.StartTx(Speed{V17, 14400}, false)
				fr := append([]byte{0xFF, 0x03, byte(FCFFCD)}, payload...)
				_ = b.SendFrame(fr)
				_ = b.SendFrame([]byte{0xFF, 0x03, byte(FCFRCP)})
				_ = b.StopTx()
			case 3: // high-speed data
				_ = b.StartTx(Speed{V29, 9600}, false)
				_ = b.SendData(payload)
				_ = b.StopTx()
			case 4: // a pause
				at += time.Duration(n) * 100 * time.Millisecond
			case 5:
				_ = b.Hangup()
			}
		})
	}
	err = clock.Run(context.Background(), func() bool { return s.Done() || clock.Elapsed() > 5*time.Hour })
	if err != nil || !s.Done() {
		t.Fatalf("session did not end: %v after %v in %v", err, clock.Elapsed(), s.st)
	}
	if c := s.Result().Code; c < 0 || int(c) >= len(codeTable) {
		t.Fatalf("invalid code %d", c)
	}
}
