// Command soapload is the load generator of bench/soap.sh: C concurrent
// clients post raw SOAP 1.1 requests, as a .NET FaxCore client sends
// them, to a running `faxagent serve` for a fixed time per operation and
// it prints requests per second and latency percentiles.
//
//	soapload -url http://127.0.0.1:8080/webservices/wfapi.asmx -user admin -password PW \
//	    -tiff core/soap/testdata/ten.tif -clients 32 -duration 10s -label sqlite
//
// Two phases run one after the other: SendCompleteMessage of the TIFF to
// -to (one recipient), then GetMessageStatus of the messages the first
// phase made (each client walks them round-robin). A request counts only
// if it is answered with HTTP 200 and a result of the right form (a
// message ID, a status word); anything else is counted as an error and
// the first few are printed.
//
// It imports only the standard library and must stay that way: it is a
// client, as independent of the server's code as a FaxCore client is.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "soapload:", err)
		os.Exit(1)
	}
}

type options struct {
	url, user, password, tiff, to, label string
	clients                              int
	duration                             time.Duration
}

func run() error {
	var o options
	flag.StringVar(&o.url, "url", "", "service URL (…/webservices/wfapi.asmx)")
	flag.StringVar(&o.user, "user", "admin", "FaxCore user name (HTTP Basic credentials and AuthenticateUser)")
	flag.StringVar(&o.password, "password", "", "its password")
	flag.StringVar(&o.tiff, "tiff", "", "TIFF document to send")
	flag.StringVar(&o.to, "to", "5550103", "recipient fax number")
	flag.StringVar(&o.label, "label", "", "label printed with the results (the backend)")
	flag.IntVar(&o.clients, "clients", 32, "concurrent clients")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "duration of each phase")
	flag.Parse()
	if o.url == "" || o.tiff == "" || o.clients < 1 || o.duration <= 0 {
		flag.Usage()
		return errors.New("-url and -tiff are required, -clients and -duration positive")
	}
	doc, err := os.ReadFile(o.tiff)
	if err != nil {
		return err
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.clients * 2}, Timeout: time.Minute}
	c := &client{hc: hc, url: o.url, user: o.user, password: o.password}
	uid, err := c.call(context.Background(), "AuthenticateUser", "<userName>"+o.user+"</userName><password>"+o.password+"</password>")
	if err != nil {
		return fmt.Errorf("AuthenticateUser: %w", err)
	}
	if n, err := strconv.ParseInt(uid, 10, 64); err != nil || n <= 1 {
		return fmt.Errorf("AuthenticateUser answered %q", uid)
	}
	send := sendBody(uid, o.to, doc)
	fmt.Printf("%s: %d clients, %s per operation, %d-byte TIFF\n", o.label, o.clients, o.duration, len(doc))

	isID := regexp.MustCompile(`^[1-9][0-9]*$`)
	var idsMu sync.Mutex
	var ids []string
	st := phase(o, func(ctx context.Context, worker, i int) error {
		id, err := c.call(ctx, "SendCompleteMessage", send)
		if err != nil {
			return err
		}
		if !isID.MatchString(id) {
			return fmt.Errorf("SendCompleteMessage answered %q", id)
		}
		idsMu.Lock()
		ids = append(ids, id)
		idsMu.Unlock()
		return nil
	})
	st.print(o, "SendCompleteMessage")
	if len(ids) == 0 {
		return errors.New("no message was sent")
	}
	isStatus := regexp.MustCompile(`^[A-Za-z]+$`)
	st = phase(o, func(ctx context.Context, worker, i int) error {
		id := ids[(worker*7919+i)%len(ids)]
		s, err := c.call(ctx, "GetMessageStatus", "<msgID>"+id+"</msgID>")
		if err != nil {
			return err
		}
		if !isStatus.MatchString(s) || s == "MESSAGE_NOT_FOUND" {
			return fmt.Errorf("GetMessageStatus %s answered %q", id, s)
		}
		return nil
	})
	st.print(o, "GetMessageStatus")
	return nil
}

