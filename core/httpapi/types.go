package httpapi

import (
	"time"

	"github.com/faxagent/faxagent/core"
)

// The JSON bodies of the API. The client subcommands decode the same types.

// Error is the body of every refused request.
type Error struct {
	Error string `json:"error"`
}

// Document is a file of a message.
type Document struct {
	ID          int64  `json:"id"`
	Seq         int    `json:"seq"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	Pages       int    `json:"pages"`
	SHA256      string `json:"sha256"`
}

// Attempt is one call of a job, or the call an inbound message came in
// on: FaxCore eV5's TransmissionDetails.
type Attempt struct {
	ID                int64      `json:"id"`
	Key               string     `json:"key"`
	JobID             int64      `json:"job_id,omitempty"`
	MessageID         int64      `json:"message_id,omitempty"`
	CallID            string     `json:"call_id,omitempty"`
	Direction         string     `json:"direction"`
	Outcome           string     `json:"outcome"`
	Stale             bool       `json:"stale,omitempty"`
	Created           time.Time  `json:"created"`
	Scheduled         *time.Time `json:"scheduled,omitempty"`
	Completed         *time.Time `json:"completed,omitempty"`
	CallingNumber     string     `json:"calling_number"`
	CalledNumber      string     `json:"called_number"`
	RemoteCSID        string     `json:"remote_csid"`
	RoutingInfo       string     `json:"routing_info,omitempty"`
	CallerID          string     `json:"caller_id,omitempty"`
	FaxProtocol       string     `json:"fax_protocol"`
	TransmitSpeed     int        `json:"transmit_speed"`
	CompressionMode   string     `json:"compression_mode"`
	CallDuration      float64    `json:"call_duration_s"`
	TransmitDuration  float64    `json:"transmit_duration_s"`
	FaxResolution     string     `json:"fax_resolution"`
	TransmitStatus    int        `json:"transmit_status"`
	TransmitStatusDef string     `json:"transmit_status_def"`
	AttemptNo         int        `json:"attempt_no"`
	MaxAttemptNo      int        `json:"max_attempt_no"`
	PageCount         int        `json:"page_count"`
	StartPageNo       int        `json:"start_page_no"`
	PageSent          int        `json:"page_sent"`
	FaxAgentID        string     `json:"fax_agent_id"`
	PortNo            int        `json:"port_no"`
	BoardID           string     `json:"board_id"`
	ServerIP          string     `json:"server_ip"`
	ErrorID           int        `json:"error_id"`
	ErrorInfo         string     `json:"error_info,omitempty"`
	DialedNumber      string     `json:"dialed_number,omitempty"`
	ECM               bool       `json:"ecm"`
	MaxRate           int        `json:"max_rate,omitempty"`
	ECMDisabled       bool       `json:"ecm_disabled,omitempty"`
	PagesTransmitted  int        `json:"pages_transmitted,omitempty"`
	NextAttempt       *time.Time `json:"next_attempt,omitempty"`
	NextPage          int        `json:"next_page,omitempty"`
	Media             string     `json:"media,omitempty"`
	PacketsLost       int        `json:"packets_lost,omitempty"`
	PacketsRecovered  int        `json:"packets_recovered,omitempty"`
	SIPCode           int        `json:"sip_code,omitempty"`
	SIPReason         string     `json:"sip_reason,omitempty"`
}

// Job is one recipient of an outbound message (FaxCore: a transaction).
type Job struct {
	ID              int64      `json:"id"`
	Seq             int        `json:"seq"`
	Fax             string     `json:"fax"`
	Name            string     `json:"name,omitempty"`
	Company         string     `json:"company,omitempty"`
	State           string     `json:"state"`
	Priority        int        `json:"priority"`
	NotBefore       *time.Time `json:"not_before,omitempty"`
	StartPage       int        `json:"start_page"`
	AttemptCount    int        `json:"attempt_count"`
	MaxAttempts     int        `json:"max_attempts"`
	CancelRequested bool       `json:"cancel_requested,omitempty"`
	Agent           string     `json:"agent,omitempty"`
	ErrorID         int        `json:"error_id"`
	ErrorText       string     `json:"error_text,omitempty"`
	PageCount       int        `json:"page_count"`
	PagesSent       int        `json:"pages_sent"`
	RemoteCSID      string     `json:"remote_csid,omitempty"`
	Speed           int        `json:"speed,omitempty"`
	Created         time.Time  `json:"created"`
	Completed       *time.Time `json:"completed,omitempty"`
	// Progress is the live progress of the current attempt.
	Progress Progress  `json:"progress"`
	Attempts []Attempt `json:"attempts"`
}

// Progress is a job's live page progress while an agent works on it:
// PagesSent of PagesTotal document pages confirmed by the remote (pages
// done by earlier attempts included). Both are 0 until the agent's first
// report and when InCall is false.
type Progress struct {
	PagesSent  int  `json:"pages_sent"`
	PagesTotal int  `json:"pages_total"`
	InCall     bool `json:"in_call"`
}

// Message is a message; Documents, Jobs and Received are filled when one
// message is read, not in lists.
type Message struct {
	ID            int64      `json:"id"`
	OwnerID       int64      `json:"owner_id"`
	Direction     string     `json:"direction"`
	Folder        string     `json:"folder"`
	Status        string     `json:"status"`
	Subject       string     `json:"subject,omitempty"`
	Note          string     `json:"note,omitempty"`
	SenderName    string     `json:"sender_name,omitempty"`
	SenderCompany string     `json:"sender_company,omitempty"`
	BillingCode   string     `json:"billing_code,omitempty"`
	Priority      int        `json:"priority"`
	Schedule      *time.Time `json:"schedule,omitempty"`
	Hold          bool       `json:"hold,omitempty"`
	MaxAttempts   int        `json:"max_attempts"`
	Preset        string     `json:"preset,omitempty"`
	Resolution    string     `json:"resolution,omitempty"`
	Header        string     `json:"header,omitempty"`
	Read          bool       `json:"read"`
	Downloaded    bool       `json:"downloaded"`
	Created       time.Time  `json:"created"`
	Completed     *time.Time `json:"completed,omitempty"`
	JobsTotal     int        `json:"jobs_total"`
	JobsComplete  int        `json:"jobs_complete"`
	Documents     []Document `json:"documents,omitempty"`
	Jobs          []Job      `json:"jobs,omitempty"`
	Received      []Attempt  `json:"received,omitempty"`
}

// List is a page of a folder.
type List struct {
	Folder   string    `json:"folder"`
	Offset   int       `json:"offset"`
	Limit    int       `json:"limit"`
	Total    int       `json:"total"`
	Messages []Message `json:"messages"`
}

// Calls is a page of the call log (GET /api/v1/calls), newest first.
type Calls struct {
	Offset int       `json:"offset"`
	Limit  int       `json:"limit"`
	Total  int       `json:"total"`
	Calls  []Attempt `json:"calls"`
}

// CancelResult is the answer to a cancel.
type CancelResult struct {
	Cancelled int `json:"cancelled"`
	Flagged   int `json:"flagged"`
}

// AlterRequest changes a message's waiting recipients; empty fields are
// kept. Fax is a new number (for a message with one waiting recipient),
// Priority high, normal or low, NotBefore the earliest dial, Hold true
// to hold and false to release.
type AlterRequest struct {
	Fax       string     `json:"fax,omitempty"`
	Priority  string     `json:"priority,omitempty"`
	NotBefore *time.Time `json:"not_before,omitempty"`
	Hold      *bool      `json:"hold,omitempty"`
}

// AlterResult is the answer to an alter: how many recipients changed.
type AlterResult struct {
	Altered int `json:"altered"`
}

// RetryResult is the answer to a retry.
type RetryResult struct {
	Requeued int `json:"requeued"`
}

// Port is a fax port as the agents see it.
type Port struct {
	// AgentID is the agent's integer ID (SOAP's FaxAgentID), Agent its name.
	AgentID int64  `json:"agent_id"`
	Agent   string `json:"agent"`
	ID      string `json:"id"`
	No      int    `json:"no"`
	Driver  string `json:"driver"`
	Number  string `json:"number"`
	State   string `json:"state"`
	// Status is busy, idle or down; set for remote agents' ports
	// (Remote), which show as their last heartbeat reported them.
	Status      string   `json:"status,omitempty"`
	Remote      bool     `json:"remote,omitempty"`
	Licensed    bool     `json:"licensed"`
	Send        bool     `json:"send"`
	Receive     bool     `json:"receive"`
	Disabled    bool     `json:"disabled,omitempty"`
	Groups      []string `json:"groups,omitempty"`
	Job         string   `json:"job,omitempty"`
	Calls       int      `json:"calls"`
	BusySeconds float64  `json:"busy_s"`
	Utilisation float64  `json:"utilisation"`
	// Call is the call in progress on the port, if any.
	Call *PortCall `json:"call,omitempty"`
}

// PortCall is the live state of a port's call.
type PortCall struct {
	Direction string `json:"direction"` // outbound or inbound
	Page      int    `json:"page"`      // pages done (confirmed or received)
	Pages     int    `json:"pages,omitempty"`
	Rate      int    `json:"rate,omitempty"` // bit/s of the last page
	Modem     string `json:"modem,omitempty"`
	ECM       bool   `json:"ecm"`
}

// Ports lists the ports and the agents the core knows.
type Ports struct {
	Ports  []Port  `json:"ports"`
	Agents []Agent `json:"agents,omitempty"`
	// Destinations are what this process's drivers remember about
	// destinations (admins only): a FoIP trunk's "T.38-less: audio".
	Destinations []Destination `json:"destinations,omitempty"`
}

// Destination is a driver's note about a number, until it expires.
type Destination struct {
	Driver string    `json:"driver"`
	Number string    `json:"number"`
	Note   string    `json:"note"`
	Until  time.Time `json:"until"`
}

// Agent is an agent process with its heartbeat.
type Agent struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Host      string    `json:"host"`
	Ports     int       `json:"ports"`
	Licensed  int       `json:"licensed"`
	Busy      int       `json:"busy"`
	Started   time.Time `json:"started"`
	Heartbeat time.Time `json:"heartbeat"`
}

// TokenRequest asks for an API token: for User (a user name; "" the
// caller) with a label.
type TokenRequest struct {
	User string `json:"user,omitempty"`
	Name string `json:"name,omitempty"`
}

// Token is an API token; Secret only in the answer that made it.
type Token struct {
	ID      int64     `json:"id"`
	UserID  int64     `json:"user_id"`
	User    string    `json:"user,omitempty"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	Secret  string    `json:"token,omitempty"`
}

