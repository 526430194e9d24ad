package main

import (
	"fmt"
	"log/slog"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/foip"
)

// newFoip builds the FoIP trunk the configuration describes (trunk mode
// when a registrar is set, else peer mode) and returns its port IDs.
func newFoip(c FoipCfg, log *slog.Logger) (*foip.Driver, []string, error) {
	board := c.Board
	if board == 0 {
		board = 1 // board 0 is the loopback ports'
	}
	channels := c.Channels
	if channels == 0 {
		channels = 1
	}
	start := foip.T38Reinvite
	if c.T38.Start == "invite" {
		start = foip.T38InInvite
	}
	mode, number := foip.Peer, c.Number
	if c.Registrar != "" {
		mode = foip.Trunk
		if number == "" {
			number = c.Username // the registered address-of-record
		}
	}
	policy, byDest, err := c.T38.policies()
	if err != nil {
		return nil, nil, err
	}
	caps := foip.DefaultCaps()
	if c.T38.NoECM {
		caps.ECM = false
	}
	d, err := foip.New(foip.Config{
		Name: "foip", Board: board, Channels: channels, Number: number,
		Transport: c.Transport, TLSCert: c.TLSCert, TLSKey: c.TLSKey, TLSCA: c.TLSCA, Listen: c.Listen, Mode: mode, Peer: c.Peer,
		Registrar: c.Registrar, Username: c.Username, Password: c.Password,
		RegisterExpiry: c.RegisterExpiry, RegisterRetry: c.RegisterRetry,
		InboundUser: c.InboundUser, InboundPassword: c.InboundPassword, Realm: c.Realm,
		SessionExpires: c.SessionExpires, AllowFrom: c.AllowFrom, RoutingHeader: c.RoutingHeader, RoutingDigits: c.RoutingDigits,
		T38: start, T38Policy: policy, T38ByDestination: byDest, ReinviteOut: c.T38.ReinviteOut, ReinviteIn: c.T38.ReinviteIn, T38Timeout: c.T38.Timeout,
		ReinviteTimeout: c.T38.ReinviteTimeout,
		T38Version:      c.T38.Version, T38MaxBitRate: c.T38.MaxBitRate, T38MaxDatagram: c.T38.MaxDatagram, T38FEC: c.T38.FEC,
		MediaIP: c.MediaIP, RTPPortMin: c.RTPPortMin, RTPPortMax: c.RTPPortMax, Codec: c.Codec,
		UDPTLTimeout: c.UDPTLTimeout, RTPTimeout: c.RTPTimeout,
		FailedCallsPerSource: c.FailedCallsPerSource, FailedCallsWindow: c.FailedCallsWindow,
		Caps: &caps, Logger: log,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("foip trunk: %w", err)
	}
	ids := make([]string, channels)
	for i := range ids {
		ids[i] = drivers.PortID(board, i)
	}
	return d, ids, nil
}

// policies reads the trunk's T.38 policy and its overrides by destination.
func (t FoipT38Cfg) policies() (foip.T38Policy, map[string]foip.T38Policy, error) {
	p, err := foip.ParseT38Policy(t.Policy)
	if err != nil {
		return 0, nil, fmt.Errorf("foip t38 policy: %w", err)
	}
	var by map[string]foip.T38Policy
	for prefix, v := range t.Destinations {
		q, err := foip.ParseT38Policy(v)
		if err != nil {
			return 0, nil, fmt.Errorf("foip t38 destinations %q: %w", prefix, err)
		}
		if by == nil {
			by = map[string]foip.T38Policy{}
		}
		by[prefix] = q
	}
	return p, by, nil
}
