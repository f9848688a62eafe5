package canon

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Kind is the JSON type of a Value.
type Kind uint8

// The JSON types.
const (
	Null Kind = iota
	Bool
	Number
	String
	Object
	Array
)

func (k Kind) String() string {
	switch k {
	case Null:
		return "null"
	case Bool:
		return "bool"
	case Number:
		return "number"
	case String:
		return "string"
	case Object:
		return "object"
	case Array:
		return "array"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is a parsed JSON value. Only the fields of its Kind are meaningful.
type Value struct {
	Kind Kind
	// Bool is a Bool's value.
	Bool bool
	// Str is a String's decoded value, or a Number's literal exactly as written.
	Str string
	// Members are an Object's members. Parse leaves them sorted by key;
	// Encode sorts them again if a caller broke the order.
	Members []Member
	// Elems are an Array's elements.
	Elems []*Value
}

// Member is one key and value of an object.
type Member struct {
	Key   string
	Value *Value
}

// NewString returns a String value.
func NewString(s string) *Value { return &Value{Kind: String, Str: s} }

// Get returns the value of an object's member key, or nil when v is not an
// object or has no such member.
func (v *Value) Get(key string) *Value {
	if v == nil || v.Kind != Object {
		return nil
	}
	for i := range v.Members {
		if v.Members[i].Key == key {
			return v.Members[i].Value
		}
	}
	return nil
}

// Sentinels that Error wraps, for errors.Is.
var (
	ErrSyntax       = errors.New("invalid JSON")
	ErrInvalidUTF8  = errors.New("invalid UTF-8")
	ErrTooDeep      = errors.New("nesting too deep")
	ErrDuplicateKey = errors.New("duplicate object key")
)

// MaxDepth bounds nesting: flow definitions nest a few dozen levels, and the
// indentation of deeper documents grows quadratically.
const MaxDepth = 1000

// Error says why a document cannot be canonicalized and where.
type Error struct {
	// Err is one of ErrSyntax, ErrInvalidUTF8, ErrTooDeep, ErrDuplicateKey.
	Err error
	// Offset is the byte offset in the input (after any BOM), -1 if unknown.
	Offset int
	// Path is the JSON Pointer (RFC 6901) of the value concerned; "" is the root.
	Path string
	// Key is the duplicated key, for ErrDuplicateKey.
	Key string
	// Msg adds detail for syntax errors.
	Msg string
}

func (e *Error) Error() string {
	where := e.Path
	if where == "" {
		where = "(root)"
	}
	switch {
	case errors.Is(e.Err, ErrDuplicateKey):
		return fmt.Sprintf("%v %q in object at %s", e.Err, e.Key, where)
	case e.Msg != "":
		return fmt.Sprintf("%v at offset %d (%s): %s", e.Err, e.Offset, where, e.Msg)
	default:
		return fmt.Sprintf("%v at offset %d (%s)", e.Err, e.Offset, where)
	}
}

func (e *Error) Unwrap() error { return e.Err }

// prefixPath adds one JSON Pointer segment in front of an error's path as the
// error unwinds out of a container, so the success path pays nothing for it.
func prefixPath(err error, seg string) error {
	var e *Error
	if errors.As(err, &e) {
		e.Path = "/" + pointerEscape(seg) + e.Path
	}
	return err
}

func pointerEscape(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
