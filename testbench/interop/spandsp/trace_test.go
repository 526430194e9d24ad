package spandsp

import (
	"testing"

	"github.com/faxagent/faxagent/t38"
)

// dumpDatagram logs one UDPTL datagram as IFP (set T38DEBUG=1 to trace a
// lockstep call).
func dumpDatagram(t *testing.T, tag string, d []byte, version int) {
	var u t38.UDPTLPacket
	if err := u.Unmarshal(d); err != nil {
		t.Logf("%s bad udptl %x: %v", tag, d, err)
		return
	}
	p := t38.Packet{Version: version}
	if err := p.Unmarshal(u.Primary); err != nil {
		t.Logf("%s seq %d bad ifp %x: %v", tag, u.Seq, u.Primary, err)
		return
	}
	if p.Type == t38.TypeIndicator {
		t.Logf("%s seq %d ind %v", tag, u.Seq, p.Indicator)
		return
	}
	s := ""
	for _, f := range p.Fields {
		s += f.Type.String() + ":" + string(rune('0'+len(f.Data)%10)) + " "
	}
	t.Logf("%s seq %d data %v %s (%x)", tag, u.Seq, p.DataType, s, u.Primary)
}