// Tokens is a token list.
type Tokens struct {
	Tokens []Token `json:"tokens"`
}

// Revoked answers a revocation.
type Revoked struct {
	Revoked int64 `json:"revoked"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func attemptJSON(t core.Transmission) Attempt {
	return Attempt{
		ID: t.ID, Key: t.Key, JobID: t.JobID, MessageID: t.MessageID, CallID: t.CallID, Direction: string(t.Direction), Outcome: string(t.Outcome), Stale: t.Stale,
		Created: t.CreateDate, Scheduled: timePtr(t.ScheduleDate), Completed: timePtr(t.CompleteDate),
		CallingNumber: t.CallingNumber, CalledNumber: t.CalledNumber, RemoteCSID: t.RemoteCSID,
		RoutingInfo: t.RoutingInfo, CallerID: t.CallerID, FaxProtocol: t.FaxProtocol,
		TransmitSpeed: t.TransmitSpeed, CompressionMode: t.CompressionMode,
		CallDuration: t.CallDuration.Seconds(), TransmitDuration: t.TransmitDuration.Seconds(),
		FaxResolution: t.FaxResolution, TransmitStatus: t.TransmitStatus, TransmitStatusDef: t.TransmitStatusDef,
		AttemptNo: t.AttemptNo, MaxAttemptNo: t.MaxAttemptNo, PageCount: t.PageCount, StartPageNo: t.StartPageNo,
		PageSent: t.PageSent, FaxAgentID: t.FaxAgentID, PortNo: t.PortNo, BoardID: t.BoardID, ServerIP: t.ServerIP,
		ErrorID: t.ErrorID, ErrorInfo: t.ErrorInfo,
		DialedNumber: t.DialedNumber, ECM: t.ECM, MaxRate: t.MaxRate, ECMDisabled: t.ECMDisabled,
		PagesTransmitted: t.PagesTransmitted, NextAttempt: timePtr(t.NextAttempt), NextPage: t.NextPage,
		Media: t.Media, PacketsLost: t.PacketsLost, PacketsRecovered: t.PacketsRecovered,
		SIPCode: t.SIPCode, SIPReason: t.SIPReason,
	}
}

func presetString(p core.Preset) string {
	var s string
	switch p.Type {
	case core.PresetPort:
		s = "port:" + p.Value
	case core.PresetGroup:
		s = "group:" + p.Value
	default:
		return ""
	}
	if p.Agent != "" {
		s = p.Agent + "/" + s
	}
	return s
}

func messageJSON(m core.Message) Message {
	return Message{
		ID: m.ID, OwnerID: m.OwnerID, Direction: string(m.Direction), Folder: string(m.Folder), Status: m.Status,
		Subject: m.Subject, Note: m.Note, SenderName: m.SenderName, SenderCompany: m.SenderCompany,
		BillingCode: m.BillingCode, Priority: m.Priority, Schedule: timePtr(m.Schedule), Hold: m.Hold,
		MaxAttempts: m.MaxAttempts, Preset: presetString(m.Preset), Resolution: m.Resolution, Header: m.Header,
		Read: m.Read, Downloaded: m.Downloaded, Created: m.Created, Completed: timePtr(m.Completed),
		JobsTotal: m.JobsTotal, JobsComplete: m.JobsComplete,
	}
}

func detailsJSON(d core.MessageDetails) Message {
	m := messageJSON(d.Message)
	for _, doc := range d.Documents {
		m.Documents = append(m.Documents, Document{ID: doc.ID, Seq: doc.Seq, Name: doc.Name,
			ContentType: doc.ContentType, Size: doc.Size, Pages: doc.Pages, SHA256: doc.SHA256})
	}
	for _, j := range d.Jobs {
		jj := Job{
			ID: j.ID, Seq: j.Seq, Fax: j.Recipient.Fax, Name: j.Recipient.Name, Company: j.Recipient.Company,
			State: string(j.State), Priority: j.Priority, NotBefore: timePtr(j.NotBefore), StartPage: j.StartPage,
			AttemptCount: j.Job.Attempts, MaxAttempts: j.MaxAttempts, CancelRequested: j.CancelRequested,
			Agent: j.LeaseAgent, ErrorID: j.ErrorID, ErrorText: j.ErrorText, PageCount: j.PageCount,
			PagesSent: j.PagesSent, RemoteCSID: j.RemoteCSID, Speed: j.Speed, Created: j.Created,
			Completed: timePtr(j.Completed), Attempts: []Attempt{},
			Progress: Progress{PagesSent: j.Progress.PagesSent, PagesTotal: j.Progress.PagesTotal, InCall: j.Progress.InCall},
		}
		for _, a := range j.Attempts {
			jj.Attempts = append(jj.Attempts, attemptJSON(a))
		}
		m.Jobs = append(m.Jobs, jj)
	}
	for _, a := range d.Received {
		m.Received = append(m.Received, attemptJSON(a))
	}
	return m
}
