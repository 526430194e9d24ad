package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries a webhook's signature: "t=UNIX,v1=HEX", HEX being
// the HMAC-SHA256 under the shared secret of "UNIX." followed by the body.
const SignatureHeader = "X-Faxagent-Signature"

// ErrSignature means a webhook's signature is missing, malformed, wrong or
// too old.
var ErrSignature = errors.New("notify: bad webhook signature")

func mac(secret []byte, ts int64, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	fmt.Fprintf(h, "%d.", ts)
	h.Write(body)
	return h.Sum(nil)
}

// Sign returns the signature header value of body at time t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := t.Unix()
	return fmt.Sprintf("t=%d,v1=%s", ts, hex.EncodeToString(mac(secret, ts, body)))
}

// Verify checks a signature header against body: the HMAC must match and
// the timestamp be within tolerance of now (replays of old deliveries are
// refused).
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts int64 = -1
	var sig []byte
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("%w: timestamp %q", ErrSignature, v)
			}
			ts = n
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil {
				return fmt.Errorf("%w: v1 is not hex", ErrSignature)
			}
			sig = b
		}
	}
	if ts < 0 || sig == nil {
		return fmt.Errorf("%w: want t=UNIX,v1=HEX", ErrSignature)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp %d is %v from now", ErrSignature, ts, d)
	}
	if !hmac.Equal(sig, mac(secret, ts, body)) {
		return fmt.Errorf("%w: HMAC does not match", ErrSignature)
	}
	return nil
}
