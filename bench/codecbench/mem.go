package main

import (
	"bytes"
	"fmt"

	"github.com/faxagent/faxagent/imaging"
)

// benchMem is the in-memory encode that spandspt4bench measures with
// SpanDSP's t4_tx: each page coded REPS times from its rows in memory
// into one reused buffer (an EOL before every row and RTC for MH and MR,
// EOFB for MMR; K = the page's resolution's), in the given bit order. It
// prints
//
//	ours <codec>[-msb] encode-mem <pages> <seconds> <pages/s> <bytes/page> <fnv1a>
//
// with fnv1a over every page's bytes but the last of the first rep, as
// spandspt4bench hashes its own (SpanDSP pads the last byte with ones).
func benchMem(c imaging.Compression, order imaging.BitOrder, pages []*imaging.Page, reps int) error {
	var out bytes.Buffer
	out.Grow(1 << 20)
	var e *imaging.Encoder
	hash := uint32(2166136261)
	bytesPerRep := 0
	n := reps * len(pages)
	start := cpu()
	for r := 0; r < reps; r++ {
		for _, p := range pages {
			out.Reset()
			if e == nil {
				var err error
				e, err = imaging.NewEncoder(&out, imaging.EncodeOptions{Compression: c, Width: p.Width, K: p.Resolution.K(), BitOrder: order})
				if err != nil {
					return err
				}
			} else {
				e.Reset(&out)
			}
			for y := 0; y < p.Height; y++ {
				if err := e.WriteRow(p.Row(y)); err != nil {
					return err
				}
			}
			if err := e.Close(); err != nil {
				return err
			}
			if r == 0 {
				b := out.Bytes()
				bytesPerRep += len(b)
				for _, x := range b[:max(len(b)-1, 0)] {
					hash = (hash ^ uint32(x)) * 16777619
				}
			}
		}
	}
	secs := (cpu() - start).Seconds()
	name := c.String()
	if order == imaging.MSBFirst {
		name += "-msb"
	}
	fmt.Printf("ours %s encode-mem %d %.6f %.1f %d %08x\n", name, n, secs, float64(n)/secs, bytesPerRep/len(pages), hash)
	return nil
}
