// Package textenc turns the bytes of a text file into UTF-8 without a byte
// order mark.
//
// Flow files exported by Power Automate and unpacked from Dataverse solutions
// arrive as UTF-8, UTF-8 with a BOM, or UTF-16 LE with a BOM (older solution
// tooling). Everything downstream (JSON parsing, hashing, diffing) wants one
// form, so Decode normalises on purpose and reports which encoding it found,
// so a caller that must write the file back can keep the original encoding.
//
// Only a BOM selects UTF-16: bytes without one are UTF-8 and must be valid
// UTF-8. Errors name the problem and the byte offset in the input, counting the
// BOM, so a user can find the spot with a hex viewer.
package textenc
