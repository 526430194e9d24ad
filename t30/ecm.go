package t30

import "errors"

type ecmTx struct{}
type ecmRx struct{}

func (r *ecmRx) carrierUp() {}

func (s *Session) rxECMFrame(raw []byte, ok bool) {}

func (s *Session) ecmStartPage() {
	s.disconnect(CodeInternal, errors.New("t30: ECM not implemented"))
}

func (s *Session) ecmResponse(f *Frame) {}

func (s *Session) ecmCommand(f *Frame) {}
