package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/faxagent/faxagent/core/httpapi"
)

// runToken makes, lists and revokes users' API tokens through the API.
func runToken(args []string, stdout, stderr io.Writer) error {
	if err := askedHelp("token", args); err != nil {
		return err
	}
	if err := manageAction("token", args); err != nil {
		return err
	}
	user, name, asJSON := new(string), new(string), new(bool)
	c, pos, err := clientSetup("token "+args[0], args[1:], func(fs *flag.FlagSet) {
		switch args[0] {
		case "create":
			user = fs.String("user", "", "the `USER` (default: the token's own)")
			name = fs.String("name", "", "a `LABEL` for the token")
		case "list":
			user = fs.String("user", "", "the `USER` (default: the token's own)")
			asJSON = fs.Bool("json", false, "print the tokens as JSON (the API's answer)")
		}
	})
	if err != nil {
		return err
	}
	ctx := context.Background()
	switch args[0] {
	case "create":
		if len(pos) > 0 {
			return usageError("token create takes no arguments")
		}
		b, _ := json.Marshal(httpapi.TokenRequest{User: *user, Name: *name})
		var t httpapi.Token
		if err := c.do(ctx, http.MethodPost, "/api/v1/tokens", "application/json", bytes.NewReader(b), &t); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "token %d for %s (shown only now; the server keeps its hash):\n", t.ID, t.User)
		fmt.Fprintln(stdout, t.Secret)
		return nil
	case "list":
		if len(pos) > 0 {
			return usageError("token list takes no arguments")
		}
		path := "/api/v1/tokens"
		if *user != "" {
			path += "?" + url.Values{"user": {*user}}.Encode()
		}
		var ts httpapi.Tokens
		if err := c.do(ctx, http.MethodGet, path, "", nil, &ts); err != nil {
			return err
		}
		if *asJSON {
			return printJSON(stdout, ts)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSER\tCREATED\tNAME")
		for _, t := range ts.Tokens {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", t.ID, t.User, t.Created.Local().Format(time.DateTime), t.Name)
		}
		return tw.Flush()
	}
	return revokeByID(ctx, c, stdout, "token", "token", "/api/v1/tokens", pos)
}

// manageAction checks the action of a command that creates, lists and
// revokes (token, agent-credential).
func manageAction(cmd string, args []string) error {
	if len(args) == 0 {
		return usageError(cmd + " needs create, list or revoke")
	}
	switch args[0] {
	case "create", "list", "revoke":
		return nil
	}
	return usageError(fmt.Sprintf("%s %q: want create, list or revoke", cmd, args[0]))
}

// revokeByID revokes what base/ID names, ID being the revoke action's one
// argument.
func revokeByID(ctx context.Context, c *client, stdout io.Writer, cmd, what, base string, pos []string) error {
	if len(pos) != 1 {
		return usageError(fmt.Sprintf("%s revoke needs one %s ID", cmd, what))
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id <= 0 {
		return usageError(fmt.Sprintf("%q is not a valid %s ID", pos[0], what))
	}
	if err := c.do(ctx, http.MethodDelete, base+"/"+pos[0], "", nil, nil); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s %d revoked\n", what, id)
	return nil
}
