package localsvc

import (
	"bufio"
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/faxagent/faxagent/drivers/brooktrout/vendor"
	"github.com/faxagent/faxagent/t30"
)

// fakeService runs a service on a pipe that answers every request with
// the bytes respond returns, and closes the connection when they are nil.
func fakeService(t testing.TB, respond func(req Msg) []byte) *Client {
	a, b := net.Pipe()
	c := NewClient(a, nil)
	go func() {
		defer b.Close()
		r := bufio.NewReader(b)
		for {
			body, err := ReadFrame(r, nil)
			if err != nil {
				return
			}
			var m Msg
			if err := m.Unmarshal(body); err != nil {
				return
			}
			out := respond(m)
			if out == nil {
				return
			}
			if _, err := b.Write(out); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { c.Close() })
	return c
}

func frame(t testing.TB, m Msg) []byte {
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestClientHostileService(t *testing.T) {
	ref := vendor.ChannelRef{Board: 0, Channel: 1}
	tests := []struct {
		name    string
		respond func(t testing.TB, req Msg) []byte
		want    error
	}{
		{"wrong response type", func(t testing.TB, req Msg) []byte {
			return frame(t, Msg{Type: TypeCompletion, ID: req.ID})
		}, ErrMalformed},
		{"malformed body with the request's ID", func(t testing.TB, req Msg) []byte {
			b := frame(t, Msg{Type: TypeOK, ID: req.ID, Number: "x"})
			b[len(b)-1] = 0xff // not UTF-8
			return b
		}, ErrMalformed},
		{"ERROR response", func(t testing.TB, req Msg) []byte {
			return frame(t, Msg{Type: TypeError, ID: req.ID, Status: StatusChannelDown, Error: "down"})
		}, vendor.ErrChannel},
		{"impossible frame length", func(t testing.TB, req Msg) []byte {
			return []byte{0xff, 0xff, 0xff, 0xff, 1, 2, 3}
		}, vendor.ErrUnavailable},
		{"state out of range", func(t testing.TB, req Msg) []byte {
			return frame(t, Msg{Type: TypeOK, ID: req.ID, State: 99})
		}, ErrMalformed},
		{"connection closed", func(t testing.TB, req Msg) []byte { return nil }, vendor.ErrUnavailable},
		{"event with an ID, then nothing", func(t testing.TB, req Msg) []byte {
			b := frame(t, Msg{Type: TypeEvPage, ID: 0, Page: 1})
			b[9] = 5 // request ID 5 on an event
			return b
		}, context.DeadlineExceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := fakeService(t, func(req Msg) []byte { return tc.respond(t, req) })
			// Only the case that waits for an answer that never comes
			// runs into the deadline; the others must end on their own,
			// however slow the machine.
			timeout := 30 * time.Second
			if tc.want == context.DeadlineExceeded {
				timeout = 200 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			_, err := c.Status(ctx, ref)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Status: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestClientAfterConnectionLoss(t *testing.T) {
	c := fakeService(t, func(req Msg) []byte { return []byte{0, 0, 0, 1} })
	ctx := context.Background()
	if _, err := c.Status(ctx, vendor.ChannelRef{}); !errors.Is(err, vendor.ErrUnavailable) {
		t.Fatalf("first call: %v", err)
	}
	if _, err := c.Send(ctx, vendor.ChannelRef{}, "/x.tif", vendor.FaxOptions{}); !errors.Is(err, vendor.ErrUnavailable) {
		t.Fatalf("after loss: %v", err)
	}
	if _, ok := <-c.Events(); ok {
		t.Fatal("events channel still open")
	}
	<-c.Done()
}

func TestClientCompletionMapping(t *testing.T) {
	tests := []struct {
		status int
		code   t30.Code
		cause  string
	}{
		{StatusOK, t30.OK, "normal completion"},
		{StatusLineDropped, t30.CodeCallDropped, "line dropped"},
		{StatusTrainFailed, t30.CodeTrainFailed, "training failed at the lowest speed"},
		{77, t30.CodeInternal, "unknown status"},
	}
	for _, tc := range tests {
		c := fakeService(t, func(req Msg) []byte {
			// A response to a request nobody made comes first: ignored.
			stray := frame(t, Msg{Type: TypeOK, ID: req.ID + 1000})
			return append(stray, frame(t, Msg{Type: TypeCompletion, ID: req.ID, Status: tc.status, Pages: 2,
				Rate: 9600, Modulation: "V29", RemoteCSID: "REMOTE", Board: 1, Channel: 3, DurationMS: 1500})...)
		})
		comp, err := c.Send(context.Background(), vendor.ChannelRef{Board: 1, Channel: 3}, "/spool/x.tif", vendor.FaxOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := vendor.Completion{Code: tc.code, Cause: tc.cause, CauseCode: tc.status, Pages: 2, Rate: 9600,
			Modulation: "V29", RemoteCSID: "REMOTE", Board: 1, Channel: 3, Duration: 1500 * time.Millisecond}
		if comp != want {
			t.Errorf("status %d:\n got %+v\nwant %+v", tc.status, comp, want)
		}
	}
}

func TestClientBoardsBounds(t *testing.T) {
	c := fakeService(t, func(req Msg) []byte {
		return frame(t, Msg{Type: TypeOK, ID: req.ID, Boards: 1, Channels: 100000})
	})
	if _, err := c.Boards(context.Background()); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Boards: %v", err)
	}
}

// FuzzClient lets a service answer with arbitrary bytes: the client
// returns errors, never panics or hangs.
func FuzzClient(f *testing.F) {
	for _, tc := range frames {
		f.Add(unhex(f, tc.hex))
	}
	ok, _ := (&Msg{Type: TypeOK, ID: 1, Boards: 1, Channels: 2, Number: "7000"}).Marshal()
	f.Add(ok)
	f.Add([]byte{0, 0, 0, 6, 1, 0x81, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		// The service reads one request, answers with data and hangs up.
		a, b := net.Pipe()
		c := NewClient(a, nil)
		defer c.Close()
		go func() {
			defer b.Close()
			if _, err := ReadFrame(bufio.NewReader(b), nil); err != nil {
				return
			}
			_, _ = b.Write(data)
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = c.Boards(ctx)
		_, _ = c.Send(ctx, vendor.ChannelRef{}, "/x.tif", vendor.FaxOptions{})
		_, _ = c.Status(ctx, vendor.ChannelRef{})
		c.Close()
		if _, err := c.Status(ctx, vendor.ChannelRef{}); !errors.Is(err, vendor.ErrUnavailable) {
			t.Fatalf("Status after Close: %v", err)
		}
	})
}
