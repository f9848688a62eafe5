package api

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/flowsync/flowsync/internal/redact"
)

// maxPlainMessage bounds the message taken from a non-JSON error body (an
// HTML page from a proxy, say): enough to recognise it, not a page of markup.
const maxPlainMessage = 300

var (
	// tryAgainRE reads the gateway's "Rate limit is exceeded. Try again in N seconds."
	tryAgainRE = regexp.MustCompile(`(?i)try again in (\d+) seconds?`)
	// saveFailedRE reads InvalidOpenApiFlow's "Flow save failed with code 'X' and
	// message 'Y'". Y may itself contain quotes, so it runs to the last one.
	saveFailedRE = regexp.MustCompile(`(?s)Flow save failed with code '([^']+)' and message '(.*)'`)
)

// DecodeError builds the *APIError for a non-2xx response from whichever error
// shape the body uses:
//
//   - the standard {"error":{"code","message"}};
//   - a double-wrapped error (AzureResourceManagerRequestFailed,
//     XrmApiRequestFailed, or any message embedding '{"error":{…}}'), whose
//     embedded code and message become InnerCode and InnerMessage;
//   - InvalidOpenApiFlow's "Flow save failed with code 'X' and message 'Y'";
//   - the OData v3 {"error":{"odata.error":{"code","message":{"value"}}}};
//   - the gateway's {"statusCode":429,"message":"… Try again in N seconds."}
//     (Code CodeRateLimit);
//   - anything else, including an empty body (Code from the status text).
//
// RetryAfter comes from the Retry-After header (delta seconds, or an HTTP date
// taken relative to now), else from retry-after-ms headers, else from a
// "Try again in N seconds" message. Messages are redacted (SAS signatures,
// tokens) before they are stored. Method and Path are left for the caller.
func DecodeError(status int, header http.Header, body []byte, now time.Time) *APIError {
	e := &APIError{Status: status}
	e.Code, e.Message = decodeOuter(status, body)
	if e.Code == "" {
		e.Code = statusCode(status)
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	e.InnerCode, e.InnerMessage = innermost(e.Message)

	if d, ok := retryAfterHeader(header, now); ok {
		e.RetryAfter = d
	} else if m := tryAgainRE.FindStringSubmatch(e.Message); m != nil {
		e.RetryAfter = seconds(m[1])
	}

	e.Code = redact.String(e.Code)
	e.Message = redact.String(e.Message)
	e.InnerCode = redact.String(e.InnerCode)
	e.InnerMessage = redact.String(e.InnerMessage)
	return e
}

// errorEnvelope covers every JSON shape in one decode; fields that a shape
// does not use stay empty.
type errorEnvelope struct {
	Error      json.RawMessage `json:"error"`
	StatusCode json.RawMessage `json:"statusCode"`
	Code       json.RawMessage `json:"code"`
	Message    json.RawMessage `json:"message"`
	// OAuth-style bodies: {"error":"…","error_description":"…"}.
	ErrorDescription string `json:"error_description"`
}

type errorObject struct {
	Code    json.RawMessage `json:"code"`
	Message json.RawMessage `json:"message"`
	OData   *struct {
		Code    json.RawMessage `json:"code"`
		Message json.RawMessage `json:"message"`
	} `json:"odata.error"`
}

// decodeOuter returns the outer code and message of body, or empty strings
// when the body names neither.
func decodeOuter(status int, body []byte) (code, message string) {
	trimmed := bytes.TrimSpace(body)
	var env errorEnvelope
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &env) != nil {
		return "", plainMessage(trimmed)
	}
	if len(env.Error) > 0 && string(env.Error) != "null" {
		var obj errorObject
		if json.Unmarshal(env.Error, &obj) == nil {
			if obj.OData != nil {
				return text(obj.OData.Code), text(obj.OData.Message)
			}
			return text(obj.Code), text(obj.Message)
		}
		// {"error":"invalid_request","error_description":"…"}
		return text(env.Error), env.ErrorDescription
	}
	if len(env.StatusCode) > 0 {
		// The gateway's bare body; only its throttling answer has a name of ours.
		if n, err := strconv.Atoi(string(env.StatusCode)); err == nil && (n == http.StatusTooManyRequests || status == http.StatusTooManyRequests) {
			return CodeRateLimit, text(env.Message)
		}
		return "", text(env.Message)
	}
	return text(env.Code), text(env.Message)
}

