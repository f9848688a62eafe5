// Package testgit runs the git CLI for tests, isolated from the machine.
//
// Tests check what flowsync writes with the real git CLI (fsck --strict,
// log, clone). The machine's own Git configuration must not change what
// those commands do, so every command here runs with no system or global
// configuration, a throwaway HOME, no prompts, and one fixed identity
// (Name, Email) for commits the CLI makes. Tests that compare hashes with
// go-git's pass a fixed date through Env's extra variables (Date).
package testgit
