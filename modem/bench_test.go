package modem

import (
	"testing"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/t30"
)

// BenchmarkCallV17: one 3-page call at V.17 14400 between two terminals,
// both ends (go test -bench CallV17 -cpuprofile to see where it goes).
func BenchmarkCallV17(b *testing.B) {
	t := &testing.T{}
	for range b.N {
		runCall(t, callCase{comp: imaging.MR, pages: 3, pumps: DefaultPumps(), set: t30.SetV17 | t30.SetV29 | t30.SetV27ter})
	}
}
