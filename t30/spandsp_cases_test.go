package t30

// spandspFIFCases are DIS and DCS fields whose decode by SpanDSP's
// t30_decode_dis_dtc_dcs is kept in testdata/spandsp/fif_decode.txt (in
// this order, as frames "ff 13 80|83 FIF").
var spandspFIFCases = []struct {
	dcs  bool
	caps Caps
}{
	{false, Caps{ReceiveFax: true, Modems: SetV27ter | SetV29 | SetV17, Fine: true, MR: true, Length: LengthUnlimited}},
	{false, Caps{ReceiveFax: true, Modems: SetV27ter | SetV29, Fine: true, Width: WidthB4, Length: LengthB4, MinScanMS: 20, HalfAtFine: true}},
	{false, Caps{ReceiveFax: true, Modems: SetV27ter, Width: WidthA3, MinScanMS: 40}},
	{false, Caps{ReceiveFax: true, Modems: SetV29, MinScanMS: 10, HalfAtFine: true, ECM: true, MMR: true, MR: true, Prefer64: true}},
	{false, Caps{ReceiveFax: true, Modems: 0, MinScanMS: 5, Superfine: true, Ultrafine: true, HalfAtHigherRes: true, Subaddress: true, Password: true, ECM: true}},
	{false, Caps{ReceiveFax: true, Poll: true, T38: true, V8: true, Modems: SetV27ter | SetV29 | SetV17, Letter: true, Legal: true, MetricPreferred: true}},
	{true, Caps{ReceiveFax: true, Speed: Speed{V17, 14400}, Fine: true, MR: true, Length: LengthUnlimited}},
	{true, Caps{ReceiveFax: true, Speed: Speed{V17, 12000}, MinScanMS: 20}},
	{true, Caps{ReceiveFax: true, Speed: Speed{V17, 9600}, Width: WidthB4, MinScanMS: 40}},
	{true, Caps{ReceiveFax: true, Speed: Speed{V17, 7200}, Width: WidthA3, Length: LengthB4, MinScanMS: 10}},
	{true, Caps{ReceiveFax: true, Speed: Speed{V29, 9600}, MinScanMS: 5, ECM: true, MMR: true, Frame64: true}},
	{true, Caps{ReceiveFax: true, Speed: Speed{V29, 7200}, Superfine: true, ECM: true}},
	{true, Caps{ReceiveFax: true, Speed: Speed{V27ter, 4800}, Ultrafine: true, MR: true}},
	{true, Caps{ReceiveFax: true, Speed: Speed{V27ter, 2400}, Fine: true}},
}
