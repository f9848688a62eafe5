package auth_test

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/flowsync/flowsync/internal/auth"
	"github.com/flowsync/flowsync/internal/testcert"
)

// keyPair is a self-signed certificate and its key.
type keyPair struct {
	key  crypto.Signer
	cert *x509.Certificate
}

func newKeyPair(t *testing.T, cn string, key crypto.Signer) keyPair {
	t.Helper()
	return keyPair{key: key, cert: testcert.SelfSigned(t, cn, key,
		time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC))}
}

func newRSAPair(t *testing.T, cn string) keyPair {
	t.Helper()
	return newKeyPair(t, cn, testcert.RSAKey(t))
}

func (p keyPair) certPEM() []byte { return testcert.PEM(p.cert) }

func (p keyPair) pkcs8PEM(t *testing.T) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(p.key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func (p keyPair) pfx(t *testing.T, enc *pkcs12.Encoder, password string, cas ...*x509.Certificate) []byte {
	t.Helper()
	data, err := enc.Encode(p.key, p.cert, cas, password)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// encryptedPKCS8PEM writes key as OpenSSL 3's `openssl pkcs8 -topk8` does by
// default: PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC.
func encryptedPKCS8PEM(t *testing.T, key crypto.Signer, password string) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	salt, iv := make([]byte, 16), make([]byte, 16)
	_, _ = rand.Read(salt)
	_, _ = rand.Read(iv)
	const iter = 2048
	dk, err := pbkdf2.Key(sha256.New, password, salt, iter, 32)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(dk)
	if err != nil {
		t.Fatal(err)
	}
	pad := aes.BlockSize - len(der)%aes.BlockSize
	plain := append(der, []byte(strings.Repeat(string(rune(pad)), pad))...)
	ct := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, plain)

	mustMarshal := func(v any) []byte {
		b, err := asn1.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	kdf := mustMarshal(struct {
		Salt []byte
		Iter int
		PRF  pkix.AlgorithmIdentifier
	}{salt, iter, pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}, Parameters: asn1.NullRawValue}})
	pbes2 := mustMarshal(struct {
		KDF pkix.AlgorithmIdentifier
		Enc pkix.AlgorithmIdentifier
	}{
		pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}, Parameters: asn1.RawValue{FullBytes: kdf}},
		pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}, Parameters: asn1.RawValue{FullBytes: mustMarshal(iv)}},
	})
	info := mustMarshal(struct {
		Alg  pkix.AlgorithmIdentifier
		Data []byte
	}{pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}, Parameters: asn1.RawValue{FullBytes: pbes2}}, ct})
	return pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: info})
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestLoadCertificate(t *testing.T) {
	leaf := newRSAPair(t, "leaf")
	ca := newRSAPair(t, "ca")
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec := newKeyPair(t, "ec", ecKey)
	rsaKey := leaf.key.(*rsa.PrivateKey)
	ecDER, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	password := "pw-" + rand.Text()

	tests := []struct {
		name     string
		data     []byte
		password string
		want     keyPair
		wantN    int // certificates returned
	}{
		{"PFX modern, AES and SHA-256 MAC as OpenSSL 3 writes", leaf.pfx(t, pkcs12.Modern, password), password, leaf, 1},
		{"PFX modern with PBMAC1", leaf.pfx(t, pkcs12.Modern2026, password), password, leaf, 1},
		{"PFX legacy 3DES", leaf.pfx(t, pkcs12.Legacy, password), password, leaf, 1},
		{"PFX legacy RC2", leaf.pfx(t, pkcs12.LegacyRC2, password), password, leaf, 1},
		{"PFX legacy without password", leaf.pfx(t, pkcs12.Legacy, ""), "", leaf, 1},
		{"PFX modern with chain", leaf.pfx(t, pkcs12.Modern, password, ca.cert), password, leaf, 2},
		{"PEM PKCS#8", concat(leaf.certPEM(), leaf.pkcs8PEM(t)), "", leaf, 1},
		{"PEM PKCS#1 key first, CA before leaf", concat(
			pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}),
			ca.certPEM(), leaf.certPEM()), "", leaf, 2},
		{"PEM EC key", concat(ec.certPEM(), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})), "", ec, 1},
		{"PEM encrypted PKCS#8", concat(leaf.certPEM(), encryptedPKCS8PEM(t, leaf.key, password)), password, leaf, 1},
		{"PEM unencrypted with a password set", concat(leaf.certPEM(), leaf.pkcs8PEM(t)), password, leaf, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "client.cert", tt.data)
			certs, key, err := auth.LoadCertificate(path, tt.password)
			if err != nil {
				t.Fatal(err)
			}
			if len(certs) != tt.wantN {
				t.Errorf("got %d certificates, want %d", len(certs), tt.wantN)
			}
			if !certs[0].Equal(tt.want.cert) {
				t.Errorf("first certificate is %q, want %q", certs[0].Subject.CommonName, tt.want.cert.Subject.CommonName)
			}
			signer, ok := key.(crypto.Signer)
			if !ok {
				t.Fatalf("key %T is not a signer", key)
			}
			if !signer.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(tt.want.key.Public()) {
				t.Error("key is not the certificate's key")
			}
		})
	}
}

