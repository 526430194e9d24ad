package soap

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportPath resolves documentPath values: relative and absolute paths
// inside the import directory are accepted (the guide asks for the full
// path), anything that leaves it is a Client fault.
func TestImportPath(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "import")
	outside := filepath.Join(base, "secret.tif")
	sibling := filepath.Join(base, "import-evil")
	for _, d := range []string{filepath.Join(dir, "sub"), sibling, filepath.Join(base, "elsewhere")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(dir, "a.tif"), filepath.Join(dir, "sub", "b.tif"), outside,
		filepath.Join(sibling, "x.tif"), filepath.Join(base, "elsewhere", "c.tif")} {
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		filepath.Join(dir, "link.tif"):     outside,                          // escapes
		filepath.Join(dir, "linkdir"):      filepath.Join(base, "elsewhere"), // escapes
		filepath.Join(dir, "inner.tif"):    filepath.Join(dir, "sub", "b.tif"),
		filepath.Join(base, "import-link"): dir, // the configured directory may be a symlink
	}
	for l, to := range links {
		if err := os.Symlink(to, l); err != nil {
			t.Fatal(err)
		}
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, importDir := range []string{dir, filepath.Join(base, "import-link")} {
		h := &Handler{cfg: Config{ImportDir: importDir}}
		for _, c := range []struct {
			path string
			want string // resolved file below realDir, "" refused
		}{
			{"a.tif", "a.tif"},
			{"sub/b.tif", "sub/b.tif"},
			{`sub\b.tif`, "sub/b.tif"},
			{"./sub//b.tif", "sub/b.tif"},
			{"inner.tif", "sub/b.tif"},
			{filepath.Join(dir, "a.tif"), "a.tif"},
			{filepath.Join(dir, "sub", "b.tif"), "sub/b.tif"},
			{filepath.Join(importDir, "sub", "b.tif"), "sub/b.tif"},
			{filepath.Join(realDir, "a.tif"), "a.tif"},
			{dir + "/./sub//b.tif", "sub/b.tif"},
			{"", ""},
			{"nothere.tif", ""},
			{"../secret.tif", ""},
			{`..\secret.tif`, ""},
			{"sub/../a.tif", ""},
			{dir + "/../secret.tif", ""},
			{dir + "/sub/../a.tif", ""},
			{outside, ""},
			{filepath.Join(sibling, "x.tif"), ""},
			{dir, ""},
			{dir + "/", ""},
			{"/", ""},
			{"link.tif", ""},
			{filepath.Join(dir, "link.tif"), ""},
			{"linkdir/c.tif", ""},
			{filepath.Join(dir, "linkdir", "c.tif"), ""},
			{`C:\import\a.tif`, ""},
		} {
			got, err := h.importPath(c.path)
			if c.want == "" {
				var ce *clientError
				if err == nil || !errors.As(err, &ce) {
					t.Errorf("dir %s: importPath(%q) = %q, %v; want a Client fault", importDir, c.path, got, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("dir %s: importPath(%q): %v", importDir, c.path, err)
				continue
			}
			if want := filepath.Join(realDir, c.want); got != want {
				t.Errorf("dir %s: importPath(%q) = %q, want %q", importDir, c.path, got, want)
			}
			if !strings.HasPrefix(got, realDir+string(filepath.Separator)) {
				t.Errorf("importPath(%q) = %q is not below %s", c.path, got, realDir)
			}
		}
	}
}
