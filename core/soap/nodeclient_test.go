package soap

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/internal/testutil"
)

// nodeClient installs node-soap (once, into testdata/nodeclient) and
// returns the node binary; it skips without node and npm (fails under
// CI=true).
func nodeClient(t *testing.T) string {
	t.Helper()
	node := testutil.Tool(t, "node")
	npm := testutil.Tool(t, "npm")
	dir, err := filepath.Abs("testdata/nodeclient")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "soap", "package.json")); err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			testutil.Missing(t, "npm install soap failed (no registry?): %v\n%s", err, out)
		}
	}
	return node
}

type nodeStep struct {
	Op   string         `json:"op"`
	Args map[string]any `json:"args"`
}

type nodeAnswer struct {
	Op      string         `json:"op"`
	Result  map[string]any `json:"result"`
	Error   string         `json:"error"`
	Request string         `json:"request"`
}

// value returns the answer's single <...Result> value.
func (a nodeAnswer) value(t *testing.T) any {
	t.Helper()
	if a.Error != "" {
		t.Fatalf("%s: %s", a.Op, a.Error)
	}
	for k, v := range a.Result {
		if strings.HasSuffix(k, "Result") {
			return v
		}
	}
	return nil
}

func (a nodeAnswer) str(t *testing.T) string {
	t.Helper()
	switch v := a.value(t).(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return fmt.Sprintf("%.0f", v)
	case bool:
		return fmt.Sprint(v)
	default:
		t.Fatalf("%s: result %#v is not a scalar", a.Op, v)
		return ""
	}
}

func (a nodeAnswer) strs(t *testing.T) []string {
	t.Helper()
	m, _ := a.value(t).(map[string]any)
	var out []string
	switch v := m["string"].(type) {
	case string:
		out = append(out, v)
	case []any:
		for _, s := range v {
			out = append(out, fmt.Sprint(s))
		}
	}
	return out
}

