package soap

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkSendCompleteMessage posts a 10-page TIFF to two recipients
// from 32 concurrent clients (in-process, SQLite).
func BenchmarkSendCompleteMessage(b *testing.B) {
	e := newEnv(b, SOAP11)
	body := envelope(SOAP11, "SendCompleteMessage", sendXML(e.alice, fixture(b, "ten.tif"), "5550101", "5550102"))
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.SetParallelism(16) // 16 x GOMAXPROCS (2) = 32 clients
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, newRequest(SOAP11, "SendCompleteMessage", body))
			if w.Code != http.StatusOK || strings.Contains(w.Body.String(), "Fault") {
				b.Errorf("HTTP %d: %s", w.Code, w.Body.String())
				return
			}
		}
	})
}

// BenchmarkGetMessageStatus asks for one message's status from 32
// concurrent clients.
func BenchmarkGetMessageStatus(b *testing.B) {
	e := newEnv(b, SOAP11)
	m := e.submit(e.alice, false, "5550101")
	body := envelope(SOAP11, "GetMessageStatus", `<msgID>`+id(m)+`</msgID>`)
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, newRequest(SOAP11, "GetMessageStatus", body))
			if !strings.Contains(w.Body.String(), "<GetMessageStatusResult>Queued</GetMessageStatusResult>") {
				b.Errorf("answer: %s", w.Body.String())
				return
			}
		}
	})
}

// BenchmarkDecodeEnvelope decodes a SendCompleteMessage request with a
// 10-page TIFF.
func BenchmarkDecodeEnvelope(b *testing.B) {
	body := envelope(SOAP11, "SendCompleteMessage", sendXML(2, fixture(b, "ten.tif"), "5550101"))
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := decodeEnvelope(strings.NewReader(body), "", Limits{}, SOAP11); err != nil {
			b.Fatal(err)
		}
	}
}
