package t30

// Cross-checks against SpanDSP 0.0.6 (an independent T.30
// implementation). The fixtures in testdata/spandsp were made with
// testdata/spandsp/gen.c (see the comment there): fif_decode.txt is
// SpanDSP's t30_decode_dis_dtc_dcs of our encodings of spandspFIFCases, and
// call*.log are the frames of real SpanDSP-to-SpanDSP calls (A sends two
// fine pages, B receives), without and with ECM.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/faxagent/faxagent/imaging"
)

type spandspDecode struct {
	frame  string
	fields map[string]string
	odd    []string
}

func readSpanDSPDecodes(t *testing.T) []spandspDecode {
	f, err := os.Open("testdata/spandsp/fif_decode.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []spandspDecode
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "FRAME "):
			out = append(out, spandspDecode{frame: strings.TrimPrefix(line, "FRAME "), fields: map[string]string{}})
		case strings.Contains(line, "= "):
			kv := strings.SplitN(line[strings.Index(line, "= ")+2:], ": ", 2)
			if len(kv) != 2 {
				continue
			}
			d := &out[len(out)-1]
			if strings.HasPrefix(kv[0], "Unexpected state") {
				d.odd = append(d.odd, line)
			}
			d.fields[kv[0]] = kv[1]
		}
	}
	return out
}

func setStr(b bool) string {
	if b {
		return "Set"
	}
	return "Not set"
}

func TestSpanDSPDecodesOurFIFs(t *testing.T) {
	decodes := readSpanDSPDecodes(t)
	if len(decodes) != len(spandspFIFCases) {
		t.Fatalf("%d decodes for %d cases: regenerate testdata/spandsp/fif_decode.txt", len(decodes), len(spandspFIFCases))
	}
	for i, tc := range spandspFIFCases {
		fif, err := tc.caps.AppendFIF(nil, tc.dcs)
		if err != nil {
			t.Fatal(err)
		}
		f := Frame{FCF: FCFDIS, Final: true, Info: fif}
		if tc.dcs {
			f.FCF = FCFDCS | 1
		}
		d := decodes[i]
		if got := hex.EncodeToString(f.Marshal()); got != d.frame {
			t.Fatalf("case %d encodes to %s, fixture has %s: regenerate the fixture", i, got, d.frame)
		}
		c := tc.caps
		want := map[string]string{
			"R8x7.7lines/mm and/or 200x200pels/25.4mm": setStr(c.Fine),
			"2-D coding":                    setStr(c.MR),
			"Real-time Internet fax (T.38)": setStr(c.T38),
		}
		if tc.dcs {
			want["Receive fax"] = setStr(c.ReceiveFax)
			want["Recording width"] = [...]string{"215mm +- 1%", "255mm +- 1%", "303mm +- 1%"}[c.Width]
			want["Recording length"] = [...]string{"A4 (297mm)", "B4 (364mm)", "Unlimited"}[c.Length]
			want["Minimum scan line time"] = fmt.Sprintf("%dms", c.MinScanMS)
		} else {
			want["Can receive fax"] = setStr(c.ReceiveFax)
			want["V.8 capabilities"] = setStr(c.V8)
			want["Ready to transmit a fax document (polling)"] = setStr(c.Poll)
			want["Supported data signalling rates"] = map[ModemSet]string{
				0: "V.27 ter fall-back mode", SetV27ter: "V.27 ter", SetV29: "V.29",
				SetV27ter | SetV29: "V.27 ter and V.29", SetV27ter | SetV29 | SetV17: "V.27 ter, V.29, and V.17",
			}[c.Modems]
			want["Recording width"] = [...]string{"215mm +- 1%", "215mm +- 1% and 255mm +- 1%", "215mm +- 1%, 255mm +- 1% and 303mm +- 1%"}[c.Width]
			want["Recording length"] = [...]string{"A4 (297mm)", "A4 (297mm) and B4 (364mm)", "Unlimited"}[c.Length]
			half := "T7.7 = T3.85"
			if c.HalfAtFine {
				half = "T7.7 = 1/2 T3.85"
			}
			want["Receiver's minimum scan line time"] = fmt.Sprintf("%dms at 3.85 l/mm; %s", c.MinScanMS, half)
			want["Preferred octets"] = map[bool]string{false: "256 octets", true: "64 octets"}[c.Prefer64]
		}
		if len(fif) >= 4 {
			want["Error correction mode (ECM)"] = map[bool]string{false: "Non-ECM", true: "ECM"}[c.ECM]
			want["T.6 coding"] = setStr(c.MMR)
			if tc.dcs {
				want["Frame size"] = map[bool]string{false: "256 octets", true: "64 octets"}[c.Frame64]
			}
		}
		if len(fif) >= 6 {
			want["R8x15.4lines/mm"] = setStr(c.Superfine)
			want["R16x15.4lines/mm and/or 400x400pels/25.4mm"] = setStr(c.Ultrafine)
			if !tc.dcs {
				want["Metric-based resolution preferred"] = setStr(c.MetricPreferred)
				want["Minimum scan line time for higher resolutions"] = map[bool]string{false: "T15.4 = T7.7", true: "T15.4 = 1/2 T7.7"}[c.HalfAtHigherRes]
			}
		}
		if len(fif) >= 7 {
			want["Sub-addressing"] = setStr(c.Subaddress)
			want["Password"] = setStr(c.Password)
		}
		if len(fif) >= 10 {
			want["North American Letter (215.9mm x 279.4mm)"] = setStr(c.Letter)
			want["North American Legal (215.9mm x 355.6mm)"] = setStr(c.Legal)
		}
		// SpanDSP writes the rate as e.g. "V.17 14400bps" or "V.29, 9600bps".
		if tc.dcs {
			got := strings.NewReplacer(" ", "", ",", "", ".", "").Replace(d.fields["Selected data signalling rate"])
			exp := strings.NewReplacer(" ", "", ".", "").Replace(fmt.Sprintf("%v%dbps", c.Speed.Modem, c.Speed.Rate))
			if got != exp {
				t.Errorf("case %d: SpanDSP reads rate %q, want %q", i, d.fields["Selected data signalling rate"], exp)
			}
		}
		for k, v := range want {
			if d.fields[k] != v {
				t.Errorf("case %d (%s): SpanDSP reads %q = %q, want %q", i, d.frame, k, d.fields[k], v)
			}
		}
		if len(d.odd) > 0 {
			t.Errorf("case %d: SpanDSP complains: %v", i, d.odd)
		}
	}
}

