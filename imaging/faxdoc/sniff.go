package faxdoc

import (
	"bytes"
	"unicode/utf8"

	"github.com/faxagent/faxagent/imaging/render"
)

// Kind is a kind of input document, recognised from its content.
type Kind string

// The kinds of document Open reads.
const (
	KindUnknown    Kind = ""
	KindPDF        Kind = "pdf"
	KindPostScript Kind = "postscript"
	KindText       Kind = "text"
	KindTIFF       Kind = "tiff"
	KindPNG        Kind = "png"
	KindJPEG       Kind = "jpeg"
	KindGIF        Kind = "gif"
	KindPNM        Kind = "pnm"
)

// SniffLen is how many leading bytes Sniff wants.
const SniffLen = 512

// Sniff names a document's kind from its first bytes (up to SniffLen).
// Text is UTF-8 with no control characters other than tab, line feed,
// carriage return and form feed (a multi-byte character cut by the end of
// head is allowed).
func Sniff(head []byte) Kind {
	switch render.Sniff(head) {
	case render.FormatTIFF:
		return KindTIFF
	case render.FormatPNG:
		return KindPNG
	case render.FormatJPEG:
		return KindJPEG
	case render.FormatGIF:
		return KindGIF
	case render.FormatPNM:
		return KindPNM
	}
	switch {
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return KindPDF
	case bytes.HasPrefix(head, []byte("%!")), bytes.HasPrefix(head, []byte("\x04%!")),
		bytes.HasPrefix(head, []byte("\xc5\xd0\xd3\xc6")): // DOS EPS binary header
		return KindPostScript
	case isText(head):
		return KindText
	}
	return KindUnknown
}

func isText(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			// A character cut at the end of head is still text.
			return len(b) < utf8.UTFMax && !utf8.FullRune(b)
		}
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' && r != '\f' || r == 0x7f {
			return false
		}
		b = b[n:]
	}
	return true
}

// ContentType is the MIME type of a kind ("" for KindUnknown).
func (k Kind) ContentType() string {
	switch k {
	case KindPDF:
		return "application/pdf"
	case KindPostScript:
		return "application/postscript"
	case KindText:
		return "text/plain; charset=utf-8"
	case KindTIFF:
		return "image/tiff"
	case KindPNG:
		return "image/png"
	case KindJPEG:
		return "image/jpeg"
	case KindGIF:
		return "image/gif"
	case KindPNM:
		return "image/x-portable-anymap"
	}
	return ""
}

// Ext is a file name extension for a kind, with its dot.
func (k Kind) Ext() string {
	switch k {
	case KindPDF:
		return ".pdf"
	case KindPostScript:
		return ".ps"
	case KindText:
		return ".txt"
	case KindTIFF:
		return ".tif"
	case KindPNG:
		return ".png"
	case KindJPEG:
		return ".jpg"
	case KindGIF:
		return ".gif"
	case KindPNM:
		return ".pnm"
	}
	return ""
}

// Kinds is the list of readable kinds for messages.
const Kinds = "PDF, PostScript, UTF-8 text, TIFF, PNG, JPEG, GIF or PBM/PGM/PPM"
