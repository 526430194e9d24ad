package agent

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/t30"
)

// Agent-level completion codes, in the same ID space as t30's codes.
const (
	// CodeWatchdog: the watchdog hung up a call that exceeded its
	// maximum duration or stopped making progress.
	CodeWatchdog t30.Code = 100
	// CodePageLimit: the job reached its page send limit.
	CodePageLimit t30.Code = 101
	// CodeInterrupted: the agent stopped (was killed) during a reception;
	// the next start reported the pages completed before that.
	CodeInterrupted t30.Code = 102
)

// CodeText is the text of a completion code, agent codes included.
func CodeText(c t30.Code) string {
	switch c {
	case CodeWatchdog:
		return "watchdog: call exceeded its maximum duration or stalled"
	case CodePageLimit:
		return "page send limit reached"
	case CodeInterrupted:
		return "the agent stopped during the reception; the complete pages were recovered from its spool"
	}
	return c.String()
}

// CodeRetry is the retry class of a code, agent codes included.
func CodeRetry(c t30.Code) t30.RetryClass {
	switch c {
	case CodeWatchdog:
		return t30.RetryLater
	case CodePageLimit, CodeInterrupted:
		return t30.RetryNever
	}
	return c.Retry()
}

// ClassRule is how a retry class is retried.
type ClassRule struct {
	MaxAttempts int           // attempts in all (0: RetryPolicy.MaxAttempts)
	Interval    time.Duration // wait before the next attempt
}

// RetryPolicy decides what happens after a failed attempt.
type RetryPolicy struct {
	// MaxAttempts is the default number of attempts (first included);
	// a job's own MaxAttempts wins. 0 means 3.
	MaxAttempts int
	// Now and Later are the rules of the retry classes RetryNow and
	// RetryLater (RetryNever is never retried). Zero values: Now 30 s,
	// Later 5 min.
	Now, Later ClassRule
	// Codes override the class rule for single codes.
	Codes map[t30.Code]ClassRule
	// PageLimit is the most pages a job may send over all its attempts
	// (0: no limit).
	PageLimit int
	// Backoff multiplies the wait after each further failed attempt
	// (attempt n waits Interval * Backoff^(n-1)); values up to 1: the
	// same wait every time. MaxInterval caps the wait (0: none).
	Backoff     float64
	MaxInterval time.Duration
	// Jitter spreads each wait by up to this fraction either way (0.2:
	// ±20 %), so jobs that failed together do not all come back at the
	// same instant; 0 none. Rand returns numbers in [0, 1) (nil:
	// math/rand/v2).
	Jitter float64
	Rand   func() float64
}

// wait is the wait before the attempt after attemptNo under rule r.
func (p RetryPolicy) wait(r ClassRule, attemptNo int) time.Duration {
	w := float64(r.Interval)
	if p.Backoff > 1 {
		w *= math.Pow(p.Backoff, float64(max(attemptNo-1, 0)))
	}
	if p.MaxInterval > 0 {
		w = min(w, float64(p.MaxInterval))
	}
	if p.Jitter > 0 {
		rnd := p.Rand
		if rnd == nil {
			rnd = rand.Float64
		}
		w *= 1 + min(p.Jitter, 1)*(2*rnd()-1)
	}
	return time.Duration(w)
}

// Decision is what the policy decided for an attempt.
type Decision struct {
	Retry     bool
	At        time.Time
	StartPage int // 0-based page the next attempt starts at
	Max       int // attempts allowed
	Code      t30.Code
}

func (p RetryPolicy) rule(c t30.Code) (ClassRule, bool) {
	if r, ok := p.Codes[c]; ok {
		return r, true
	}
	switch CodeRetry(c) {
	case t30.RetryNow:
		r := p.Now
		if r.Interval == 0 {
			r.Interval = 30 * time.Second
		}
		return r, true
	case t30.RetryLater:
		r := p.Later
		if r.Interval == 0 {
			r.Interval = 5 * time.Minute
		}
		return r, true
	}
	return ClassRule{}, false
}

