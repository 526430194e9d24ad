// Command codecbench is our side of bench/codecs.sh: it reads the pages of
// an uncompressed bilevel TIFF, then, for each of MH, MR and MMR, writes
// them REPS times into a TIFF file on /dev/shm with our TIFF writer (coding
// every row) and reads that file back REPS times with our TIFF reader
// (decoding every row), as libtiffbench does with libtiff, printing lines in
// libtiffbench's format:
//
//	ours <codec> <encode|decode> <pages> <seconds> <pages/s> <bytes/page> <allocs/page>
//
// With a third argument "mem" it instead codes the pages in memory in
// both bit orders, as spandspt4bench does with SpanDSP (see benchMem).
//
// Times are process CPU time (getrusage), as libtiffbench measures with
// CLOCK_PROCESS_CPUTIME_ID, so that a busy machine does not skew the ratio.
package main

import (
	"errors"
	"fmt"
	"io"
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
		fmt.Fprintln(os.Stderr, "usage: codecbench IN.tif REPS [mem]")
		os.Exit(2)
	}
	reps, _ := strconv.Atoi(os.Args[2])
	pages, err := load(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "codecbench:", err)
		os.Exit(1)
	}
	if len(os.Args) > 3 && os.Args[3] == "mem" {
		for _, m := range []struct {
			c     imaging.Compression
			order imaging.BitOrder
		}{{imaging.MH, imaging.LSBFirst}, {imaging.MH, imaging.MSBFirst}, {imaging.MR, imaging.LSBFirst}, {imaging.MMR, imaging.LSBFirst}} {
			if err := benchMem(m.c, m.order, pages, reps); err != nil {
				fmt.Fprintln(os.Stderr, "codecbench:", err)
				os.Exit(1)
			}
		}
		return
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
	// Like libtiffbench: a TIFF file on /dev/shm (tmpfs) written REPS
	// times, page by page, then read back REPS times.
	f, err := os.CreateTemp(shm(), "codecbench-*.tif")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	n := reps * len(pages)
	m0 := mallocs()
	start := cpu()
	for r := 0; r < reps; r++ {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if err := f.Truncate(0); err != nil {
			return err
		}
		w := tiff.NewWriter(f, tiff.WriterOptions{Compression: c})
		for _, p := range pages {
			pw, err := w.NewPage(tiff.PageSpec{Width: p.Width, Resolution: p.Resolution, Rows: p.Height})
			if err != nil {
				return err
			}
			for y := 0; y < p.Height; y++ {
				if err := pw.WriteRow(p.Row(y)); err != nil {
					return err
				}
			}
			if err := pw.Close(); err != nil {
				return err
			}
		}
		if err := w.Close(); err != nil {
			return err
		}
	}
	enc := cpu() - start
	encAllocs := float64(mallocs()-m0) / float64(n)
	st, err := f.Stat()
	if err != nil {
		return err
	}
	perPage := st.Size() / int64(len(pages))
	fmt.Printf("ours %s encode %d %.6f %.1f %d %.1f\n", c, n, enc.Seconds(), float64(n)/enc.Seconds(), perPage, encAllocs)

	row := make([]byte, imaging.RowBytes(pages[0].Width))
	m0 = mallocs()
	start = cpu()
	for r := 0; r < reps; r++ {
		t, err := tiff.Open(f, st.Size())
		if err != nil {
			return err
		}
		for i, p := range pages {
			pr, err := t.Page(i)
			if err != nil {
				return err
			}
			rows := 0
			for {
				err := pr.ReadRow(row)
				if errors.Is(err, imaging.ErrEndOfPage) {
					break
				}
				if err != nil {
					return err
				}
				rows++
			}
			if rows != p.Height || pr.Stats().BadRows != 0 {
				return fmt.Errorf("%s page %d: decoded %d rows (%d bad), want %d", c, i+1, rows, pr.Stats().BadRows, p.Height)
			}
		}
	}
	dec := cpu() - start
	decAllocs := float64(mallocs()-m0) / float64(n)
	fmt.Printf("ours %s decode %d %.6f %.1f %d %.1f\n", c, n, dec.Seconds(), float64(n)/dec.Seconds(), perPage, decAllocs)
	return nil
}

// shm is where the TIFF goes: /dev/shm as for libtiffbench, or the
// temporary directory where there is none.
func shm() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		return "/dev/shm"
	}
	return os.TempDir()
}
