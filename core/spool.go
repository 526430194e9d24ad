package core

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// spool keeps document content in files named by their SHA-256:
// <dir>/<first two hex digits>/<hex>. Writes go to a temporary file in
// <dir>/tmp and are renamed into place once complete, so a crash leaves at
// most a stray temporary file, never a partial document.
type spool struct {
	dir string
}

func newSpool(dir string) (spool, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return spool{}, fmt.Errorf("core: spool: %w", err)
	}
	return spool{dir: dir}, nil
}

func (sp spool) path(sum string) string {
	return filepath.Join(sp.dir, sum[:2], sum)
}

// put stores r (at most max bytes) and returns its hash and size; created
// says whether the file is new (and so may be removed again if the
// transaction that refers to it fails).
func (sp spool) put(r io.Reader, max int64) (sum string, size int64, created bool, err error) {
	f, err := os.CreateTemp(filepath.Join(sp.dir, "tmp"), "doc-*")
	if err != nil {
		return "", 0, false, fmt.Errorf("core: spool: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if f != nil {
			f.Close()
		}
		if err != nil {
			os.Remove(tmp)
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, max+1))
	if err != nil {
		return "", 0, false, fmt.Errorf("core: spool write: %w", err)
	}
	if n > max {
		return "", 0, false, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
	}
	if n == 0 {
		return "", 0, false, fmt.Errorf("%w: empty document", ErrInvalid)
	}
	if err = f.Sync(); err != nil {
		return "", 0, false, fmt.Errorf("core: spool sync: %w", err)
	}
	if err = f.Close(); err != nil {
		f = nil
		return "", 0, false, fmt.Errorf("core: spool close: %w", err)
	}
	f = nil
	sum = hex.EncodeToString(h.Sum(nil))
	dst := sp.path(sum)
	if _, serr := os.Stat(dst); serr == nil {
		os.Remove(tmp)
		return sum, n, false, nil
	}
	if err = os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return "", 0, false, fmt.Errorf("core: spool: %w", err)
	}
	if err = os.Rename(tmp, dst); err != nil {
		return "", 0, false, fmt.Errorf("core: spool: %w", err)
	}
	return sum, n, true, nil
}

func (sp spool) open(sum string) (*os.File, error) {
	if len(sum) != 64 {
		return nil, fmt.Errorf("%w: document hash %q", ErrInvalid, sum)
	}
	f, err := os.Open(sp.path(sum))
	if err != nil {
		return nil, fmt.Errorf("core: spool: %w", err)
	}
	return f, nil
}

// checkName accepts a display name for a document: a plain file name, not
// a path, without control characters.
func checkName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty document name", ErrInvalid)
	case len(name) > 255:
		return fmt.Errorf("%w: document name longer than 255 bytes", ErrInvalid)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: document name is not UTF-8", ErrInvalid)
	case name == "." || name == ".." || strings.ContainsAny(name, `/\:`):
		return fmt.Errorf("%w: document name %q looks like a path", ErrInvalid, name)
	case strings.HasPrefix(name, "."):
		return fmt.Errorf("%w: document name %q starts with a dot", ErrInvalid, name)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: document name has control characters", ErrInvalid)
		}
	}
	return nil
}

// spoolDocument writes the content to the spool before the transaction and
// returns a cleanup that removes a newly created file if the transaction
// fails.
func (s *sqlStore) spoolDocument(in DocumentInput) (sum string, size int64, cleanup func(), err error) {
	if in.Body == nil {
		return "", 0, nil, fmt.Errorf("%w: document without content", ErrInvalid)
	}
	sum, size, created, err := s.spool.put(in.Body, s.o.MaxDocumentSize)
	if err != nil {
		return "", 0, nil, err
	}
	cleanup = func() {}
	if created {
		// Remove the new file unless a row refers to it by now (another
		// upload of the same content may have committed meanwhile).
		cleanup = func() {
			var n int
			err := s.read().row(context.Background(), "SELECT COUNT(*) FROM documents WHERE sha256 = ?", sum).Scan(&n)
			if err == nil && n == 0 {
				os.Remove(s.spool.path(sum))
			}
		}
	}
	return sum, size, cleanup, nil
}

