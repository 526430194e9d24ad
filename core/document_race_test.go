package core

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
)

// Concurrent uploads of the same content all succeed and share one
// document row (PostgreSQL used to fail the loser with a unique violation).
func TestPutDocumentConcurrentSameContent(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			st, _, _ := openTest(t, be, nil)
			ctx := context.Background()
			const n = 8
			for round := 0; round < 5; round++ {
				body := strings.Repeat("II*\x00 same page data ", 100+round)
				ids := make([]int64, n)
				errs := make([]error, n)
				var wg sync.WaitGroup
				for i := 0; i < n; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						d, err := st.PutDocument(ctx, DocumentInput{Name: "same.tif", Body: strings.NewReader(body)})
						ids[i], errs[i] = d.ID, err
					}()
				}
				wg.Wait()
				for i := 0; i < n; i++ {
					if errs[i] != nil {
						t.Fatalf("round %d upload %d: %v", round, i, errs[i])
					}
					if ids[i] != ids[0] {
						t.Fatalf("round %d: uploads got documents %d and %d for the same content", round, ids[0], ids[i])
					}
				}
				rc, err := func() (int, error) {
					_, f, err := st.OpenDocument(ctx, ids[0])
					if err != nil {
						return 0, err
					}
					defer f.Close()
					buf := new(bytes.Buffer)
					_, err = buf.ReadFrom(f)
					return buf.Len(), err
				}()
				if err != nil || rc != len(body) {
					t.Fatalf("round %d: stored document reads %d bytes (%v), want %d", round, rc, err, len(body))
				}
			}
		})
	}
}
