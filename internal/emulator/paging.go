package emulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/flowsync/flowsync/internal/api"
)

// Paging. Lists are ordered by a string key; a page ends with a nextLink
// whose opaque $skiptoken carries the key of the page's last item and a MAC
// over that key, the caller and the rest of the query. Keyset paging means a
// flow created or deleted between pages neither duplicates nor hides the
// others; the MAC means a tampered or foreign token is refused (400).

type skipToken struct {
	K string `json:"k"`
	M string `json:"m"`
}

// pageKey is the MAC key. It is fixed (tokens are opaque, not secret), so
// nextLinks are reproducible across runs and restarts.
var pageKey = []byte("flowsync-emulator/skiptoken/v1")

func tokenMAC(c *call, key string) string {
	q := url.Values{}
	for k, v := range c.q {
		if k != "$skiptoken" {
			q[k] = v
		}
	}
	m := hmac.New(sha256.New, pageKey)
	m.Write([]byte(lower(c.r.URL.Path)))
	m.Write([]byte{0})
	m.Write([]byte(c.identity))
	m.Write([]byte{0})
	m.Write([]byte(q.Encode()))
	m.Write([]byte{0})
	m.Write([]byte(key))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:12])
}

// page is the window of a list a request asks for.
type page struct {
	after    string // list resumes after this key ("" = from the start)
	resuming bool
	size     int
}

// readPage reads $top and $skiptoken.
func (s *Server) readPage(c *call, defaultSize int) (page, *response) {
	p := page{size: defaultSize}
	if v, ok := c.q["$top"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 || n > s.opts.MaxPageSize {
			// Uncertain: the service's code for a bad $top was not captured.
			return p, errResp(http.StatusBadRequest, "InvalidQueryParameterValue",
				"The value '%s' of query parameter '$top' is not valid: want an integer from 1 to %d.", v[0], s.opts.MaxPageSize)
		}
		p.size = n
	}
	if v, ok := c.q["$skiptoken"]; ok {
		bad := errResp(http.StatusBadRequest, api.CodeInvalidRequestContent, "The $skiptoken is not valid for this request.")
		raw, err := base64.RawURLEncoding.DecodeString(v[0])
		if err != nil {
			return p, bad
		}
		var t skipToken
		if err := json.Unmarshal(raw, &t); err != nil || t.K == "" {
			return p, bad
		}
		if !hmac.Equal([]byte(t.M), []byte(tokenMAC(c, t.K))) {
			return p, bad
		}
		p.after, p.resuming = t.K, true
	}
	return p, nil
}

// start is the index of the first key after the page's cursor in sorted keys.
func (p page) start(keys []string) int {
	if !p.resuming {
		return 0
	}
	i, _ := slices.BinarySearch(keys, p.after+"\x00")
	return i
}

// nextLink is the absolute URL of the page after the one ending at lastKey:
// the scheme and host the caller used, the same path and query, a new
// $skiptoken.
func nextLink(c *call, lastKey string) string {
	t, _ := json.Marshal(skipToken{K: lastKey, M: tokenMAC(c, lastKey)})
	q := url.Values{}
	for k, v := range c.q {
		if k != "$skiptoken" {
			q[k] = v
		}
	}
	q.Set("$skiptoken", base64.RawURLEncoding.EncodeToString(t))
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + c.r.Host + c.r.URL.EscapedPath() + "?" + q.Encode()
}

// collect walks sorted keys from the page's cursor, keeping items for which
// pick returns true, and returns the page's items and its nextLink.
func collect[T any](c *call, p page, keys []string, pick func(key string) (T, bool)) ([]T, string) {
	out := make([]T, 0, min(p.size, len(keys)))
	last := ""
	for i := p.start(keys); i < len(keys); i++ {
		item, ok := pick(keys[i])
		if !ok {
			continue
		}
		if len(out) == p.size {
			return out, nextLink(c, last)
		}
		out = append(out, item)
		last = keys[i]
	}
	return out, ""
}
