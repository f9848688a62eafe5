package cli

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	ucli "github.com/urfave/cli/v2"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/flowsync/flowsync/repo"
)

// gitTokenEnv names the variable holding the token for https Git remotes. It
// is sent as the password of HTTP basic auth and never stored or printed.
const gitTokenEnv = "FLOWSYNC_GIT_TOKEN"

// gitCredentials says where the credentials for Git remotes come from: the
// export flags and the environment. repo takes credentials only as values;
// looking them up is done here.
type gitCredentials struct {
	Getenv func(string) string
	// HomeDir finds ~/.ssh/known_hosts; nil means os.UserHomeDir.
	HomeDir    func() (string, error)
	SSHKey     string   // --ssh-key: a private key file; empty: the ssh-agent
	KnownHosts []string // --known-hosts; empty: $SSH_KNOWN_HOSTS, else ~/.ssh/known_hosts
	CABundle   string   // --git-ca-cert: a PEM file
}

// gitFlags are the push credential options export and import share.
type gitFlags struct {
	SSHKey     string
	KnownHosts []string // filled from the flag's slice after parsing
	CABundle   string
}

// flags returns the options' flags; knownHosts receives --known-hosts.
func (f *gitFlags) flags(knownHosts *ucli.StringSlice) []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "ssh-key", Usage: "private key for ssh remotes (default: ssh-agent)", Destination: &f.SSHKey},
		&ucli.StringSliceFlag{Name: "known-hosts", Usage: "known_hosts files for ssh remotes (default $SSH_KNOWN_HOSTS, else ~/.ssh/known_hosts)", Destination: knownHosts},
		&ucli.StringFlag{Name: "git-ca-cert", Usage: "extra PEM CA to trust for https remotes", Destination: &f.CABundle},
	}
}

func (f gitFlags) credentials(getenv func(string) string) gitCredentials {
	return gitCredentials{Getenv: getenv, SSHKey: f.SSHKey, KnownHosts: f.KnownHosts, CABundle: f.CABundle}
}

// pushOptions reads the credentials (gitAuth) for a push to remote; call
// done once the push is over.
func (f gitFlags) pushOptions(getenv func(string) string, remote string) (push *repo.PushOptions, done func(), err error) {
	auth, done, err := gitAuth(f.credentials(getenv))
	if err != nil {
		return nil, nil, err
	}
	return &repo.PushOptions{Remote: remote, Auth: auth}, done, nil
}

// gitAuth looks up the credentials for a push: the token in
// FLOWSYNC_GIT_TOKEN, the CA bundle file, the known_hosts files, and the SSH
// keys (a key file, or the ssh-agent at $SSH_AUTH_SOCK). Keys are read only
// when the remote turns out to be an ssh one. The returned function closes
// the agent connection, if one was opened; call it once the push is done.
func gitAuth(c gitCredentials) (repo.Auth, func(), error) {
	a := repo.Auth{Token: c.Getenv(gitTokenEnv), TokenSource: gitTokenEnv}
	if c.CABundle != "" {
		ca, err := os.ReadFile(c.CABundle)
		if err != nil {
			return repo.Auth{}, func() {}, fmt.Errorf("--git-ca-cert: %w", err)
		}
		a.CABundle = ca
	}
	a.KnownHostsFiles = knownHostsFiles(c)
	keys := &sshKeys{getenv: c.Getenv, file: c.SSHKey}
	a.SSHKeys = keys.signers
	return a, keys.close, nil
}

// knownHostsFiles: --known-hosts, else the path list in $SSH_KNOWN_HOSTS,
// else ~/.ssh/known_hosts (which repo then requires to exist).
func knownHostsFiles(c gitCredentials) []string {
	if len(c.KnownHosts) > 0 {
		return c.KnownHosts
	}
	if env := c.Getenv("SSH_KNOWN_HOSTS"); env != "" {
		return filepath.SplitList(env)
	}
	home := c.HomeDir
	if home == nil {
		home = os.UserHomeDir
	}
	if h, err := home(); err == nil && h != "" {
		return []string{filepath.Join(h, ".ssh", "known_hosts")}
	}
	return nil // repo says that none was given
}

// sshKeys reads the SSH keys when a push first needs them.
type sshKeys struct {
	getenv func(string) string
	file   string
	conn   net.Conn // the agent connection, once dialled
}

func (k *sshKeys) signers() ([]ssh.Signer, error) {
	if k.file != "" {
		pem, err := os.ReadFile(k.file)
		if err != nil {
			return nil, fmt.Errorf("ssh key %s: %w", k.file, err)
		}
		s, err := ssh.ParsePrivateKey(pem)
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, fmt.Errorf("ssh key %s is protected by a passphrase: load it into the ssh-agent (ssh-add) and leave out --ssh-key", k.file)
		}
		if err != nil {
			return nil, fmt.Errorf("ssh key %s: %w", k.file, err)
		}
		return []ssh.Signer{s}, nil
	}
	sock := k.getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return nil, errors.New("no SSH key file given (--ssh-key) and no ssh-agent running (SSH_AUTH_SOCK is unset)")
	}
	if k.conn == nil {
		conn, err := net.Dial("unix", sock)
		if err != nil {
			return nil, fmt.Errorf("ssh-agent at SSH_AUTH_SOCK: %w", err)
		}
		k.conn = conn
	}
	s, err := agent.NewClient(k.conn).Signers()
	if err != nil {
		return nil, fmt.Errorf("ssh-agent: list keys: %w", err)
	}
	return s, nil
}

func (k *sshKeys) close() {
	if k.conn != nil {
		k.conn.Close() // nothing was written that could be lost
		k.conn = nil
	}
}
