package httpapi

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestListSearch(t *testing.T) {
	e := newEnv(t, 0)
	a := e.submit(part{"to", "", []byte("5550100")}, part{"subject", "", []byte("Quarterly report")}, part{"file", "letter.png", letter(t)})
	b := e.submit(part{"to", "", []byte("5550177")}, part{"subject", "", []byte("Invoice")}, part{"file", "letter.png", letter(t)})
	for _, tc := range []struct {
		q    string
		want []int64
	}{
		{"quarterly", []int64{a.ID}}, // subject, any letter case
		{"555017", []int64{b.ID}},    // a recipient's number, from the details
		{"5550", []int64{b.ID, a.ID}},
		{"nothing-like-it", nil},
	} {
		var l List
		e.getJSON("/api/v1/messages?folder=outbox&q="+url.QueryEscape(tc.q), http.StatusOK, &l)
		var got []int64
		for _, m := range l.Messages {
			got = append(got, m.ID)
		}
		if l.Total != len(tc.want) || len(got) != len(tc.want) {
			t.Fatalf("q=%q: total %d, got %v, want %v", tc.q, l.Total, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Fatalf("q=%q: got %v, want %v", tc.q, got, tc.want)
			}
		}
	}
	e.getJSON("/api/v1/messages?q="+strings.Repeat("x", 201), http.StatusBadRequest, nil)
}
