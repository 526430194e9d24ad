package email

import (
	"net"
	"testing"
)

func netListen(t *testing.T) (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
