package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// helpError is what a command returns when asked for --help: the flag set
// it would have parsed (nil for a command whose action is missing), so
// that run can describe it.
type helpError struct {
	fs   *flag.FlagSet
	name string // "send", "license sign", "license"
}

func (e *helpError) Error() string { return "help requested" }

// askedHelp is the helpError for a command that takes an action word and
// was asked for help before one (`license --help`).
func askedHelp(name string, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "-h", "-help", "--help", "help":
			return &helpError{name: name}
		}
	}
	return nil
}

// parts splits a help's name into its command and action.
func (e *helpError) parts() (command, *action) {
	name, act, _ := strings.Cut(e.name, " ")
	c, _ := lookup(name)
	for i := range c.actions {
		if c.actions[i].name == act {
			return c, &c.actions[i]
		}
	}
	return c, nil
}

// synopsis is the command line with every flag: "send [--to NUMBER] ... FILE...".
func (e *helpError) synopsis() string {
	c, a := e.parts()
	parts := []string{c.name}
	args := c.args
	if a != nil {
		parts = append(parts, a.name)
		args = a.args
	} else if len(c.actions) > 0 {
		var names []string
		for _, x := range c.actions {
			names = append(names, x.name)
		}
		parts = append(parts, strings.Join(names, "|"), "...")
	}
	if e.fs != nil {
		e.fs.VisitAll(func(f *flag.Flag) {
			ph, _ := flag.UnquoteUsage(f)
			parts = append(parts, "["+flagSpec(f, ph)+"]")
		})
	}
	if args != "" {
		parts = append(parts, args)
	}
	return strings.Join(parts, " ")
}

// write prints the help: synopsis, summary, actions and flags.
func (e *helpError) write(w io.Writer) {
	c, a := e.parts()
	fmt.Fprintf(w, "usage: faxagent %s\n\n", e.synopsis())
	if a != nil {
		fmt.Fprintf(w, "%s\n", a.summary)
	} else {
		fmt.Fprintf(w, "%s\n", c.summary)
	}
	if a == nil && len(c.actions) > 0 {
		fmt.Fprintln(w, "\nactions:")
		for _, x := range c.actions {
			fmt.Fprintf(w, "  %-8s %s (faxagent %s %s --help for its flags)\n", x.name, x.summary, c.name, x.name)
		}
	}
	if e.fs == nil {
		return
	}
	n := 0
	e.fs.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		return
	}
	fmt.Fprintln(w, "\nflags:")
	e.fs.VisitAll(func(f *flag.Flag) {
		ph, desc := flag.UnquoteUsage(f)
		s := flagSpec(f, ph)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
			desc += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "  %s\n      %s\n", s, desc)
	})
}

// helpFor asks a command for its help: the flag set of the command (or of
// its action, when args start with one).
func helpFor(c command, args []string) *helpError {
	argv := []string{"--help"}
	if len(c.actions) > 0 && len(args) > 0 {
		for _, a := range c.actions {
			if a.name == args[0] {
				argv = []string{a.name, "--help"}
			}
		}
	}
	var he *helpError
	if err := c.run(argv, io.Discard, io.Discard); errors.As(err, &he) {
		return he
	}
	return nil
}

// synopsis is the usage line of the command args were given to.
func synopsis(c command, args []string) string {
	if he := helpFor(c, args); he != nil {
		return he.synopsis()
	}
	return c.name + " " + c.args
}

// flagSpec is how a flag is written: --name PLACEHOLDER, -o FILE.
func flagSpec(f *flag.Flag, ph string) string {
	s := "--" + f.Name
	if len(f.Name) == 1 {
		s = "-" + f.Name
	}
	if ph != "" {
		s += " " + ph
	}
	return s
}
