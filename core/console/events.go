package console

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/httpapi"
)

// MaxStreamsPerUser bounds one user's open event streams, over all the
// user's sessions.
const MaxStreamsPerUser = 4

// streamLife ends a stream after this long; the browser's EventSource
// reconnects by itself, and the session is checked again.
const streamLife = 10 * time.Minute

// sessionCheck is how often an idle stream checks that its session lives
// (a logout or an expiry ends it within this time).
const sessionCheck = 5 * time.Second

// snapshot is the live state the streams follow.
type snapshot struct {
	ports    []byte // JSON of the ports, for administrators
	public   []byte // JSON of the ports for other users (httpapi.PortsFor)
	messages string // digest of the newest messages' states
	seq      uint64
}

// portsFor is the ports' JSON for an administrator or another user.
func (s snapshot) portsFor(admin bool) []byte {
	if admin {
		return s.ports
	}
	return s.public
}

// hub compares the live state every EventInterval while anyone listens,
// and wakes the streams when it changed: one comparison for all streams.
type hub struct {
	c       *Console
	mu      sync.Mutex
	subs    map[chan struct{}]struct{}
	last    snapshot
	running bool
}

func newHub(c *Console) *hub { return &hub{c: c, subs: map[chan struct{}]struct{}{}} }

// subscribe adds a listener; false when MaxStreams are open.
func (h *hub) subscribe() (chan struct{}, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) >= h.c.o.MaxStreams {
		return nil, false
	}
	select {
	case <-h.c.done:
		return nil, false
	default:
	}
	ch := make(chan struct{}, 1)
	h.subs[ch] = struct{}{}
	if !h.running {
		h.running = true
		go h.run()
	}
	return ch, true
}

func (h *hub) unsubscribe(ch chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, ch)
}

func (h *hub) current() snapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last
}

// run takes snapshots until nobody listens.
func (h *hub) run() {
	t := time.NewTicker(h.c.o.EventInterval)
	defer t.Stop()
	for {
		s := h.c.snapshot(context.Background())
		h.mu.Lock()
		if len(h.subs) == 0 {
			h.running = false
			h.mu.Unlock()
			return
		}
		if s.messages == "" { // the store failed: keep the last state
			s.messages = h.last.messages
		}
		if !bytes.Equal(s.ports, h.last.ports) || s.messages != h.last.messages || h.last.seq == 0 {
			s.seq = h.last.seq + 1
			h.last = s
			for ch := range h.subs {
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		}
		h.mu.Unlock()
		select {
		case <-t.C:
		case <-h.c.done:
			h.mu.Lock()
			h.running = false
			h.mu.Unlock()
			return
		}
	}
}

// snapshotFolders are the folders whose newest messages the streams follow.
var snapshotFolders = []core.Folder{core.FolderInbox, core.FolderOutbox, core.FolderSent, core.FolderCancelled, core.FolderTrash}

// snapshot reads the ports and a digest of the newest messages of every
// user (the digest says only that something changed; each page then reads
// what its user may see through the API).
func (c *Console) snapshot(ctx context.Context) snapshot {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var s snapshot
	ports := []httpapi.Port{}
	if c.o.Ports != nil {
		ports = append(ports, c.o.Ports()...)
	}
	for i := range ports {
		// Utilisation creeps with the clock; a tenth of a percent is
		// change enough to show.
		ports[i].Utilisation = float64(int(ports[i].Utilisation*1000)) / 1000
		ports[i].BusySeconds = float64(int(ports[i].BusySeconds))
	}
	s.ports, _ = json.Marshal(ports)
	s.public, _ = json.Marshal(httpapi.PortsFor(false, ports))
	d := sha256.New()
	for _, f := range snapshotFolders {
		msgs, total, err := c.o.Store.Messages(ctx, core.MessageQuery{Folder: f, Limit: 50})
		if err != nil {
			c.log.Warn("console: events: reading messages", "err", err)
			return s
		}
		fmt.Fprintf(d, "%s %d\n", f, total)
		for _, m := range msgs {
			fmt.Fprintf(d, "%d %s %s %d %t\n", m.ID, m.Folder, m.Status, m.JobsComplete, m.Read)
		}
	}
	s.messages = fmt.Sprintf("%x", d.Sum(nil))
	return s
}

// events streams the live state as Server-Sent Events: "ports" with the
// ports' JSON whenever they change, and "messages" when a message changed
// (the page then reloads its list). GET /console/api/events.
func (c *Console) events(w http.ResponseWriter, r *http.Request, s *session) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	ss := c.sessions
	ss.mu.Lock()
	if ss.streams[s.userID] >= MaxStreamsPerUser {
		ss.mu.Unlock()
		writeError(w, http.StatusTooManyRequests, "too many event streams for this user")
		return
	}
	ss.streams[s.userID]++
	ss.mu.Unlock()
	defer func() {
		ss.mu.Lock()
		if ss.streams[s.userID]--; ss.streams[s.userID] <= 0 {
			delete(ss.streams, s.userID)
		}
		ss.mu.Unlock()
	}()
	ch, ok := c.hub.subscribe()
	if !ok {
		w.Header().Set("Retry-After", "10")
		writeError(w, http.StatusServiceUnavailable, "too many event streams")
		return
	}
	defer c.hub.unsubscribe(ch)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	fl.Flush()
	end := time.NewTimer(streamLife)
	defer end.Stop()
	check := time.NewTicker(sessionCheck)
	defer check.Stop()
	var sent snapshot
	for {
		if cur := c.hub.current(); cur.seq != 0 && cur.seq != sent.seq {
			if ports := cur.portsFor(s.admin); !bytes.Equal(ports, sent.portsFor(s.admin)) {
				fmt.Fprintf(w, "event: ports\ndata: %s\n\n", ports)
			}
			if cur.messages != sent.messages {
				fmt.Fprintf(w, "event: messages\ndata: %q\n\n", cur.messages[:16])
			}
			fl.Flush()
			sent = cur
		}
		select {
		case <-r.Context().Done():
			return
		case <-end.C:
			return
		case <-c.done:
			return
		case <-ch:
		case <-check.C:
		}
		if !c.sessions.alive(s) {
			fmt.Fprint(w, "event: logout\ndata: {}\n\n")
			fl.Flush()
			return
		}
	}
}
