package worklimit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestSemaphore(t *testing.T) {
	s := NewSemaphore(2)
	r1, err1 := s.TryAcquire()
	r2, err2 := s.TryAcquire()
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if _, err := s.TryAcquire(); !errors.Is(err, ErrBusy) {
		t.Fatalf("third: %v", err)
	}
	r1()
	r1() // a second release frees nothing more
	if s.InUse() != 1 {
		t.Fatalf("in use %d", s.InUse())
	}
	r3, err := s.TryAcquire()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.TryAcquire(); !errors.Is(err, ErrBusy) {
		t.Fatalf("over the cap again: %v", err)
	}
	r2()
	r3()
	var none *Semaphore
	if rel, err := none.TryAcquire(); err != nil {
		t.Fatal(err)
	} else {
		rel()
	}
	s.RetryAfter = 1500 * time.Millisecond
	if got := s.RetryAfterSeconds(); got != "2" {
		t.Errorf("Retry-After %q", got)
	}
}

// TestRequestCap: with MaxRequests requests in the handler, the next is
// answered 503 with Retry-After at once; when one finishes, requests are
// served again.
func TestRequestCap(t *testing.T) {
	entered := make(chan struct{})
	finish := make(chan struct{})
	h := Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			entered <- struct{}{}
			<-finish
		}
		fmt.Fprintln(w, "ok")
	}), Options{MaxRequests: 2, RetryAfter: 7 * time.Second})
	srv := httptest.NewServer(h)
	defer srv.Close()
	results := make(chan int, 2)
	for range 2 {
		go func() {
			resp, err := http.Get(srv.URL + "/block")
			if err != nil {
				results <- 0
				return
			}
			resp.Body.Close()
			results <- resp.StatusCode
		}()
		<-entered
	}
	resp, err := http.Get(srv.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "7" {
		t.Fatalf("over the cap: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	finish <- struct{}{}
	if code := <-results; code != http.StatusOK {
		t.Fatalf("blocked request: %d", code)
	}
	resp, err = http.Get(srv.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after one finished: %d", resp.StatusCode)
	}
	close(finish)
	<-results
}

// slowServer serves a handler that reads the body and reports what
// reading it gave, then (wait) checks the request stays alive after the
// body deadline would have passed.
func slowServer(t *testing.T, o Options, wait time.Duration) (addr string, got chan error) {
	got = make(chan error, 4)
	h := Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		if err == nil && wait > 0 {
			select {
			case <-r.Context().Done():
				err = fmt.Errorf("request cancelled after its body was read: %w", r.Context().Err())
			case <-time.After(wait):
			}
		}
		got <- err
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestTimeout)
			return
		}
		fmt.Fprintln(w, "ok")
	}), o)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), got
}

// TestSlowBodyCut: a body that trickles in slower than the minimum rate
// is cut at its deadline (tiny timeouts here); a body that arrives in time
// is read, and once it is the deadline no longer applies, so the handler may take
// longer than the body deadline.
func TestSlowBodyCut(t *testing.T) {
	o := Options{BodyGrace: 100 * time.Millisecond, BodyMinRate: 1000, BodyTimeout: time.Second}
	addr, got := slowServer(t, o, 0)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// 100000 bytes announced, 10 sent, then nothing.
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n0123456789")
	select {
	case err := <-got:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("reading the slow body: %v; want a timeout", err)
		}
	case <-time.After(time.Minute):
		// Not a timing assertion: without the deadline the read never ends.
		t.Fatal("the slow body was not cut")
	}
	// The answer comes (the server's draining of the body after the
	// handler is cut too).
	c.SetReadDeadline(time.Now().Add(time.Minute))
	if line, err := bufio.NewReader(c).ReadString('\n'); !strings.HasPrefix(line, "HTTP/1.1 408") {
		t.Fatalf("answer %q %v", line, err)
	}

	addr, got = slowServer(t, o, 3*o.BodyGrace)
	resp, err := http.Post("http://"+addr+"/", "text/plain", strings.NewReader(strings.Repeat("x", 50)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	line, _ := bufio.NewReader(resp.Body).ReadString('\n')
	if line != "ok\n" {
		t.Fatalf("body %q", line)
	}
}
