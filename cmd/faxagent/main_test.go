package main

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs one command line in-process.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

const sample = "../../testdata/sample/letter.png"

func TestConvertAndInfo(t *testing.T) {
	dir := t.TempDir()
	tif := filepath.Join(dir, "letter.tif")
	code, _, stderr := runCLI(t, "convert", sample, "-o", tif, "--resolution", "fine", "--compression", "mr",
		"--header", "%d %t FROM %c TO %n PAGE %p/%s", "--csid", "+1 555 0199", "--number", "100")
	if code != 0 {
		t.Fatalf("convert: exit %d: %s", code, stderr)
	}
	if _, out, _ := runCLI(t, "convert", sample, "-o", filepath.Join(dir, "one.tif")); out != filepath.Join(dir, "one.tif")+": 1 page\n" {
		t.Errorf("convert of one page says %q", out)
	}
	code, stdout, stderr := runCLI(t, "info", tif)
	if code != 0 {
		t.Fatalf("info: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 1 {
		t.Fatalf("info printed %d lines, want 1 per page:\n%s", len(lines), stdout)
	}
	for _, want := range []string{"page 1:", "1728x", "fine", "CCITT G3", "bad rows 0"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("info line %q lacks %q", lines[0], want)
		}
	}
	// Every output format from the TIFF, and back.
	for _, out := range []string{"l.pdf", "l.pbm", "l.png", "l-mmr.tif", "l-mh.tiff"} {
		args := []string{"convert", tif, "-o", filepath.Join(dir, out)}
		if strings.Contains(out, "mmr") {
			args = append(args, "--compression", "mmr")
		}
		if code, _, stderr := runCLI(t, args...); code != 0 {
			t.Fatalf("convert to %s: exit %d: %s", out, code, stderr)
		}
		st, err := os.Stat(filepath.Join(dir, out))
		if err != nil || st.Size() == 0 {
			t.Fatalf("%s not written: %v", out, err)
		}
	}
	code, stdout, _ = runCLI(t, "info", filepath.Join(dir, "l-mmr.tif"))
	if code != 0 || !strings.Contains(stdout, "CCITT G4") {
		t.Errorf("info of MMR copy: exit %d, %q", code, stdout)
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	tests := [][]string{
		{},
		{"nosuch"},
		{"convert", sample},
		{"convert", "-o", filepath.Join(dir, "x.tif")},
		{"convert", sample, "-o", filepath.Join(dir, "x.doc")},
		{"convert", sample, "-o", filepath.Join(dir, "x.tif"), "--compression", "jbig"},
		{"convert", sample, "-o", filepath.Join(dir, "x.tif"), "--resolution", "photo"},
		{"info"},
	}
	for _, args := range tests {
		if code, _, _ := runCLI(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	assertNoFiles(t, dir)
}

// le builds a little-endian TIFF with one IFD of the given entries and
// some strip bytes after it.
func craftTIFF(entries [][3]uint32, strip []byte) []byte {
	var b bytes.Buffer
	b.WriteString("II*\x00")
	binary.Write(&b, binary.LittleEndian, uint32(8))
	binary.Write(&b, binary.LittleEndian, uint16(len(entries)))
	dataOff := uint32(8 + 2 + 12*len(entries) + 4)
	for _, e := range entries {
		tag, typ, val := uint16(e[0]), uint16(e[1]), e[2]
		if tag == 273 { // StripOffsets
			val = dataOff
		}
		binary.Write(&b, binary.LittleEndian, tag)
		binary.Write(&b, binary.LittleEndian, typ)
		binary.Write(&b, binary.LittleEndian, uint32(1))
		if typ == 3 {
			binary.Write(&b, binary.LittleEndian, uint16(val))
			binary.Write(&b, binary.LittleEndian, uint16(0))
		} else {
			binary.Write(&b, binary.LittleEndian, val)
		}
	}
	binary.Write(&b, binary.LittleEndian, uint32(0))
	b.Write(strip)
	return b.Bytes()
}

func bilevelTIFF(width, height, compression uint32, strip []byte) []byte {
	return craftTIFF([][3]uint32{
		{256, 4, width}, {257, 4, height}, {258, 3, 1}, {259, 3, compression}, {262, 3, 0},
		{273, 4, 0}, {277, 3, 1}, {278, 4, height}, {279, 4, uint32(len(strip))},
	}, strip)
}

func pngBomb() []byte {
	// A PNG signature and an IHDR chunk claiming 100000 x 100000 pixels.
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], 100000)
	binary.BigEndian.PutUint32(ihdr[4:], 100000)
	ihdr[8], ihdr[9] = 8, 0
	binary.Write(&b, binary.BigEndian, uint32(13))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32IEEE(chunk))
	return b.Bytes()
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.tif")
	if code, _, stderr := runCLI(t, "convert", sample, "-o", good, "--compression", "mh"); code != 0 {
		t.Fatalf("making a good TIFF: %s", stderr)
	}
	goodBytes, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(good)
	corrupt := append([]byte(nil), goodBytes...)
	for i := 8; i < len(corrupt)-400; i += 7 {
		corrupt[i] ^= 0x5a
	}
	// The IFD is written after the page data: damage its entries.
	corruptIFD := append([]byte(nil), goodBytes...)
	for i := len(corruptIFD) - 120; i < len(corruptIFD); i += 3 {
		corruptIFD[i] ^= 0xa5
	}
	tests := []struct {
		name     string
		data     []byte
		wantPage bool // the error names the page
		infoOK   bool // info reads it (and reports its damage)
	}{
		{"truncated.tif", goodBytes[:len(goodBytes)/3], false, false},
		{"corrupt.tif", corrupt, true, true},
		{"corrupt-ifd.tif", corruptIFD, false, false},
		{"long.tif", bilevelTIFF(1728, 100000, 1, make([]byte, 216)), true, false},
		{"unknown-compression.tif", bilevelTIFF(1728, 10, 9999, make([]byte, 16)), true, false},
		{"bomb.png", pngBomb(), false, false},
		{"empty.png", nil, false, false},
		{"garbage.jpg", []byte("\xff\xd8\xff\xe0 not really a jpeg"), false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := filepath.Join(dir, tc.name)
			if err := os.WriteFile(in, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			defer os.Remove(in)
			for _, out := range []string{"out.tif", "out.pdf"} {
				code, _, stderr := runCLI(t, "convert", in, "-o", filepath.Join(dir, out))
				if code != 1 {
					t.Fatalf("convert %s -> %s: exit %d, want 1 (stderr %q)", tc.name, out, code, stderr)
				}
				if n := strings.Count(stderr, "\n"); n != 1 {
					t.Errorf("error is %d lines, want 1: %q", n, stderr)
				}
				if !strings.Contains(stderr, tc.name) {
					t.Errorf("error does not name the file: %q", stderr)
				}
				if tc.wantPage && !strings.Contains(stderr, "page 1") {
					t.Errorf("error does not name the page: %q", stderr)
				}
			}
			code, stdout, stderr := runCLI(t, "info", in)
			switch {
			case tc.infoOK && (code != 0 || strings.Contains(stdout, "bad rows 0 ")):
				t.Errorf("info %s: exit %d, %q; want the damage reported", tc.name, code, stdout)
			case !tc.infoOK && (code != 1 || !strings.Contains(stderr, tc.name)):
				t.Errorf("info %s: exit %d, stderr %q", tc.name, code, stderr)
			}
		})
	}
	// Nothing but the inputs' directory remains: no output, no partial file.
	assertNoFiles(t, dir)

	// A damaged page is accepted when asked for, with its rows concealed.
	in := filepath.Join(dir, "corrupt.tif")
	os.WriteFile(in, corrupt, 0o644)
	out := filepath.Join(dir, "kept.tif")
	if code, _, stderr := runCLI(t, "convert", in, "-o", out, "--keep-damaged"); code != 0 {
		t.Fatalf("--keep-damaged: exit %d: %s", code, stderr)
	}
	if _, stdout, _ := runCLI(t, "info", out); !strings.Contains(stdout, "1728x") {
		t.Errorf("kept copy: %q", stdout)
	}
}

func assertNoFiles(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("left behind: %s", e.Name())
	}
}

func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }
