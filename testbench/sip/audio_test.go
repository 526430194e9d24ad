package sip

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/drivertest"
	"github.com/faxagent/faxagent/drivers/foip"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/tiff"
	"github.com/faxagent/faxagent/internal/testutil"
	"github.com/faxagent/faxagent/modem/g711"
	"github.com/faxagent/faxagent/t30"
	"github.com/faxagent/faxagent/testbench/interop/spandsp"
)

// rtpBridge puts SpanDSP's audio fax terminal (fax_state, lockstep) on an
// RTP G.711 µ-law stream in real time: every 20 ms it hands the peer the
// samples that arrived, sends the peer's next 160 samples to where the
// far end's RTP comes from, and stops once the peer's phase E ran (plus a
// second for the last frames to cross).
type rtpBridge struct {
	conn *net.UDPConn
	peer *spandsp.AudioPeer
	done chan struct{}
	err  error
}

func startBridge(t *testing.T, peer *spandsp.AudioPeer) *rtpBridge {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	b := &rtpBridge{conn: conn, peer: peer, done: make(chan struct{})}
	go b.run()
	t.Cleanup(func() { _ = conn.Close(); <-b.done })
	return b
}

func (b *rtpBridge) port() int { return b.conn.LocalAddr().(*net.UDPAddr).Port }

func (b *rtpBridge) run() {
	defer close(b.done)
	var mu sync.Mutex
	var remote *net.UDPAddr
	var fifo []int16
	go func() { // the far end's packets, in arrival order
		buf := make([]byte, 1500)
		var in rtp.Packet
		for {
			n, from, err := b.conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if in.Unmarshal(buf[:n]) != nil || in.PayloadType != 0 {
				continue
			}
			mu.Lock()
			remote = from
			fifo = append(fifo, g711.Decode(g711.ULaw, make([]int16, len(in.Payload)), in.Payload)...)
			mu.Unlock()
		}
	}()
	// Paced like a real RTP endpoint: a sample clock from the start, so
	// after a stall of this process the frames it owes go out back to
	// back (a time.Ticker would drop them and leave the stream behind the
	// wall clock for good).
	next := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	var out rtp.Packet
	out.Header = rtp.Header{Version: 2, PayloadType: 0, SSRC: 0x5EA4D59, SequenceNumber: 1000, Timestamp: 160000}
	rx := make([]int16, 160)
	enc := make([]byte, 160)
	var ended time.Time
	for {
		next = next.Add(20 * time.Millisecond)
		if wait := time.Until(next); wait > 0 {
			timer.Reset(wait)
			<-timer.C
		} else if wait < -2*time.Second { // stalled for long: start afresh
			next = time.Now()
		}
		clear(rx)
		mu.Lock()
		if len(fifo) > 8000 { // more than a second behind: catch up
			fifo = fifo[len(fifo)-160*3:]
		}
		k := copy(rx, fifo)
		fifo = fifo[k:]
		to := remote
		mu.Unlock()
		tx, err := b.peer.Tick(rx, 160)
		if err != nil {
			b.err = err
			return
		}
		if to != nil {
			out.Payload = g711.Encode(g711.ULaw, enc, tx)
			if p, err := out.Marshal(); err == nil {
				if _, err := b.conn.WriteToUDP(p, to); errors.Is(err, net.ErrClosed) {
					return
				}
			}
			out.SequenceNumber++
			out.Timestamp += 160
		}
		if b.peer.Result() != nil {
			if ended.IsZero() {
				ended = time.Now()
			} else if time.Since(ended) > time.Second {
				return
			}
		}
	}
}

