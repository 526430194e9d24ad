package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	apiclient "github.com/faxagent/faxagent/core/httpapi/client"
)

// client talks to a serve process's JSON API. Where the server and the
// token come from, first found wins:
//
//  1. --server and --token;
//  2. FAXAGENT_SERVER and FAXAGENT_TOKEN;
//  3. the files serve writes in its data directory (--data, FAXAGENT_DATA,
//     else ./faxagent-data): server-url and api-token;
//  4. the user config, $XDG_CONFIG_HOME/faxagent (~/.config/faxagent):
//     the same two files, written by serve at its first start and by
//     `faxagent login`;
//  5. http://127.0.0.1:8080 for the server.
//
// A token read from a file is sent only to the server named in that file.
// An https server's certificate is checked against the system's CAs, or
// only against a private CA's PEM file: --ca, else FAXAGENT_CA, else the
// user config's ca.pem (written by `faxagent login --ca`) when the server
// is the user config's.
type client struct {
	base  string
	token string
	from  string // where base came from, for error hints
	ca    string // the CA file trusted ("" the system's), for error hints
	http  *http.Client
}

// userConfigHint names the user config directory in help texts.
const userConfigHint = "($XDG_CONFIG_HOME/faxagent, else ~/.config/faxagent)"

type clientFlags struct {
	server, token, data, ca *string
}

// caFile is the user config's copy of the CA given to `faxagent login
// --ca`.
const caFile = "ca.pem"

func addClientFlags(fs *flag.FlagSet) clientFlags {
	return clientFlags{
		server: fs.String("server", "", "server `URL` (http://HOST:PORT; HOST:PORT alone is taken as http). Default: FAXAGENT_SERVER, the data directory, the user config, http://127.0.0.1:8080"),
		token:  fs.String("token", "", "API `TOKEN`. Default: FAXAGENT_TOKEN, the data directory's api-token, the user config's"),
		data:   fs.String("data", "", "serve's data `DIR`, whose server-url and api-token files are read (default: FAXAGENT_DATA, else ./faxagent-data)"),
		ca:     fs.String("ca", "", "PEM `FILE` of the CA trusted for an https server's certificate, instead of the system's (default: FAXAGENT_CA, the user config's ca.pem for its server)"),
	}
}

// httpClient returns the CLI's HTTP client; with caFile set it trusts only
// the CAs in that PEM file for the server's certificate.
func httpClient(caFile string, timeout time.Duration) (*http.Client, error) {
	hc := &http.Client{Timeout: timeout}
	if caFile == "" {
		return hc, nil
	}
	b, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("CA file %s: no PEM certificate in it", caFile)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	hc.Transport = t
	return hc, nil
}

// userConfigDir is where the CLI keeps the server's address and a token
// for use from any directory.
func userConfigDir(getenv func(string) string) string {
	if d := getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "faxagent")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "faxagent")
	}
	return ""
}

// readSetting reads one line from dir/name ("" when absent).
func readSetting(dir, name string) string {
	if dir == "" {
		return ""
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// writeUserConfig saves the server's URL and a token in the user config
// (directory 0700, token 0600).
func writeUserConfig(dir, serverURL, token string) error {
	if dir == "" {
		return errors.New("no user config directory: set HOME or XDG_CONFIG_HOME")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, tokenFile), token+"\n", 0o600); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, serverURLFile), serverURL+"\n", 0o600)
}

// writeFileAtomic writes path through a temporary file with mode perm.
func writeFileAtomic(path, data string, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.WriteString(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// normalizeServer turns HOST:PORT into http://HOST:PORT and checks the URL.
func normalizeServer(s string) (string, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "/")
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return "", usageError(fmt.Sprintf("server %q: want http://HOST:PORT or HOST:PORT", strings.TrimPrefix(s, "http://")))
	}
	return s, nil
}