// sendBody is a SendCompleteMessage request body for one recipient.
func sendBody(uid, to string, doc []byte) string {
	return `<userID>` + uid + `</userID><senderName>Bench</senderName><senderCompName>Bench Co</senderCompName>` +
		`<subject>soapload</subject><note /><billingCode /><scheduleDate /><priority>60</priority><isOnHold>false</isOnHold>` +
		`<mss>false</mss><msf>false</msf><recpName><string>R</string></recpName><recpCompName><string /></recpCompName>` +
		`<recpAddress><string>` + to + `</string></recpAddress><recpRawFax><boolean>false</boolean></recpRawFax>` +
		`<recpNotifyAddr><string /></recpNotifyAddr><recpIsRRFOn><boolean>false</boolean></recpIsRRFOn>` +
		`<recpIsRRSOn><boolean>false</boolean></recpIsRRSOn><documentName><string>ten.tif</string></documentName>` +
		`<documentPath><string /></documentPath><documentBytes><anyType xsi:type="xsd:base64Binary">` +
		base64.StdEncoding.EncodeToString(doc) + `</anyType></documentBytes><documentIsMerge><boolean>false</boolean></documentIsMerge>`
}

type client struct {
	hc             *http.Client
	url            string
	user, password string // sent as HTTP Basic credentials with every request
}

var resultRE = regexp.MustCompile(`<([A-Za-z0-9-]+)Result>([^<]*)</[A-Za-z0-9-]+Result>|<([A-Za-z0-9-]+)Result ?/>`)

// call posts op and returns the text of its result element.
func (c *client) call(ctx context.Context, op, inner string) (string, error) {
	body := `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ` +
		`xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body><` +
		op + ` xmlns="http://faxcoreserver/services/">` + inner + `</` + op + `></soap:Body></soap:Envelope>`
	req, err := http.NewRequestWithContext(ctx, "POST", c.url, bytes.NewBufferString(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"http://faxcoreserver/services/`+op+`"`)
	req.SetBasicAuth(c.user, c.password)
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: HTTP %s: %.300s", op, resp.Status, b)
	}
	m := resultRE.FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("%s: no result in %.300s", op, b)
	}
	return string(m[2]), nil
}

type stats struct {
	ok, failed int
	elapsed    time.Duration
	lat        []time.Duration
	firstErrs  []error
}

// phase runs fn from o.clients goroutines until o.duration has passed;
// requests still running at the end are waited for and counted.
func phase(o options, fn func(ctx context.Context, worker, i int) error) stats {
	var mu sync.Mutex
	var all stats
	ctx := context.Background()
	start := time.Now()
	stop := start.Add(o.duration)
	var wg sync.WaitGroup
	for w := range o.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			var errs []error
			failed := 0
			for i := 0; time.Now().Before(stop); i++ {
				t0 := time.Now()
				err := fn(ctx, w, i)
				if err != nil {
					failed++
					if len(errs) < 3 {
						errs = append(errs, err)
					}
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			all.ok += len(lat)
			all.failed += failed
			all.lat = append(all.lat, lat...)
			all.firstErrs = append(all.firstErrs, errs...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	all.elapsed = time.Since(start)
	slices.Sort(all.lat)
	return all
}

func (s stats) pct(p float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	i := int(float64(len(s.lat))*p+0.999999) - 1
	return s.lat[min(max(i, 0), len(s.lat)-1)]
}

// print writes the operation's line and BENCH lines for bench/report
// (figures of ours alone: no reference runs this).
func (s stats) print(o options, op string) {
	label := o.label
	what := fmt.Sprintf("faxagent serve --role core on 127.0.0.1 with the %s store, %d clients posting raw SOAP 1.1 for %v, client and server on the same machine.", label, o.clients, o.duration)
	for _, f := range []struct {
		unit   string
		v      float64
		higher bool
	}{{"requests/s", float64(s.ok) / s.elapsed.Seconds(), true}, {"ms p99 latency", ms(s.pct(0.99)), false}} {
		b, _ := json.Marshal(map[string]any{"group": "soap", "name": op + " (" + label + ")", "unit": f.unit, "higher": f.higher,
			"ours": []float64{f.v}, "ours_includes": what})
		fmt.Printf("BENCH %s\n", b)
	}
	fmt.Printf("%-8s %-20s %6d ok %4d errors  %8.1f req/s  p50 %7.1f ms  p99 %7.1f ms  max %7.1f ms\n",
		label, op, s.ok, s.failed, float64(s.ok)/s.elapsed.Seconds(),
		ms(s.pct(0.50)), ms(s.pct(0.99)), ms(s.pct(1)))
	for i, err := range s.firstErrs {
		if i == 3 {
			break
		}
		fmt.Printf("         error: %v\n", err)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
