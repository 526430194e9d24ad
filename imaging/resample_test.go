package imaging

import (
	"errors"
	"testing"
)

func TestRescaleRows(t *testing.T) {
	const w = 64
	src := NewPage(w, 10, Standard)
	for y := 0; y < src.Height; y++ {
		src.Set(y, y, true) // one black pixel per row, on the diagonal
	}
	tests := []struct {
		from, to Resolution
		rows     int
	}{
		{Standard, Fine, 20},
		{Standard, Superfine, 40},
		{Fine, Standard, 5},
		{Superfine, Standard, 3},
		{Standard, Standard, 10},
	}
	for _, tc := range tests {
		p := *src
		p.Resolution = tc.from
		got, err := ReadPage(RescaleRows(p.Rows(), w, tc.from, tc.to), w, tc.to, 0)
		if err != nil {
			t.Fatalf("%v->%v: %v", tc.from, tc.to, err)
		}
		if got.Height < tc.rows-1 || got.Height > tc.rows+1 {
			t.Errorf("%v->%v: %d rows, want %d", tc.from, tc.to, got.Height, tc.rows)
		}
		// Every source black pixel survives somewhere in its column.
		for x := 0; x < 10; x++ {
			found := false
			for y := 0; y < got.Height; y++ {
				if got.Black(x, y) {
					found = true
				}
			}
			if !found && tc.from <= tc.to {
				t.Errorf("%v->%v: column %d lost its black pixel", tc.from, tc.to, x)
			}
		}
	}
}

func TestRescaleRowsEmpty(t *testing.T) {
	p := NewPage(8, 0, Standard)
	r := RescaleRows(p.Rows(), 8, Standard, Fine)
	if err := r.ReadRow(make([]byte, 1)); !errors.Is(err, ErrEndOfPage) {
		t.Fatalf("got %v, want ErrEndOfPage", err)
	}
}