func TestLoadCertificateErrors(t *testing.T) {
	leaf := newRSAPair(t, "leaf")
	other := newRSAPair(t, "other")
	password := "pw-" + rand.Text()
	wrong := "wrong-" + rand.Text()

	tests := []struct {
		name     string
		data     []byte
		password string
		wantIs   error
		want     []string // substrings of the message
	}{
		{"PFX modern, wrong password", leaf.pfx(t, pkcs12.Modern, password), wrong, auth.ErrWrongPassword, []string{"wrong or missing password", "--certificate-password"}},
		{"PFX legacy, wrong password", leaf.pfx(t, pkcs12.Legacy, password), wrong, auth.ErrWrongPassword, []string{"wrong or missing password"}},
		{"PFX modern, no password", leaf.pfx(t, pkcs12.Modern, password), "", auth.ErrWrongPassword, []string{"AZURE_CLIENT_CERTIFICATE_PASSWORD"}},
		{"PEM encrypted, wrong password", concat(leaf.certPEM(), encryptedPKCS8PEM(t, leaf.key, password)), wrong, auth.ErrWrongPassword, []string{"ENCRYPTED PRIVATE KEY"}},
		{"PEM encrypted, no password", concat(leaf.certPEM(), encryptedPKCS8PEM(t, leaf.key, password)), "", auth.ErrWrongPassword, []string{"encrypted"}},
		{"neither PFX nor PEM", []byte("this is not a certificate"), wrong, nil, []string{"openssl pkcs12 -export -legacy", "PEM file with the certificate and its private key"}},
		{"PEM without key", leaf.certPEM(), "", nil, []string{"no private key"}},
		{"PEM without certificate", leaf.pkcs8PEM(t), "", nil, []string{"no CERTIFICATE"}},
		{"PEM key of another certificate", concat(other.certPEM(), leaf.pkcs8PEM(t)), "", nil, []string{"matches none of the certificates"}},
		{"PEM legacy-encrypted key", concat(leaf.certPEM(), pem.EncodeToMemory(&pem.Block{
			Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00"}, Bytes: []byte{1}})),
			wrong, nil, []string{"openssl pkcs8 -topk8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "client.pfx", tt.data)
			_, _, err := auth.LoadCertificate(path, tt.password)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %q is not %v", msg, tt.wantIs)
			}
			for _, w := range append(tt.want, path) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			for _, secret := range []string{password, wrong} {
				if strings.Contains(msg, secret) {
					t.Errorf("error %q contains a password", msg)
				}
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "absent.pfx")
		_, _, err := auth.LoadCertificate(path, "")
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
			t.Errorf("error = %v, want a not-exist error naming %s", err, path)
		}
	})
}

func ecPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p := newKeyPair(t, "ec", key)
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return concat(p.certPEM(), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
}
