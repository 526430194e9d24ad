package core

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Alteration changes the recipients of a message that are still waiting
// (queued or held), as HylaFAX's faxalter does; zero fields are kept.
type Alteration struct {
	// Fax is a new number for a message with one waiting recipient.
	Fax string
	// Priority is PriorityHigh, PriorityNormal or PriorityLow.
	Priority int
	// NotBefore is the earliest time to dial.
	NotBefore time.Time
	// Hold true puts the waiting recipients on hold; false releases them.
	Hold *bool
}

// Alter implements Store: it changes the waiting recipients of msgID and
// returns how many. Recipients in a call or finished are left alone; a
// message without a waiting recipient is ErrState.
func (s *sqlStore) Alter(ctx context.Context, msgID int64, a Alteration) (int, error) {
	switch a.Priority {
	case 0, PriorityHigh, PriorityNormal, PriorityLow:
	default:
		return 0, fmt.Errorf("%w: priority %d (want 70, 60 or 50)", ErrInvalid, a.Priority)
	}
	if a.Fax != "" {
		n, err := NormalizeFax(a.Fax)
		if err != nil {
			return 0, err
		}
		a.Fax = n
	}
	defer s.announce(ctx)
	n := 0
	err := s.tx(ctx, func(d q) error {
		ids, states, _, err := s.lockJobs(ctx, d, "message_id = ?", msgID)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return fmt.Errorf("%w: message %d", ErrNotFound, msgID)
		}
		var waiting []int64
		var wstates []JobState
		for i, id := range ids {
			if states[i] == JobQueued || states[i] == JobHeld {
				waiting, wstates = append(waiting, id), append(wstates, states[i])
			}
		}
		n = len(waiting)
		if n == 0 {
			return fmt.Errorf("%w: message %d has no queued or held recipient (in a call, or finished)", ErrState, msgID)
		}
		if a.Fax != "" && n != 1 {
			return fmt.Errorf("%w: message %d has %d waiting recipients; a new number is for one", ErrInvalid, msgID, n)
		}
		dl := delta{}
		for i, id := range waiting {
			set, args := []string{}, []any{}
			if a.Fax != "" {
				set, args = append(set, "fax = ?"), append(args, a.Fax)
			}
			if a.Priority != 0 {
				set, args = append(set, "priority = ?"), append(args, a.Priority)
			}
			if !a.NotBefore.IsZero() {
				set, args = append(set, "not_before = ?"), append(args, ms(a.NotBefore))
			}
			if a.Hold != nil {
				to := JobQueued
				if *a.Hold {
					to = JobHeld
				}
				if to != wstates[i] {
					set, args = append(set, "state = ?"), append(args, string(to))
					dl.move(wstates[i], to)
				}
			}
			if len(set) == 0 {
				continue
			}
			if _, err := d.exec(ctx, "UPDATE jobs SET "+strings.Join(set, ", ")+" WHERE id = ?", append(args, id)...); err != nil {
				return fmt.Errorf("core: alter: %w", err)
			}
		}
		mset, margs := []string{}, []any{}
		if a.Priority != 0 {
			mset, margs = append(mset, "priority = ?"), append(margs, a.Priority)
		}
		if !a.NotBefore.IsZero() {
			mset, margs = append(mset, "schedule_at = ?"), append(margs, ms(a.NotBefore))
		}
		if a.Hold != nil {
			mset, margs = append(mset, "hold = ?"), append(margs, b2i(*a.Hold))
		}
		if len(mset) > 0 {
			if _, err := d.exec(ctx, "UPDATE messages SET "+strings.Join(mset, ", ")+" WHERE id = ?", append(margs, msgID)...); err != nil {
				return fmt.Errorf("core: alter: %w", err)
			}
		}
		return s.adjustMessage(ctx, d, msgID, dl)
	})
	return n, err
}
