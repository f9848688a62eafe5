package repo

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/flowsync/flowsync/internal/testgit"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// sshGitServer is a minimal SSH server on loopback that authenticates one
// client key and runs git-upload-pack / git-receive-pack (the git CLI) for
// repositories under root, as a Git hosting SSH endpoint does.
type sshGitServer struct {
	addr    string
	hostKey ssh.PublicKey
	mu      sync.Mutex
	ran     []string // commands run
	open    []net.Conn
	gitEnv  []string // the environment of the git commands it runs
}

func startSSHGitServer(t *testing.T, root string, clientKey ssh.PublicKey) *sshGitServer {
	t.Helper()
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if string(key.Marshal()) == string(clientKey.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
	}
	cfg.AddHostKey(hostSigner)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sshGitServer{addr: ln.Addr().String(), hostKey: hostSigner.PublicKey(), gitEnv: testgit.Env(t)}
	var conns sync.WaitGroup
	conns.Add(1)
	go func() {
		defer conns.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.open = append(s.open, c)
			s.mu.Unlock()
			conns.Add(1)
			go func() {
				defer conns.Done()
				s.serveConn(c, cfg, root)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.open {
			c.Close()
		}
		s.mu.Unlock()
		conns.Wait()
	})
	return s
}

func (s *sshGitServer) serveConn(c net.Conn, cfg *ssh.ServerConfig, root string) {
	defer c.Close()
	_, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return // e.g. the client refused our host key
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			return
		}
		s.serveSession(ch, chReqs, root)
	}
}

func (s *sshGitServer) serveSession(ch ssh.Channel, reqs <-chan *ssh.Request, root string) {
	defer ch.Close()
	for req := range reqs {
		if req.Type != "exec" {
			if req.WantReply {
				req.Reply(false, nil)
			}
			continue
		}
		if len(req.Payload) < 4 {
			req.Reply(false, nil)
			return
		}
		n := binary.BigEndian.Uint32(req.Payload)
		command := string(req.Payload[4 : 4+n])
		prog, arg, _ := strings.Cut(command, " ")
		if prog != "git-upload-pack" && prog != "git-receive-pack" {
			req.Reply(false, nil)
			return
		}
		req.Reply(true, nil)
		s.mu.Lock()
		s.ran = append(s.ran, prog)
		s.mu.Unlock()
		repoPath := filepath.Join(root, filepath.Clean("/"+strings.Trim(arg, "'")))
		cmd := exec.Command("git", strings.TrimPrefix(prog, "git-"), repoPath)
		cmd.Env = s.gitEnv
		cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return
		}
		// Not waited for: it ends when the channel closes below.
		go func() { io.Copy(stdin, ch); stdin.Close() }()
		status := uint32(0)
		if err := cmd.Run(); err != nil {
			status = 1
		}
		ch.SendRequest("exit-status", false, binary.BigEndian.AppendUint32(nil, status))
		return
	}
}

func (s *sshGitServer) commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ran...)
}

// sshClientKey makes a fresh private key and returns it and its public key.
// (Reading key files is the CLI's job; see internal/cli/gitauth.go.)
func sshClientKey(t *testing.T) (ssh.Signer, ssh.PublicKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer, signer.PublicKey()
}

