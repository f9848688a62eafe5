package sync

import (
	"bytes"
	"encoding/json"
)

// decodeStrictJSON decodes data refusing members v does not define, so a
// misspelt key in a stored file is noticed instead of ignored.
func decodeStrictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
