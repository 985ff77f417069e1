package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/roomcast/sse/internal/ssetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// requireBrowser names the variable that turns a missing Chromium from a
// skip into a failure; .ci/run sets it after installing the package.
const requireBrowser = "SSE_REQUIRE_BROWSER"

// chromium returns the path of Debian's chromium, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		msg := "chromium not found in PATH (apt-get install chromium)"
		if os.Getenv(requireBrowser) == "1" {
			t.Fatalf("%s, and %s=1", msg, requireBrowser)
		}
		t.Skipf("%s; set %s=1 to fail instead", msg, requireBrowser)
	}
	return path
}

// testCert is a self-signed certificate for 127.0.0.1, written to files
// for the example's -cert and -key flags.
type testCert struct {
	certFile, keyFile string
	// spki is the SHA-256 of the public key, base64: Chromium trusts the
	// certificate through --ignore-certificate-errors-spki-list, and
	// through nothing broader.
	spki string
	pool *x509.CertPool
}

func newCert(t *testing.T) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: "chat test"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)

	dir := t.TempDir()
	c := &testCert{certFile: filepath.Join(dir, "cert.pem"), keyFile: filepath.Join(dir, "key.pem"), pool: x509.NewCertPool()}
	require.NoError(t, os.WriteFile(c.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(c.keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	c.spki = base64.StdEncoding.EncodeToString(sum[:])
	c.pool.AddCert(cert)
	return c
}

// newBrowser starts headless Chromium for the test and returns the
// context of its first tab. The browser trusts cert.
func newBrowser(t *testing.T, cert *testCert) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(1024, 720),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("ignore-certificate-errors-spki-list", cert.spki),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc() // waits for the browser to exit
	})
	start(t, "starting chromium", cancelBrowser, func() error { return chromedp.Do(bctx) })
	return bctx
}

// newSession returns a fresh browser context (like a new profile, with
// its own connections) for one case. Closing it at the test's end closes
// its tabs and their connections, so the server's shutdown does not wait
// on sockets the browser would keep in its pool.
func newSession(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	start(t, "opening a browser context", cancel, func() error { return chromedp.Do(ctx) })
	return ctx
}

// start runs the first action on a chromedp context, which starts the
// browser or opens the tab: they live as long as the context of that
// call, so a deadline on it would end them. The start is bounded by
// cancelling the context instead.
func start(t *testing.T, what string, cancel context.CancelFunc, first func() error) {
	t.Helper()
	stop := time.AfterFunc(30*time.Second, cancel)
	err := first()
	stop.Stop()
	require.NoError(t, err, what)
}

// tab is one browser tab, with the page's JavaScript errors recorded.
type tab struct {
	ctx  context.Context
	mu   sync.Mutex
	errs []string
}

// newTab opens a tab on url in the session and waits for the page's
// script to have run. It fails the test at its end if the page threw or
// logged an error.
func newTab(t *testing.T, session context.Context, url string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(session)
	tb := &tab{ctx: ctx}
	t.Cleanup(func() {
		cancel()
		tb.mu.Lock()
		defer tb.mu.Unlock()
		assert.Empty(t, tb.errs, "JavaScript errors on the page")
	})
	// Listen opens the tab, before the page loads so that no error is
	// missed.
	listen := func() error { return chromedp.Listen(ctx, tb.record) }
	start(t, "opening a tab", cancel, listen)
	tb.do(t, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#rooms li")))
	return tb
}

// record keeps the page's uncaught exceptions and console.error calls.
// It runs on chromedp's reading goroutine and must not block.
func (tb *tab) record(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		msg = ev.ExceptionDetails.Text
		if e := ev.ExceptionDetails.Exception; e != nil && e.Description != "" {
			msg += " " + e.Description
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		msg = "console.error"
	default:
		return
	}
	tb.mu.Lock()
	tb.errs = append(tb.errs, msg)
	tb.mu.Unlock()
}

// do runs actions in the tab, bounded by ssetest.Timeout.
func (tb *tab) do(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, ssetest.Timeout)
	defer cancel()
	require.NoError(t, chromedp.Do(ctx, actions...))
}

// eval evaluates a JavaScript expression in the tab's page.
func eval[T any](t *testing.T, tb *tab, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, ssetest.Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	require.NoError(t, err, "evaluating %s", expr)
	return v
}

// wait polls a JavaScript expression until it is true, failing the test
// after ssetest.Timeout. Polling from here rather than in the page keeps
// it independent of the page's timers.
func (tb *tab) wait(t *testing.T, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(ssetest.Timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !eval[bool](t, tb, "Boolean("+expr+")") {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (%s)", what, expr)
		}
		<-tick.C
	}
}

// message is a message as the page shows it.
type message struct {
	Room string `json:"room"`
	ID   string `json:"id"`
	Text string `json:"text"`
}

// messages returns the messages shown, in order.
func (tb *tab) messages(t *testing.T) []message {
	t.Helper()
	return eval[[]message](t, tb, `[...document.querySelectorAll('#log li.msg')].map(li => ({
		room: li.dataset.room, id: li.dataset.id, text: li.querySelector('.text').textContent}))`)
}

