// Command faxagent is the fax agent's daemon and CLI. It only wires packages
// together; the work is done in imaging, t30, t38, drivers, agent and core.
// `faxagent help` lists the commands, `faxagent COMMAND --help` describes
// one and its flags.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// command is a subcommand: its name, its positional arguments as the
// synopsis shows them, a one-line summary, and, for commands that take an
// action word first (license, token), the actions.
type command struct {
	name, args, summary string
	run                 func(args []string, stdout, stderr io.Writer) error
	actions             []action
}

// action is an action word of a command (`license sign`).
type action struct{ name, args, summary string }

func commands() []command {
	return []command{
		{name: "serve", summary: "run the message store, the JSON/SOAP API and the fax agent until SIGINT or SIGTERM", run: runServe},
		{name: "login", summary: "save the server's address and an API token in the user config, so the CLI finds the server from any directory", run: runLogin},
		{name: "send", args: "FILE...", summary: "send documents (TIFF, PDF, PNG, JPEG, GIF, PBM, text; - reads standard input) to one or more fax numbers", run: runSend},
		{name: "status", args: "ID", summary: "show a message: its documents, recipients and every attempt", run: runStatus},
		{name: "list", summary: "list the messages of a folder, newest first", run: runList},
		{name: "log", summary: "show the call log: one line per call, outbound and inbound, newest first", run: runLog},
		{name: "cancel", args: "ID", summary: "cancel a message's queued recipients and hang up its calls in progress", run: runCancel},
		{name: "retry", args: "ID", summary: "queue a message's failed recipients again, with a fresh attempt budget", run: runRetry},
		{name: "alter", args: "ID", summary: "change a waiting message: number, priority, time to send, hold or release", run: runAlter},
		{name: "ports", summary: "list the fax ports and agents, and which ports are simulated", run: runPorts},
		{name: "download", args: "ID", summary: "download a message's document as TIFF or PDF", run: runDownload},
		{name: "token", summary: "create, list and revoke users' API tokens", run: runToken, actions: []action{
			{"create", "", "make an API token (the secret is printed once)"},
			{"list", "", "list API tokens"},
			{"revoke", "ID", "revoke an API token"},
		}},
		{name: "agent-credential", summary: "issue, list and revoke agents' credentials for serve --role agent --core (administrators)", run: runAgentCredential, actions: []action{
			{"create", "AGENT", "issue a credential for an agent, by name or ID (the secret is printed once)"},
			{"list", "", "list agent credentials"},
			{"revoke", "ID", "revoke an agent credential: the core refuses it from then on"},
		}},
		{name: "convert", args: "IN...", summary: "turn pictures, PDF, text or TIFF files into a fax document (.tif, .pdf, .pbm, .png)", run: runConvert},
		{name: "info", args: "FILE...", summary: "show one line per page of fax documents and pictures", run: runInfo},
		{name: "license", summary: "make licence keys, sign licences and show them", run: runLicense, actions: []action{
			{"keygen", "", "make an Ed25519 key pair (NAME.key, NAME.pub)"},
			{"sign", "", "sign a licence for an agent's ports"},
			{"show", "FILE", "verify and show a licence"},
		}},
		{name: "testbench", args: "[SCENARIO...]", summary: "run end-to-end scenarios against a real serve (testbench btsim: the Brooktrout board simulator)", run: runTestbench},
		{name: "completion", args: "bash|zsh", summary: "print a shell completion script (bash: source <(faxagent completion bash))", run: runCompletion},
		{name: "version", summary: "print the version, commit and Go version", run: runVersion},
	}
}

func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: faxagent COMMAND [FLAGS] [ARGS]")
	fmt.Fprintln(w)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "faxagent COMMAND --help describes a command and its flags; faxagent --version prints the version.")
	fmt.Fprintln(w, "Client commands find the server through --server/--token, FAXAGENT_SERVER/FAXAGENT_TOKEN,")
	fmt.Fprintln(w, "./faxagent-data (or --data, FAXAGENT_DATA), then the user config "+userConfigHint+";")
	fmt.Fprintln(w, "a private CA for an https server: --ca FILE, FAXAGENT_CA or the user config's (login --ca).")
}

// run executes one command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 {
			// `faxagent help send` is `faxagent send --help`.
			return run([]string{args[1], "--help"}, stdout, stderr)
		}
		usage(stdout)
		return 0
	case "-version", "--version":
		args = []string{"version"}
	}
	c, ok := lookup(args[0])
	if !ok {
		fmt.Fprintf(stderr, "faxagent: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	err := c.run(args[1:], stdout, stderr)
	var he *helpError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &he):
		he.write(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "faxagent %s: %v\n", c.name, err)
	var ue usageError
	if errors.As(err, &ue) {
		if syn := synopsis(c, args[1:]); syn != "" {
			fmt.Fprintln(stderr, "usage: faxagent", syn)
		}
		fmt.Fprintf(stderr, "(faxagent %s --help describes the flags)\n", c.name)
		return 2
	}
	return 1
}

type usageError string

func (e usageError) Error() string { return string(e) }
