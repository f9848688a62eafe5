// Package canon writes JSON in the one byte form flowsync commits, so that two
// exports of the same service state produce the same Git tree hash.
//
// The canonical form of a JSON document is:
//
//   - UTF-8 without a byte order mark (a leading UTF-8 BOM in the input is
//     dropped; any other encoding must be converted by the caller, and input
//     that is not valid UTF-8 is refused rather than silently repaired);
//   - object members sorted by key, comparing the keys' UTF-8 bytes (Go string
//     order, which equals Unicode code point order), and a key that occurs
//     twice in one object is an error that names the key and the object's
//     JSON Pointer: the service never sends duplicates, so one means something
//     upstream went wrong and must be surfaced, not dropped;
//   - two-space indentation, one member or element per line, ": " after keys,
//     LF line ends, a trailing newline; an empty object is "{}" and an empty
//     array "[]" on one line;
//   - numbers exactly as written in the input (never converted to float64:
//     1.0, 1e3 and -0 keep their spelling);
//   - strings with the same value, re-escaped minimally: \" and \\, the short
//     escapes \b \f \n \r \t, \u00XX for the other control characters, and
//     \u2028 and \u2029 (line separators that break JavaScript readers); every
//     other \u escape (including \/ and escaped non-ASCII) is written as the
//     character itself, and <, > and & are never escaped. An unpaired UTF-16
//     surrogate escape (\ud800) cannot be a UTF-8 character, so it stays an
//     escape, in lower case.
//
// The form is a fixed point: canonicalizing canonical bytes returns them
// unchanged, and IsCanonical recognises them with one allocation-free scan,
// so reading a tree back costs little. Parse exposes the parsed tree
// (Value) so that other normalizers (secret redaction, metadata extraction)
// work on one parse per document instead of decoding it again.
package canon
