package foip

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/drivertest"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/t30"
)

// audioFax sends doc from a to b and returns both results, both calls'
// media counters and the pages b got.
func audioFax(t *testing.T, a, b *Driver, doc t30.PagesDocument, ecm drivers.ECMMode) (sr, rr drivers.Result, sst, rst CallStats, sink *pageSink) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	sink = &pageSink{}
	var rerr error
	recvDone := make(chan struct{})
	go func() {
		defer close(recvDone)
		select {
		case c := <-b.Incoming():
			rr, rerr = c.Receive(ctx, drivers.ReceiveParams{CSID: "RECEIVER"}, sink, nil)
			rst = c.(MediaStats).Stats()
		case <-ctx.Done():
			rerr = ctx.Err()
		}
	}()
	c, err := a.Dial(ctx, a.Ports()[0].ID, "5552002", drivers.DialOptions{RingTimeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	sr, serr := c.Send(ctx, doc, drivers.SendParams{CSID: "SENDER", ECM: ecm}, nil)
	sst = c.(MediaStats).Stats()
	<-recvDone
	if serr != nil {
		t.Errorf("send: %v (cause %q)", serr, sr.Cause)
	}
	if rerr != nil {
		t.Errorf("receive: %v (cause %q)", rerr, rr.Cause)
	}
	return sr, rr, sst, rst, sink
}

// TestAudioFax: faxes between two drivers that end up in G.711 audio,
// through the soft modems over RTP: both sides never use T.38; the caller
// prefers T.38 but the answerer refuses its re-INVITE (488) and the fax
// goes on in audio in the same call; the answerer's re-INVITE refused by
// a caller that never uses T.38. Pages arrive pixel-equal, at V.17, and
// both calls say they ran as audio.
func TestAudioFax(t *testing.T) {
	var wg sync.WaitGroup
	for _, tc := range []struct {
		name    string
		ecm     drivers.ECMMode
		pages   int
		mod     func(a, b *Config)
		refused bool // a T.38 re-INVITE was refused on the way
	}{
		{name: "never-both", ecm: drivers.ECMOn, pages: 1,
			mod: func(a, b *Config) { a.T38Policy, b.T38Policy = T38Never, T38Never }},
		{name: "caller-refused", ecm: drivers.ECMOff, pages: 1, refused: true,
			mod: func(a, b *Config) { a.ReinviteOut = 100 * time.Millisecond; b.T38Policy = T38Never }},
		{name: "answerer-refused", ecm: drivers.ECMOn, pages: 1, refused: true,
			mod: func(a, b *Config) { a.T38Policy = T38Never }},
		// T.38 in the first INVITE, refused (488: no audio in it): the
		// call is placed again at once with audio.
		{name: "t38-invite-refused", ecm: drivers.ECMOn, pages: 1, refused: true,
			mod: func(a, b *Config) { a.T38 = T38InInvite; b.T38Policy = T38Never }},
		{name: "by-destination", ecm: drivers.ECMOn, pages: 1,
			mod: func(a, b *Config) {
				a.T38ByDestination = map[string]T38Policy{"555": T38Never, "5": T38Require}
				b.T38Policy = T38Never
			}},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(tc.name, func(t *testing.T) {
				a, b := pair(t, "udp", tc.mod)
				doc := drivertest.Doc(tc.pages, imaging.WidthA4, 40, imaging.Fine, 7)
				sr, rr, sst, rst, sink := audioFax(t, a, b, doc, tc.ecm)
				if t.Failed() {
					return
				}
				checkPages(t, doc, sink)
				if sr.Speed.Modem != t30.V17 || rr.Speed.Modem != t30.V17 {
					t.Errorf("modems %v / %v, want V.17", sr.Speed, rr.Speed)
				}
				if sr.Media.Transport != "audio" || rr.Media.Transport != "audio" {
					t.Errorf("results' media %+v / %+v, want audio", sr.Media, rr.Media)
				}
				if !sst.AudioFax || !rst.AudioFax || sst.T38Version != 0 {
					t.Errorf("media: sender %+v receiver %+v; want audio on both", sst, rst)
				}
				if sst.Audio.Received == 0 || rst.Audio.Sent == 0 || sst.Audio.Lost != 0 || sst.Audio.Concealed != 0 {
					t.Errorf("audio counters: sender %+v receiver %+v", sst.Audio, rst.Audio)
				}
				if tc.name == "caller-refused" {
					// The number is remembered as T.38-less (use audio).
					ds := a.Destinations()
					if len(ds) != 1 || ds[0].Number != "5552002" || ds[0].Note != "T.38-less: audio" || !ds[0].Until.After(time.Now()) {
						t.Errorf("destinations %+v", ds)
					}
				}
				if got := a.Stats().T38Refused + b.Stats().T38Refused; tc.refused != (got > 0) {
					t.Errorf("T.38 refusals counted %d (refused: %v)", got, tc.refused)
				}
				t.Logf("%s: sender %v %v, call %v, audio %+v", tc.name, sr.Code, sr.Speed, sr.CallDuration.Round(time.Millisecond), sst.Audio)
			})
		}()
	}
	wg.Wait()
}

// TestDestinationsExpire: the T.38-less notes say audio (prefer) or
// refused (require, by destination) and drop out when they expire.
func TestDestinationsExpire(t *testing.T) {
	d := &Driver{cfg: Config{Name: "foip", T38LessFor: time.Hour, T38ByDestination: map[string]T38Policy{"44": T38Require}},
		t38less: map[string]time.Time{}}
	d.rememberT38Less("5552002")
	d.rememberT38Less("+44 20 7946 0000")
	d.t38less["5550000"] = time.Now().Add(-time.Second) // expired
	got := d.Destinations()
	if len(got) != 2 || got[0].Number != "+44 20 7946 0000" || got[0].Note != "T.38-less: refused" ||
		got[1].Number != "5552002" || got[1].Note != "T.38-less: audio" {
		t.Fatalf("destinations %+v", got)
	}
	if d.T38Less("5550000") || len(d.t38less) != 2 {
		t.Fatalf("expired note kept: %v", d.t38less)
	}
}
