package auth

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// ErrWrongPassword reports that a certificate file's password is missing or wrong.
var ErrWrongPassword = errors.New("wrong or missing password")

// reexportHint tells the user how to turn a file flowsync cannot read into one it can.
const reexportHint = "re-export it with `openssl pkcs12 -export -legacy -in cert.pem -inkey key.pem -out cert.pfx`, " +
	"or provide a PEM file with the certificate and its private key"

// LoadCertificate reads a client certificate and its private key from a
// PFX/PKCS#12 file (legacy RC2/3DES or OpenSSL 3's AES/PBKDF2-SHA256) or a
// PEM file (certificate plus a PKCS#1, PKCS#8, EC or encrypted PKCS#8 key).
// The certificate that matches the key comes first. Errors name the file and
// never contain the password.
func LoadCertificate(path, password string) ([]*x509.Certificate, crypto.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("certificate %s: %w", path, err)
	}
	certs, key, err := ParseCertificate(data, password)
	if err != nil {
		return nil, nil, redactErr(fmt.Errorf("certificate %s: %w", path, err), nonEmpty(password))
	}
	return certs, key, nil
}

// ParseCertificate is LoadCertificate for bytes already read.
func ParseCertificate(data []byte, password string) ([]*x509.Certificate, crypto.PrivateKey, error) {
	// The Azure SDK parser reads PEM and legacy PKCS#12; it rejects the
	// SHA-256 MACs OpenSSL 3 writes by default, hence the fallbacks.
	if certs, key, err := azidentity.ParseCertificates(data, []byte(password)); err == nil {
		return orderCertificates(certs, key)
	}
	if isPEM(data) {
		certs, key, err := parsePEM(data, password)
		if err != nil {
			return nil, nil, err
		}
		return orderCertificates(certs, key)
	}
	key, leaf, cas, err := pkcs12.DecodeChain(data, password)
	switch {
	case errors.Is(err, pkcs12.ErrIncorrectPassword) || errors.Is(err, pkcs12.ErrDecryption):
		return nil, nil, fmt.Errorf("PKCS#12 file: %w (set %s or %s)", ErrWrongPassword, FlagCertificatePassword, EnvCertificatePassword)
	case err != nil:
		return nil, nil, fmt.Errorf("neither PKCS#12 nor PEM (%v): %s", err, reexportHint)
	}
	return orderCertificates(append([]*x509.Certificate{leaf}, cas...), key)
}

func isPEM(data []byte) bool { return bytes.Contains(data, []byte("-----BEGIN ")) }

func parsePEM(data []byte, password string) ([]*x509.Certificate, crypto.PrivateKey, error) {
	var certs []*x509.Certificate
	var key crypto.PrivateKey
	setKey := func(k crypto.PrivateKey) error {
		if key != nil {
			return errors.New("PEM file holds more than one private key")
		}
		key = k
		return nil
	}
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		var (
			k   crypto.PrivateKey
			err error
		)
		switch block.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, nil, fmt.Errorf("PEM certificate: %w", err)
			}
			certs = append(certs, c)
			continue
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY", "EC PRIVATE KEY":
			if strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
				return nil, nil, fmt.Errorf("PEM %s uses the legacy OpenSSL encryption flowsync does not read: "+
					"convert it with `openssl pkcs8 -topk8 -in key.pem -out key-pkcs8.pem` (encrypted PKCS#8) or %s",
					block.Type, reexportHint)
			}
			if block.Type == "RSA PRIVATE KEY" {
				k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
			} else {
				k, err = x509.ParseECPrivateKey(block.Bytes)
			}
		case "ENCRYPTED PRIVATE KEY":
			if password == "" {
				return nil, nil, fmt.Errorf("PEM private key is encrypted: %w (set %s or %s)", ErrWrongPassword, FlagCertificatePassword, EnvCertificatePassword)
			}
			k, err = decryptPKCS8(block.Bytes, password)
		default:
			continue
		}
		if errors.Is(err, ErrWrongPassword) {
			return nil, nil, fmt.Errorf("PEM %s: %w (set %s or %s)", block.Type, err, FlagCertificatePassword, EnvCertificatePassword)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("PEM %s: %w", block.Type, err)
		}
		if err := setKey(k); err != nil {
			return nil, nil, err
		}
	}
	if len(certs) == 0 {
		return nil, nil, fmt.Errorf("PEM file holds no CERTIFICATE block: %s", reexportHint)
	}
	if key == nil {
		return nil, nil, fmt.Errorf("PEM file holds no private key: %s", reexportHint)
	}
	return certs, key, nil
}

// orderCertificates puts the certificate whose public key matches key first,
// the one Entra identifies by thumbprint.
func orderCertificates(certs []*x509.Certificate, key crypto.PrivateKey) ([]*x509.Certificate, crypto.PrivateKey, error) {
	pub, ok := publicKey(key)
	if !ok {
		return nil, nil, fmt.Errorf("unsupported private key type %T", key)
	}
	for i, c := range certs {
		if c != nil && pub.Equal(c.PublicKey) {
			out := append([]*x509.Certificate{c}, certs[:i]...)
			return append(out, certs[i+1:]...), key, nil
		}
	}
	return nil, nil, errors.New("the private key matches none of the certificates in the file")
}

func publicKey(key crypto.PrivateKey) (interface{ Equal(crypto.PublicKey) bool }, bool) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return &k.PublicKey, true
	case *ecdsa.PrivateKey:
		return &k.PublicKey, true
	case ed25519.PrivateKey:
		p, ok := k.Public().(ed25519.PublicKey)
		return p, ok
	}
	return nil, false
}

func nonEmpty(v ...string) []string {
	var out []string
	for _, s := range v {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
