package testutil

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// WaitFor polls cond until it holds, failing the test with what when it
// still does not after timeout. The timeout is a bound for a hung peer, not
// a measurement: make it generous, since a loaded CI machine is slow.
func WaitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not after %v", what, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Bound reports whether some socket on this machine is bound to the local
// port (network "udp": any UDP socket; "tcp": a listening TCP socket), from
// /proc/net. It does not bind the port itself, so asking does not race the
// program that is about to bind it.
func Bound(network string, port int) (bool, error) {
	for _, f := range []string{"/proc/net/" + network, "/proc/net/" + network + "6"} {
		ok, err := boundIn(f, network, port)
		if err != nil && !os.IsNotExist(err) {
			return false, err
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

// boundIn scans one /proc/net table: "sl local_address rem_address st ...",
// the address as HEXIP:HEXPORT and st 0A for a listening TCP socket.
func boundIn(file, network string, port int) (bool, error) {
	f, err := os.Open(file)
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 {
			continue
		}
		i := strings.LastIndexByte(fields[1], ':')
		if i < 0 {
			continue
		}
		p, err := strconv.ParseUint(fields[1][i+1:], 16, 16)
		if err != nil || int(p) != port {
			continue
		}
		if network == "tcp" && fields[3] != "0A" {
			continue
		}
		return true, nil
	}
	return false, sc.Err()
}

// WaitBound waits until a socket is bound to the local port (see Bound),
// typically a peer process the test started.
func WaitBound(tb testing.TB, network string, port int, timeout time.Duration) {
	tb.Helper()
	WaitFor(tb, timeout, fmt.Sprintf("%s port %d bound", network, port), func() bool {
		ok, err := Bound(network, port)
		if err != nil {
			tb.Fatal(err)
		}
		return ok
	})
}