func (f clientFlags) client(getenv func(string) string) (*client, error) {
	data := firstOf(*f.data, getenv("FAXAGENT_DATA"), "faxagent-data")
	user := userConfigDir(getenv)
	// A token from a file goes only to the server the same file names: a
	// --server elsewhere never receives the token of this machine's
	// server. One given by flag or environment goes where it is told.
	type source struct {
		server, token, name string
		file, user          bool
	}
	sources := []source{
		{*f.server, *f.token, "--server", false, false},
		{getenv("FAXAGENT_SERVER"), getenv("FAXAGENT_TOKEN"), "FAXAGENT_SERVER", false, false},
		{readSetting(data, serverURLFile), readSetting(data, tokenFile), filepath.Join(data, serverURLFile), true, false},
		{readSetting(user, serverURLFile), readSetting(user, tokenFile), filepath.Join(user, serverURLFile), true, true},
		{"http://127.0.0.1:8080", "", "the default", false, false},
	}
	c := &client{}
	userServer := false
	for _, s := range sources {
		if c.base == "" && s.server != "" {
			c.base, c.from, userServer = s.server, s.name, s.user
		}
	}
	var err error
	if c.base, err = normalizeServer(c.base); err != nil {
		return nil, err
	}
	ca := firstOf(*f.ca, getenv("FAXAGENT_CA"))
	if p := filepath.Join(user, caFile); ca == "" && userServer {
		if _, err := os.Stat(p); err == nil {
			ca = p
		}
	}
	if c.http, err = httpClient(ca, 5*time.Minute); err != nil {
		return nil, err
	}
	c.ca = ca
	for _, s := range sources {
		if c.token != "" || s.token == "" {
			continue
		}
		if !s.file {
			c.token = s.token
		} else if u, err := normalizeServer(s.server); err == nil && u == c.base {
			c.token = s.token
		}
	}
	if c.token == "" {
		return nil, fmt.Errorf("no API token: run `faxagent login --server URL`, give --token or FAXAGENT_TOKEN, "+
			"or run in the directory where serve keeps faxagent-data (or --data DIR); none in %s or %s", data, user)
	}
	return c, nil
}

// do sends a request with the token (apiclient.Client.Do), its errors
// said for the command line.
func (c *client) do(ctx context.Context, method, path, ctype string, body io.Reader, out any) error {
	return c.cliError(c.api().Do(ctx, method, path, ctype, body, out))
}

func (c *client) doAuth(ctx context.Context, method, path, ctype string, body io.Reader, out any, auth func(*http.Request)) error {
	return c.cliError(c.api().DoAuth(ctx, method, path, ctype, body, out, auth))
}

func (c *client) api() *apiclient.Client {
	return &apiclient.Client{Base: c.base, Token: c.token, HTTP: c.http}
}

// cliError says a failure to reach the server in one line with a hint,
// and what to do about a 401.
func (c *client) cliError(err error) error {
	var un *apiclient.UnreachableError
	var ae *apiclient.Error
	var unknownCA x509.UnknownAuthorityError
	var badCert *tls.CertificateVerificationError
	switch {
	case errors.As(err, &badCert) || errors.As(err, &unknownCA):
		trust, why := "the system's CAs", error(unknownCA)
		if c.ca != "" {
			trust = "the CA in " + c.ca
		}
		if badCert != nil {
			why = badCert.Err
		}
		return fmt.Errorf("the server at %s has a certificate not trusted by %s (%v): give its CA's PEM file with --ca FILE or FAXAGENT_CA",
			c.base, trust, why)
	case errors.As(err, &un):
		return fmt.Errorf("no server at %s (%s; address from %s): is `faxagent serve` running? "+
			"Otherwise give --server URL or run `faxagent login --server URL`", c.base, un.Why, c.from)
	case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized:
		return fmt.Errorf("%s (run `faxagent login --server URL`, or give --token)", ae.Msg)
	}
	return err
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func clientSetup(name string, args []string, extra func(fs *flag.FlagSet)) (*client, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	cf := addClientFlags(fs)
	if extra != nil {
		extra(fs)
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, nil, err
	}
	c, err := cf.client(os.Getenv)
	return c, pos, err
}
