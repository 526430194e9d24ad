package main

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// helpCase is one command line whose --help is checked, with its flags.
type helpCase struct {
	args  []string
	flags []*flag.Flag
}

// helpCases are every command and every action of a command.
func helpCases(t *testing.T) []helpCase {
	var out []helpCase
	for _, c := range commands() {
		for _, a := range append([]action{{}}, c.actions...) {
			args := []string{c.name}
			var pre []string
			if a.name != "" {
				args = append(args, a.name)
				pre = []string{a.name}
			}
			hc := helpCase{args: args}
			if he := helpFor(c, pre); he != nil && he.fs != nil {
				he.fs.VisitAll(func(f *flag.Flag) { hc.flags = append(hc.flags, f) })
			} else if he == nil && c.name != "testbench" {
				t.Errorf("%q: --help did not return its help", args)
			}
			out = append(out, hc)
		}
	}
	return out
}

// TestHelpEveryCommand asks every command and action for --help and
// checks it exits 0 and describes every flag: each is in the usage line
// and has a description of its own.
func TestHelpEveryCommand(t *testing.T) {
	cases := helpCases(t)
	if len(cases) < 20 {
		t.Fatalf("only %d commands and actions", len(cases))
	}
	for _, hc := range cases {
		for _, h := range []string{"--help", "-h"} {
			args := append(append([]string{}, hc.args...), h)
			code, out, errs := runCLI(t, args...)
			if code != 0 || errs != "" {
				t.Errorf("%q: exit %d, stderr %q", args, code, errs)
				continue
			}
			usageLine, _, _ := strings.Cut(out, "\n")
			if !strings.HasPrefix(usageLine, "usage: faxagent "+strings.Join(hc.args, " ")) || strings.Contains(out, "help requested") {
				t.Errorf("%q: help starts %q", args, usageLine)
			}
			lines := strings.Split(out, "\n")
			for _, f := range hc.flags {
				spec, _ := flag.UnquoteUsage(f)
				name := flagSpec(f, spec)
				if !strings.Contains(usageLine, "["+name+"]") {
					t.Errorf("%q: usage line lacks [%s]: %q", args, name, usageLine)
				}
				found := false
				for i, l := range lines {
					if strings.TrimSpace(l) == name && i+1 < len(lines) {
						desc := strings.TrimSpace(lines[i+1])
						found = len(desc) > 10 && !strings.HasPrefix(desc, "-")
					}
				}
				if !found {
					t.Errorf("%q: flag %s has no description:\n%s", args, name, out)
				}
			}
		}
	}
	// `faxagent help`, `faxagent help send`, --version.
	for _, args := range [][]string{{"help"}, {"--help"}, {"help", "send"}, {"--version"}, {"version"}} {
		code, out, errs := runCLI(t, args...)
		if code != 0 || errs != "" || !strings.Contains(out, "faxagent") {
			t.Errorf("%q: exit %d %q %q", args, code, out, errs)
		}
	}
	if _, out, _ := runCLI(t, "help"); !strings.Contains(out, "login") || !strings.Contains(out, "XDG_CONFIG_HOME") {
		t.Errorf("help does not say how the CLI finds the server:\n%s", out)
	}
	// No arguments: usage on stderr, exit 2; a usage error names the
	// complete usage line.
	if code, _, errs := runCLI(t); code != 2 || !strings.Contains(errs, "usage:") {
		t.Errorf("no arguments: %d %q", code, errs)
	}
	code, _, errs := runCLI(t, "send", "x.png")
	for _, want := range []string{"[--subject SUBJECT]", "[--timeout DURATION]", "[--server URL]", "[--token TOKEN]", "[--data DIR]", "FILE..."} {
		if code != 2 || !strings.Contains(errs, want) {
			t.Errorf("send's usage lacks %s: %d %q", want, code, errs)
		}
	}
}

// TestHelpBinary runs --help and --version through the built binary.
func TestHelpBinary(t *testing.T) {
	bin := faxagentBinary(t)
	for _, args := range [][]string{{"info", "--help"}, {"license", "--help"}, {"send", "--help"}, {"--version"}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil || strings.Contains(string(out), "help requested") || strings.Contains(string(out), "unknown action") {
			t.Errorf("%q: %v\n%s", args, err, out)
		}
	}
	out, _ := exec.Command(bin, "--version").Output()
	if !strings.HasPrefix(string(out), "faxagent ") || !strings.Contains(string(out), "go1.") {
		t.Errorf("--version: %q", out)
	}
}

// TestCompletion loads the bash script into bash and asks it to complete
// commands, actions and flags; the zsh script is checked to name every
// command and flag (zsh itself is not a test dependency).
func TestCompletion(t *testing.T) {
	code, script, errs := runCLI(t, "completion", "bash")
	if code != 0 {
		t.Fatalf("completion bash: %d %q", code, errs)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	path := filepath.Join(t.TempDir(), "faxagent.bash")
	if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	complete := func(words ...string) []string {
		t.Helper()
		arr := "faxagent"
		for _, w := range words {
			arr += " '" + w + "'"
		}
		sh := "source " + path + "; COMP_WORDS=(" + arr + "); COMP_CWORD=" + strconv.Itoa(len(words)) +
			"; _faxagent; printf '%s\\n' \"${COMPREPLY[@]}\""
		out, err := exec.Command(bash, "--norc", "-c", sh).CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		got := strings.Fields(string(out))
		slices.Sort(got)
		return got
	}
	tests := []struct {
		words []string
		want  []string
	}{
		{[]string{"se"}, []string{"send", "serve"}},
		{[]string{"send", "--t"}, []string{"--timeout", "--to", "--token"}},
		{[]string{"license", ""}, []string{"keygen", "show", "sign"}},
		{[]string{"license", "sign", "--ex"}, []string{"--expires"}},
		{[]string{"completion", ""}, []string{"bash", "zsh"}},
		{[]string{"list", "--j"}, []string{"--json"}},
	}
	for _, tc := range tests {
		if got := complete(tc.words...); strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("complete %q = %q, want %q", tc.words, got, tc.want)
		}
	}

	code, zsh, _ := runCLI(t, "completion", "zsh")
	if code != 0 || !strings.HasPrefix(zsh, "#compdef faxagent") {
		t.Fatalf("completion zsh: %d %q", code, zsh)
	}
	for _, hc := range helpCases(t) {
		if !strings.Contains(zsh, "'"+hc.args[len(hc.args)-1]+":") && !strings.Contains(zsh, "'"+strings.Join(hc.args, " ")+"'") {
			t.Errorf("zsh script lacks %q", hc.args)
		}
		for _, f := range hc.flags {
			if !strings.Contains(zsh, "--"+f.Name+"[") {
				t.Errorf("zsh script lacks %q --%s", hc.args, f.Name)
			}
		}
	}
	if code, _, _ := runCLI(t, "completion", "fish"); code != 2 {
		t.Errorf("completion fish: exit %d, want 2", code)
	}
}
