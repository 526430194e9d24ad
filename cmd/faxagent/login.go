package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/faxagent/faxagent/core/httpapi"
)

// runLogin saves a server's address and a token in the user config, so
// the client commands reach that server from any directory. The token is
// given (--token), or made for a user with the user's password (--user;
// the password from FAXAGENT_PASSWORD, else the first line of standard
// input). It is checked against the server before anything is written.
func runLogin(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("login", flag.ContinueOnError)
	server := fs.String("server", "", "the server's `URL` (http://HOST:PORT, or HOST:PORT)")
	token := fs.String("token", "", "an API `TOKEN` to save (default: FAXAGENT_TOKEN; with --user, a new one)")
	user := fs.String("user", "", "make a token for `USER` with its password (FAXAGENT_PASSWORD, else the first line of standard input)")
	name := fs.String("name", "", "with --user, a `LABEL` for the new token (default: login from HOST)")
	ca := fs.String("ca", "", "PEM `FILE` of the CA trusted for an https server's certificate (default: FAXAGENT_CA); a copy is saved with the server")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("login takes no arguments")
	}
	if *server == "" {
		return usageError("login needs --server URL")
	}
	base, err := normalizeServer(*server)
	if err != nil {
		return err
	}
	caPath := firstOf(*ca, os.Getenv("FAXAGENT_CA"))
	hc, err := httpClient(caPath, time.Minute)
	if err != nil {
		return err
	}
	c := &client{base: base, from: "--server", ca: caPath, token: firstOf(*token, os.Getenv("FAXAGENT_TOKEN")), http: hc}
	ctx := context.Background()
	switch {
	case *user != "" && *token != "":
		return usageError("login takes --token or --user, not both")
	case *user != "":
		pw := os.Getenv("FAXAGENT_PASSWORD")
		if pw == "" {
			line, err := bufio.NewReader(os.Stdin).ReadString('\n')
			if err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			pw = strings.TrimRight(line, "\r\n")
		}
		if pw == "" {
			return errors.New("no password: set FAXAGENT_PASSWORD or give it on standard input")
		}
		host, _ := os.Hostname()
		b, _ := json.Marshal(httpapi.TokenRequest{Name: firstOf(*name, "login from "+host)})
		var t httpapi.Token
		if err := c.doAuth(ctx, http.MethodPost, "/api/v1/tokens", "application/json", bytes.NewReader(b), &t,
			func(r *http.Request) { r.SetBasicAuth(*user, pw) }); err != nil {
			return err
		}
		c.token = t.Secret
	case c.token == "":
		return usageError("login needs --token TOKEN (or FAXAGENT_TOKEN), or --user NAME")
	}
	var l httpapi.List
	if err := c.do(ctx, http.MethodGet, "/api/v1/messages?limit=1", "", nil, &l); err != nil {
		return err
	}
	dir := userConfigDir(os.Getenv)
	if err := writeUserConfig(dir, c.base, c.token); err != nil {
		return err
	}
	// The CA goes with the server it was given for; another server's is
	// dropped.
	if caPath != "" {
		b, err := os.ReadFile(caPath)
		if err == nil {
			err = writeFileAtomic(filepath.Join(dir, caFile), string(b), 0o600)
		}
		if err != nil {
			return fmt.Errorf("saving the CA: %w", err)
		}
	} else if err := os.Remove(filepath.Join(dir, caFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	fmt.Fprintf(stdout, "logged in to %s; saved in %s (token readable by you only)\n", c.base, filepath.Join(dir, tokenFile))
	return nil
}
