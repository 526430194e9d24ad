// Package drivers owns the port driver contract: the Driver and Call
// interfaces every kind of fax port implements, the types they share
// (PortInfo, PortEvent, CallInfo, SendParams, ReceiveParams, Result) and the
// one helper, Loop with SendOver and ReceiveOver, that runs a t30.Session
// over a t30.Line for host-managed drivers.
//
// Two kinds of driver fit the contract:
//
//   - Host-managed drivers (drivers/loopback, SIP/T.38) give the host a
//     t30.Line per call; our t30 engine runs the session. They implement
//     Call.Send and Call.Receive with SendOver and ReceiveOver, so no driver
//     writes T.30 glue of its own.
//   - Board-managed drivers (Brooktrout) run T.30 on the board and hand back
//     a result; they implement Send and Receive directly and fill the same
//     Result, with the board's cause in Result.Cause.
//
// The agent sees only document-level calls whatever the driver. Concrete
// drivers live in sub-packages. This package imports t30 and imaging only;
// it must never import agent, core or a concrete driver, and a driver must
// never import agent or core.
package drivers
