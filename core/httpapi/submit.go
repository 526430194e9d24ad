package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/faxdoc"
	"github.com/faxagent/faxagent/imaging/render"
)

// Form fields of a submission (multipart/form-data):
//
//	to              recipient fax number, repeated (at least one)
//	file            a document (PDF, PostScript, UTF-8 text, TIFF, PNG, JPEG, GIF, PBM), repeated (at least one);
//	                stored as TIFF Class F (MMR) at the message's resolution
//	priority        high | normal | low
//	preset          port:M0,1 | group:NAME, optionally AGENT/ in front
//	resolution      standard | fine | superfine
//	header          header-line template (%d %t %c %n %r %p %s, render.HeaderTokens); "-" none;
//	                an unknown token is refused
//	retries         further attempts after the first, 0..9
//	cover           a cover page put first: "default" (the shipped template) or the name of a
//	                template NAME.txt in the cover directory; its fields come from the message
//	                (recipients, sender_name, sender_company, subject, note, pages, date)
//	subject, note, sender_name, sender_company, billing_code
//	hold            true: keep in the hold folder
//	schedule        RFC 3339 time of the earliest dial
const maxField = 8 << 10

type upload struct {
	name, contentType, path string
	pages                   int
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request, p Principal) {
	r.Body = http.MaxBytesReader(w, r.Body, s.o.MaxUpload)
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, http.StatusBadRequest, "want a multipart/form-data body: "+err.Error())
		return
	}
	tmp, err := os.MkdirTemp(s.o.TempDir, "faxagent-upload-*")
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	defer os.RemoveAll(tmp)

	fields := map[string][]string{}
	var files []upload
	for {
		part, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.bodyError(w, err)
			return
		}
		name := part.FormName()
		fname, isFile := rawFileName(part)
		if isFile {
			if len(files) >= core.MaxDocuments {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("more than %d files", core.MaxDocuments))
				return
			}
			if err := checkFileName(fname); err != nil {
				writeError(w, http.StatusBadRequest, err.Error())
				return
			}
			path := filepath.Join(tmp, strconv.Itoa(len(files)))
			if err := saveTo(path, part); err != nil {
				s.bodyError(w, err)
				return
			}
			files = append(files, upload{name: fname, path: path})
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, maxField+1))
		if err != nil {
			s.bodyError(w, err)
			return
		}
		if len(b) > maxField {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("field %q is longer than %d bytes", name, maxField))
			return
		}
		fields[name] = append(fields[name], string(b))
	}

	sub, res, err := parseSubmission(fields)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if len(files) == 0 {
		writeError(w, http.StatusBadRequest, "no file: add at least one document as a \"file\" part")
		return
	}
	for _, rc := range sub.Recipients {
		if s.o.CheckNumber == nil {
			break
		}
		if err := s.o.CheckNumber(rc.Fax); err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("recipient %q: %v", rc.Fax, err))
			return
		}
	}
	if sub.Preset.Type != core.PresetNone && s.o.CheckPreset != nil {
		if err := s.o.CheckPreset(r.Context(), sub.Preset); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	sub.OwnerID = p.UserID
	var cover []byte
	if name, err := one(fields, "cover"); err != nil || name != "" {
		if err == nil {
			cover, err = faxdoc.CoverTemplate(s.o.CoverDir, name)
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	cctx, done, ok := s.conversion(w, r)
	if !ok {
		return
	}
	pages := 0
	for i := range files {
		f := &files[i]
		if err := checkDocument(cctx, f, res, s.o.DocumentLimits, tmp, i); err != nil {
			done()
			s.conversionError(w, r, fmt.Sprintf("file %q: ", f.name), err)
			return
		}
		pages += f.pages
	}
	if cover != nil {
		c, err := coverPage(cctx, cover, sub, pages, res, tmp)
		if err != nil {
			done()
			s.conversionError(w, r, "", err)
			return
		}
		files = append([]upload{c}, files...)
	}
	done()
	if err := r.Context().Err(); err != nil {
		// The client is gone: it would not learn of the message, and a
		// retry would store it twice.
		s.log.Info("api submit: client went away; nothing stored", "err", err)
		return
	}
	var open []*os.File
	defer func() {
		for _, f := range open {
			f.Close()
		}
	}()
	for _, f := range files {
		fh, err := os.Open(f.path)
		if err != nil {
			s.storeError(w, r, err)
			return
		}
		open = append(open, fh)
		sub.Documents = append(sub.Documents, core.DocumentInput{Name: f.name, ContentType: f.contentType, Pages: f.pages, Body: fh})
	}
	ctx, cancel := shortCtx(r.Context())
	defer cancel()
	d, err := s.o.Store.Submit(ctx, sub)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	if s.o.Wake != nil {
		s.o.Wake()
	}
	jobs := make([]int64, len(d.Jobs))
	for i, j := range d.Jobs {
		jobs[i] = j.ID
	}
	s.log.Info("api submit", "message", d.ID, "jobs", jobs, "documents", len(d.Documents), "owner", p.UserID)
	writeJSON(w, http.StatusCreated, detailsJSON(d))
}

// bodyError answers a failure to read the request body.
func (s *Server) bodyError(w http.ResponseWriter, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("upload larger than %d bytes", mbe.Limit))
		return
	}
	writeError(w, http.StatusBadRequest, "reading the upload: "+err.Error())
}

