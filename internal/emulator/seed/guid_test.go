package seed

import "testing"

func TestUUIDV5(t *testing.T) {
	dns, ok := parseGUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8") // RFC 4122 DNS namespace
	if !ok {
		t.Fatal("parseGUID(DNS namespace) failed")
	}
	tests := []struct {
		name string
		got  string
		want string
	}{
		// Reference values computed independently with a standard UUID library.
		{name: "dns namespace", got: uuidV5(dns, "www.example.com"), want: "2ed6657d-e927-568b-95e1-2665a8aea6a2"},
		{name: "flowsync namespace", got: nameGUID("flow-file\x00my-flow"), want: "4755f086-c0d9-526d-832f-1fb775806cf7"},
		{name: "empty name", got: nameGUID(""), want: "ee48dd22-c349-50aa-aadc-b476e70073eb"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %s, want %s", tc.got, tc.want)
			}
		})
	}
}

func TestParseGUID(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"2ed6657d-e927-568b-95e1-2665a8aea6a2", true},
		{"2ED6657D-E927-568B-95E1-2665A8AEA6A2", true},
		{"2ed6657de927568b95e12665a8aea6a2", false},
		{"2ed6657d-e927-568b-95e1-2665a8aea6a", false},
		{"2ed6657d-e927-568b-95e1_2665a8aea6a2", false},
		{"zed6657d-e927-568b-95e1-2665a8aea6a2", false},
		{"", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := isGUID(tc.in); got != tc.want {
				t.Errorf("isGUID(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestTrailingGUID(t *testing.T) {
	tests := []struct {
		in, rest, guid string
		ok             bool
	}{
		{"Flow-CreateGroup-8A1B2C3D-0E0F-4A1B-9C8D-7E6F5A4B3C2D", "Flow-CreateGroup", "8a1b2c3d-0e0f-4a1b-9c8d-7e6f5a4b3c2d", true},
		{"name_8a1b2c3d-0e0f-4a1b-9c8d-7e6f5a4b3c2d", "name", "8a1b2c3d-0e0f-4a1b-9c8d-7e6f5a4b3c2d", true},
		{"8a1b2c3d-0e0f-4a1b-9c8d-7e6f5a4b3c2d", "8a1b2c3d-0e0f-4a1b-9c8d-7e6f5a4b3c2d", "", false},
		{"nameX8a1b2c3d-0e0f-4a1b-9c8d-7e6f5a4b3c2d", "nameX8a1b2c3d-0e0f-4a1b-9c8d-7e6f5a4b3c2d", "", false},
		{"001-pattern-try-catch-finally", "001-pattern-try-catch-finally", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			rest, guid, ok := trailingGUID(tc.in)
			if rest != tc.rest || guid != tc.guid || ok != tc.ok {
				t.Errorf("trailingGUID(%q) = %q, %q, %v; want %q, %q, %v", tc.in, rest, guid, ok, tc.rest, tc.guid, tc.ok)
			}
		})
	}
}
