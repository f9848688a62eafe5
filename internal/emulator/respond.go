package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/flowsync/flowsync/internal/api"
)

// response is what a handler produces. Handlers never write to the
// ResponseWriter themselves: the fault layer needs the finished answer to
// replace it (5xx after a write), delay it or cut it short.
type response struct {
	status int
	header http.Header
	buf    *bytes.Buffer // pooled; nil means an empty body
}

func (r *response) body() []byte {
	if r.buf == nil {
		return nil
	}
	return r.buf.Bytes()
}

func (r *response) setHeader(k, v string) *response {
	if r.header == nil {
		r.header = http.Header{}
	}
	r.header.Set(k, v)
	return r
}

// release returns the body buffer to the pool.
func (r *response) release() {
	if r.buf != nil {
		putBuf(r.buf)
		r.buf = nil
	}
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuf() *bytes.Buffer {
	b := bufPool.Get().(*bytes.Buffer)
	b.Reset()
	return b
}

// putBuf keeps buffers of ordinary size; a huge one (a big list) would pin
// memory for the life of the pool.
func putBuf(b *bytes.Buffer) {
	if b.Cap() > 1<<20 {
		return
	}
	bufPool.Put(b)
}

// empty is a body-less answer (start, stop, delete, modifyPermissions…).
func empty(status int) *response { return &response{status: status} }

// jsonResp encodes v without HTML escaping (the service does not escape <>&).
func jsonResp(status int, v any) *response {
	b := getBuf()
	if err := encodeJSON(b, v); err != nil {
		putBuf(b)
		return errResp(http.StatusInternalServerError, api.CodeInternalServerError, "encode response: %v", err)
	}
	return &response{status: status, buf: b}
}

func encodeJSON(b *bytes.Buffer, v any) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	return nil
}

// errResp is the standard error envelope {"error":{"code","message"}}.
func errResp(status int, code, format string, args ...any) *response {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return jsonResp(status, api.ErrorBody{Error: api.ErrorEntry{Code: code, Message: msg}})
}

// armWrapped is the double-wrapped form the service uses for errors relayed
// from the Logic Apps backend.
func armWrapped(status int, innerCode, innerMsg string) *response {
	inner, _ := json.Marshal(api.ErrorBody{Error: api.ErrorEntry{Code: innerCode, Message: innerMsg}})
	return errResp(status, api.CodeARMRequestFailed,
		"Request to Azure Resource Manager failed with error: '%s'.", inner)
}

// saveFailed is InvalidOpenApiFlow with its inner save code, in the
// "Flow save failed with code '…' and message '…'" form the service uses.
func saveFailed(innerCode, innerMsg string) *response {
	return errResp(http.StatusBadRequest, api.CodeInvalidOpenAPIFlow,
		"Flow save failed with code '%s' and message '%s'.", innerCode, innerMsg)
}

func (r *response) write(w http.ResponseWriter) {
	h := w.Header()
	for k, v := range r.header {
		h[k] = v
	}
	body := r.body()
	if len(body) > 0 && h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(r.status)
	if len(body) > 0 {
		_, _ = w.Write(body)
	}
}

// appendString writes s as a JSON string (no HTML escaping, like the service).
func appendString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b.WriteString(s[start:i])
			switch c {
			case '"':
				b.WriteString(`\"`)
			case '\\':
				b.WriteString(`\\`)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString(s[start:i])
			b.WriteString(`\ufffd`)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b.WriteString(s[start:i])
			b.WriteString(`\u202`)
			b.WriteByte(hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}
