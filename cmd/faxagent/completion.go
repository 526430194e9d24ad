package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// runCompletion prints a completion script for bash or zsh, made from the
// command table and each command's flags.
func runCompletion(args []string, stdout, stderr io.Writer) error {
	pos, err := parseInterspersed(newFlagSet("completion"), args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("completion needs bash or zsh")
	}
	switch pos[0] {
	case "bash":
		return bashCompletion(stdout)
	case "zsh":
		return zshCompletion(stdout)
	}
	return usageError(fmt.Sprintf("completion %q: want bash or zsh", pos[0]))
}

// completionEntry is one command or command-and-action with its flags.
type completionEntry struct {
	words   []string // "send", or "license", "sign"
	summary string
	flags   []*flag.Flag
}

func completionEntries() []completionEntry {
	var out []completionEntry
	add := func(words []string, summary string, he *helpError) {
		e := completionEntry{words: words, summary: summary}
		if he != nil && he.fs != nil {
			he.fs.VisitAll(func(f *flag.Flag) { e.flags = append(e.flags, f) })
		}
		out = append(out, e)
	}
	for _, c := range commands() {
		if c.name == "completion" {
			add([]string{c.name}, c.summary, nil)
			continue
		}
		add([]string{c.name}, c.summary, helpFor(c, nil))
		for _, a := range c.actions {
			add([]string{c.name, a.name}, a.summary, helpFor(c, []string{a.name}))
		}
	}
	return out
}

func bashCompletion(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# bash completion for faxagent: source <(faxagent completion bash)\n_faxagent() {\n")
	b.WriteString("  local cur=\"${COMP_WORDS[COMP_CWORD]}\" cmd=\"${COMP_WORDS[1]}\" act=\"${COMP_WORDS[2]}\" words=\"\" opts=\"\"\n")
	var cmds []string
	for _, e := range completionEntries() {
		if len(e.words) == 1 {
			cmds = append(cmds, e.words[0])
		}
	}
	fmt.Fprintf(&b, "  if [[ $COMP_CWORD -eq 1 ]]; then COMPREPLY=($(compgen -W %q -- \"$cur\")); return; fi\n", strings.Join(append(cmds, "help", "--help", "--version"), " "))
	b.WriteString("  case \"$cmd $act\" in\n")
	// Actions first: "license sign" before "license *".
	entries := completionEntries()
	for _, e := range entries {
		if len(e.words) == 2 {
			fmt.Fprintf(&b, "    %q) opts=%q ;;\n", e.words[0]+" "+e.words[1], flagWords(e.flags))
		}
	}
	for _, e := range entries {
		if len(e.words) != 1 {
			continue
		}
		var acts []string
		for _, x := range entries {
			if len(x.words) == 2 && x.words[0] == e.words[0] {
				acts = append(acts, x.words[1])
			}
		}
		fmt.Fprintf(&b, "    %q*) opts=%q; words=%q ;;\n", e.words[0]+" ", flagWords(e.flags), strings.Join(acts, " "))
	}
	b.WriteString("  esac\n")
	b.WriteString("  if [[ $cmd == completion ]]; then words=\"bash zsh\"; fi\n")
	b.WriteString("  if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\")); return; fi\n")
	b.WriteString("  if [[ -n $words && $COMP_CWORD -eq 2 ]]; then COMPREPLY=($(compgen -W \"$words\" -- \"$cur\")); return; fi\n")
	b.WriteString("  COMPREPLY=($(compgen -f -- \"$cur\"))\n}\ncomplete -o filenames -F _faxagent faxagent\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func flagWords(fs []*flag.Flag) string {
	var s []string
	for _, f := range fs {
		s = append(s, "--"+f.Name)
	}
	return strings.Join(s, " ")
}

// zshQuote quotes s for a single-quoted zsh word.
func zshQuote(s string) string {
	return strings.NewReplacer("'", "'\\''", "[", "\\[", "]", "\\]", ":", "\\:").Replace(s)
}

func zshCompletion(w io.Writer) error {
	var b strings.Builder
	b.WriteString("#compdef faxagent\n# zsh completion for faxagent: faxagent completion zsh > \"${fpath[1]}/_faxagent\"\n_faxagent() {\n")
	b.WriteString("  local -a cmds\n  cmds=(\n")
	entries := completionEntries()
	for _, e := range entries {
		if len(e.words) == 1 {
			fmt.Fprintf(&b, "    '%s:%s'\n", e.words[0], zshQuote(e.summary))
		}
	}
	b.WriteString("  )\n  if (( CURRENT == 2 )); then _describe 'command' cmds; return; fi\n")
	b.WriteString("  local key=$words[2]\n  if (( CURRENT > 3 )); then key=\"$words[2] $words[3]\"; fi\n")
	b.WriteString("  case $key in\n")
	// Actions first: "license sign" before "license".
	for _, two := range []bool{true, false} {
		for _, e := range entries {
			if (len(e.words) == 2) != two {
				continue
			}
			zshCase(&b, e, entries)
		}
	}
	b.WriteString("  esac\n}\ncompdef _faxagent faxagent 2>/dev/null || _faxagent \"$@\"\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// zshCase is the case branch of one command or action.
func zshCase(b *strings.Builder, e completionEntry, entries []completionEntry) {
	var acts []string
	for _, x := range entries {
		if len(e.words) == 1 && len(x.words) == 2 && x.words[0] == e.words[0] {
			acts = append(acts, fmt.Sprintf("'%s:%s'", x.words[1], zshQuote(x.summary)))
		}
	}
	if len(e.words) == 2 {
		fmt.Fprintf(b, "    '%s %s')\n      shift 2 words; (( CURRENT -= 2 ))\n", e.words[0], e.words[1])
	} else {
		fmt.Fprintf(b, "    %s|%s\\ *)\n", e.words[0], e.words[0])
		if len(acts) > 0 {
			fmt.Fprintf(b, "      local -a acts; acts=(%s)\n      _describe 'action' acts ;;\n", strings.Join(acts, " "))
			return
		}
		if e.words[0] == "completion" {
			b.WriteString("      _values 'shell' bash zsh ;;\n")
			return
		}
		b.WriteString("      shift words; (( CURRENT-- ))\n")
	}
	b.WriteString("      _arguments -s")
	for _, f := range e.flags {
		ph, desc := flag.UnquoteUsage(f)
		spec := "--" + f.Name + "[" + zshQuote(desc) + "]"
		if ph != "" {
			spec += ":" + zshQuote(ph) + ":_files"
		}
		if f.Name == "to" {
			spec = "*" + spec
		}
		b.WriteString(" \\\n        '" + spec + "'")
	}
	b.WriteString(" \\\n        '*:file:_files' ;;\n")
}
