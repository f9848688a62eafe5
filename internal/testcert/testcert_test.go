package testcert

import (
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"
)

// TestSelfSigned: the certificate names cn, carries the key, has the
// validity asked for, verifies against itself, and round-trips through PEM.
func TestSelfSigned(t *testing.T) {
	key := RSAKey(t)
	nb, na := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC)
	cert := SelfSigned(t, "flowsync test", key, nb, na)
	if cert.Subject.CommonName != "flowsync test" || !cert.NotBefore.Equal(nb) || !cert.NotAfter.Equal(na) {
		t.Errorf("certificate %v, %v..%v", cert.Subject, cert.NotBefore, cert.NotAfter)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		t.Error("the certificate does not carry the key")
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	b, _ := pem.Decode(PEM(cert))
	if b == nil || b.Type != "CERTIFICATE" {
		t.Fatalf("PEM block %v", b)
	}
	back, err := x509.ParseCertificate(b.Bytes)
	if err != nil || !back.Equal(cert) {
		t.Errorf("PEM round trip: %v", err)
	}
}
