// Package worklimit bounds the work an HTTP server takes on at once: a cap
// on concurrent requests and on concurrent document conversions (over the
// cap a request is answered 503 with Retry-After at once, never queued),
// and read deadlines that keep a slow request body from holding a
// connection.
//
// worklimit imports only the standard library; the API (core/httpapi), the
// SOAP service (core/soap) and the program (cmd/faxagent) share one
// Semaphore for conversions.
package worklimit

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// ErrBusy means a cap is reached: try again after Retry-After.
var ErrBusy = errors.New("server busy: too many requests at once, try again later")

// DefaultRetryAfter is the wait a 503 answer suggests.
const DefaultRetryAfter = 5 * time.Second

// Semaphore caps concurrent work. A nil *Semaphore has no cap.
type Semaphore struct {
	slots chan struct{}
	// RetryAfter is the wait suggested to a refused caller; 0 means
	// DefaultRetryAfter.
	RetryAfter time.Duration
}

// NewSemaphore allows n at once (n < 1 means 1).
func NewSemaphore(n int) *Semaphore {
	return &Semaphore{slots: make(chan struct{}, max(1, n))}
}

// TryAcquire takes a slot without waiting; on success the caller must
// call release exactly once. Without a free slot it returns ErrBusy.
func (s *Semaphore) TryAcquire() (release func(), err error) {
	if s == nil {
		return func() {}, nil
	}
	select {
	case s.slots <- struct{}{}:
		var once atomic.Bool
		return func() {
			if once.CompareAndSwap(false, true) {
				<-s.slots
			}
		}, nil
	default:
		return nil, ErrBusy
	}
}

// InUse reports the slots taken.
func (s *Semaphore) InUse() int {
	if s == nil {
		return 0
	}
	return len(s.slots)
}

// RetryAfterSeconds is the Retry-After header value for s.
func (s *Semaphore) RetryAfterSeconds() string {
	d := DefaultRetryAfter
	if s != nil && s.RetryAfter > 0 {
		d = s.RetryAfter
	}
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}

// Options configure Handler.
type Options struct {
	// MaxRequests caps the requests served at once; over it a request is
	// answered 503 with Retry-After. 0 means no cap.
	MaxRequests int
	// RetryAfter is the wait a 503 suggests; 0 means DefaultRetryAfter.
	RetryAfter time.Duration
	// BodyGrace and BodyMinRate bound how slowly a request body may
	// arrive: the read deadline is the request's start plus BodyGrace plus
	// the time the bytes read so far need at BodyMinRate bytes a second,
	// and never later than the start plus BodyTimeout. 0 turns each part
	// off (all 0: no deadline). Once the body is read (or when there is
	// none) net/http clears the deadline for its background read, so a
	// long answer (a conversion) is not mistaken for a client gone.
	BodyGrace   time.Duration
	BodyMinRate int64
	BodyTimeout time.Duration
	// Now is the clock for the deadlines; nil time.Now.
	Now func() time.Time
}

// Handler wraps next with the request cap and body deadlines of o.
func Handler(next http.Handler, o Options) http.Handler {
	var sem *Semaphore
	if o.MaxRequests > 0 {
		sem = NewSemaphore(o.MaxRequests)
		sem.RetryAfter = o.RetryAfter
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		release, err := sem.TryAcquire()
		if err != nil {
			w.Header().Set("Retry-After", sem.RetryAfterSeconds())
			w.Header().Set("Connection", "close")
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		defer release()
		if o.BodyGrace > 0 || o.BodyMinRate > 0 || o.BodyTimeout > 0 {
			if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
				b := &slowBody{rc: http.NewResponseController(w), body: r.Body, o: o, start: o.Now()}
				b.extend()
				r.Body = b
			}
		}
		next.ServeHTTP(w, r)
	})
}

// slowBody moves the connection's read deadline as a body arrives.
type slowBody struct {
	rc    *http.ResponseController
	body  io.Reader
	o     Options
	start time.Time
	n     int64
	done  bool
}

func (b *slowBody) deadline() time.Time {
	d := b.start.Add(b.o.BodyGrace)
	if b.o.BodyMinRate > 0 {
		d = d.Add(time.Duration(float64(b.n) / float64(b.o.BodyMinRate) * float64(time.Second)))
	}
	if b.o.BodyTimeout > 0 {
		if limit := b.start.Add(b.o.BodyTimeout); b.o.BodyGrace == 0 && b.o.BodyMinRate == 0 || d.After(limit) {
			d = limit
		}
	}
	return d
}

func (b *slowBody) extend() { b.rc.SetReadDeadline(b.deadline()) }

func (b *slowBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	b.n += int64(n)
	if err != nil || b.done {
		// Read (net/http clears the deadline), or cut: then the deadline
		// stays, so that the server's draining of the rest of the body
		// after the handler fails too.
		b.done = true
		return n, err
	}
	b.extend()
	return n, err
}

func (b *slowBody) Close() error {
	if c, ok := b.body.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}
