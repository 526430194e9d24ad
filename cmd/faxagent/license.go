package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/faxagent/faxagent/agent"
)

// runLicense creates Ed25519 key pairs, signs licenses and shows them.
func runLicense(args []string, stdout, stderr io.Writer) error {
	if err := askedHelp("license", args); err != nil {
		return err
	}
	if len(args) == 0 {
		return usageError("license needs keygen, sign or show")
	}
	switch args[0] {
	case "keygen":
		return licenseKeygen(args[1:], stdout)
	case "sign":
		return licenseSign(args[1:], stdout)
	case "show":
		return licenseShow(args[1:], stdout)
	}
	return usageError(fmt.Sprintf("license: unknown action %q", args[0]))
}

func licenseKeygen(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("license keygen", flag.ContinueOnError)
	out := fs.String("o", "", "base `NAME` of the key files (NAME.key, NAME.pub)")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usageError("keygen needs -o NAME")
	}
	pub, priv, err := agent.GenerateKey(nil)
	if err != nil {
		return err
	}
	ps, _ := agent.EncodeKey(pub)
	ks, _ := agent.EncodeKey(priv)
	// O_EXCL: never overwrite a key that may already have signed licences.
	if err := writeNew(*out+".key", ks, 0o600); err != nil {
		return err
	}
	if err := writeNew(*out+".pub", ps, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s.key (keep it secret) and %s.pub\n", *out, *out)
	return nil
}

func writeNew(path, data string, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func licenseSign(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("license sign", flag.ContinueOnError)
	keyPath := fs.String("key", "", "private key `FILE` (NAME.key from license keygen)")
	agentID := fs.String("agent", "", "the `AGENT` ID the licence is for (serve --agent-id; default there: the host name)")
	ports := fs.String("ports", "", "licensed ports per driver, `DRIVER=N,...`: loopback=4,foip=2,brooktrout=24")
	expires := fs.String("expires", "", "expiry `DATE`: YYYY-MM-DD (UTC, exclusive) or an RFC 3339 time")
	customer := fs.String("customer", "", "the `CUSTOMER` name written in the licence")
	out := fs.String("o", "", "licence `FILE` to write")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if *keyPath == "" || *agentID == "" || *ports == "" || *expires == "" || *out == "" {
		return usageError("sign needs -key, -agent, -ports, -expires and -o")
	}
	kb, err := os.ReadFile(*keyPath)
	if err != nil {
		return err
	}
	key, err := agent.ParsePrivateKey(string(kb))
	if err != nil {
		return fmt.Errorf("%s: %w", *keyPath, err)
	}
	pm, err := parsePorts(*ports)
	if err != nil {
		return err
	}
	exp, err := time.Parse("2006-01-02", *expires)
	if err != nil {
		if exp, err = time.Parse(time.RFC3339, *expires); err != nil {
			return usageError("-expires: want YYYY-MM-DD or an RFC 3339 time")
		}
	}
	l := agent.License{AgentID: *agentID, Customer: *customer, Ports: pm, Issued: time.Now().UTC().Truncate(time.Second), Expires: exp.UTC()}
	file, err := agent.Sign(l, key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, file, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n%s", *out, l)
	return nil
}

func parsePorts(s string) (map[string]int, error) {
	m := map[string]int{}
	for _, kv := range strings.Split(s, ",") {
		name, n, ok := strings.Cut(strings.TrimSpace(kv), "=")
		count, err := strconv.Atoi(n)
		if !ok || name == "" || err != nil || count < 0 {
			return nil, usageError(fmt.Sprintf("-ports: %q is not DRIVER=N", kv))
		}
		m[name] = count
	}
	return m, nil
}

func licenseShow(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("license show", flag.ContinueOnError)
	pubPath := fs.String("pub", "", "public key `FILE` (NAME.pub) to verify the signature with")
	agentID := fs.String("agent", "", "check the licence is for this `AGENT` ID")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return usageError("show needs one license file")
	}
	file, err := os.ReadFile(files[0])
	if err != nil {
		return err
	}
	if *pubPath == "" {
		return errors.New("show needs -pub to verify the license (an unverified license proves nothing)")
	}
	pb, err := os.ReadFile(*pubPath)
	if err != nil {
		return err
	}
	pub, err := agent.ParsePublicKey(string(pb))
	if err != nil {
		return fmt.Errorf("%s: %w", *pubPath, err)
	}
	l, err := agent.ParseLicense(file, pub)
	if err != nil {
		return fmt.Errorf("%s: %w", files[0], err)
	}
	fmt.Fprint(stdout, l)
	if *agentID != "" {
		if _, err := agent.VerifyLicense(file, pub, *agentID, time.Now()); err != nil {
			return fmt.Errorf("%s: %w", files[0], err)
		}
	} else if !time.Now().Before(l.Expires) {
		return fmt.Errorf("%s: %w", files[0], agent.ErrLicenseExpired)
	}
	fmt.Fprintln(stdout, "signature: valid")
	return nil
}
