package soap

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strconv"
)

// result is what an operation answers: its <op>Result value and, for
// downloads, the <output> bytes.
type result struct {
	kind    resultKind
	str     string
	num     int64
	boolean bool
	strs    []string // nil: the element is omitted (a null array)
	output  []byte   // written when hasOutput
	hasOut  bool
	// header is an XML fragment written as the envelope's only SOAP
	// header block (ServerStatus's figures); "" writes no soap:Header.
	header string
}

type resultKind int

const (
	resString resultKind = iota
	resLong
	resBool
	resStrings
)

func strResult(s string) result       { return result{kind: resString, str: s} }
func longResult(n int64) result       { return result{kind: resLong, num: n} }
func boolResult(b bool) result        { return result{kind: resBool, boolean: b} }
func stringsResult(s []string) result { return result{kind: resStrings, strs: s} }

func envelopeOpen(b *bytes.Buffer, v Version) { envelopeOpenHeader(b, v, "") }

// envelopeOpenHeader opens the envelope with header, when not "", as the
// content of a soap:Header before the Body.
func envelopeOpenHeader(b *bytes.Buffer, v Version, header string) {
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>`)
	if v == SOAP12 {
		b.WriteString(`<soap:Envelope xmlns:soap="` + ns12 + `"`)
	} else {
		b.WriteString(`<soap:Envelope xmlns:soap="` + ns11 + `"`)
	}
	b.WriteString(` xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">`)
	if header != "" {
		b.WriteString(`<soap:Header>` + header + `</soap:Header>`)
	}
	b.WriteString(`<soap:Body>`)
}

func envelopeClose(b *bytes.Buffer) { b.WriteString(`</soap:Body></soap:Envelope>`) }

// escape writes element text as .NET's XmlWriter does: &, < and > as
// entities, CR as &#xD; (so it survives end-of-line normalisation), and
// characters XML cannot carry as U+FFFD; quotes stay as they are.
func escape(b *bytes.Buffer, s string) {
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '\r':
			b.WriteString("&#xD;")
		case r == '\t' || r == '\n' || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF:
			b.WriteRune(r)
		default:
			b.WriteRune('\uFFFD')
		}
	}
}

// writeString writes <name>s</name>, or <name /> for "".
func writeString(b *bytes.Buffer, name, s string) {
	if s == "" {
		b.WriteString("<" + name + " />")
		return
	}
	b.WriteString("<" + name + ">")
	escape(b, s)
	b.WriteString("</" + name + ">")
}

// encodeResponse writes the response envelope of operation op.
func encodeResponse(v Version, op string, r result) []byte {
	var b bytes.Buffer
	envelopeOpenHeader(&b, v, r.header)
	b.WriteString("<" + op + `Response xmlns="` + Namespace + `">`)
	name := op + "Result"
	switch r.kind {
	case resString:
		writeString(&b, name, r.str)
	case resLong:
		b.WriteString("<" + name + ">" + strconv.FormatInt(r.num, 10) + "</" + name + ">")
	case resBool:
		b.WriteString("<" + name + ">" + strconv.FormatBool(r.boolean) + "</" + name + ">")
	case resStrings:
		if r.strs != nil {
			b.WriteString("<" + name + ">")
			for _, s := range r.strs {
				writeString(&b, "string", s)
			}
			b.WriteString("</" + name + ">")
		}
	}
	if r.hasOut && r.output != nil {
		b.WriteString("<output>")
		b.WriteString(base64.StdEncoding.EncodeToString(r.output))
		b.WriteString("</output>")
	}
	b.WriteString("</" + op + "Response>")
	envelopeClose(&b)
	return b.Bytes()
}

// faultCode says whose fault a Fault is.
type faultCode int

const (
	faultClient  faultCode = iota // SOAP 1.1 Client, 1.2 Sender
	faultServer                   // SOAP 1.1 Server, 1.2 Receiver
	faultVersion                  // VersionMismatch
)

// encodeFault writes a SOAP Fault of the request's version and returns its
// HTTP status.
func encodeFault(v Version, code faultCode, reason string) ([]byte, int) {
	var b bytes.Buffer
	envelopeOpen(&b, v)
	status := http.StatusInternalServerError
	if v == SOAP12 {
		c := "soap:Sender"
		switch code {
		case faultServer:
			c = "soap:Receiver"
		case faultVersion:
			c = "soap:VersionMismatch"
		default:
			status = http.StatusBadRequest
		}
		b.WriteString(`<soap:Fault><soap:Code><soap:Value>` + c + `</soap:Value></soap:Code><soap:Reason><soap:Text xml:lang="en">`)
		escape(&b, reason)
		b.WriteString(`</soap:Text></soap:Reason><soap:Detail /></soap:Fault>`)
	} else {
		c := "soap:Client"
		switch code {
		case faultServer:
			c = "soap:Server"
		case faultVersion:
			c = "soap:VersionMismatch"
		}
		b.WriteString(`<soap:Fault><faultcode>` + c + `</faultcode><faultstring>`)
		escape(&b, reason)
		b.WriteString(`</faultstring><detail /></soap:Fault>`)
	}
	envelopeClose(&b)
	return b.Bytes(), status
}

func contentType(v Version) string {
	if v == SOAP12 {
		return "application/soap+xml; charset=utf-8"
	}
	return "text/xml; charset=utf-8"
}
