package model

import (
	"errors"
	"path"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/internal/api"
)

const (
	testEnv  = api.EnvName("Default-00000000-0000-0000-0000-0000000000aa")
	testFlow = api.FlowName("6420a0b5-c254-42f1-9808-3370c281ca9d")
)

func TestValidateEnvName(t *testing.T) {
	tests := []struct {
		name string
		env  string
		ok   bool
	}{
		{"default environment", string(testEnv), true},
		{"guid", "8a1f0e2c-5b4d-4c3e-9f8a-7b6c5d4e3f2a", true},
		{"conservative form", "contoso_dev-2", true},
		{"hundred characters", strings.Repeat("a", 100), true},
		{"empty", "", false},
		{"too long", strings.Repeat("a", 101), false},
		{"dot", ".", false},
		{"dot dot", "..", false},
		{"git dir", ".git", false},
		{"git dir upper", ".GIT", false},
		{"slash", "a/b", false},
		{"backslash", `a\b`, false},
		{"nul", "a\x00b", false},
		{"control", "a\tb", false},
		{"trailing dot", "env.", false},
		{"trailing space", "env ", false},
		{"space", "my env", false},
		{"leading dash", "-rf", false},
		{"leading underscore", "_x", false},
		{"alias", "~default", false},
		{"con", "CON", false},
		{"con lower", "con", false},
		{"nul name", "Nul", false},
		{"com1", "COM1", false},
		{"lpt9", "lpt9", false},
		{"com10 is fine", "COM10", true},
		{"console is fine", "CONSOLE", true},
		{"non ascii", "envé", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateEnvName(api.EnvName(tt.env))
			if (err == nil) != tt.ok {
				t.Fatalf("ValidateEnvName(%q) = %v, want ok=%v", tt.env, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidName) {
				t.Errorf("error %v does not wrap ErrInvalidName", err)
			}
		})
	}
}

func TestValidateFlowName(t *testing.T) {
	tests := []struct {
		name string
		flow string
		ok   bool
	}{
		{"lower", string(testFlow), true},
		{"upper", strings.ToUpper(string(testFlow)), true},
		{"empty", "", false},
		{"no dashes", "6420a0b5c25442f198083370c281ca9d", false},
		{"braces", "{6420a0b5-c254-42f1-9808-3370c281ca9d}", false},
		{"dash misplaced", "6420a0b-5c254-42f1-9808-3370c281ca9d", false},
		{"non hex", "6420a0b5-c254-42f1-9808-3370c281ca9g", false},
		{"traversal", "../../../../../../../../../../../etc", false},
		{"display name", "My flow: copy | paste", false},
		{"trailing newline", string(testFlow)[:35] + "\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateFlowName(api.FlowName(tt.flow))
			if (err == nil) != tt.ok {
				t.Fatalf("ValidateFlowName(%q) = %v, want ok=%v", tt.flow, err, tt.ok)
			}
		})
	}
}

func TestFlowDir(t *testing.T) {
	got, err := FlowDir(testEnv, api.FlowName(strings.ToUpper(string(testFlow))))
	if err != nil {
		t.Fatal(err)
	}
	if want := "environments/" + string(testEnv) + "/flows/" + string(testFlow); got != want {
		t.Errorf("FlowDir = %q, want %q", got, want)
	}
	if _, err := FlowDir("..", testFlow); err == nil {
		t.Errorf("FlowDir accepted env ..")
	}
	if _, err := FlowDir(testEnv, "x"); err == nil {
		t.Errorf("FlowDir accepted flow x")
	}
	env, err := EnvDir(testEnv)
	if err != nil || env != "environments/"+string(testEnv) {
		t.Errorf("EnvDir = %q, %v", env, err)
	}
}

func TestCheckKeys(t *testing.T) {
	upper := api.FlowName(strings.ToUpper(string(testFlow)))
	other := api.FlowName("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
	tests := []struct {
		name string
		keys []Key
		want string // substring of the error, "" for none
	}{
		{"distinct", []Key{{testEnv, testFlow}, {testEnv, other}, {"env2", testFlow}}, ""},
		{"same flow twice", []Key{{testEnv, testFlow}, {testEnv, testFlow}}, "same directory"},
		{"flow case collision", []Key{{testEnv, testFlow}, {testEnv, upper}}, "same directory"},
		{"env case collision", []Key{{"Contoso", testFlow}, {"contoso", testFlow}}, "same directory"},
		{"invalid", []Key{{"..", testFlow}}, "environment name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckKeys(tt.keys)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("CheckKeys: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckKeys = %v, want error containing %q", err, tt.want)
			}
		})
	}
}

func FuzzFlowDir(f *testing.F) {
	f.Add(string(testEnv), string(testFlow))
	f.Add("..", "../x")
	f.Add(".git", strings.ToUpper(string(testFlow)))
	f.Add("CON", "00000000-0000-0000-0000-000000000000")
	f.Add("a/b", "6420a0b5-c254-42f1-9808-3370c281ca9d/..")
	f.Fuzz(func(t *testing.T, env, flow string) {
		p, err := FlowDir(api.EnvName(env), api.FlowName(flow))
		if err != nil {
			if !errors.Is(err, ErrInvalidName) {
				t.Fatalf("error %v does not wrap ErrInvalidName", err)
			}
			return
		}
		if path.Clean(p) != p || path.IsAbs(p) || !strings.HasPrefix(p, EnvironmentsDir+"/") {
			t.Fatalf("FlowDir(%q, %q) = %q: not a clean relative path under environments/", env, flow, p)
		}
		if strings.ContainsAny(p, "\\\x00") {
			t.Fatalf("FlowDir(%q, %q) = %q: backslash or NUL", env, flow, p)
		}
		segs := strings.Split(p, "/")
		if len(segs) != 4 || segs[2] != FlowsDir {
			t.Fatalf("FlowDir(%q, %q) = %q: want environments/<env>/flows/<flow>", env, flow, p)
		}
		for _, s := range segs {
			if s == "" || s == "." || s == ".." || strings.EqualFold(s, ".git") || strings.HasSuffix(s, ".") || strings.HasSuffix(s, " ") {
				t.Fatalf("FlowDir(%q, %q) = %q: unsafe segment %q", env, flow, p, s)
			}
			for _, c := range []byte(s) {
				if c < 0x20 || c >= 0x7f {
					t.Fatalf("FlowDir(%q, %q) = %q: control or non-ASCII byte", env, flow, p)
				}
			}
		}
		if segs[3] != strings.ToLower(segs[3]) {
			t.Fatalf("FlowDir(%q, %q) = %q: flow segment not lower case", env, flow, p)
		}
		if isReservedName(segs[1]) {
			t.Fatalf("FlowDir(%q, %q) = %q: reserved name", env, flow, p)
		}
	})
}
