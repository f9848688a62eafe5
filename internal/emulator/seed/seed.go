package seed

import (
	"fmt"
	"strings"
	"time"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator"
)

// Seed names accepted by Lookup.
const (
	NameEmpty = "empty"
	NameDemo  = "demo"
)

// Names lists the seeds Lookup knows, sorted.
func Names() []string { return []string{NameDemo, NameEmpty} }

// Lookup returns a fresh snapshot of the named seed; the caller may change it.
func Lookup(name string) (*emulator.Snapshot, error) {
	switch name {
	case NameEmpty:
		return Empty(), nil
	case NameDemo:
		return Demo(), nil
	}
	return nil, fmt.Errorf("unknown seed %q (known: %s)", name, strings.Join(Names(), ", "))
}

// DemoNow is the clock of both seeds: 2025-06-30T12:00:00Z.
func DemoNow() time.Time { return time.Date(2025, time.June, 30, 12, 0, 0, 0, time.UTC) }

// Empty is the Contoso tenant with only its default environment and its
// administrator: no flows, connections or other principals.
func Empty() *emulator.Snapshot {
	return &emulator.Snapshot{
		Tenant:       DemoTenant,
		Now:          DemoNow(),
		Principals:   []emulator.Principal{demoAdmin()},
		Environments: []emulator.Environment{demoDefaultEnvironment()},
		Connectors:   []emulator.Connector{},
		Connections:  []emulator.Connection{},
		Flows:        []emulator.Flow{},
	}
}

// demoDefaultEnvironment is the tenant's default environment.
func demoDefaultEnvironment() emulator.Environment {
	return emulator.Environment{
		Name: DemoEnvDefault, DisplayName: "Contoso (default)", Location: "unitedstates",
		IsDefault: true, Sku: "Default", CreatedTime: day(2019, time.March, 4),
	}
}

func demoAdmin() emulator.Principal {
	return emulator.Principal{
		ID: DemoAdmin, Type: api.PrincipalUser, DisplayName: "Dana Whitfield",
		Email: "dana.whitfield@contoso.com", UPN: "dana.whitfield@contoso.onmicrosoft.com", Admin: true,
	}
}

// day is midnight UTC of a date; at adds a time of day.
func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func at(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, time.UTC)
}