// Decide judges an attempt of job that ended with code after confirming
// `confirmed` pages from job.StartPage (sent: pages sent in the attempt),
// at now. attemptNo is the attempt's number from 1.
func (p RetryPolicy) Decide(job Job, attemptNo int, code t30.Code, confirmed, sent, pages int, now time.Time) Decision {
	d := Decision{Code: code, StartPage: min(job.StartPage+confirmed, max(pages-1, 0))}
	d.Max = job.MaxAttempts
	if d.Max <= 0 {
		d.Max = p.MaxAttempts
	}
	if d.Max <= 0 {
		d.Max = 3
	}
	if code == t30.OK || code == t30.CodeCancelled {
		return d
	}
	r, ok := p.rule(code)
	if !ok {
		return d
	}
	if r.MaxAttempts > 0 && r.MaxAttempts < d.Max && job.MaxAttempts <= 0 {
		d.Max = r.MaxAttempts
	}
	if attemptNo >= d.Max {
		return d
	}
	if p.PageLimit > 0 && job.PagesSent+sent >= p.PageLimit {
		d.Code = CodePageLimit
		return d
	}
	d.Retry = true
	d.At = now.Add(p.wait(r, attemptNo))
	return d
}

// MemoryPolicy configures the per-destination memory: after failures of
// a kind to a number, later attempts to it start more carefully.
type MemoryPolicy struct {
	// TrainFailures is how many calls with training trouble (fallback or
	// failure) lower the starting rate (0: 1; <0: never).
	TrainFailures int
	// ECMFailures is how many ECM failures turn ECM off (0: 1; <0: never).
	ECMFailures int
}

// rates is the ladder of data signalling rates.
var rates = [...]int{14400, 12000, 9600, 7200, 4800, 2400}

func lowerRate(r int) int {
	for _, x := range rates {
		if x < r {
			return x
		}
	}
	return rates[len(rates)-1]
}

// destMemory remembers per destination what worked.
type destMemory struct {
	p  MemoryPolicy
	mu sync.Mutex
	m  map[string]*destState
}

type destState struct {
	trainFails int
	ecmFails   int
	maxRate    int
	noECM      bool
}

func newDestMemory(p MemoryPolicy) *destMemory {
	if p.TrainFailures == 0 {
		p.TrainFailures = 1
	}
	if p.ECMFailures == 0 {
		p.ECMFailures = 1
	}
	return &destMemory{p: p, m: map[string]*destState{}}
}

// settings returns the rate cap and whether ECM is off for number.
func (m *destMemory) settings(number string) (maxRate int, noECM bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.m[number]; s != nil {
		return s.maxRate, s.noECM
	}
	return 0, false
}