// text reads a JSON value as a message: a string as itself, an OData message
// object by its "value", a number by its digits.
func text(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	var obj struct {
		Value string `json:"value"`
	}
	if raw[0] == '{' && json.Unmarshal(raw, &obj) == nil {
		return strings.TrimSpace(obj.Value)
	}
	if raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9') {
		return string(raw)
	}
	return ""
}

// plainMessage turns a non-JSON body into a short single-line message.
func plainMessage(body []byte) string {
	if !utf8.Valid(body) {
		return ""
	}
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > maxPlainMessage {
		cut := maxPlainMessage
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// statusCode names a status for bodies that carry no code: 502 → "BadGateway".
func statusCode(status int) string {
	if t := http.StatusText(status); t != "" {
		return strings.NewReplacer(" ", "", "-", "").Replace(t)
	}
	return "HTTP" + strconv.Itoa(status)
}

// innermost unwraps a message that embeds another error, as many levels as
// there are (bounded), and returns the deepest code and message.
func innermost(message string) (code, msg string) {
	for range 4 {
		c, m, ok := embedded(message)
		if !ok {
			break
		}
		code, msg, message = c, m, m
	}
	return code, msg
}

// embedded finds one error nested in message: a JSON error document (possibly
// with escaped quotes), else the "Flow save failed" pattern.
func embedded(message string) (code, msg string, ok bool) {
	for _, s := range []string{message, strings.ReplaceAll(message, `\"`, `"`)} {
		for i := strings.IndexByte(s, '{'); i >= 0; {
			dec := json.NewDecoder(strings.NewReader(s[i:]))
			var env struct {
				Error *errorObject `json:"error"`
			}
			if dec.Decode(&env) == nil && env.Error != nil {
				obj := env.Error
				if obj.OData != nil {
					code, msg = text(obj.OData.Code), text(obj.OData.Message)
				} else {
					code, msg = text(obj.Code), text(obj.Message)
				}
				if code != "" || msg != "" {
					return code, msg, true
				}
			}
			next := strings.IndexByte(s[i+1:], '{')
			if next < 0 {
				break
			}
			i += 1 + next
		}
	}
	if m := saveFailedRE.FindStringSubmatch(message); m != nil {
		return m[1], m[2], true
	}
	return "", "", false
}

// retryAfterHeader reads Retry-After, falling back to the millisecond
// variants some Microsoft gateways send.
func retryAfterHeader(h http.Header, now time.Time) (time.Duration, bool) {
	if h == nil {
		return 0, false
	}
	if d, ok := ParseRetryAfter(h.Get("Retry-After"), now); ok {
		return d, true
	}
	for _, k := range []string{"Retry-After-Ms", "X-Ms-Retry-After-Ms"} {
		if v := strings.TrimSpace(h.Get(k)); v != "" {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
				return time.Duration(min(n, math.MaxInt64/int64(time.Millisecond))) * time.Millisecond, true
			}
		}
	}
	return 0, false
}

// ParseRetryAfter reads a Retry-After value: delta seconds, or an HTTP date
// taken relative to now (a date in the past gives 0). ok is false when v is
// empty or neither form.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		if strings.Trim(v, "0123456789") == "" {
			return seconds(v), true
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f < float64(math.MaxInt64/int64(time.Second)) {
			return time.Duration(f * float64(time.Second)), true
		}
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// seconds converts a string of digits to a duration, saturating instead of
// overflowing.
func seconds(digits string) time.Duration {
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n > math.MaxInt64/int64(time.Second) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(n) * time.Second
}