// TestNodeSoapClient drives the service with node-soap, a client that
// knows nothing of ours but the WSDL we serve. node-soap keys operations
// by their portType name, so of .NET's overloads (SendMessage,
// GetMessageList, ...) it reaches the last in the WSDL: 37 of the 58 wire
// operations; TestOperations covers every one with raw envelopes.
func TestNodeSoapClient(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	node := nodeClient(t)
	e := newEnv(t, SOAP11)
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	m := e.submit(e.alice, false, "5550101")
	job := e.message(m).Jobs[0].ID
	m2 := e.submit(e.alice, false, "5550102")
	tif := base64.StdEncoding.EncodeToString(fixture(t, "three.tif"))
	doc := map[string]any{"anyType": []any{map[string]any{"attributes": map[string]any{"xsi:type": "xsd:base64Binary"}, "$value": tif}}}
	plan := []nodeStep{
		{"AuthenticateUser", map[string]any{"userName": "alice", "password": "alice-password"}},
		{"ServerStatus", map[string]any{}},
		{"SendMessage", map[string]any{"userID": e.alice, "senderName": "Node", "subject": "from node", "priority": 70,
			"isOnHold": false, "mss": false, "msf": false,
			"recpName": map[string]any{"string": []string{"A", "B"}}, "recpAddress": map[string]any{"string": []string{"5550101", "5550102"}},
			"documentName": map[string]any{"string": []string{"three.tif"}}, "documentBytes": doc,
			"agentID": map[string]any{"int": []int{0}}, "presetType": map[string]any{"int": []int{2}}, "presetValue": map[string]any{"int": []int{7}},
			"byPassRender": true}},
		{"DelegateMessage", map[string]any{"delegateUserID": e.admin, "userName": "bob", "priority": 60, "isOnHold": true, "mss": false, "msf": false,
			"recpAddress": map[string]any{"string": []string{"5550103"}}, "documentBytes": doc}},
		{"SendMixedMode", map[string]any{"userID": id(e.alice), "priority": 50, "isOnHold": false, "mss": false, "msf": false,
			"useDefaultNotify": false, "useDefaultCP": false,
			"documents":  map[string]any{"MsgDocument": []any{map[string]any{"Name": "three.tif", "Bytes": tif, "IsMerge": false, "RemoveFirstPage": false}}},
			"recipients": map[string]any{"MsgRecipient": []any{map[string]any{"Name": "M", "Address": "5550104", "AddressType": 2, "IsRRFOn": false, "IsRRSOn": false}}}}},
		{"GetMessageDetails", map[string]any{"msgID": id(m), "userID": e.alice}},
		{"GetMessageStatus", map[string]any{"msgID": id(m)}},
		{"IsMessageDeleted", map[string]any{"messageID": id(m), "userID": id(e.alice)}},
		{"MarkMsgAsRead", map[string]any{"userID": e.alice, "msgID": id(m)}},
		{"IsMessageRead", map[string]any{"userID": e.alice, "msgID": id(m)}},
		{"MarkMsgAsUnread", map[string]any{"userID": e.alice, "msgID": id(m)}},
		{"MarkMsgAsDownloaded", map[string]any{"userID": e.alice, "msgID": id(m)}},
		{"GetMessageList", map[string]any{"userList": map[string]any{"long": []int64{e.alice}}, "folderName": "outbox", "isDownloaded": true,
			"isRead": false, "sortDescending": true, "maxResults": 10}},
		{"DownloadMessageByte", map[string]any{"deliveryID": id(job), "downloadType": "TIF", "startPageIndex": 0, "excludePageList": map[string]any{"int": []int{2}}}},
		{"GetTrackRecords", map[string]any{"msgID": m}},
		{"UpdateTrackRecord", map[string]any{"msgID": 987654, "trackID": 1, "trackValue": "x"}},
		{"CancelMessage", map[string]any{"msgID": id(m2)}},
		{"RetryFailed", map[string]any{"msgID": "123456789"}},
		{"ForwardToUser", map[string]any{"userID": id(e.bob), "msgID": id(m), "usernames": map[string]any{"string": []string{"bob"}}}},
		{"AssignMessage", map[string]any{"userID": id(e.alice), "msgID": id(m), "usernames": map[string]any{"string": []string{"nobody"}}}},
		{"MoveMessage", map[string]any{"userID": e.alice, "msgID": m, "newFolderName": "processed"}},
		{"DeleteMessage", map[string]any{"msgID": id(m), "userID": e.alice}},
		{"CreateUser", map[string]any{"userID": e.admin, "domainName": "sales", "userName": "erin", "password": "erin-password", "role": "StandardUser",
			"isExternalAuth": false, "isActive": true, "displayName": "Erin E", "preferAddrType": "Fax", "fax": "5550199",
			"NOR": false, "NOS": false, "callerID": "1", "csid": "ERIN"}},
		{"UpdateUser", map[string]any{"adminID": e.bob, "userID": e.alice, "role": "StandardUser", "isExternalAuth": false, "isActive": true, "preferAddrType": "Fax"}},
		{"RemoveUser", map[string]any{"adminID": e.admin, "userID": 424242}},
		{"DeactivateUser", map[string]any{"adminID": e.admin, "userID": e.bob}},
		{"ActivateUser", map[string]any{"adminID": e.admin, "userID": e.bob}},
		{"DeactivateUsers", map[string]any{"adminID": e.admin, "userIDList": map[string]any{"long": []int64{e.bob, 31337}}}},
		{"ActivateUsers", map[string]any{"adminID": e.admin, "userIDList": map[string]any{"long": []int64{e.bob, e.carol}}}},
		{"GetUserList", map[string]any{"adminID": e.admin, "domainName": "sales"}},
		{"GetUserDetails", map[string]any{"adminID": e.admin, "userName": "alice"}},
		{"GetUserFaxSetting", map[string]any{"adminID": e.admin, "userName": "alice"}},
		{"CreateInboundRoute", map[string]any{"userID": e.admin, "forwardedUserName": "bob", "condition1": "RemoteCSID", "conditionExp1": "NODEFAX",
			"isAndOperator": false, "condition2": "None", "isActive": true, "priority": 5}},
		{"SearchIBRouteRules", map[string]any{"adminID": e.admin, "input": "nodefax"}},
		{"DisabledInboudRoute", map[string]any{"adminID": e.admin, "routeID": 1}},
		{"GetMsgFolders", map[string]any{"userID": e.alice}},
		{"GetDomainList", map[string]any{"adminID": e.admin}},
	}
	planFile := filepath.Join(t.TempDir(), "plan.json")
	b, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(planFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "client.js", srv.URL+Path+"?WSDL", planFile)
	cmd.Env = append(os.Environ(), "WFAPI_USER=admin", "WFAPI_PASSWORD="+adminPassword)
	cmd.Dir = "testdata/nodeclient"
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node client: %v\n%s", err, stderr.Bytes())
	}
	var answers []nodeAnswer
	if err := json.Unmarshal(out, &answers); err != nil {
		t.Fatalf("node client output: %v\n%s", err, out)
	}
	if len(answers) != len(plan) {
		t.Fatalf("%d answers for %d steps", len(answers), len(plan))
	}
	a := map[string]nodeAnswer{}
	for _, x := range answers {
		a[x.Op] = x
	}
	ctxb := context.Background()
	want(t, "AuthenticateUser", a["AuthenticateUser"].str(t), id(e.alice))
	want(t, "ServerStatus", a["ServerStatus"].str(t), "OK")
	sent, err := parseLong(a["SendMessage"].str(t))
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	sm := e.message(sent)
	want(t, "sent owner", sm.OwnerID, e.alice)
	want(t, "sent jobs", len(sm.Jobs), 2)
	want(t, "sent preset", sm.Jobs[0].Preset, core.Preset{Type: core.PresetGroup, Value: "7"})
	want(t, "sent pages", sm.Documents[0].Pages, 3)
	if !strings.Contains(a["SendMessage"].Request, `SOAPAction`) && !strings.Contains(a["SendMessage"].Request, "SendCompleteMessageWithPresetAgentsAndByPassRender") {
		t.Errorf("node-soap sent an unexpected request:\n%s", a["SendMessage"].Request)
	}
	del, _ := parseLong(a["DelegateMessage"].str(t))
	want(t, "delegated owner", e.message(del).OwnerID, e.bob)
	want(t, "delegated hold", e.message(del).Folder, core.FolderHold)
	mixed, _ := parseLong(a["SendMixedMode"].str(t))
	want(t, "mixed priority", e.message(mixed).Priority, core.PriorityLow)
	details := a["GetMessageDetails"].str(t)
	if !strings.Contains(details, "<MessageDetails2 ") || !strings.Contains(details, "<MessageID>"+id(m)+"</MessageID>") {
		t.Errorf("GetMessageDetails: %s", details)
	}
	want(t, "GetMessageStatus", a["GetMessageStatus"].str(t), "Queued")
	want(t, "IsMessageDeleted", a["IsMessageDeleted"].str(t), "False")
	want(t, "MarkMsgAsRead", a["MarkMsgAsRead"].str(t), "OK")
	want(t, "IsMessageRead", a["IsMessageRead"].str(t), "true")
	want(t, "MarkMsgAsUnread", a["MarkMsgAsUnread"].str(t), "OK")
	want(t, "MarkMsgAsDownloaded", a["MarkMsgAsDownloaded"].str(t), "OK")
	want(t, "GetMessageList", strings.Join(a["GetMessageList"].strs(t), ","), id(m))
	dl := a["DownloadMessageByte"]
	if dl.Error != "" {
		t.Fatalf("DownloadMessageByte: %s", dl.Error)
	}
	out64, _ := dl.Result["output"].(string)
	tifOut, err := base64.StdEncoding.DecodeString(out64)
	if err != nil || len(tifOut) == 0 {
		t.Fatalf("DownloadMessageByte output: %v (%d bytes)", err, len(tifOut))
	}
	checkDownload(t, "TIF", tifOut, []int{1, 3})
	want(t, "GetTrackRecords", len(a["GetTrackRecords"].strs(t)), 0)
	want(t, "UpdateTrackRecord", a["UpdateTrackRecord"].str(t), "MESSAGE_NOT_FOUND")
	want(t, "CancelMessage", a["CancelMessage"].str(t), "OK")
	want(t, "RetryFailed", a["RetryFailed"].str(t), "MESSAGE_NOT_FOUND")
	want(t, "ForwardToUser", a["ForwardToUser"].str(t), "NOT_MESSAGE_OWNER")
	want(t, "AssignMessage", a["AssignMessage"].str(t), "INVALID_USER")
	want(t, "MoveMessage", a["MoveMessage"].str(t), "OK")
	want(t, "DeleteMessage", a["DeleteMessage"].str(t), "OK")
	want(t, "deleted", e.message(m).Folder, core.FolderTrash)
	erin, err := e.store.UserByName(ctxb, "erin")
	if err != nil {
		t.Fatalf("CreateUser: %v (%s)", err, a["CreateUser"].Error)
	}
	want(t, "CreateUser", a["CreateUser"].str(t), id(erin.ID))
	want(t, "UpdateUser", a["UpdateUser"].str(t), "INVALID_ADMIN")
	want(t, "RemoveUser", a["RemoveUser"].str(t), "INVALID_USER")
	want(t, "DeactivateUser", a["DeactivateUser"].str(t), "OK")
	want(t, "ActivateUser", a["ActivateUser"].str(t), "OK")
	want(t, "DeactivateUsers", a["DeactivateUsers"].str(t), "SOME_INVALID_USER")
	want(t, "ActivateUsers", a["ActivateUsers"].str(t), "OK")
	users := a["GetUserList"].strs(t)
	if len(users) != 2 || !strings.Contains(strings.Join(users, " "), id(e.carol)+"||carol") {
		t.Errorf("GetUserList: %v", users)
	}
	if d := a["GetUserDetails"].str(t); !strings.Contains(d, "<UserName>alice</UserName>") {
		t.Errorf("GetUserDetails: %s", d)
	}
	if d := a["GetUserFaxSetting"].str(t); !strings.Contains(d, "<UserID>"+id(e.alice)+"</UserID>") {
		t.Errorf("GetUserFaxSetting: %s", d)
	}
	want(t, "CreateInboundRoute", a["CreateInboundRoute"].str(t), "")
	if d := a["SearchIBRouteRules"].str(t); !strings.Contains(d, "[Remote CSID] = 'NODEFAX'") {
		t.Errorf("SearchIBRouteRules: %s", d)
	}
	want(t, "DisabledInboudRoute", a["DisabledInboudRoute"].str(t), "")
	want(t, "GetMsgFolders", strings.Join(a["GetMsgFolders"].strs(t), ","), "inbox,outbox,sent,cancelled,hold,trash,unrouted,Processed")
	want(t, "GetDomainList", len(a["GetDomainList"].strs(t)), 2)
}
