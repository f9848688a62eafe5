package entra

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strings"
	"time"
)

// clockSkew is the leeway for the client's clock in nbf and exp.
const clockSkew = 5 * time.Minute

type assertionHeader struct {
	Alg     string `json:"alg"`
	X5t     string `json:"x5t"`
	X5tS256 string `json:"x5t#S256"`
	Kid     string `json:"kid"`
}

type assertionClaims struct {
	Aud audience    `json:"aud"`
	Iss string      `json:"iss"`
	Sub string      `json:"sub"`
	Exp json.Number `json:"exp"`
	Nbf json.Number `json:"nbf"`
}

// audience is a JWT aud: one string or an array of them.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// verifyAssertion checks a client assertion the way Entra does for the
// client-credentials grant: RS256 or PS256, signed by the key of one of the
// app's certificates (found by the x5t#S256 or x5t thumbprint), iss and sub
// equal to the client id, aud naming this token endpoint, within nbf..exp.
func (s *server) verifyAssertion(raw, clientID string, app App, r *http.Request) *oauthError {
	bad := func(aadsts int, format string, args ...any) *oauthError {
		e := invalidAssertion(aadsts, format, args...)
		return &e
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return bad(50027, "JWT token is invalid or malformed.")
	}
	var h assertionHeader
	if err := decodeSegment(parts[0], &h); err != nil {
		return bad(50027, "JWT token is invalid or malformed.")
	}
	var c assertionClaims
	if err := decodeSegment(parts[1], &c); err != nil {
		return bad(50027, "JWT token is invalid or malformed.")
	}
	sig, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[2], "="))
	if err != nil {
		return bad(50027, "JWT token is invalid or malformed.")
	}
	if h.Alg != "RS256" && h.Alg != "PS256" {
		return bad(50027, "JWT token is invalid or malformed: unsupported signing algorithm '%s'; use RS256 or PS256.", h.Alg)
	}
	cert := findCertificate(app.CertificatesPEM, h)
	if cert == nil {
		return bad(700027, "Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '%s'] Please visit the application registration and make sure the certificate is uploaded to app '%s'.",
			firstNonEmpty(h.X5tS256, h.X5t, h.Kid), clientID)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return bad(700027, "Client assertion failed signature validation. [Reason - The registered certificate does not hold an RSA key.]")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if h.Alg == "RS256" {
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	} else {
		err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	}
	if err != nil {
		return bad(700027, "Client assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value.]")
	}
	if c.Iss != clientID || c.Sub != clientID {
		return bad(700021, "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .")
	}
	if !s.audienceMatches(c.Aud, r) {
		return bad(50027, "JWT token is invalid or malformed: the audience '%s' is not this token endpoint.", strings.Join(c.Aud, " "))
	}
	now := s.cfg.AssertionClock()
	exp, err := c.Exp.Float64()
	if err != nil {
		return bad(50027, "JWT token is invalid or malformed: no exp claim.")
	}
	if now.After(time.Unix(int64(exp), 0).Add(clockSkew)) {
		return bad(700024, "Client assertion is not within its valid time range. Current time: %s, assertion valid to: %s.",
			now.UTC().Format(time.RFC3339), time.Unix(int64(exp), 0).UTC().Format(time.RFC3339))
	}
	if c.Nbf != "" {
		nbf, err := c.Nbf.Float64()
		if err != nil || now.Add(clockSkew).Before(time.Unix(int64(nbf), 0)) {
			return bad(700024, "Client assertion is not within its valid time range. Current time: %s.", now.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// audienceMatches accepts the v2 and v1 token endpoint URLs of this host and tenant.
func (s *server) audienceMatches(aud audience, r *http.Request) bool {
	base := baseURL(r)
	tenants := []string{r.PathValue("tenant")}
	if s.cfg.Tenant != "" {
		tenants = append(tenants, s.cfg.Tenant)
	}
	for _, a := range aud {
		for _, t := range tenants {
			for _, p := range []string{"/oauth2/v2.0/token", "/oauth2/token"} {
				if strings.EqualFold(strings.TrimSuffix(a, "/"), base+"/"+t+p) {
					return true
				}
			}
		}
	}
	return false
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

// findCertificate returns the registered certificate the header's thumbprint names.
func findCertificate(registered []string, h assertionHeader) *x509.Certificate {
	s256 := decodeThumbprint(h.X5tS256)
	s1 := decodeThumbprint(h.X5t)
	kid := decodeThumbprint(h.Kid)
	for _, cert := range parseCertificates(registered) {
		sum256 := sha256.Sum256(cert.Raw)
		sum1 := sha1.Sum(cert.Raw)
		switch {
		case s256 != nil && bytes.Equal(s256, sum256[:]),
			s1 != nil && bytes.Equal(s1, sum1[:]),
			kid != nil && (bytes.Equal(kid, sum1[:]) || bytes.Equal(kid, sum256[:])):
			return cert
		}
	}
	return nil
}

// decodeThumbprint reads base64url (the standard form), padded standard
// base64 (what some libraries send) or hex (common in kid).
func decodeThumbprint(s string) []byte {
	if s == "" {
		return nil
	}
	if b, err := hex.DecodeString(s); err == nil && (len(b) == sha1.Size || len(b) == sha256.Size) {
		return b
	}
	u := strings.NewReplacer("+", "-", "/", "_").Replace(strings.TrimRight(s, "="))
	b, err := base64.RawURLEncoding.DecodeString(u)
	if err != nil {
		return nil
	}
	return b
}

// parseCertificates reads PEM blocks, or base64 DER, skipping what does not parse:
// a bad registration must not stop the app's other certificates from working.
func parseCertificates(registered []string) []*x509.Certificate {
	var out []*x509.Certificate
	for _, entry := range registered {
		data := []byte(entry)
		found := false
		for {
			var block *pem.Block
			block, data = pem.Decode(data)
			if block == nil {
				break
			}
			found = true
			if block.Type != "CERTIFICATE" {
				continue
			}
			if c, err := x509.ParseCertificate(block.Bytes); err == nil {
				out = append(out, c)
			}
		}
		if found {
			continue
		}
		if der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(entry)); err == nil {
			if c, err := x509.ParseCertificate(der); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}
