package soap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// ErrCharset is a request in a character set the service does not read.
var ErrCharset = errors.New("soap: unsupported character set")

// charsets are the request character sets read, by lower-case label:
// UTF-8 (and its subset US-ASCII), ISO-8859-1, Windows-1252 and UTF-16,
// which .NET clients may send. A nil encoding is UTF-8.
var charsets = map[string]encoding.Encoding{
	"utf-8": nil, "utf8": nil, "us-ascii": nil, "ascii": nil,
	"iso-8859-1": charmap.ISO8859_1, "iso8859-1": charmap.ISO8859_1, "iso_8859-1": charmap.ISO8859_1,
	"iso_8859-1:1987": charmap.ISO8859_1, "latin1": charmap.ISO8859_1, "latin-1": charmap.ISO8859_1,
	"l1": charmap.ISO8859_1, "iso-ir-100": charmap.ISO8859_1, "cp819": charmap.ISO8859_1,
	"ibm819": charmap.ISO8859_1, "csisolatin1": charmap.ISO8859_1,
	"windows-1252": charmap.Windows1252, "cp1252": charmap.Windows1252, "x-cp1252": charmap.Windows1252,
	// Without a byte order mark, UTF-16 is big-endian (RFC 2781).
	"utf-16":   unicode.UTF16(unicode.BigEndian, unicode.UseBOM),
	"utf-16be": unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM),
	"utf-16le": unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM),
}

func lookupCharset(label string) (encoding.Encoding, error) {
	enc, ok := charsets[strings.ToLower(strings.Trim(strings.TrimSpace(label), `"'`))]
	if !ok {
		return nil, fmt.Errorf("%w %q (UTF-8, UTF-16, ISO-8859-1 and Windows-1252 are read)", ErrCharset, label)
	}
	return enc, nil
}

func isUTF16(enc encoding.Encoding) bool {
	_, single := enc.(*charmap.Charmap)
	return enc != nil && !single
}

// requestText turns a request body into UTF-8 for encoding/xml. The
// character set is, first, the one a byte order mark or the first
// characters of a UTF-16 document show (XML 1.0 Appendix F); then the
// Content-Type's charset parameter (ctCharset, "" when absent); then the
// XML declaration's encoding, which the returned function reads as the
// xml.Decoder's CharsetReader. When the body was transcoded already, the
// declaration only has to name a known character set.
func requestText(r io.Reader, ctCharset string) (io.Reader, func(string, io.Reader) (io.Reader, error), error) {
	br := bufio.NewReader(r)
	head, _ := br.Peek(3)
	var enc encoding.Encoding
	fixed := false
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		br.Discard(3)
		fixed = true
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{'<', 0}):
		enc, fixed = unicode.UTF16(unicode.LittleEndian, unicode.UseBOM), true
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}), bytes.HasPrefix(head, []byte{0, '<'}):
		enc, fixed = unicode.UTF16(unicode.BigEndian, unicode.UseBOM), true
	}
	if ctCharset != "" {
		ct, err := lookupCharset(ctCharset)
		if err != nil {
			return nil, nil, err
		}
		if !fixed {
			enc, fixed = ct, true
		}
	}
	var out io.Reader = br
	if enc != nil {
		out = transform.NewReader(br, enc.NewDecoder())
	}
	declared := func(label string, in io.Reader) (io.Reader, error) {
		enc, err := lookupCharset(label)
		if err != nil {
			return nil, err
		}
		if fixed || enc == nil {
			return in, nil
		}
		if isUTF16(enc) {
			// The declaration was read as single bytes.
			return nil, fmt.Errorf("%w: declared %q but not encoded so (no byte order mark)", ErrCharset, label)
		}
		return transform.NewReader(in, enc.NewDecoder()), nil
	}
	return out, declared, nil
}
