package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/faxagent/faxagent/core/httpapi"
)

// runAgentCredential issues, lists and revokes agent credentials (for
// serve --role agent --core) through the API; administrators only.
func runAgentCredential(args []string, stdout, stderr io.Writer) error {
	if err := askedHelp("agent-credential", args); err != nil {
		return err
	}
	if err := manageAction("agent-credential", args); err != nil {
		return err
	}
	asJSON := new(bool)
	c, pos, err := clientSetup("agent-credential "+args[0], args[1:], func(fs *flag.FlagSet) {
		if args[0] == "list" {
			asJSON = fs.Bool("json", false, "print the credentials as JSON (the API's answer)")
		}
	})
	if err != nil {
		return err
	}
	ctx := context.Background()
	const path = "/api/v1/agents/credentials"
	switch args[0] {
	case "create":
		if len(pos) != 1 {
			return usageError("agent-credential create needs the agent's name or ID")
		}
		b, _ := json.Marshal(httpapi.AgentCredentialRequest{Agent: pos[0]})
		var cr httpapi.AgentCredential
		if err := c.do(ctx, http.MethodPost, path, "application/json", bytes.NewReader(b), &cr); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "credential %d for agent %d (%s); shown only now, the core keeps its hash. Give it to the agent in a file (--core-credential-file) or FAXAGENT_AGENT_CREDENTIAL:\n",
			cr.ID, cr.AgentID, cr.AgentName)
		fmt.Fprintln(stdout, cr.Secret)
		return nil
	case "list":
		if len(pos) > 0 {
			return usageError("agent-credential list takes no arguments")
		}
		var cs httpapi.AgentCredentials
		if err := c.do(ctx, http.MethodGet, path, "", nil, &cs); err != nil {
			return err
		}
		if *asJSON {
			return printJSON(stdout, cs)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tAGENT\tNAME\tCREATED\tREVOKED")
		for _, x := range cs.Credentials {
			rev := "-"
			if x.Revoked != nil {
				rev = x.Revoked.Local().Format(time.DateTime)
			}
			fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\n", x.ID, x.AgentID, x.AgentName, x.Created.Local().Format(time.DateTime), rev)
		}
		return tw.Flush()
	}
	return revokeByID(ctx, c, stdout, "agent-credential", "agent credential", path, pos)
}
