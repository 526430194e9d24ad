package worklimit

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestListenerCaps: idle connections beyond the per-source cap are closed
// at once, others from another address are taken until the total cap, and
// a closed connection frees its slot; a server behind it keeps answering.
// (Before, serve held every connection: 19000 idle keep-alive connections
// took 394 MB and 19015 of its 20000 file descriptors.)
func TestListenerCaps(t *testing.T) {
	inner, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := Listen(inner, ConnLimits{Max: 5, PerSource: 3})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	go srv.Serve(ln)
	defer srv.Close()
	dial := func(ip string) net.Conn {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		c, err := d.Dial("tcp4", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// closed reports whether the server closed c without answering.
	closed := func(c net.Conn) bool {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return true
		}
		b := make([]byte, 512)
		n, err := c.Read(b)
		if err != nil {
			return true
		}
		if !strings.Contains(string(b[:n]), "200 OK") {
			t.Fatalf("answer %q", b[:n])
		}
		return false
	}
	var a []net.Conn
	for range 3 {
		c := dial("127.0.0.1")
		if closed(c) {
			t.Fatal("a connection within the cap was closed")
		}
		a = append(a, c)
	}
	if !closed(dial("127.0.0.1")) {
		t.Fatal("a fourth connection from one address was served")
	}
	b1, b2 := dial("127.0.0.2"), dial("127.0.0.2")
	if closed(b1) || closed(b2) {
		t.Fatal("another address was refused under the total cap")
	}
	if !closed(dial("127.0.0.3")) {
		t.Fatal("a sixth connection was served over the total cap")
	}
	a[0].Close()
	for deadline := time.Now().Add(10 * time.Second); ln.Open() != 4; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("open %d after a close, want 4", ln.Open())
		}
	}
	if closed(dial("127.0.0.1")) {
		t.Fatal("the freed slot was not given again")
	}
	if ln.Refused() != 2 {
		t.Errorf("refused %d, want 2", ln.Refused())
	}
}
