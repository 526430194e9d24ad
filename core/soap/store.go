package soap

import (
	"context"

	"github.com/faxagent/faxagent/core"
)

// Result strings of the FaxCore guide.
const (
	resOK              = "OK"
	resInvalidUser     = "INVALID_USER"
	resInvalidAdmin    = "INVALID_ADMIN"
	resSomeInvalidUser = "SOME_INVALID_USER"
	resNotFound        = "MESSAGE_NOT_FOUND"
	resNotOwner        = "NOT_MESSAGE_OWNER"
	resInvalidDelegate = "INVALID_DELEGATOR"
	resCancelNotAllow  = "CANCEL_NOT_ALLOW"
)

// authFailed is AuthenticateUser's answer to a wrong user name or
// password, as the guide gives it.
const authFailed = 1

// The interfaces below are the parts of core.Store that Config can
// replace (NewHandler takes them from Config.Store by default).

// Track is one tracking record of a message (GetTrackRecords).
type Track = core.Track

// TrackStore keeps the tracking labels and values of messages.
type TrackStore interface {
	SetTracks(ctx context.Context, msgID int64, tracks []Track) error
	Tracks(ctx context.Context, msgID int64) ([]Track, error)
	UpdateTrack(ctx context.Context, msgID, trackID int64, value string) error
}

// MessageCopier gives a message to other users: a copy in their inbox
// (ForwardToUser) or the message itself (AssignMessage).
type MessageCopier interface {
	CopyMessage(ctx context.Context, msgID, toUserID int64) (int64, error)
	AssignMessage(ctx context.Context, msgID, toUserID int64) error
}

// UserProfile is the part of a FaxCore user profile that core.User lacks.
type UserProfile = core.UserProfile

// UserAdmin updates and removes users (UpdateUser-*, RemoveUser).
type UserAdmin interface {
	UpdateUser(ctx context.Context, u core.User, p UserProfile) error
	RemoveUser(ctx context.Context, userID int64) error
}