// texts returns the texts of the messages shown in room, in order.
func (tb *tab) texts(t *testing.T, room string) []string {
	t.Helper()
	texts := []string{}
	for _, m := range tb.messages(t) {
		if m.Room == room {
			texts = append(texts, m.Text)
		}
	}
	return texts
}

// waitText waits until the page shows s as a message of room.
func (tb *tab) waitText(t *testing.T, room, s string) {
	t.Helper()
	tb.wait(t, fmt.Sprintf("message %q in %s", s, room), fmt.Sprintf(
		`[...document.querySelectorAll('#log li.msg')].some(li => li.dataset.room === %s && li.querySelector('.text').textContent === %s)`,
		jsString(room), jsString(s)))
}

// roomState returns the connection state the page shows for room.
func (tb *tab) roomState(t *testing.T, room string) string {
	t.Helper()
	return eval[string](t, tb, fmt.Sprintf(
		`document.querySelector('#rooms li[data-room=%s]')?.dataset.state ?? 'absent'`, jsString(room)))
}

// waitState waits until the page shows room in state.
func (tb *tab) waitState(t *testing.T, room, state string) {
	t.Helper()
	tb.wait(t, room+" "+state, fmt.Sprintf(`document.querySelector('#rooms li[data-room=%s]')?.dataset.state === %s`,
		jsString(room), jsString(state)))
}

// screenshot saves the visible page as name.png under the test's
// artifact directory (kept with go test -artifacts) and logs the path.
func (tb *tab) screenshot(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, ssetest.Timeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	require.NoError(t, err)
	path := filepath.Join(t.ArtifactDir(), name+".png")
	require.NoError(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot: %s", path)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// streamRequest is a GET /events request as the server saw it.
type streamRequest struct {
	room        string
	lastEventID string
	protoMajor  int
	status      int
}

// chatServer is the example running for a browser test, over HTTPS and
// HTTP/2 when it has a certificate.
type chatServer struct {
	url    string
	app    *app
	client *http.Client
	// streams gets each stream request once it is answered.
	streams chan streamRequest

	mu   sync.Mutex
	gate chan struct{} // while non-nil, stream requests wait for it to close
}

// startServer runs the example with a short reconnection delay, so that
// browsers come back quickly after a drop.
func startServer(t *testing.T, cert *testCert) *chatServer {
	t.Helper()
	args := []string{"-addr", "127.0.0.1:0", "-retry", "100ms"}
	client := &http.Client{Timeout: ssetest.Timeout}
	if cert != nil {
		args = append(args, "-cert", cert.certFile, "-key", cert.keyFile)
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: cert.pool}, ForceAttemptHTTP2: true}
	}
	o, err := parseFlags(args)
	require.NoError(t, err)
	a, err := newApp(o, io.Discard)
	require.NoError(t, err)
	s := &chatServer{app: a, client: client, streams: make(chan streamRequest, 1024)}
	a.handler = s.wrap(a.handler)

	s.url = serveUntilCleanup(t, a.serve, func() {
		s.openGate()
		client.CloseIdleConnections()
	})
	return s
}

// wrap records stream requests, and holds them while the gate is shut.
func (s *chatServer) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		room, ok := strings.CutPrefix(r.URL.Path, "/events/")
		if !ok || r.Method != http.MethodGet {
			h.ServeHTTP(w, r)
			return
		}
		s.mu.Lock()
		gate := s.gate
		s.mu.Unlock()
		if gate != nil {
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			}
		}
		req := streamRequest{room: room, lastEventID: r.Header.Get("Last-Event-ID"), protoMajor: r.ProtoMajor}
		sw := &statusWriter{ResponseWriter: w, onHeader: func(code int) {
			req.status = code
			select {
			case s.streams <- req:
			default: // a test that reads none of them
			}
		}}
		h.ServeHTTP(sw, r)
	})
}

// shutGate makes stream requests wait, as if the network were down,
// until openGate.
func (s *chatServer) shutGate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate == nil {
		s.gate = make(chan struct{})
	}
}

func (s *chatServer) openGate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate != nil {
		close(s.gate)
		s.gate = nil
	}
}

// nextStream returns the next answered stream request.
func (s *chatServer) nextStream(t *testing.T) streamRequest {
	t.Helper()
	select {
	case r := <-s.streams:
		return r
	case <-time.After(ssetest.Timeout):
		t.Fatal("no stream request")
	}
	return streamRequest{}
}

// post publishes text to room through the example's POST route.
func (s *chatServer) post(t *testing.T, room, text string) {
	t.Helper()
	resp, err := s.client.Post(s.url+"/rooms/"+room, "text/plain", strings.NewReader(text))
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
}

// drop ends every stream of room on the server side.
func (s *chatServer) drop(t *testing.T, room string) int {
	t.Helper()
	n := 0
	for c := range s.app.broker.Clients() {
		if c.In(room) {
			s.app.broker.Remove(c)
			n++
		}
	}
	return n
}

// statusWriter tells the status of a response when its header is written.
// Unwrap lets http.ResponseController reach the connection beneath.
type statusWriter struct {
	http.ResponseWriter
	onHeader func(code int)
	wrote    bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		w.onHeader(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