// learn records the outcome of a call to number.
func (m *destMemory) learn(number string, code t30.Code, retrains int, speed, cap int) {
	trainTrouble := code == t30.CodeTrainFailed || retrains > 0
	ecmTrouble := code == t30.CodeECMFailed
	if !trainTrouble && !ecmTrouble {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.m[number]
	if s == nil {
		s = &destState{}
		m.m[number] = s
	}
	if trainTrouble && m.p.TrainFailures > 0 {
		s.trainFails++
		if s.trainFails >= m.p.TrainFailures {
			r := cap
			if r == 0 {
				r = rates[0]
			}
			switch {
			case code == t30.CodeTrainFailed:
				r = lowerRate(min(r, max(speed, rates[len(rates)-1])))
			case speed > 0:
				r = min(r, speed)
			}
			if s.maxRate == 0 || r < s.maxRate {
				s.maxRate = r
			}
		}
	}
	if ecmTrouble && m.p.ECMFailures > 0 {
		s.ecmFails++
		if s.ecmFails >= m.p.ECMFailures {
			s.noECM = true
		}
	}
}

// DialRules rewrite a job's number into what the port dials.
type DialRules struct {
	// Prefix is dialled first (an outside line, "9"), Suffix last.
	Prefix, Suffix string
	// CountryCode and AreaCode are the agent's own ("1", "303").
	// Numbers in E.164 form ("+13035551234") are dialled locally when
	// they are in our country and area ("5551234"), with
	// LongDistancePrefix when in our country ("1" + "3125551234"),
	// and with InternationalPrefix otherwise ("011" + "4420...").
	CountryCode         string
	AreaCode            string
	LongDistancePrefix  string
	InternationalPrefix string
	// Rewrites replace a leading Match with Replace, first match wins,
	// before the rules above.
	Rewrites []Rewrite
}

// Rewrite is one prefix rewriting rule.
type Rewrite struct{ Match, Replace string }

// Apply returns the number to dial.
func (r DialRules) Apply(number string) string {
	var b strings.Builder
	for i, c := range number {
		if c >= '0' && c <= '9' || c == '*' || c == '#' || c == ',' || c == '+' && i == 0 {
			b.WriteRune(c)
		}
	}
	n := b.String()
	for _, rw := range r.Rewrites {
		if rw.Match != "" && strings.HasPrefix(n, rw.Match) {
			n = rw.Replace + n[len(rw.Match):]
			break
		}
	}
	if rest, ok := strings.CutPrefix(n, "+"); ok && r.CountryCode != "" {
		if nat, ok := strings.CutPrefix(rest, r.CountryCode); ok {
			if local, ok := strings.CutPrefix(nat, r.AreaCode); ok && r.AreaCode != "" {
				n = local
			} else {
				n = r.LongDistancePrefix + nat
			}
		} else {
			n = r.InternationalPrefix + rest
		}
	}
	return r.Prefix + n + r.Suffix
}

// failureText is an attempt's error text: the code's text, then what the
// error adds to it, said once ("busy", not "busy: dial failed: busy
// (code 2): busy").
func failureText(code t30.Code, err error) string {
	text := CodeText(code)
	if err == nil {
		return text
	}
	detail := err.Error()
	var de *drivers.DialError
	if errors.As(err, &de) {
		detail = de.Cause
		if de.Err != nil {
			detail = strings.TrimPrefix(detail+": "+de.Err.Error(), ": ")
		}
	}
	detail = strings.TrimPrefix(strings.TrimPrefix(detail, "t30: "), text+": ")
	if detail = strings.TrimSpace(detail); detail == "" || strings.EqualFold(detail, text) {
		return text
	}
	return text + ": " + detail
}

// maxE164Digits is E.164's longest number, country code included.
const maxE164Digits = 15

// Check refuses a number that these rules would dial as more than
// E.164's 15 digits: a number in E.164 form counts its own digits, one
// after InternationalPrefix the digits after it, one after
// LongDistancePrefix the country code and the rest, any other the
// country code, the area code and the number. Without a CountryCode, and
// for numbers with '*' or '#' (exchange codes), it checks nothing.
func (r DialRules) Check(number string) error {
	if r.CountryCode == "" || strings.ContainsAny(number, "*#") {
		return nil
	}
	var b strings.Builder
	for i, c := range number {
		if c >= '0' && c <= '9' || c == '+' && i == 0 {
			b.WriteRune(c)
		}
	}
	n := b.String()
	for _, rw := range r.Rewrites {
		if rw.Match != "" && strings.HasPrefix(n, rw.Match) {
			n = rw.Replace + n[len(rw.Match):]
			break
		}
	}
	var intl string
	switch {
	case strings.HasPrefix(n, "+"):
		intl = n[1:]
	case r.InternationalPrefix != "" && strings.HasPrefix(n, r.InternationalPrefix):
		intl = n[len(r.InternationalPrefix):]
	case r.LongDistancePrefix != "" && strings.HasPrefix(n, r.LongDistancePrefix):
		intl = r.CountryCode + n[len(r.LongDistancePrefix):]
	default:
		intl = r.CountryCode + r.AreaCode + n
	}
	if len(intl) > maxE164Digits {
		return fmt.Errorf("fax number %q is +%s under the dial rules: %d digits, more than E.164's %d", number, intl, len(intl), maxE164Digits)
	}
	return nil
}
