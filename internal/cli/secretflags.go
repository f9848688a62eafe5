package cli

import (
	"filippo.io/age"
	ucli "github.com/urfave/cli/v2"

	"github.com/flowsync/flowsync/importer"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/secrets"
)

// secretFlags open the secrets an export redacted: --identity decrypts the
// tree's secrets.age files, --secrets supplies values per flow. import,
// restore and diff take the same two, so that a plan diff shows is the one
// import would apply.
type secretFlags struct {
	Identity    string
	SecretsFile string
}

func (s *secretFlags) flags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "identity", Usage: "age identity file: opens the secrets the export sealed (secrets.age)", Destination: &s.Identity},
		&ucli.StringFlag{Name: "secrets", Usage: "file of secret values per source flow (see docs/IMPORT.md)", Destination: &s.SecretsFile},
	}
}

// load reads the identity file and the secrets file; cmd names the command
// in errors.
func (s secretFlags) load(cmd string) ([]age.Identity, map[api.FlowName]secrets.Values, error) {
	ids, err := loadIdentities(s.Identity)
	if err != nil {
		return nil, nil, err
	}
	if s.SecretsFile == "" {
		return ids, nil, nil
	}
	vals, err := importer.LoadSecretsFile(s.SecretsFile)
	if err != nil {
		return nil, nil, usagef("%s: --secrets: %v", cmd, err)
	}
	return ids, vals, nil
}
