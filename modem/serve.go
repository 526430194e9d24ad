package modem

import (
	"context"
	"errors"
)

// FrameIO is an audio stream in real time, one frame (normally 20 ms, 160
// samples) at a time: an RTP session with its jitter buffer, for example.
// ReadFrame blocks until the next frame is due and fills rx with it (a
// lost frame as silence); WriteFrame sends one frame.
type FrameIO interface {
	ReadFrame(rx []int16) error
	WriteFrame(tx []int16) error
}

// Serve runs the terminal over io until ctx ends, io fails or the
// terminal goes down: each frame read is processed on the clock's loop and
// the terminal's next frame written back. A failure of io is reported to
// the engine as EventLineLost.
func (t *Terminal) Serve(ctx context.Context, io FrameIO, frame int) error {
	if frame <= 0 {
		frame = BlockSamples
	}
	rx, tx := make([]int16, frame), make([]int16, frame)
	done := make(chan bool, 1)
	step := func() {
		t.Process(rx, tx)
		done <- t.down
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := io.ReadFrame(rx); err != nil {
			t.Close(err)
			return err
		}
		t.clock.AfterFunc(0, step)
		var down bool
		select {
		case down = <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := io.WriteFrame(tx); err != nil {
			t.Close(err)
			return err
		}
		if down {
			return ErrHungUp
		}
	}
}

// ErrHungUp is what Serve returns once the terminal has hung up.
var ErrHungUp = errors.New("modem: terminal hung up")
