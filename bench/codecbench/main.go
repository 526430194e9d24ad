// Command codecbench is our side of bench/codecs.sh: it reads the pages of
// an uncompressed bilevel TIFF, then encodes and decodes them with our MH,
// MR and MMR codecs REPS times, printing lines in libtiffbench's format:
//
//	ours <codec> <encode|decode> <pages> <seconds> <pages/s> <bytes/page> <allocs/page>
//
// Times are process CPU time (getrusage), as libtiffbench measures with
// CLOCK_PROCESS_CPUTIME_ID, so that a busy machine does not skew the ratio.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/tiff"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: codecbench IN.tif REPS")
		os.Exit(2)
	}
	reps, _ := strconv.Atoi(os.Args[2])
	pages, err := load(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "codecbench:", err)
		os.Exit(1)
	}
	for _, c := range []imaging.Compression{imaging.MH, imaging.MR, imaging.MMR} {
		if err := bench(c, pages, reps); err != nil {
			fmt.Fprintln(os.Stderr, "codecbench:", err)
			os.Exit(1)
		}
	}
}

func load(path string) ([]*imaging.Page, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	t, err := tiff.Open(f, st.Size())
	if err != nil {
		return nil, err
	}
	var pages []*imaging.Page
	for i := 0; i < t.NumPages(); i++ {
		pr, err := t.Page(i)
		if err != nil {
			return nil, err
		}
		in := pr.Info()
		p, err := imaging.ReadPage(pr, in.Width, in.Resolution, 0)
		if err != nil {
			return nil, err
		}
		pages = append(pages, p)
	}
	return pages, nil
}

// cpu returns the process's user+system CPU time.
func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func mallocs() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Mallocs
}

func bench(c imaging.Compression, pages []*imaging.Page, reps int) error {
	coded := make([][]byte, len(pages))
	var enc time.Duration
	var buf bytes.Buffer
	e, err := imaging.NewEncoder(&buf, imaging.EncodeOptions{Compression: c, Width: pages[0].Width, K: pages[0].Resolution.K(), AlignEOL: true, NoRTC: true})
	if err != nil {
		return err
	}
	m0 := mallocs()
	start := cpu()
	for r := 0; r < reps; r++ {
		for i, p := range pages {
			buf.Reset()
			e.Reset(&buf)
			for y := 0; y < p.Height; y++ {
				if err := e.WriteRow(p.Row(y)); err != nil {
					return err
				}
			}
			if err := e.Close(); err != nil {
				return err
			}
			if r == 0 {
				coded[i] = append([]byte(nil), buf.Bytes()...)
			}
		}
	}
	enc = cpu() - start
	encAllocs := float64(mallocs()-m0) / float64(reps*len(pages))
	total := 0
	for _, d := range coded {
		total += len(d)
	}
	n := reps * len(pages)
	fmt.Printf("ours %s encode %d %.6f %.1f %d %.1f\n", c, n, enc.Seconds(), float64(n)/enc.Seconds(), total/len(pages), encAllocs)

	row := make([]byte, imaging.RowBytes(pages[0].Width))
	var dec time.Duration
	rd := bytes.NewReader(nil)
	var d *imaging.Decoder
	m0 = mallocs()
	start = cpu()
	for r := 0; r < reps; r++ {
		for i, p := range pages {
			rd.Reset(coded[i])
			if d == nil {
				d, err = imaging.NewDecoder(rd, imaging.DecodeOptions{Compression: c, Width: p.Width, Rows: p.Height})
				if err != nil {
					return err
				}
			} else {
				d.Reset(rd)
			}
			rows := 0
			for {
				err := d.ReadRow(row)
				if errors.Is(err, imaging.ErrEndOfPage) {
					break
				}
				if err != nil {
					return err
				}
				rows++
			}
			if rows != p.Height || d.Stats().BadRows != 0 {
				return fmt.Errorf("%s page %d: decoded %d rows (%d bad), want %d", c, i+1, rows, d.Stats().BadRows, p.Height)
			}
		}
	}
	dec = cpu() - start
	decAllocs := float64(mallocs()-m0) / float64(n)
	fmt.Printf("ours %s decode %d %.6f %.1f %d %.1f\n", c, n, dec.Seconds(), float64(n)/dec.Seconds(), total/len(pages), decAllocs)
	return nil
}
