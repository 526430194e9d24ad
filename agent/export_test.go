package agent

import "path/filepath"

// SpoolPaths are the TIFF and the pending report a reception id leaves
// in the spool dir (for the external tests).
func SpoolPaths(dir, id string) (file, record string) {
	base := filepath.Join(dir, spoolBase(id))
	return base + ".tif", base + ".json"
}

// WritePending writes a reception's pending report as the agent does
// (inCall: the call is still in progress).
func WritePending(file, record string, rec InboundRecord, inCall bool) error {
	return pending{file: file, record: record}.write(rec, inCall)
}
