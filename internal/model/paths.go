package model

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/flowsync/flowsync/internal/api"
)

// Names of the files in the tree (docs/FORMAT.md).
const (
	RootFileName        = "flowsync.json"
	EnvironmentsDir     = "environments"
	FlowsDir            = "flows"
	EnvironmentFileName = "environment.json"
	ReadmeFileName      = "README.md"
	FlowFileName        = "flow.json"
	DefinitionFileName  = "definition.json"
	ConnectionsFileName = "connections.json"
	PermissionsFileName = "permissions.json"
	SecretsFileName     = "secrets.age"
)

// ErrInvalidName is wrapped by every name validation error.
var ErrInvalidName = errors.New("invalid name")

// MaxEnvNameLen bounds environment names; real ones are 44 characters at most
// (Default- and a GUID).
const MaxEnvNameLen = 100

// ValidateEnvName accepts the environment names the service uses
// (Default-<tenant GUID>, a GUID) and anything else of the same conservative
// shape: 1 to 100 ASCII letters, digits, '-' and '_', starting with a letter
// or digit, and not a Windows reserved device name. That excludes ".", "..",
// ".git", separators, NUL, control characters and trailing dots or spaces,
// so an environment name is always one safe path segment on every OS.
func ValidateEnvName(env api.EnvName) error {
	s := string(env)
	switch {
	case s == "":
		return fmt.Errorf("environment name: empty: %w", ErrInvalidName)
	case len(s) > MaxEnvNameLen:
		return fmt.Errorf("environment name %.20q…: longer than %d characters: %w", s, MaxEnvNameLen, ErrInvalidName)
	case !isAlnum(s[0]):
		return fmt.Errorf("environment name %q: must start with a letter or digit: %w", s, ErrInvalidName)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' {
			return fmt.Errorf("environment name %q: character %q not allowed: %w", s, c, ErrInvalidName)
		}
	}
	if isReservedName(s) {
		return fmt.Errorf("environment name %q: reserved device name on Windows: %w", s, ErrInvalidName)
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isReservedName(s string) bool {
	switch u := strings.ToUpper(s); u {
	case "CON", "PRN", "AUX", "NUL":
		return true
	default:
		return len(u) == 4 && (strings.HasPrefix(u, "COM") || strings.HasPrefix(u, "LPT")) && u[3] >= '0' && u[3] <= '9'
	}
}

// ValidateFlowName accepts a flow name that is a GUID in the 8-4-4-4-12 hex
// form, in either case. The tree uses its lower-case form (CanonicalFlowName);
// the service already uses lower case, and two names that differ only in case
// are the same directory on case-insensitive file systems (CheckKeys).
func ValidateFlowName(flow api.FlowName) error {
	s := string(flow)
	if len(s) != 36 {
		return fmt.Errorf("flow name %q: not a GUID: %w", s, ErrInvalidName)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return fmt.Errorf("flow name %q: not a GUID: %w", s, ErrInvalidName)
			}
		default:
			if !isHex(c) {
				return fmt.Errorf("flow name %q: not a GUID: %w", s, ErrInvalidName)
			}
		}
	}
	return nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// CanonicalFlowName returns the lower-case form of a valid flow name.
func CanonicalFlowName(flow api.FlowName) (api.FlowName, error) {
	if err := ValidateFlowName(flow); err != nil {
		return "", err
	}
	return api.FlowName(strings.ToLower(string(flow))), nil
}

// EnvDir returns environments/<env>, the directory of an environment.
func EnvDir(env api.EnvName) (string, error) {
	if err := ValidateEnvName(env); err != nil {
		return "", err
	}
	return EnvironmentsDir + "/" + string(env), nil
}

// FlowDir returns environments/<env>/flows/<flow GUID in lower case>.
func FlowDir(env api.EnvName, flow api.FlowName) (string, error) {
	dir, err := EnvDir(env)
	if err != nil {
		return "", err
	}
	name, err := CanonicalFlowName(flow)
	if err != nil {
		return "", err
	}
	return dir + "/" + FlowsDir + "/" + string(name), nil
}

// CheckKeys validates every key and reports keys that would share a
// directory: the same flow twice, flow names differing only in case, or
// environment names differing only in case (one directory on Windows and
// macOS). The export calls it once over all keys before writing a tree.
func CheckKeys(keys []Key) error {
	seen := make(map[string]Key, len(keys))
	var errs []error
	for _, k := range keys {
		dir, err := FlowDir(k.Env, k.Flow)
		if err != nil {
			errs = append(errs, fmt.Errorf("flow %s: %w", k, err))
			continue
		}
		folded := strings.ToLower(dir)
		if prev, ok := seen[folded]; ok {
			errs = append(errs, fmt.Errorf("flows %s and %s: same directory %s: %w", prev, k, path.Clean(dir), ErrInvalidName))
			continue
		}
		seen[folded] = k
	}
	return errors.Join(errs...)
}
