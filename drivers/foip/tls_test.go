package foip

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/drivertest"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/t30"
)

// testCA is a self-signed CA made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // PEM of the CA certificate
}

func newTestCA(t *testing.T, dir, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &testCA{cert: cert, key: key, file: filepath.Join(dir, name+"-ca.pem")}
	writePEM(t, ca.file, "CERTIFICATE", der)
	return ca
}

// issue makes a certificate for 127.0.0.1 (server and client use) and
// returns the certificate and key files.
func (ca *testCA) issue(t *testing.T, dir, name string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", kder)
	return certFile, keyFile
}

func writePEM(t *testing.T, file, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestFaxOverTLS sends a 1-page fax between two drivers whose SIP runs
// over TLS with certificates from a CA made for the test, and checks that
// a peer whose certificate comes from another CA is refused both ways (we
// do not trust its server certificate when calling it, nor its client
// certificate when it calls us).
func TestFaxOverTLS(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, dir, "trusted")
	certA, keyA := ca.issue(t, dir, "a")
	certB, keyB := ca.issue(t, dir, "b")

	t.Run("fax", func(t *testing.T) {
		a, b := pair(t, "tls", func(a, b *Config) {
			a.TLSCert, a.TLSKey, a.TLSCA = certA, keyA, ca.file
			b.TLSCert, b.TLSKey, b.TLSCA = certB, keyB, ca.file
		})
		doc := drivertest.Doc(1, imaging.WidthA4, 40, imaging.Standard, 11)
		sr, rr, sink := fax(t, a, b, doc, drivers.ECMOn, nil)
		checkPages(t, doc, sink)
		if sr.Code != t30.OK || rr.Code != t30.OK || sr.PagesConfirmed != 1 {
			t.Fatalf("codes %v / %v, pages confirmed %d", sr.Code, rr.Code, sr.PagesConfirmed)
		}
		if got := a.contact.Address.Scheme; got != "sips" {
			t.Errorf("contact scheme %q, want sips", got)
		}
	})

	t.Run("untrusted-peer", func(t *testing.T) {
		other := newTestCA(t, dir, "other")
		certX, keyX := other.issue(t, dir, "x")
		xCert, err := tls.LoadX509KeyPair(certX, keyX)
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AddCert(ca.cert)
		a, x := pair(t, "tls", func(a, x *Config) {
			a.TLSCert, a.TLSKey, a.TLSCA = certA, keyA, ca.file
			// x trusts our CA but presents a certificate from another,
			// also as a client (where Go would otherwise send none, as
			// it matches none of the CAs we ask for).
			x.TLSConfig = &tls.Config{Certificates: []tls.Certificate{xCert}, RootCAs: roots,
				GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &xCert, nil }}
		})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// We call x: x's server certificate does not verify.
		_, err = a.Dial(ctx, a.Ports()[0].ID, "2002", drivers.DialOptions{RingTimeout: 5 * time.Second})
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Errorf("dialling the untrusted peer: %v, want an unknown-authority error", err)
		}
		// x calls us: our server refuses its client certificate.
		_, err = x.Dial(ctx, x.Ports()[0].ID, "1001", drivers.DialOptions{RingTimeout: 5 * time.Second})
		if err == nil {
			t.Errorf("the untrusted peer's call went through")
		}
		if a.Stats().InvitesIn != 0 || x.Stats().InvitesIn != 0 {
			t.Errorf("INVITEs reached a driver over an untrusted connection: a %d, x %d", a.Stats().InvitesIn, x.Stats().InvitesIn)
		}
	})

	t.Run("config", func(t *testing.T) {
		for _, c := range []Config{
			{Transport: "tls", Peer: "127.0.0.1:5061"},                                                        // no certificate
			{Transport: "tls", Peer: "127.0.0.1:5061", TLSCert: filepath.Join(dir, "none.pem"), TLSKey: keyA}, // missing file
			{Transport: "tls", Peer: "127.0.0.1:5061", TLSCert: certA, TLSKey: keyA, TLSCA: keyA},             // CA file without a certificate
			{Transport: "tls", Peer: "127.0.0.1:5061", TLSCert: certA, TLSKey: keyB},                          // key of another certificate
		} {
			if _, err := New(c); !errors.Is(err, ErrConfig) {
				t.Errorf("New(%+v): %v, want ErrConfig", c, err)
			}
		}
		if _, err := New(Config{Transport: "TLS", Peer: "127.0.0.1:5061", TLSConfig: &tls.Config{}}); err != nil {
			t.Errorf("New with a TLSConfig: %v", err)
		}
	})
}
