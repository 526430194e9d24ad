package render

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/faxagent/faxagent/imaging"
)

func TestWrapAndTabs(t *testing.T) {
	for _, c := range []struct {
		in   string
		cols int
		want []string
	}{
		{"a\tb", 20, []string{"a       b"}},
		{"12345678\tx", 20, []string{"12345678        x"}},
		{"one two three four", 9, []string{"one two", "three", "four"}},
		{"abcdefghijkl", 5, []string{"abcde", "fghij", "kl"}},
		{"bell\x07gone", 20, []string{"bellgone"}},
		{"", 5, []string{""}},
	} {
		got := wrapLine(expandTabs(c.in, 8), c.cols)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("wrap(%q, %d) = %q, want %q", c.in, c.cols, got, c.want)
		}
	}
}

func TestLayoutTextPages(t *testing.T) {
	for _, c := range []struct {
		in    string
		pages int
	}{
		{"one\ftwo\fthree", 3},
		{"one\f", 1},
		{"one\n\n\n", 1},
		{strings.Repeat("line\n", 130), 3}, // 60 lines a page at 10 pt
		{"\r\ncr lf\rcr\n", 1},
	} {
		tx, err := LayoutText([]byte(c.in), TextOptions{Resolution: imaging.Fine})
		if err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		if tx.Pages() != c.pages {
			t.Errorf("%q: %d pages, want %d", c.in, tx.Pages(), c.pages)
		}
	}
	for _, bad := range []string{"", "\n \n", "\xff\xfe"} {
		if _, err := LayoutText([]byte(bad), TextOptions{}); !errors.Is(err, ErrNotText) {
			t.Errorf("%q: err = %v, want ErrNotText", bad, err)
		}
	}
	if _, err := LayoutText([]byte("a\fb\fc"), TextOptions{MaxPages: 2}); !errors.Is(err, ErrTooTall) {
		t.Errorf("over MaxPages: %v", err)
	}
}

// FuzzLayoutText lays out arbitrary text: an error or pages whose lines
// fit and keep every printable character; the first page typesets.
func FuzzLayoutText(f *testing.F) {
	f.Add([]byte("Dear Sir,\n\tplease find the invoice attached.\r\n"))
	f.Add([]byte(strings.Repeat("x", 300)))
	f.Add([]byte("caf\xc3\xa9 \xe2\x82\xac 5 ✓\n\f\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		if len(text) > 20000 {
			return
		}
		tx, err := LayoutText(text, TextOptions{Resolution: imaging.Standard, MaxPages: 20})
		if err != nil {
			return
		}
		in, out := 0, 0
		for _, r := range string(text) {
			if r != ' ' && r != '\ufeff' && !isCtl(r) {
				in++
			}
		}
		for _, pg := range tx.pages {
			for _, l := range pg {
				if n := utf8.RuneCountInString(l.s); n > tx.cols {
					t.Fatalf("line of %d runes, want at most %d", n, tx.cols)
				}
				out += len([]rune(strings.ReplaceAll(l.s, " ", "")))
			}
		}
		if in != out {
			t.Fatalf("layout kept %d of %d characters", out, in)
		}
		if _, err := tx.Page(context.Background(), 0); err != nil {
			t.Fatal(err)
		}
	})
}

func isCtl(r rune) bool { return r < 0x20 || r >= 0x7f && r < 0xa0 }

// FuzzLayoutCover lays arbitrary templates and fields out: an error for a
// bad template (ErrCoverTemplate, ErrNotText, ErrTooTall), never a panic,
// and a first page that typesets.
func FuzzLayoutCover(f *testing.F) {
	f.Add(DefaultCover, "Dana\fX", "Note\n# not a heading?\f")
	f.Add([]byte("{{Nope}}"), "", "")
	f.Add([]byte("# {{Subject}}\n{{Note}}"), "{{To}}", "%p")
	f.Fuzz(func(t *testing.T, tmpl []byte, to, note string) {
		if len(tmpl) > 4000 || len(note) > 4000 {
			return
		}
		tx, err := LayoutCover(tmpl, CoverFields{To: to, Note: note, Pages: 2}, TextOptions{Resolution: imaging.Standard, MaxPages: 5})
		if err != nil {
			if !errors.Is(err, ErrCoverTemplate) && !errors.Is(err, ErrNotText) && !errors.Is(err, ErrTooTall) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if _, err := tx.Page(context.Background(), 0); err != nil {
			t.Fatal(err)
		}
	})
}
