// Package safetext makes text typed by someone else safe to show.
//
// Display names, environment names and error messages from the service were
// typed by makers: a NUL makes a commit that git fsck rejects, an ESC starts
// a terminal escape sequence, a newline forges a log line and a BiDi override
// makes a terminal show text in another order than it is. Line escapes those
// runes (Go escape syntax: \x00, \n, \u202e), so the text stays one line, is
// shown as it is stored and stays recognizable. Quote is Line between
// double quotes, with quotes and backslashes escaped as in Go.
//
// Every place that prints, logs, commits or indexes such text goes through
// this package, so that it is escaped the same way everywhere.
package safetext
