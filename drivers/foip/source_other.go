//go:build !unix

package foip

import "syscall"

// reusePort: without SO_REUSEPORT, dialled connections take another port.
func reusePort(_, _ string, _ syscall.RawConn) error { return nil }
