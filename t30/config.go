package t30

import (
	"log/slog"
	"time"

	"github.com/faxagent/faxagent/imaging"
)

// Timers are the T.30 timers (section 5.4.3.1). Zero fields take the
// defaults.
type Timers struct {
	T1     time.Duration // 35 s: phase B must start within it
	T2     time.Duration // 6 s: waiting for a command
	T3     time.Duration // 10 s: procedural interrupt (operator alert)
	T4     time.Duration // 3 s: waiting for a response (manual/calling side)
	T4Auto time.Duration // 4.5 s: T4 of the automatic (answering) side
	T5     time.Duration // 60 s: ECM receiver not ready
}

// DefaultTimers returns the values T.30 specifies.
func DefaultTimers() Timers {
	return Timers{
		T1: 35 * time.Second, T2: 6 * time.Second, T3: 10 * time.Second,
		T4: 3 * time.Second, T4Auto: 4500 * time.Millisecond, T5: 60 * time.Second,
	}
}

func (t Timers) withDefaults() Timers {
	d := DefaultTimers()
	if t.T1 > 0 {
		d.T1 = t.T1
	}
	if t.T2 > 0 {
		d.T2 = t.T2
	}
	if t.T3 > 0 {
		d.T3 = t.T3
	}
	if t.T4 > 0 {
		d.T4 = t.T4
	}
	if t.T4Auto > 0 {
		d.T4Auto = t.T4Auto
	}
	if t.T5 > 0 {
		d.T5 = t.T5
	}
	return d
}

// QualityPolicy decides the response to a received non-ECM page from the
// decoder's statistics (err is the decoder's error, if any): FCFMCF,
// FCFRTP or FCFRTN.
type QualityPolicy func(st imaging.RowStats, err error) FCF

// DefaultQuality answers MCF when at most 1 % of rows are bad and no more
// than 8 in a row, RTP up to 5 % and 16 in a row, RTN otherwise or when the
// page did not decode or has no rows.
func DefaultQuality(st imaging.RowStats, err error) FCF {
	switch {
	case err != nil || st.Rows == 0:
		return FCFRTN
	case st.BadRows*100 <= st.Rows && st.MaxConsecutive <= 8:
		return FCFMCF
	case st.BadRows*100 <= 5*st.Rows && st.MaxConsecutive <= 16:
		return FCFRTP
	}
	return FCFRTN
}

// Config describes one call.
type Config struct {
	// Calling is true for the terminal that placed the call (it sends CNG
	// and waits for DIS), false for the answering terminal (CED, DIS).
	Calling bool
	// Transmit is true for the terminal that sends the document. The
	// usual call is Calling && Transmit against !Calling && !Transmit;
	// polling is Calling && !Transmit (sends DTC on a DIS with the polling
	// bit) against !Calling && Transmit (sends DIS with the polling bit,
	// then transmits on DTC).
	Transmit bool

	Ident string // our CSI (receiving) or TSI (sending), up to 20 characters
	// Subaddress (SUB) and Password (SID) are sent with DCS when the
	// remote's DIS says it takes them (bits 49 and 50); up to 20
	// characters of digits, space, # and *.
	Subaddress string
	Password   string

	Document  Document // Transmit: pages to send
	StartPage int      // Transmit: 0-based first page to send (resume)
	Sink      PageSink // receive: where pages go

	// Modems offered (receiver) or allowed (sender); 0 means all.
	Modems ModemSet
	// MaxRate caps the data signalling rate (0: no cap).
	MaxRate int
	// Compressions allowed; nil means MH, MR and MMR (MMR needs ECM).
	Compressions []imaging.Compression
	// Resolutions accepted when receiving; nil means all four.
	Resolutions []imaging.Resolution
	// MaxWidth is the widest page accepted when receiving.
	MaxWidth PaperWidth
	// ECM enables error correction mode (T.30 Annex A).
	ECM bool
	// Frame64 asks for (receiver: prefers) 64-octet ECM frames.
	Frame64 bool
	// MinScanMS is the receiver's minimum scan line time at 3.85 lines/mm.
	MinScanMS int
	// NoTones skips CNG/CED (for lines where the gateway does them).
	NoTones bool

	Timers Timers
	// Quality judges received non-ECM pages; nil is DefaultQuality.
	Quality QualityPolicy
	// MaxPageTries is how many times a page is sent before RTN makes the
	// call fail (default 3).
	MaxPageTries int
	// MaxTries is how many times a command is sent without a valid
	// response (default 3).
	MaxTries int

	// MaxDuration ends a call that goes on longer (a remote that keeps
	// the procedure going without progress) with CodeProtocol; 0 means
	// 4 hours.
	MaxDuration time.Duration

	// Progress, if set, is called per page on the clock's loop.
	Progress func(PageEvent)
	// Logger, if set, gets a debug record per frame and state change.
	Logger *slog.Logger
}

// modems is the modem set after Modems and MaxRate: a MaxRate below
// 4800 leaves only the V.27ter fall-back mode (2400 bit/s), below 7200 only
// V.27ter.
func (c *Config) modems() ModemSet {
	m := c.Modems
	if m == 0 {
		m = SetV27ter | SetV29 | SetV17
	}
	switch {
	case c.MaxRate <= 0:
	case c.MaxRate < 4800:
		m = 0
	case c.MaxRate < 7200:
		m &= SetV27ter
	}
	return m
}

func (c *Config) allowsCompression(x imaging.Compression) bool {
	if c.Compressions == nil {
		return true
	}
	for _, y := range c.Compressions {
		if x == y {
			return true
		}
	}
	return false
}

func (c *Config) allowsResolution(r imaging.Resolution) bool {
	if c.Resolutions == nil {
		return true
	}
	for _, y := range c.Resolutions {
		if r == y {
			return true
		}
	}
	return r == imaging.Standard
}

// localCaps is the DIS this terminal sends when receiving.
func (c *Config) localCaps() Caps {
	caps := Caps{
		ReceiveFax:      true,
		Modems:          c.modems(),
		Fine:            c.allowsResolution(imaging.Fine),
		Superfine:       c.allowsResolution(imaging.Superfine),
		Ultrafine:       c.allowsResolution(imaging.Ultrafine),
		MR:              c.allowsCompression(imaging.MR),
		Width:           c.MaxWidth,
		Length:          LengthUnlimited,
		MinScanMS:       c.MinScanMS,
		ECM:             c.ECM,
		Prefer64:        c.ECM && c.Frame64,
		MMR:             c.ECM && c.allowsCompression(imaging.MMR),
		MetricPreferred: true,
		Subaddress:      true,
		Password:        true,
	}
	return caps
}
