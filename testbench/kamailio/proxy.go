package kamailio

import (
	"bytes"
	"net"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/faxagent/faxagent/internal/testutil"
)

// Password is the one password kamailio.cfg accepts (FAX_PASSWORD there).
const Password = "fax-secret"

// Proxy is a running kamailio with kamailio.cfg.
type Proxy struct {
	Addr string // host:port of its UDP listener on 127.0.0.1
	log  *logBuffer
}

// Log returns what kamailio has logged so far.
func (p *Proxy) Log() string { return p.log.String() }

// WaitLog waits up to d until the log holds every string of want, and
// fails the test otherwise.
func (p *Proxy) WaitLog(t testing.TB, d time.Duration, want ...string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		log, missing := p.Log(), ""
		for _, w := range want {
			if !strings.Contains(log, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("kamailio log lacks %q after %v", missing, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Binary returns the kamailio binary: missing, it fails the test under
// CI=true and skips it otherwise.
func Binary(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"kamailio", "/usr/sbin/kamailio"} {
		if bin, err := exec.LookPath(p); err == nil {
			return bin
		}
	}
	testutil.Missing(t, "kamailio is not installed (Debian package kamailio)")
	return ""
}

// Config is the path of kamailio.cfg beside this file.
func Config(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("kamailio: cannot locate kamailio.cfg")
	}
	return filepath.Join(filepath.Dir(file), "kamailio.cfg")
}

// Start runs kamailio with kamailio.cfg on a free UDP port of 127.0.0.1, as
// the current user with a private run directory, waits until it answers
// OPTIONS, and stops it (its whole process group) at the end of the test.
func Start(t testing.TB) *Proxy {
	t.Helper()
	bin := Binary(t)
	run := t.TempDir()
	p := &Proxy{Addr: "127.0.0.1:" + strconv.Itoa(freeUDP(t)), log: &logBuffer{}}
	// -DD: the creator stays in the foreground and forks its workers; -T no
	// TCP; small memory pools (the defaults are 64 MB shared, 8 MB private).
	cmd := exec.Command(bin, "-f", Config(t), "-DD", "-E", "-n", "1", "-T", "-m", "32", "-M", "4",
		"-l", "udp:"+p.Addr, "-P", filepath.Join(run, "kamailio.pid"), "-Y", run, "-w", run)
	cmd.Dir = run
	cmd.Stdout, cmd.Stderr = p.log, p.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start kamailio: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("kamailio log:\n%s", p.Log())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-done:
			t.Fatalf("kamailio exited: %v\n%s", err, p.Log())
		default:
		}
		if optionsOK(p.Addr) {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("kamailio does not answer OPTIONS on %s\n%s", p.Addr, p.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// optionsOK sends one OPTIONS to addr and reports whether a 200 came back.
func optionsOK(addr string) bool {
	c, err := net.Dial("udp4", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	la, id := c.LocalAddr().String(), strconv.FormatInt(time.Now().UnixNano(), 36)
	req := "OPTIONS sip:" + addr + " SIP/2.0\r\nVia: SIP/2.0/UDP " + la + ";branch=z9hG4bK-probe" + id + "\r\n" +
		"Max-Forwards: 70\r\nFrom: <sip:probe@" + la + ">;tag=p1\r\nTo: <sip:" + addr + ">\r\n" +
		"Call-ID: probe-" + id + "\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		return false
	}
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	return err == nil && strings.HasPrefix(string(buf[:n]), "SIP/2.0 200")
}

func freeUDP(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// logBuffer collects kamailio's log.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *logBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *logBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