type loggedFrame struct {
	side  byte // 'A' sender, 'B' receiver
	name  string
	final bool
	raw   []byte
}

func readSpanDSPCall(t *testing.T, name string) []loggedFrame {
	data, err := os.ReadFile("testdata/spandsp/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var out []loggedFrame
	var pending *loggedFrame
	for _, line := range strings.Split(string(data), "\n") {
		if len(line) < 8 {
			continue
		}
		body := strings.TrimSpace(line[5:])
		if strings.HasPrefix(body, "ff ") {
			if pending == nil {
				t.Fatalf("frame without a name: %s", line)
			}
			raw, err := hex.DecodeString(strings.ReplaceAll(body, " ", ""))
			if err != nil {
				t.Fatal(err)
			}
			pending.raw = raw
			out = append(out, *pending)
			pending = nil
			continue
		}
		fs := strings.Fields(body)
		pending = &loggedFrame{side: line[0], name: fs[0], final: strings.Contains(body, "with final")}
	}
	return out
}

func TestSpanDSPCallFrames(t *testing.T) {
	for _, tc := range []struct {
		log string
		ecm bool
	}{{"call.log", false}, {"call_ecm.log", true}} {
		frames := readSpanDSPCall(t, tc.log)
		if len(frames) < 8 {
			t.Fatalf("%s: %d frames", tc.log, len(frames))
		}
		for _, lf := range frames {
			var f Frame
			if err := f.Unmarshal(lf.raw); err != nil {
				t.Fatalf("%s: %s %x: %v", tc.log, lf.name, lf.raw, err)
			}
			if f.Kind().String() != lf.name || f.Final != lf.final {
				t.Fatalf("%s: %x is %v final=%v, SpanDSP says %s final=%v", tc.log, lf.raw, f.Kind(), f.Final, lf.name, lf.final)
			}
			// The X bit: set in frames from A (it received DIS), clear
			// in B's responses.
			if lf.side == 'A' && f.Kind() != FCFFCD && f.Kind() != FCFRCP && f.FCF&1 != 1 {
				t.Errorf("%s: A's %v without the X bit", tc.log, f.Kind())
			}
			switch f.Kind() {
			case FCFCSI:
				if DecodeIdent(f.Info) != "+1 555 0199" {
					t.Errorf("CSI %q", DecodeIdent(f.Info))
				}
			case FCFTSI:
				if DecodeIdent(f.Info) != "+1 555 0100" {
					t.Errorf("TSI %q", DecodeIdent(f.Info))
				}
			case FCFDIS:
				c, err := ParseCaps(f.Info, false)
				if err != nil || !c.ReceiveFax || c.Modems != SetV27ter|SetV29|SetV17 || !c.Fine || !c.MR || !c.Superfine ||
					c.Length != LengthUnlimited || c.MinScanMS != 0 || c.ECM != tc.ecm || c.MMR != tc.ecm || !c.Letter || !c.Legal {
					t.Errorf("%s: DIS %x parses to %+v (%v)", tc.log, f.Info, c, err)
				}
			case FCFDCS:
				c, err := ParseCaps(f.Info, true)
				if err != nil || c.Speed != (Speed{V17, 14400}) || !c.Fine || c.MR == tc.ecm || c.MMR != tc.ecm || c.ECM != tc.ecm ||
					c.Frame64 || c.Length != LengthUnlimited || c.MinScanMS != 0 {
					t.Errorf("%s: DCS %x parses to %+v (%v)", tc.log, f.Info, c, err)
				}
			}
		}
	}
}

// TestSpanDSPSenderSequence replays SpanDSP B's frames to our sender and
// checks that our sender says byte for byte what SpanDSP's sender said.
func TestSpanDSPSenderSequence(t *testing.T) {
	doc := PagesDocument{imaging.NewPage(1728, 300, imaging.Fine), imaging.NewPage(1728, 300, imaging.Fine)}
	for _, tc := range []struct {
		log string
		ecm bool
	}{{"call.log", false}, {"call_ecm.log", true}} {
		logged := readSpanDSPCall(t, tc.log)
		var bFrames, aV21 [][]byte
		for _, lf := range logged {
			k := FCF(lf.raw[2]).Bare()
			if lf.side == 'B' {
				bFrames = append(bFrames, lf.raw)
			} else if k != FCFFCD && k != FCFRCP {
				aV21 = append(aV21, lf.raw)
			}
		}
		// B's first burst is CSI + DIS; then one response per command.
		clock := NewVirtualClock()
		a, b := NewLinePair(clock, LineModel{})
		var ours [][]byte
		next := 2
		send := func(frames ...[]byte) {
			clock.AfterFunc(GapBetweenCarriers, func() {
				_ = b.StartTx(Speed{V21, 300}, false)
				for _, f := range frames {
					_ = b.SendFrame(f)
				}
				_ = b.StopTx()
			})
		}
		b.SetHandler(func(ev Event) {
			if ev.Kind != EventFrame || ev.Speed.Modem != V21 {
				return
			}
			raw := append([]byte(nil), ev.Frame...)
			ours = append(ours, raw)
			if raw[1] != ControlFinal || FCF(raw[2]).Bare() == FCFDCN || next >= len(bFrames) {
				return
			}
			delay := GapBetweenCarriers
			if FCF(raw[2]).Bare() == FCFDCS {
				delay += TrainingTime(Speed{V17, 14400}, false) + TCFDuration + GapBetweenCarriers
			}
			resp := bFrames[next]
			next++
			clock.AfterFunc(delay, func() { send(resp) })
		})
		s, err := NewSession(Config{Calling: true, Transmit: true, Document: doc, ECM: tc.ecm, Ident: "+1 555 0100"}, a, clock)
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		send(bFrames[0], bFrames[1])
		if err := clock.Run(context.Background(), s.Done); err != nil {
			t.Fatal(err)
		}
		if s.Result().Code != OK {
			t.Fatalf("%s: %v (%v)", tc.log, s.Result().Code, s.Result().Err)
		}
		if len(ours) != len(aV21) {
			t.Fatalf("%s: we sent %d V.21 frames, SpanDSP %d", tc.log, len(ours), len(aV21))
		}
		for i := range ours {
			w := aV21[i]
			o := ours[i]
			if FCF(w[2]).Bare() == FCFPPS {
				// The frame count depends on how each codes the page.
				w, o = w[:len(w)-1], o[:len(o)-1]
			}
			if !bytes.Equal(o, w) {
				t.Errorf("%s: frame %d: we sent %x, SpanDSP sent %x", tc.log, i, ours[i], aV21[i])
			}
		}
	}
}

// TestSpanDSPReceiverSequence replays SpanDSP A's frames (and, with ECM,
// SpanDSP's own MMR page data in its FCD frames) to our receiver: it must
// answer what SpanDSP's receiver answered and deliver the pages.
func TestSpanDSPReceiverSequence(t *testing.T) {
	white := imaging.NewPage(1728, 300, imaging.Fine)
	pageData, err := imaging.EncodePage(white, imaging.EncodeOptions{Compression: imaging.MR, Width: 1728, K: 4, BitOrder: imaging.LSBFirst})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		log string
		ecm bool
	}{{"call.log", false}, {"call_ecm.log", true}} {
		logged := readSpanDSPCall(t, tc.log)
		// Steps: runs of A frames between B bursts.
		type step struct{ frames [][]byte }
		var aSteps []step
		var bV21 [][]byte
		for i, lf := range logged {
			if lf.side == 'B' {
				bV21 = append(bV21, lf.raw)
				continue
			}
			if i == 0 || logged[i-1].side == 'B' {
				aSteps = append(aSteps, step{})
			}
			aSteps[len(aSteps)-1].frames = append(aSteps[len(aSteps)-1].frames, lf.raw)
		}
		clock := NewVirtualClock()
		a, b := NewLinePair(clock, LineModel{})
		hs := Speed{V17, 14400}
		play := func(st step) {
			_ = a.SendTone(ToneNone, GapBetweenCarriers)
			inV21 := false
			inHS := false
			for _, f := range st.frames {
				k := FCF(f[2]).Bare()
				if k == FCFFCD || k == FCFRCP {
					if !inHS {
						if inV21 {
							_ = a.StopTx()
							_ = a.SendTone(ToneNone, GapBetweenCarriers)
							inV21 = false
						}
						_ = a.StartTx(hs, false)
						inHS = true
					}
					_ = a.SendFrame(f)
					continue
				}
				if inHS {
					_ = a.StopTx()
					_ = a.SendTone(ToneNone, GapBetweenCarriers)
					inHS = false
				}
				if !tc.ecm && (k == FCFMPS || k == FCFEOP) && !inV21 {
					_ = a.StartTx(hs, true)
					_ = a.SendData(pageData)
					_ = a.StopTx()
					_ = a.SendTone(ToneNone, GapBetweenCarriers)
				}
				if !inV21 {
					_ = a.StartTx(Speed{V21, 300}, false)
					inV21 = true
				}
				_ = a.SendFrame(f)
				if f[1] == ControlFinal {
					_ = a.StopTx()
					inV21 = false
					if k == FCFDCS {
						_ = a.SendTone(ToneNone, GapBetweenCarriers)
						_ = a.StartTx(hs, false)
						_ = a.SendData(make([]byte, hs.Rate*3/16))
						_ = a.StopTx()
					}
				}
			}
			if inHS {
				_ = a.StopTx()
			}
		}
		var ours [][]byte
		nextStep := 0
		a.SetHandler(func(ev Event) {
			if ev.Kind != EventFrame || ev.Speed.Modem != V21 {
				return
			}
			ours = append(ours, append([]byte(nil), ev.Frame...))
			if ev.Frame[1] == ControlFinal && nextStep < len(aSteps) {
				play(aSteps[nextStep])
				nextStep++
			}
		})
		pages := &PageCollector{}
		s, err := NewSession(Config{Sink: pages, ECM: tc.ecm, Ident: "+1 555 0199"}, b, clock)
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		if err := clock.Run(context.Background(), s.Done); err != nil {
			t.Fatal(err)
		}
		res := s.Result()
		if res.Code != OK || res.PagesReceived != 2 || res.RemoteIdent != "+1 555 0100" {
			t.Fatalf("%s: %v (%v), %d pages, TSI %q", tc.log, res.Code, res.Err, res.PagesReceived, res.RemoteIdent)
		}
		if len(ours) != len(bV21) {
			t.Fatalf("%s: we sent %d frames, SpanDSP %d", tc.log, len(ours), len(bV21))
		}
		for i := range ours {
			if FCF(ours[i][2]).Bare() == FCFDIS && FCF(bV21[i][2]).Bare() == FCFDIS {
				continue // capabilities differ by design
			}
			if !bytes.Equal(ours[i], bV21[i]) {
				t.Errorf("%s: frame %d: we sent %x, SpanDSP sent %x", tc.log, i, ours[i], bV21[i])
			}
		}
		for i, p := range pages.Pages {
			got, st, err := imaging.DecodePage(p.Data, p.DecodeOptions(), p.Resolution)
			if err != nil || st.BadRows != 0 || got.Height != 300 || !bytes.Equal(got.Pix, white.Pix) {
				t.Fatalf("%s: page %d (%v, ECM %v): %v, %+v, height %d", tc.log, i+1, p.Compression, p.ECM, err, st, got.Height)
			}
		}
	}
}
