// Package testgit runs the git CLI for tests, isolated from the machine.
//
// Tests check what flowsync writes with the real git CLI (fsck --strict,
// log, clone). The machine's own Git configuration must not change what
// those commands do, so every command here runs with no system or global
// configuration, a throwaway HOME, no prompts, and one fixed identity and
// date (Name, Email, Date) for commits the CLI makes, so they hash the same
// every run.
package testgit
