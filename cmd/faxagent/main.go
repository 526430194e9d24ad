// Command faxagent is the fax agent's daemon and CLI. It only wires packages
// together; the work is done in imaging, t30, t38, drivers, agent and core.
//
//	faxagent convert IN... -o OUT [--compression mh|mr|mmr] [--resolution standard|fine|superfine] [--header TEMPLATE]
//	faxagent info FILE...
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type command struct {
	name, usage string
	run         func(args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"convert", "convert IN... -o OUT [--compression mh|mr|mmr] [--resolution standard|fine|superfine|ultrafine] [--mode auto|threshold|dither] [--header TEMPLATE] [--csid ID] [--number N] [--keep-damaged]", runConvert},
		{"info", "info FILE...", runInfo},
		{"license", licenseUsage, runLicense},
		{"serve", serveUsage, runServe},
		{"send", sendUsage, runSend},
		{"status", statusUsage, runStatus},
		{"list", listUsage, runList},
		{"cancel", cancelUsage, runCancel},
		{"ports", portsUsage, runPorts},
		{"download", downloadUsage, runDownload},
		{"token", tokenUsage, runToken},
		{"testbench", testbenchUsage, runTestbench},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: faxagent COMMAND [ARGS]")
	for _, c := range commands() {
		fmt.Fprintln(w, "  faxagent", c.usage)
	}
}

// run executes one command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			if err := c.run(args[1:], stdout, stderr); err != nil {
				fmt.Fprintf(stderr, "faxagent %s: %v\n", c.name, err)
				if _, ok := err.(usageError); ok {
					fmt.Fprintln(stderr, "usage: faxagent", c.usage)
					return 2
				}
				return 1
			}
			return 0
		}
	}
	fmt.Fprintf(stderr, "faxagent: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

type usageError string

func (e usageError) Error() string { return string(e) }
