package faxdoc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// PDF and PostScript pages are rasterised by external programs to grey PNG
// files in a temporary directory, one per page, and converted like
// pictures as they are read. Every page is scaled to the fax width
// (ss times the fax width for resolutions taller than wide, so no detail
// is lost) and the output is cropped to maxAspect times the width: a page
// bomb (an enormous MediaBox) costs no more memory than a normal page.

// ErrNoTool means a program needed for a kind of document is not installed.
var ErrNoTool = errors.New("program not installed")

// ErrBroken means a document claims a kind but does not read as one.
var ErrBroken = errors.New("broken document")

// toolMemory bounds the address space of an external program.
const toolMemory = 1 << 30

// maxPageSide bounds a PDF page's sides in points: A0's long side. A
// larger page is no document page (the largest MediaBox, 14400 pt, is
// five metres).
const maxPageSide = 3370

// maxAspect bounds a PDF page's height over its width: a longer page is
// refused (a fax page is at most about 3 A4 pages long).
const maxAspect = 4

func lookTool(name, pkg, kind string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%w: %s input needs %s (Debian package %s)", ErrNoTool, kind, name, pkg)
	}
	return p, nil
}

// runTool runs a program on a document of a kind, the first line of its
// error output quoted in the error (with path replaced by "document").
//
// The program runs with at most toolMemory of address space (ulimit -v,
// through sh): a page that would need more fails instead of taking the
// machine's memory.
func runTool(ctx context.Context, kind, path string, name string, args ...string) ([]byte, error) {
	sh := "/bin/sh"
	cmd := exec.CommandContext(ctx, sh, append([]string{"-c", fmt.Sprintf(`ulimit -v %d && exec "$0" "$@"`, toolMemory>>10), name}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent"}
	if err := cmd.Run(); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		msg := strings.TrimSpace(strings.ReplaceAll(stderr.String(), path, "document"))
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		if len(msg) > 200 {
			msg = msg[:200]
		}
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("%w: not a readable %s (%s: %s)", ErrBroken, kind, filepath.Base(name), msg)
	}
	return stdout.Bytes(), nil
}

var (
	pdfPagesRe = regexp.MustCompile(`(?m)^Pages:\s+(\d+)`)
	pdfSizeRe  = regexp.MustCompile(`(?m)^Page\s+(\d+) size:\s+([0-9.]+) x ([0-9.]+) pts`)
	pdfRotRe   = regexp.MustCompile(`(?m)^Page\s+(\d+) rot:\s+(\d+)`)
)

// rasterisePDF checks a PDF with pdfinfo (page count against maxPages,
// every page's shape) and renders its pages with pdftoppm into dir.
func rasterisePDF(ctx context.Context, path, dir string, width, ss, maxPages int) ([]string, error) {
	info, err := lookTool("pdfinfo", "poppler-utils", "PDF")
	if err != nil {
		return nil, err
	}
	ppm, err := lookTool("pdftoppm", "poppler-utils", "PDF")
	if err != nil {
		return nil, err
	}
	out, err := runTool(ctx, "PDF", path, info, path)
	if err != nil {
		return nil, err
	}
	m := pdfPagesRe.FindSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("%w: pdfinfo names no page count", ErrBroken)
	}
	n, err := strconv.Atoi(string(m[1]))
	switch {
	case err != nil || n == 0:
		return nil, fmt.Errorf("%w: the PDF has no pages", ErrBroken)
	case n > maxPages:
		return nil, fmt.Errorf("%w: the PDF has %d pages, more than %d", ErrTooLarge, n, maxPages)
	}
	out, err = runTool(ctx, "PDF", path, info, "-f", "1", "-l", strconv.Itoa(n), path)
	if err != nil {
		return nil, err
	}
	rot := map[string]bool{}
	for _, r := range pdfRotRe.FindAllSubmatch(out, -1) {
		rot[string(r[1])] = string(r[2]) == "90" || string(r[2]) == "270"
	}
	for _, s := range pdfSizeRe.FindAllSubmatch(out, -1) {
		w, _ := strconv.ParseFloat(string(s[2]), 64)
		h, _ := strconv.ParseFloat(string(s[3]), 64)
		if rot[string(s[1])] {
			w, h = h, w
		}
		switch {
		case !(w > 0 && h > 0):
			return nil, fmt.Errorf("%w: PDF page %s is %s x %s pt", ErrBroken, s[1], s[2], s[3])
		case w > maxPageSide || h > maxPageSide:
			return nil, fmt.Errorf("%w: PDF page %s is %s x %s pt, larger than A0", ErrTooLarge, s[1], s[2], s[3])
		case h > maxAspect*w:
			return nil, fmt.Errorf("%w: PDF page %s is %s x %s pt: too long for a fax page", ErrTooLarge, s[1], s[2], s[3])
		}
	}
	w := width * ss
	if _, err := runTool(ctx, "PDF", path, ppm, "-gray", "-png", "-l", strconv.Itoa(n),
		"-scale-to-x", strconv.Itoa(w), "-scale-to-y", "-1",
		"-W", strconv.Itoa(w), "-H", strconv.Itoa(maxAspect*w),
		path, filepath.Join(dir, "p")); err != nil {
		return nil, err
	}
	return pageFiles(dir, n)
}

// minPostScriptMemory is the least memory ghostscript is given, whatever
// the picture budget: it needs about 30 MB to start and an A4 page bitmap.
const minPostScriptMemory = 64 << 20

// rasterisePS renders PostScript with ghostscript on A4 paper (the
// document's own page size is fitted to it: fixed media bound the page
// memory) into dir. A PostScript program can allocate what it likes
// (strings in a loop), so ghostscript is held to mem bytes (at least
// minPostScriptMemory) with -K: over it the program fails with VMerror.
func rasterisePS(ctx context.Context, path, dir string, width, ss, maxPages int, mem int64) ([]string, error) {
	gs, err := lookTool("gs", "ghostscript", "PostScript")
	if err != nil {
		return nil, err
	}
	// A4 is 8.27 in wide; the resolution that makes it width pixels.
	dpi := float64(width*ss) / (595.0 / 72)
	if _, err := runTool(ctx, "PostScript", path, gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-dNOINTERPOLATE",
		"-K"+strconv.FormatInt(max(mem, minPostScriptMemory)>>10, 10),
		"-sDEVICE=pnggray", "-r"+strconv.FormatFloat(dpi, 'f', 2, 64),
		"-sPAPERSIZE=a4", "-dFIXEDMEDIA", "-dPSFitPage",
		"-dLastPage="+strconv.Itoa(maxPages+1),
		"-sOutputFile="+filepath.Join(dir, "p-%05d.png"), "--", path); err != nil {
		return nil, err
	}
	files, err := pageFiles(dir, maxPages+1)
	if err != nil {
		return nil, err
	}
	if len(files) > maxPages {
		return nil, fmt.Errorf("%w: the PostScript has more than %d pages", ErrTooLarge, maxPages)
	}
	return files, nil
}

// pageFiles lists the page files in dir in page order (the programs pad
// page numbers to the same width, so names sort).
func pageFiles(dir string, atMost int) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var pages []string
	for _, e := range ents {
		pages = append(pages, filepath.Join(dir, e.Name()))
	}
	sort.Strings(pages)
	if len(pages) == 0 {
		return nil, fmt.Errorf("%w: no pages", ErrBroken)
	}
	if len(pages) > atMost {
		pages = pages[:atMost]
	}
	return pages, nil
}
