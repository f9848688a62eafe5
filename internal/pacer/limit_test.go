package pacer

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseLimit(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Limit
		wantErr string
	}{
		{name: "calls", in: "5/60s", want: Limit{5, 60 * time.Second}},
		{name: "writes", in: "300/3600s", want: Limit{300, time.Hour}},
		{name: "per second", in: "50/1s", want: Limit{50, time.Second}},
		{name: "minutes", in: "100/1m", want: Limit{100, time.Minute}},
		{name: "milliseconds", in: "200/200ms", want: Limit{200, 200 * time.Millisecond}},
		{name: "spaces", in: " 5 / 60s ", want: Limit{5, 60 * time.Second}},
		{name: "words", in: "5per60", wantErr: `invalid limit "5per60": want N/DURATION such as 5/60s`},
		{name: "no unit", in: "5/60", wantErr: `invalid limit "5/60": want N/DURATION such as 5/60s`},
		{name: "zero calls", in: "0/60s", wantErr: `invalid limit "0/60s": want N/DURATION such as 5/60s`},
		{name: "negative calls", in: "-1/60s", wantErr: `invalid limit "-1/60s": want N/DURATION such as 5/60s`},
		{name: "zero duration", in: "5/0s", wantErr: `invalid limit "5/0s": want N/DURATION such as 5/60s`},
		{name: "negative duration", in: "5/-1s", wantErr: `invalid limit "5/-1s": want N/DURATION such as 5/60s`},
		{name: "fraction", in: "2.5/1s", wantErr: `invalid limit "2.5/1s": want N/DURATION such as 5/60s`},
		{name: "empty", in: "", wantErr: `invalid limit "": want N/DURATION such as 5/60s`},
		{name: "two slashes", in: "5/60s/1", wantErr: `invalid limit "5/60s/1": want N/DURATION such as 5/60s`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseLimit(tc.in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("ParseLimit(%q) error = %v, want %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseLimit(%q): %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseLimit(%q) (-want +got):\n%s", tc.in, diff)
			}
			back, err := ParseLimit(got.String())
			if err != nil || back != got {
				t.Errorf("ParseLimit(%q.String() = %q) = %v, %v; want it back", tc.in, got.String(), back, err)
			}
		})
	}
}

func TestLimitString(t *testing.T) {
	tests := []struct {
		name string
		in   Limit
		want string
	}{
		{"seconds", Limit{5, 60 * time.Second}, "5/60s"},
		{"hour", Limit{300, time.Hour}, "300/3600s"},
		{"sub-second", Limit{200, 200 * time.Millisecond}, "200/200ms"},
		{"mixed", Limit{3, 1500 * time.Millisecond}, "3/1.5s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.in.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDefaultMargin(t *testing.T) {
	tests := []struct {
		per, want time.Duration
	}{
		{200 * time.Millisecond, 2 * time.Millisecond},
		{time.Second, 10 * time.Millisecond},
		{60 * time.Second, 600 * time.Millisecond},
		{time.Hour, time.Second},
		{time.Millisecond, 2 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.per.String(), func(t *testing.T) {
			if got := DefaultMargin(tc.per); got != tc.want {
				t.Errorf("DefaultMargin(%s) = %s, want %s", tc.per, got, tc.want)
			}
			// A 1s window must keep 97% of its rate.
			if tc.per == time.Second {
				if ratio := float64(tc.per) / float64(tc.per+DefaultMargin(tc.per)); ratio < 0.97 {
					t.Errorf("rate ratio %.3f < 0.97", ratio)
				}
			}
		})
	}
}

func TestNewConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"calls without duration", Config{Calls: Limit{N: 5}}},
		{"writes without count", Config{Writes: Limit{Per: time.Second}}},
		{"negative margin", Config{Margin: -time.Millisecond}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg); err == nil {
				t.Errorf("New(%+v) succeeded, want error", tc.cfg)
			}
		})
	}
}
