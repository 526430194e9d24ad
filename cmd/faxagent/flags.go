package main

import (
	"errors"
	"flag"
	"io"
	"strings"
)

// parseInterspersed parses flags that may come before, between or after
// positional arguments (`convert a.png b.png -o out.tif`), which the flag
// package alone does not allow. It returns the positional arguments; -h or
// --help anywhere before "--" is a *helpError; "-" alone is an argument
// (standard input).
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &helpError{fs: fs, name: fs.Name()}
			}
			return nil, usageError(err.Error())
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
		for len(args) > 0 && (!strings.HasPrefix(args[0], "-") || args[0] == "-") {
			pos = append(pos, args[0])
			args = args[1:]
		}
	}
	return pos, nil
}

func newFlagSet(name string) *flag.FlagSet { return flag.NewFlagSet(name, flag.ContinueOnError) }

// noArgs parses a command that takes neither flags nor arguments.
func noArgs(name string, args []string) error {
	pos, err := parseInterspersed(newFlagSet(name), args)
	if err == nil && len(pos) > 0 {
		err = usageError(name + " takes no arguments")
	}
	return err
}
