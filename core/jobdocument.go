package core

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// LeasedDocument returns the ID of document n (from 0, in the message's
// order, as a claim hands them out) of the job l.JobID when that job is
// leased under l.Epoch to agentID: ErrLeaseLost when it is not (any more),
// ErrNotFound for no such job or document. It reads the job's lease and
// one document row in one query, so its work does not grow with the
// recipients (jobs) or attempts of the job's message, unlike Message.
func (s *sqlStore) LeasedDocument(ctx context.Context, l Lease, agentID string, n int) (int64, error) {
	var state, holder string
	var epoch int64
	var doc sql.NullInt64
	// The document's scalar subquery is evaluated once, for the one job
	// row; n < 0 asks for no document (OFFSET must not be negative).
	err := s.read().row(ctx, `SELECT j.state, j.lease_epoch, j.lease_agent,
		(SELECT d.id FROM message_documents md JOIN documents d ON d.id = md.document_id
			WHERE md.message_id = j.message_id AND ? >= 0 ORDER BY md.seq LIMIT 1 OFFSET ?)
		FROM jobs j WHERE j.id = ?`, n, max(n, 0), l.JobID).Scan(&state, &epoch, &holder, &doc)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%w: job %d", ErrNotFound, l.JobID)
	}
	if err != nil {
		return 0, fmt.Errorf("core: leased document: %w", err)
	}
	if JobState(state) != JobLeased || epoch != l.Epoch || holder != agentID {
		return 0, fmt.Errorf("%w: job %d is not leased to agent %s under epoch %d", ErrLeaseLost, l.JobID, agentID, l.Epoch)
	}
	if !doc.Valid {
		return 0, fmt.Errorf("%w: document %d of job %d", ErrNotFound, n, l.JobID)
	}
	return doc.Int64, nil
}
