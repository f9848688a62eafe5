package emulator

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"sync"
	"time"
)

// Running is a listening emulator.
type Running struct {
	// URL is the base URL, e.g. http://127.0.0.1:41234 (https with TLS).
	URL string
	// CACertPEM is the self-signed certificate the TLS listener presents,
	// for the client's trust pool; nil without TLS.
	CACertPEM []byte

	srv       *http.Server
	s         *Server
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
	stopCtx   func() bool
}

// Listen serves s on addr ("127.0.0.1:0" picks a free port). With useTLS it
// generates a self-signed ECDSA certificate for 127.0.0.1, ::1 and
// localhost. Cancelling ctx closes the server as Close does.
func Listen(ctx context.Context, s *Server, addr string, useTLS bool) (*Running, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("emulator listen %s: %w", addr, err)
	}
	run := &Running{
		s:    s,
		done: make(chan struct{}),
		srv: &http.Server{
			Handler:           s,
			ReadHeaderTimeout: 10 * time.Second,
			// Resets and truncations are deliberate; keep them out of stderr.
			ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		},
	}
	scheme := "http"
	if useTLS {
		certPEM, cert, err := selfSigned()
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("emulator certificate: %w", err)
		}
		run.CACertPEM = certPEM
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}})
		scheme = "https"
	}
	run.URL = scheme + "://" + ln.Addr().String()
	go func() {
		defer close(run.done)
		if err := run.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("emulator serve", "err", err)
		}
	}()
	run.stopCtx = context.AfterFunc(ctx, func() { _ = run.Close() })
	return run, nil
}

// Close stops accepting requests, waits briefly for those in flight, and
// flushes the state file.
func (r *Running) Close() error {
	r.closeOnce.Do(func() {
		r.stopCtx()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := r.srv.Shutdown(ctx)
		if err != nil {
			err = errors.Join(err, r.srv.Close())
		}
		<-r.done
		r.closeErr = errors.Join(err, r.s.Flush())
	})
	return r.closeErr
}

// selfSigned makes a certificate that is its own CA, so a client trusts it
// by adding CACertPEM to its pool.
func selfSigned() ([]byte, tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "flowsync emulator", Organization: []string{"flowsync"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	return certPEM, cert, err
}