// rawFileName returns the file name exactly as the client sent it
// (multipart.Part.FileName drops directories, which would hide a path).
func rawFileName(p *multipart.Part) (string, bool) {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return "", false
	}
	name, ok := params["filename"]
	return name, ok
}

// checkFileName refuses names that are paths or could be mistaken for one.
func checkFileName(name string) error {
	switch {
	case name == "":
		return errors.New("a file part has no file name")
	case len(name) > 255:
		return errors.New("file name longer than 255 bytes")
	case !utf8.ValidString(name):
		return errors.New("file name is not UTF-8")
	case name == "." || name == ".." || strings.ContainsAny(name, `/\:`) || strings.HasPrefix(name, "."):
		return fmt.Errorf("file name %q looks like a path; send a plain name", name)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return errors.New("file name has control characters")
		}
	}
	return nil
}

func saveTo(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// checkDocument converts an upload into a TIFF Class F file at the
// message's resolution with faxdoc's intake, decoding every page (a corrupt
// file is refused now, not at dial time). The converted file is what the
// store keeps and the agent sends: documents are rendered once, not on
// every attempt.
func checkDocument(ctx context.Context, f *upload, res imaging.Resolution, lim faxdoc.Limits, tmp string, i int) error {
	out := filepath.Join(tmp, strconv.Itoa(i)+".tif")
	o := faxdoc.Options{Resolution: res, KeepResolution: true, Limits: lim, TempDir: tmp}
	n, err := faxdoc.Convert(ctx, []string{f.path}, o, out, faxdoc.WriteOptions{Compression: imaging.MMR, Software: "faxagent"})
	if err != nil {
		return hidePath(err, f.path)
	}
	f.path, f.contentType, f.pages = out, "image/tiff", n
	return nil
}

// coverPage makes a submission's cover page from a template, in front of
// documents of docPages pages.
func coverPage(ctx context.Context, tmpl []byte, sub core.Submission, docPages int, res imaging.Resolution, tmp string) (upload, error) {
	out := filepath.Join(tmp, "cover.tif")
	n, err := faxdoc.ConvertCover(ctx, faxdoc.Cover{Template: tmpl, Fields: core.CoverFields(sub, time.Now())}, docPages, res,
		out, faxdoc.WriteOptions{Compression: imaging.MMR, Software: "faxagent"})
	if err != nil {
		return upload{}, err
	}
	return upload{name: "cover page", contentType: "image/tiff", path: out, pages: n}, nil
}

// hidePath replaces a temporary path in err's text, keeping what it wraps.
func hidePath(err error, path string) error {
	return &pathHidden{err: err, msg: strings.ReplaceAll(strings.ReplaceAll(err.Error(), path+": ", ""), path, "upload")}
}

type pathHidden struct {
	err error
	msg string
}

func (e *pathHidden) Error() string { return e.msg }
func (e *pathHidden) Unwrap() error { return e.err }

func one(fields map[string][]string, name string) (string, error) {
	v := fields[name]
	switch len(v) {
	case 0:
		return "", nil
	case 1:
		return strings.TrimSpace(v[0]), nil
	}
	return "", fmt.Errorf("field %q given %d times", name, len(v))
}

// parseSubmission reads the form fields; it returns the resolution the
// documents are checked at.
func parseSubmission(fields map[string][]string) (core.Submission, imaging.Resolution, error) {
	var sub core.Submission
	res := imaging.Fine
	known := map[string]bool{"cover": true, "to": true, "priority": true, "preset": true, "resolution": true, "header": true,
		"retries": true, "subject": true, "note": true, "sender_name": true, "sender_company": true,
		"billing_code": true, "hold": true, "schedule": true, "callback_url": true}
	for k := range fields {
		if !known[k] {
			return sub, res, fmt.Errorf("unknown field %q", k)
		}
	}
	for _, to := range fields["to"] {
		for _, n := range strings.Split(to, ",") {
			n = strings.TrimSpace(n)
			if n == "" {
				continue
			}
			if _, err := core.NormalizeFax(n); err != nil {
				return sub, res, fmt.Errorf("recipient %q: not a fax number: %s", n, publicMessage(err))
			}
			sub.Recipients = append(sub.Recipients, core.Recipient{Fax: n})
		}
	}
	if len(sub.Recipients) == 0 {
		return sub, res, errors.New("no recipient: add at least one \"to\" field")
	}
	if len(sub.Recipients) > core.MaxRecipients {
		return sub, res, fmt.Errorf("more than %d recipients", core.MaxRecipients)
	}
	var err error
	get := func(name string) string {
		if err != nil {
			return ""
		}
		var v string
		v, err = one(fields, name)
		return v
	}
	sub.Subject, sub.Note = get("subject"), get("note")
	sub.SenderName, sub.SenderCompany, sub.BillingCode = get("sender_name"), get("sender_company"), get("billing_code")
	sub.Header = get("header")
	if sub.Header != "" && sub.Header != "-" {
		if herr := render.CheckHeader(sub.Header); herr != nil {
			return sub, res, fmt.Errorf("header %q: %v", sub.Header, herr)
		}
	}
	sub.CallbackURL = get("callback_url")
	if err == nil {
		if cerr := core.CheckCallbackURL(sub.CallbackURL); cerr != nil {
			return sub, res, cerr
		}
	}
	prio, preset, resolution, retries, hold, schedule := get("priority"), get("preset"), get("resolution"), get("retries"), get("hold"), get("schedule")
	if err != nil {
		return sub, res, err
	}
	switch strings.ToLower(prio) {
	case "", "normal":
		sub.Priority = core.PriorityNormal
	case "high":
		sub.Priority = core.PriorityHigh
	case "low":
		sub.Priority = core.PriorityLow
	default:
		return sub, res, fmt.Errorf("priority %q: want high, normal or low", prio)
	}
	if preset != "" {
		if sub.Preset, err = ParsePreset(preset); err != nil {
			return sub, res, err
		}
	}
	if resolution != "" {
		r, err := imaging.ParseResolution(strings.ToLower(resolution))
		if err != nil || r > imaging.Superfine {
			return sub, res, fmt.Errorf("resolution %q: want standard, fine or superfine", resolution)
		}
		res = r
		sub.Resolution = r.String()
	}
	if retries != "" {
		n, err := strconv.Atoi(retries)
		if err != nil || n < 0 || n > 9 {
			return sub, res, fmt.Errorf("retries %q: want 0 to 9", retries)
		}
		sub.MaxAttempts = n + 1
	}
	if hold != "" {
		if sub.Hold, err = strconv.ParseBool(hold); err != nil {
			return sub, res, fmt.Errorf("hold %q: want true or false", hold)
		}
	}
	if schedule != "" {
		if sub.Schedule, err = time.Parse(time.RFC3339, schedule); err != nil {
			return sub, res, fmt.Errorf("schedule %q: want an RFC 3339 time", schedule)
		}
	}
	return sub, res, nil
}

// ParsePreset parses "port:M0,1", "group:NAME", with an optional "AGENT/"
// in front.
func ParsePreset(s string) (core.Preset, error) {
	var p core.Preset
	rest := s
	if a, r, ok := strings.Cut(s, "/"); ok {
		p.Agent, rest = a, r
	}
	kind, val, ok := strings.Cut(rest, ":")
	if !ok || val == "" || (p.Agent == "" && strings.Contains(s, "/")) {
		return p, fmt.Errorf("preset %q: want port:ID or group:NAME", s)
	}
	switch kind {
	case "port":
		p.Type = core.PresetPort
		if !portIDPattern.MatchString(val) {
			return p, fmt.Errorf("preset %q: a port ID is M<board>,<channel>, e.g. port:M0,1", s)
		}
	case "group":
		p.Type = core.PresetGroup
		if !namePattern.MatchString(val) {
			return p, fmt.Errorf("preset %q: a group name has letters, digits, '-' and '_'", s)
		}
	default:
		return p, fmt.Errorf("preset %q: want port:ID or group:NAME", s)
	}
	if p.Agent != "" && !namePattern.MatchString(p.Agent) {
		return p, fmt.Errorf("preset %q: an agent ID has letters, digits, '.', '-' and '_'", s)
	}
	p.Value = val
	return p, nil
}

var (
	portIDPattern = regexp.MustCompile(`^M[0-9]{1,4},[0-9]{1,5}$`)
	namePattern   = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
)