// insertDocument records a spooled file (or finds its row) in a transaction.
func (s *sqlStore) insertDocument(ctx context.Context, d q, sum string, size int64, contentType string, pages int) (Document, error) {
	doc := Document{SHA256: sum, Size: size, ContentType: contentType, Pages: pages, Created: s.now()}
	err := d.row(ctx, "SELECT id, content_type, pages, created_at FROM documents WHERE sha256 = ?", sum).
		Scan(&doc.ID, &doc.ContentType, &doc.Pages, new(int64))
	if err == nil {
		return s.document(ctx, d, doc.ID)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return Document{}, err
	}
	// Two submissions of the same content may race past the SELECT above:
	// the loser's INSERT does nothing (on PostgreSQL it first waits for the
	// winner to commit) and it takes the winner's row.
	err = d.row(ctx, "INSERT INTO documents (sha256, size, content_type, pages, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING RETURNING id",
		sum, size, contentType, pages, ms(doc.Created)).Scan(&doc.ID)
	if errors.Is(err, sql.ErrNoRows) {
		var id int64
		if err := d.row(ctx, "SELECT id FROM documents WHERE sha256 = ?", sum).Scan(&id); err != nil {
			return Document{}, fmt.Errorf("core: insert document: %w", err)
		}
		return s.document(ctx, d, id)
	}
	if err != nil {
		return Document{}, fmt.Errorf("core: insert document: %w", err)
	}
	if err := s.storeContent(ctx, d, sum); err != nil {
		return Document{}, fmt.Errorf("core: document content: %w", err)
	}
	doc.Created = fromMS(ms(doc.Created))
	return doc, nil
}

// storeContent copies a spooled file into document_content (PostgreSQL
// only; nothing on SQLite), in the transaction that records its row. The
// file is at most MaxDocumentSize bytes: the spool refused larger ones.
func (s *sqlStore) storeContent(ctx context.Context, d q, sum string) error {
	if !s.pg {
		return nil
	}
	b, err := os.ReadFile(s.spool.path(sum))
	if err != nil {
		return err
	}
	_, err = d.exec(ctx, "INSERT INTO document_content (sha256, content) VALUES (?, ?) ON CONFLICT (sha256) DO NOTHING", sum, b)
	return err
}

// local makes sure the spool holds a document's content: on PostgreSQL a
// file missing here (the document came through another core) is fetched
// from document_content, checked against its hash and spooled.
func (s *sqlStore) local(ctx context.Context, sum string) (string, error) {
	if len(sum) != 64 {
		return "", fmt.Errorf("%w: document hash %q", ErrInvalid, sum)
	}
	p := s.spool.path(sum)
	_, err := os.Stat(p)
	if err == nil || !s.pg || !errors.Is(err, os.ErrNotExist) {
		if err != nil {
			return "", fmt.Errorf("core: spool: %w", err)
		}
		return p, nil
	}
	var b []byte
	if err := s.read().row(ctx, "SELECT content FROM document_content WHERE sha256 = ?", sum).Scan(&b); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("%w: content of document %s is in no spool and not in the database", ErrNotFound, sum)
		}
		return "", fmt.Errorf("core: document content: %w", err)
	}
	got, _, _, err := s.spool.put(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return "", err
	}
	if got != sum {
		return "", fmt.Errorf("core: document content of %s has hash %s", sum, got)
	}
	return p, nil
}

func (s *sqlStore) document(ctx context.Context, d q, id int64) (Document, error) {
	var doc Document
	var created int64
	err := d.row(ctx, "SELECT id, sha256, size, content_type, pages, created_at FROM documents WHERE id = ?", id).
		Scan(&doc.ID, &doc.SHA256, &doc.Size, &doc.ContentType, &doc.Pages, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Document{}, fmt.Errorf("%w: document %d", ErrNotFound, id)
	}
	if err != nil {
		return Document{}, fmt.Errorf("core: document: %w", err)
	}
	doc.Created = fromMS(created)
	return doc, nil
}

func (s *sqlStore) PutDocument(ctx context.Context, in DocumentInput) (Document, error) {
	if err := checkName(in.Name); err != nil {
		return Document{}, err
	}
	if in.Pages < 0 {
		return Document{}, fmt.Errorf("%w: negative page count", ErrInvalid)
	}
	sum, size, cleanup, err := s.spoolDocument(in)
	if err != nil {
		return Document{}, err
	}
	var doc Document
	err = s.tx(ctx, func(d q) error {
		var err error
		doc, err = s.insertDocument(ctx, d, sum, size, in.ContentType, in.Pages)
		return err
	})
	if err != nil {
		cleanup()
		return Document{}, err
	}
	return doc, nil
}

func (s *sqlStore) Document(ctx context.Context, id int64) (Document, error) {
	return s.document(ctx, s.read(), id)
}

func (s *sqlStore) OpenDocument(ctx context.Context, id int64) (Document, io.ReadCloser, error) {
	doc, err := s.Document(ctx, id)
	if err != nil {
		return Document{}, nil, err
	}
	if _, err := s.local(ctx, doc.SHA256); err != nil {
		return Document{}, nil, err
	}
	f, err := s.spool.open(doc.SHA256)
	if err != nil {
		return Document{}, nil, err
	}
	return doc, f, nil
}

func (s *sqlStore) DocumentFile(ctx context.Context, id int64) (string, error) {
	doc, err := s.Document(ctx, id)
	if err != nil {
		return "", err
	}
	return s.local(ctx, doc.SHA256)
}
