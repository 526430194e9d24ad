// Command faxagent-brooktrout is the go-plugin plugin that bridges faxagent
// to a Dialogic Brooktrout board vendor's local service (TR1034, TruFax,
// SR140). The agent starts it (drivers/brooktrout); it is built without cgo
// and keeps the vendor's service out of the agent's process. The service
// address comes in FAXAGENT_BT_SERVICE ("unix:/path" or
// "tcp:127.0.0.1:port"); the work is done by drivers/brooktrout/btplugin.
package main

import (
	"os"

	"github.com/faxagent/faxagent/drivers/brooktrout/btplugin"
)

func main() {
	os.Exit(btplugin.Main())
}