func writeKnownHosts(t *testing.T, addr string, key ssh.PublicKey) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(addr)}, key) + "\n"
	if err := os.WriteFile(path, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPushSSH(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	bare := filepath.Join(root, "flows.git")
	testgit.Run(t, root, "init", "-q", "--bare", "-b", "main", bare)
	clientKey, clientPub := sshClientKey(t)
	keys := func() ([]ssh.Signer, error) { return []ssh.Signer{clientKey}, nil }
	srv := startSSHGitServer(t, root, clientPub)
	remoteURL := "ssh://git@" + srv.addr + "/flows.git"
	shown := "ssh://" + srv.addr + "/flows.git"

	_, otherHostPriv, _ := ed25519.GenerateKey(rand.Reader)
	otherSigner, _ := ssh.NewSignerFromKey(otherHostPriv)

	t.Run("known host key", func(t *testing.T) {
		r := openRepo(t, t.TempDir(), OpenOptions{Bare: true})
		_, res := buildAndCommit(t, r, nil, map[string]string{"envs/e/f.json": "{}"}, "export")
		pr, err := r.Push(ctx, PushOptions{Remote: remoteURL, Branch: "main", Auth: Auth{
			SSHKeys: keys, KnownHostsFiles: []string{writeKnownHosts(t, srv.addr, srv.hostKey)},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if pr.Remote != shown {
			t.Errorf("reported remote %q, want %q", pr.Remote, shown)
		}
		if got := strings.TrimSpace(testgit.Run(t, bare, "rev-parse", "main")); got != res.Commit.String() {
			t.Errorf("remote main = %s, want %s", got, res.Commit)
		}
		if ran := strings.Join(srv.commands(), " "); !strings.Contains(ran, "git-receive-pack") {
			t.Errorf("server ran %q; the push did not go over SSH", ran)
		}
	})

	tests := []struct {
		name       string
		knownHosts func(t *testing.T) []string
		keys       func() ([]ssh.Signer, error)
		wantErr    error  // nil: any error
		wantText   string // in the error
	}{
		{
			name:       "host key mismatch is refused",
			knownHosts: func(t *testing.T) []string { return []string{writeKnownHosts(t, srv.addr, otherSigner.PublicKey())} },
			keys:       keys,
			wantErr:    ErrRemoteUnreachable,
			wantText:   "mismatch",
		},
		{
			name:       "unknown host is refused",
			knownHosts: func(t *testing.T) []string { return []string{writeKnownHosts(t, "127.0.0.2:22", srv.hostKey)} },
			keys:       keys,
			wantErr:    ErrRemoteUnreachable,
			wantText:   "unknown",
		},
		{
			name:       "missing known_hosts file",
			knownHosts: func(t *testing.T) []string { return []string{filepath.Join(t.TempDir(), "absent")} },
			keys:       keys,
			wantText:   "no known_hosts file found",
		},
		{
			name:       "no known_hosts file given",
			knownHosts: func(t *testing.T) []string { return nil },
			keys:       keys,
			wantText:   "no known_hosts file given",
		},
		{
			name:       "keys cannot be read",
			knownHosts: func(t *testing.T) []string { return []string{writeKnownHosts(t, srv.addr, srv.hostKey)} },
			keys: func() ([]ssh.Signer, error) {
				return nil, errors.New("ssh key " + filepath.Join(root, "no-such-key") + ": file does not exist")
			},
			wantText: "no-such-key",
		},
		{
			name:       "no keys given",
			knownHosts: func(t *testing.T) []string { return []string{writeKnownHosts(t, srv.addr, srv.hostKey)} },
			wantText:   "no SSH key given",
		},
		{
			name:       "agent holds no key",
			knownHosts: func(t *testing.T) []string { return []string{writeKnownHosts(t, srv.addr, srv.hostKey)} },
			keys:       func() ([]ssh.Signer, error) { return nil, nil },
			wantText:   "no SSH key to offer",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := openRepo(t, t.TempDir(), OpenOptions{Bare: true})
			buildAndCommit(t, r, nil, map[string]string{"envs/e/other.json": "{}"}, "other")
			remoteBefore := testgit.Run(t, bare, "rev-parse", "main")
			ranBefore := len(srv.commands())
			_, err := r.Push(ctx, PushOptions{Remote: remoteURL, Branch: "main", Auth: Auth{
				SSHKeys: tc.keys, KnownHostsFiles: tc.knownHosts(t),
			}})
			if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Fatalf("push = %v, want an error (%v)", err, tc.wantErr)
			}
			t.Logf("error shown: %v", err)
			if !strings.Contains(err.Error(), tc.wantText) || !strings.Contains(err.Error(), shown) {
				t.Errorf("error %q does not mention %q and %q", err, tc.wantText, shown)
			}
			if strings.Contains(err.Error(), "git@") {
				t.Errorf("error shows the URL's user: %v", err)
			}
			if got := testgit.Run(t, bare, "rev-parse", "main"); got != remoteBefore {
				t.Errorf("remote changed")
			}
			if ran := srv.commands()[ranBefore:]; len(ran) != 0 {
				t.Errorf("server ran %v for a refused client", ran)
			}
		})
	}
}
