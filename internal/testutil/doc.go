// Package testutil holds what the tests of several packages share: the
// tools, services and real-time runs a test needs (outside CI a missing one
// skips the test and says why; under CI=true it fails it), binaries built
// once and only when a test asks for them, and waiting for a condition
// instead of sleeping.
//
// Only tests and test benches import it. It must not import any faxagent
// package.
package testutil