// writeDocTIFF writes pages as a TIFF (MH) for SpanDSP to send.
func writeDocTIFF(t *testing.T, path string, pages []*imaging.Page) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := tiff.NewWriter(f, tiff.WriterOptions{Compression: imaging.MH})
	for _, p := range pages {
		pw, err := w.NewPage(tiff.PageSpec{Width: p.Width, Resolution: p.Resolution, Rows: p.Height})
		if err != nil {
			t.Fatal(err)
		}
		for y := 0; y < p.Height; y++ {
			if err := pw.WriteRow(p.Row(y)); err != nil {
				t.Fatal(err)
			}
		}
		if err := pw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestAudioFallbackSpanDSP: a carrier that answers every T.38 re-INVITE
// with 488 (sipp), in front of SpanDSP's audio fax terminal (fax_state
// behind an RTP G.711 bridge). Outbound, our re-INVITE is refused and the
// fax goes on in audio in the same call; inbound, the same. Both complete
// pixel-equal at V.17 and our result says audio. Real time (~20 s each,
// both at once): under CI=true or FAXAGENT_REALTIME=1.
func TestAudioFallbackSpanDSP(t *testing.T) {
	bin := audioPeer(t)
	t.Run("outbound", func(t *testing.T) {
		t.Parallel()
		sendAudioSpanDSP(t, bin, "uas_488_audio_spandsp.xml", foip.Config{})
	})
	t.Run("inbound", func(t *testing.T) {
		t.Parallel()
		receiveAudioSpanDSP(t, bin, "uac_488_audio_spandsp.xml", foip.Config{})
	})
}

// TestReinviteNoAnswerSpanDSP: a carrier that never gives a final answer
// to our T.38 re-INVITE, in front of SpanDSP's audio fax terminal (sipp,
// RTP G.711 bridge). Outbound it says 100 Trying and nothing more: after
// our bounded wait (ReinviteTimeout, 1 s here) we CANCEL it (sipp checks
// the CANCEL and answers 200, then 487 to the re-INVITE) and fax in audio.
// Inbound it says nothing at all for 3 s and then accepts T.38 with 200:
// we went on in audio after 1 s without a CANCEL (no provisional
// response), ACK the late 200 and re-INVITE back to audio (sipp checks
// m=audio) while the audio fax runs. Both complete pixel-equal at V.17 and
// our result says audio. Real time (~20 s, both at once): under CI=true or
// FAXAGENT_REALTIME=1.
func TestReinviteNoAnswerSpanDSP(t *testing.T) {
	bin := audioPeer(t)
	cfg := foip.Config{ReinviteTimeout: time.Second}
	t.Run("outbound", func(t *testing.T) {
		t.Parallel()
		d := sendAudioSpanDSP(t, bin, "uas_noanswer_reinvite_spandsp.xml", cfg)
		if st := d.Stats(); st.ReinviteTimeouts != 1 || st.ReinviteCancels != 1 || st.LateAnswers != 0 || st.AudioFaxes != 1 {
			t.Errorf("driver stats %+v: want 1 re-INVITE timeout, 1 CANCEL, no late answer, 1 audio fax", st)
		}
		if !d.T38Less("5552002") {
			t.Error("destination not remembered as T.38-less")
		}
	})
	t.Run("inbound", func(t *testing.T) {
		t.Parallel()
		d := receiveAudioSpanDSP(t, bin, "uac_late200_reinvite_spandsp.xml", cfg)
		if st := d.Stats(); st.ReinviteTimeouts != 1 || st.ReinviteCancels != 0 || st.LateAnswers != 1 || st.BackToAudio != 1 || st.AudioFaxes != 1 {
			t.Errorf("driver stats %+v: want 1 re-INVITE timeout, no CANCEL, 1 late answer, 1 re-INVITE back to audio, 1 audio fax", st)
		}
	})
}

// audioPeer builds SpanDSP's audio fax peer, or skips (fails under CI).
func audioPeer(t *testing.T) string {
	t.Helper()
	testutil.NeedRealtime(t, "real-time audio fax with SpanDSP takes ~20 s")
	testutil.NeedTool(t, "sipp")
	bin, err := spandsp.BuildAudio(context.Background(), t.TempDir())
	if errors.Is(err, spandsp.ErrNoToolchain) {
		testutil.Missing(t, "SpanDSP audio peer (libspandsp-dev, gcc) not available: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// sendAudioSpanDSP sends a page to SpanDSP's audio fax terminal through
// the sipp UAS scenario (our driver's config is cfg with the addresses
// filled in) and checks that it went in audio at V.17 and arrived
// pixel-equal. It returns the driver, its call over.
func sendAudioSpanDSP(t *testing.T, bin, scenario string, cfg foip.Config) *foip.Driver {
	t.Helper()
	doc := drivertest.Doc(1, imaging.WidthA4, 300, imaging.Fine, 21)
	file := filepath.Join(t.TempDir(), "received.tif")
	peer, err := spandsp.StartAudio(context.Background(), bin, false, file, "modems=7", "ecm=1")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	br := startBridge(t, peer)
	sp := freeUDP(t)
	s := startSipp(t, scenario, sp, "-key", "bridge_port", strconv.Itoa(br.port()), "-timeout", "120s")
	cfg.Number, cfg.Listen, cfg.Peer, cfg.ReinviteOut = "1001", hostPort(0), hostPort(sp), 500*time.Millisecond
	d := openDriver(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := d.Dial(ctx, d.Ports()[0].ID, "5552002", drivers.DialOptions{RingTimeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("dial: %v\n%s", err, s.trace())
	}
	r, err := c.Send(ctx, doc, drivers.SendParams{CSID: "FAXAGENT"}, nil)
	st := c.(foip.MediaStats).Stats()
	<-br.done
	theirs := peer.Result()
	t.Logf("ours: %v (%v) %v ECM %v in %v; audio %+v; SpanDSP %+v; bridge %v",
		r.Code, err, r.Speed, r.ECM, r.CallDuration.Round(time.Millisecond), st.Audio, theirs, br.err)
	if err != nil || r.Code != t30.OK || r.Speed.Modem != t30.V17 || !st.AudioFax || r.Media.Transport != "audio" {
		t.Fatalf("send: %v, code %v, %v, audio %v; want OK at V.17 in audio", err, r.Code, r.Speed, st.AudioFax)
	}
	if theirs == nil || !theirs.OK() || theirs.PagesRx != 1 {
		t.Fatalf("SpanDSP: %+v", theirs)
	}
	peerGotPage(t, s, d, peer, file, doc[0])
	return d
}

// receiveAudioSpanDSP receives a page from SpanDSP's audio fax terminal
// calling through the sipp UAC scenario (our driver's config is cfg with
// the addresses filled in) and checks that it came in audio at V.17,
// pixel-equal. It returns the driver, its call over.
func receiveAudioSpanDSP(t *testing.T, bin, scenario string, cfg foip.Config) *foip.Driver {
	t.Helper()
	doc := drivertest.Doc(1, imaging.WidthA4, 300, imaging.Fine, 21)
	file := filepath.Join(t.TempDir(), "send.tif")
	writeDocTIFF(t, file, doc)
	peer, err := spandsp.StartAudio(context.Background(), bin, true, file, "modems=7", "ecm=1", "calling=1")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	br := startBridge(t, peer)
	cfg.Number, cfg.Listen, cfg.Peer, cfg.AllowFrom = "2002", hostPort(0), "127.0.0.1:9", []string{"127.0.0.1"}
	d := openDriver(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	type out struct {
		r   drivers.Result
		err error
		st  foip.CallStats
	}
	sink := &pagesSink{}
	got := make(chan out, 1)
	go func() {
		select {
		case c := <-d.Incoming():
			r, err := c.Receive(ctx, drivers.ReceiveParams{CSID: "FAXAGENT"}, sink, nil)
			got <- out{r, err, c.(foip.MediaStats).Stats()}
		case <-ctx.Done():
			got <- out{err: ctx.Err()}
		}
	}()
	s := startSipp(t, scenario, freeUDP(t), "-key", "bridge_port", strconv.Itoa(br.port()),
		"-timeout", "120s", "-s", "2002", d.Addr())
	o := <-got
	<-br.done
	theirs := peer.Result()
	t.Logf("ours: %v (%v) %v ECM %v in %v; audio %+v; SpanDSP %+v; bridge %v",
		o.r.Code, o.err, o.r.Speed, o.r.ECM, o.r.CallDuration.Round(time.Millisecond), o.st.Audio, theirs, br.err)
	if o.err != nil || o.r.Code != t30.OK || o.r.Speed.Modem != t30.V17 || !o.st.AudioFax || o.r.Media.Transport != "audio" {
		t.Fatalf("receive: %v, code %v, %v, audio %v; want OK at V.17 in audio", o.err, o.r.Code, o.r.Speed, o.st.AudioFax)
	}
	if theirs == nil || !theirs.OK() {
		t.Fatalf("SpanDSP: %+v", theirs)
	}
	s.wait(t, d)
	if len(sink.pages) != 1 {
		t.Fatalf("%d pages received", len(sink.pages))
	}
	p, _, err := imaging.DecodePage(sink.pages[0].Data, sink.pages[0].DecodeOptions(), sink.pages[0].Resolution)
	if err != nil {
		t.Fatal(err)
	}
	if !drivertest.Equal(p, doc[0]) {
		t.Fatal("received page not pixel-equal to SpanDSP's")
	}
	return d
}

// pagesSink keeps the pages received.
type pagesSink struct{ pages []*t30.ReceivedPage }

func (s *pagesSink) Page(p *t30.ReceivedPage) error { s.pages = append(s.pages, p); return nil }

// TestLateT38SpanDSP: a carrier that answers our T.38 re-INVITE with 488
// and switches the call to T.38 itself 300 ms later (sipp, its m=image at
// SpanDSP's T.38 terminal): the fax that had started in audio starts over
// on T.38 and completes pixel-equal; the call says T.38, not audio.
func TestLateT38SpanDSP(t *testing.T) {
	testutil.NeedRealtime(t, "real-time T.38 call with SpanDSP takes ~20 s")
	testutil.NeedTool(t, "sipp")
	bin, err := spandsp.Build(context.Background(), t.TempDir())
	if errors.Is(err, spandsp.ErrNoToolchain) {
		testutil.Missing(t, "SpanDSP peer (libspandsp-dev, gcc) not available: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	media := mediaRange(t)
	udptl := media + 2
	peerPort := freeUDP(t)
	sp := freeUDP(t)
	s := startSipp(t, "uas_488_then_t38_spandsp.xml", sp, "-key", "spandsp_port", strconv.Itoa(peerPort), "-timeout", "120s")
	d := openDriver(t, foip.Config{Number: "1001", Listen: hostPort(0), Peer: hostPort(sp),
		ReinviteOut: 100 * time.Millisecond, RTPPortMin: media, RTPPortMax: media + 2})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	file := filepath.Join(t.TempDir(), "received.tif")
	peer, err := spandsp.StartTerminalUDP(ctx, bin, peerPort, udptl, false, file, "version=2", "red=3", "ecm=1", "timeout=100")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	doc := drivertest.Doc(1, imaging.WidthA4, 300, imaging.Fine, 12)
	c, err := d.Dial(ctx, d.Ports()[0].ID, "5552002", drivers.DialOptions{RingTimeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("dial: %v\n%s", err, s.trace())
	}
	r, err := c.Send(ctx, doc, drivers.SendParams{CSID: "FAXAGENT", ECM: drivers.ECMOn}, nil)
	var theirs *spandsp.PeerResult
	select {
	case theirs = <-peer.End():
	case err := <-peer.Err():
		t.Fatalf("SpanDSP peer: %v", err)
	case <-ctx.Done():
		t.Fatal("SpanDSP peer did not end its call")
	}
	st := c.(foip.MediaStats).Stats()
	t.Logf("ours: %v (%v) %v ECM %v in %v; T.38 v%d UDPTL %+v; SpanDSP %+v", r.Code, err, r.Speed, r.ECM,
		r.CallDuration.Round(time.Millisecond), st.T38Version, st.UDPTL, theirs)
	if err != nil || r.Code != t30.OK || st.AudioFax || st.T38Version != 2 || r.Media.Transport != "T.38" {
		t.Fatalf("send: %v, code %v, audio %v, T.38 v%d; want OK over T.38", err, r.Code, st.AudioFax, st.T38Version)
	}
	if !theirs.OK() || theirs.PagesRx != 1 {
		t.Fatalf("SpanDSP: %s, %d pages", theirs.Text, theirs.PagesRx)
	}
	if ds := d.Stats(); ds.AudioFaxes != 1 || ds.LateT38 != 1 || ds.T38Refused != 1 {
		t.Errorf("driver stats %+v: want 1 audio fax started, 1 late T.38 switch, 1 refusal", ds)
	}
	peerGotPage(t, s, d, peer, file, doc[0])
}
