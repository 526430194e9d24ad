package core

import (
	"context"
	"fmt"
	"time"
)

// The reclaim rule. A leased job may be claimed again once its lease has
// expired: its agent died, or lost the queue while others still reach it.
// Time in which no claim reached the queue at all (the database or every
// core was down, or no agent was running) does not count: the first claim
// after a gap longer than Options.OutageGap extends every lease that was
// still valid when the queue was last reached by the whole gap, and to at
// least OutageGap from then on. An agent whose call ended during an outage
// keeps the outcome in its outbox and delivers it when the queue is back,
// within its outbox's back-off (at most 5 s, agent.maxOutcomeDelay), so
// inside its extended lease however little of it was left when the outage
// began and however short the lease: the job is not sent again. (Extending
// by the gap alone left a 2 s lease 2 s at most, less than that back-off,
// and a 1000-job run with an outage sent faxes twice under load.) An agent
// that stays cut off from the queue while other agents reach it for longer
// than its lease loses the job: that cannot be told from a dead agent. Its
// late outcome is then stored as a stale attempt.

// tickLeaseClock records that a claim reached the queue now, and extends
// the leases after a gap. At most one process does each tick: the update
// that moves last_seen from the value it read wins.
func (s *sqlStore) tickLeaseClock(ctx context.Context) error {
	if s.o.OutageGap < 0 {
		return nil
	}
	now := s.now()
	var last int64
	if err := s.read().row(ctx, "SELECT last_seen FROM queue_clock WHERE id = 1").Scan(&last); err != nil {
		return fmt.Errorf("core: lease clock: %w", err)
	}
	gap := now.Sub(fromMS(last))
	if last != 0 && gap < time.Second {
		return nil
	}
	var extended int64
	err := s.tx(ctx, func(d q) error {
		extended = 0
		res, err := d.exec(ctx, "UPDATE queue_clock SET last_seen = ? WHERE id = 1 AND last_seen = ?", ms(now), last)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 || last == 0 || gap <= s.o.OutageGap {
			return nil
		}
		floor := ms(now.Add(s.o.OutageGap))
		res, err = d.exec(ctx, `UPDATE jobs SET lease_expires = CASE WHEN lease_expires + ? > ? THEN lease_expires + ? ELSE ? END
			WHERE state = 'leased' AND lease_expires > ?`, gap.Milliseconds(), floor, gap.Milliseconds(), floor, last)
		if err != nil {
			return err
		}
		extended, _ = res.RowsAffected()
		return nil
	})
	if err != nil {
		return fmt.Errorf("core: lease clock: %w", err)
	}
	if extended > 0 {
		s.o.Logger.Warn("core: no claim reached the queue for a while: leases extended by the gap",
			"gap", gap.Round(time.Millisecond), "leases", extended)
	}
	return nil
}
