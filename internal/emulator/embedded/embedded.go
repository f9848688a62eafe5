// Package embedded starts a complete emulator in-process: the API server,
// its seed catalogue and the fake Entra token endpoint, listening on
// loopback. The `flowsync emulator` command, the demo and the end-to-end
// tests all start the emulator through here, so they run the same thing.
package embedded

import (
	"context"
	"fmt"
	"net/http"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/entra"
	"github.com/flowsync/flowsync/internal/emulator/seed"
)

// FlowAudience is the audience of tokens for the Flow service (the scope
// https://service.flow.microsoft.com//.default without "/.default").
const FlowAudience = "https://service.flow.microsoft.com/"

// Options configure Start.
type Options struct {
	// Addr to listen on; default 127.0.0.1:0 (a free port).
	Addr string
	// TLS serves https with a self-signed certificate (CACertPEM).
	TLS bool
	// Seed names a seed (seed.Names) loaded at start when Snapshot is nil
	// and the state file holds nothing; "" loads nothing.
	Seed string
	// Snapshot, when set, is loaded at start.
	Snapshot *emulator.Snapshot
	// Emulator are the server options; Seeds defaults to seed.Lookup.
	Emulator emulator.Options
}

// Instance is a running emulator.
type Instance struct {
	Server    *emulator.Server
	URL       string
	CACertPEM []byte
	running   *emulator.Running
}

// Start builds the server, loads the seed and listens.
func Start(ctx context.Context, o Options) (*Instance, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Emulator.Seeds == nil {
		o.Emulator.Seeds = seed.Lookup
	}
	srv, err := emulator.New(o.Emulator)
	if err != nil {
		return nil, err
	}
	snap := o.Snapshot
	if snap == nil && o.Seed != "" && len(srv.Dump().Environments) == 0 {
		if snap, err = seed.Lookup(o.Seed); err != nil {
			return nil, err
		}
	}
	if snap != nil {
		if err := srv.Load(snap); err != nil {
			return nil, fmt.Errorf("load seed: %w", err)
		}
	}
	srv.SetIdentityHandler(IdentityHandler(srv))
	run, err := emulator.Listen(ctx, srv, o.Addr, o.TLS)
	if err != nil {
		return nil, err
	}
	return &Instance{Server: srv, URL: run.URL, CACertPEM: run.CACertPEM, running: run}, nil
}

// IdentityHandler is the fake Entra endpoint bound to the server's tenant and
// service principals.
func IdentityHandler(srv *emulator.Server) http.Handler {
	return entra.New(entra.Config{
		Tenant: srv.Tenant(),
		Lookup: func(appID string) (entra.App, bool) {
			p, ok := srv.LookupPrincipalByAppID(appID)
			if !ok {
				return entra.App{}, false
			}
			return entra.App{
				ObjectID:           string(p.ID),
				AppID:              p.AppID,
				DisplayName:        p.DisplayName,
				Admin:              p.Admin,
				ClientSecretSHA256: p.ClientSecretSHA256,
				CertificatesPEM:    p.CertificatesPEM,
			}, true
		},
		// Token lifetimes are checked against the server's token clock (the
		// wall clock), not the emulator clock that tests move.
		Now: srv.TokenNow,
	})
}

// Token mints a bearer token for a principal of the loaded tenant.
func (i *Instance) Token(principal api.PrincipalID) (string, error) {
	return i.Server.MintToken(principal, FlowAudience)
}

// Close stops listening and flushes the state file.
func (i *Instance) Close() error {
	return i.running.Close()
}

// AdminUser returns the first user principal with the admin role.
func AdminUser(s *emulator.Snapshot) (emulator.Principal, bool) {
	for _, p := range s.Principals {
		if p.Admin && p.Type == api.PrincipalUser {
			return p, true
		}
	}
	return emulator.Principal{}, false
}
