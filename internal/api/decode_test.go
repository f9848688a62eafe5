package api

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeError(t *testing.T) {
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	tests := []struct {
		name   string
		status int
		header http.Header
		body   string
		want   APIError
	}{
		{
			name:   "standard",
			status: 404,
			body:   `{"error":{"code":"FlowNotFound","message":"Could not find flow 'f1'."}}`,
			want:   APIError{Status: 404, Code: "FlowNotFound", Message: "Could not find flow 'f1'."},
		},
		{
			name:   "standard with extra members",
			status: 400,
			body:   `{"error":{"code":"InvalidTemplate","message":"bad","details":[{"code":"x"}],"innererror":{"a":1}},"other":true}`,
			want:   APIError{Status: 400, Code: "InvalidTemplate", Message: "bad"},
		},
		{
			name:   "arm double wrapped",
			status: 404,
			body:   `{"error":{"code":"AzureResourceManagerRequestFailed","message":"Request to Azure Resource Manager failed with error: '{\"error\":{\"code\":\"WorkflowRunNotFound\",\"message\":\"The workflow 'w' run 'r' could not be found.\"}}'."}}`,
			want: APIError{Status: 404, Code: "AzureResourceManagerRequestFailed",
				Message:   `Request to Azure Resource Manager failed with error: '{"error":{"code":"WorkflowRunNotFound","message":"The workflow 'w' run 'r' could not be found."}}'.`,
				InnerCode: "WorkflowRunNotFound", InnerMessage: "The workflow 'w' run 'r' could not be found."},
		},
		{
			name:   "xrm wrapped with escaped quotes",
			status: 400,
			body:   `{"error":{"code":"XrmApiRequestFailed","message":"Dataverse said: {\\\"error\\\":{\\\"code\\\":\\\"0x80060467\\\",\\\"message\\\":\\\"Property missing\\\"}}"}}`,
			want: APIError{Status: 400, Code: "XrmApiRequestFailed",
				Message:   `Dataverse said: {\"error\":{\"code\":\"0x80060467\",\"message\":\"Property missing\"}}`,
				InnerCode: "0x80060467", InnerMessage: "Property missing"},
		},
		{
			name:   "xrm wrapping a flow save failure",
			status: 400,
			body:   `{"error":{"code":"XrmApiRequestFailed","message":"Failed: '{\"error\":{\"code\":\"InvalidOpenApiFlow\",\"message\":\"Flow save failed with code 'WorkflowRunActionInputsMissingProperty' and message 'Property 'host.connectionReferenceName' is missing.'.\"}}'"}}`,
			want: APIError{Status: 400, Code: "XrmApiRequestFailed",
				Message:   `Failed: '{"error":{"code":"InvalidOpenApiFlow","message":"Flow save failed with code 'WorkflowRunActionInputsMissingProperty' and message 'Property 'host.connectionReferenceName' is missing.'."}}'`,
				InnerCode: "WorkflowRunActionInputsMissingProperty", InnerMessage: "Property 'host.connectionReferenceName' is missing."},
		},
		{
			name:   "invalid open api flow",
			status: 400,
			body:   `{"error":{"code":"InvalidOpenApiFlow","message":"Flow save failed with code 'WorkflowRunActionInputsInvalidProperty' and message 'The 'inputs' of action 'Send' is not valid.'."}}`,
			want: APIError{Status: 400, Code: "InvalidOpenApiFlow",
				Message:   "Flow save failed with code 'WorkflowRunActionInputsInvalidProperty' and message 'The 'inputs' of action 'Send' is not valid.'.",
				InnerCode: "WorkflowRunActionInputsInvalidProperty", InnerMessage: "The 'inputs' of action 'Send' is not valid."},
		},
		{
			name:   "odata v3",
			status: 400,
			body:   `{"error":{"odata.error":{"code":"-1, InvalidOperationException","message":{"lang":"en-US","value":"Something failed."}}}}`,
			want:   APIError{Status: 400, Code: "-1, InvalidOperationException", Message: "Something failed."},
		},
		{
			name:   "gateway rate limit",
			status: 429,
			body:   `{ "statusCode": 429, "message": "Rate limit is exceeded. Try again in 17 seconds." }`,
			want:   APIError{Status: 429, Code: CodeRateLimit, Message: "Rate limit is exceeded. Try again in 17 seconds.", RetryAfter: 17 * time.Second},
		},
		{
			name:   "gateway rate limit header wins over body",
			status: 429,
			header: hdr("Retry-After", "3"),
			body:   `{"statusCode":429,"message":"Rate limit is exceeded. Try again in 17 seconds."}`,
			want:   APIError{Status: 429, Code: CodeRateLimit, Message: "Rate limit is exceeded. Try again in 17 seconds.", RetryAfter: 3 * time.Second},
		},
		{
			name:   "gateway other status",
			status: 500,
			body:   `{"statusCode":500,"message":"Internal server error"}`,
			want:   APIError{Status: 500, Code: "InternalServerError", Message: "Internal server error"},
		},
		{
			name:   "too many concurrent requests with retry after date",
			status: 429,
			header: hdr("Retry-After", "Tue, 04 Mar 2025 05:07:07 GMT"),
			body:   `{"error":{"code":"TooManyConcurrentRequests","message":"Too many."}}`,
			want:   APIError{Status: 429, Code: "TooManyConcurrentRequests", Message: "Too many.", RetryAfter: time.Minute},
		},
		{
			name:   "retry after ms header",
			status: 503,
			header: hdr("x-ms-retry-after-ms", "1500"),
			body:   ``,
			want:   APIError{Status: 503, Code: "ServiceUnavailable", Message: "Service Unavailable", RetryAfter: 1500 * time.Millisecond},
		},
		{
			name:   "empty body",
			status: 502,
			want:   APIError{Status: 502, Code: "BadGateway", Message: "Bad Gateway"},
		},
		{
			name:   "html body",
			status: 504,
			body:   "<html>\n  <body>Gateway   Timeout</body>\n</html>",
			want:   APIError{Status: 504, Code: "GatewayTimeout", Message: "<html> <body>Gateway Timeout</body> </html>"},
		},
		{
			name:   "long plain body is cut",
			status: 500,
			body:   strings.Repeat("x", 400),
			want:   APIError{Status: 500, Code: "InternalServerError", Message: strings.Repeat("x", 300) + "…"},
		},
		{
			name:   "binary body",
			status: 500,
			body:   "\xff\xfe\x00",
			want:   APIError{Status: 500, Code: "InternalServerError", Message: "Internal Server Error"},
		},
		{
			name:   "top level code",
			status: 409,
			body:   `{"code":"Conflict","message":"Already exists."}`,
			want:   APIError{Status: 409, Code: "Conflict", Message: "Already exists."},
		},
		{
			name:   "oauth style",
			status: 401,
			body:   `{"error":"invalid_token","error_description":"The token expired."}`,
			want:   APIError{Status: 401, Code: "invalid_token", Message: "The token expired."},
		},
		{
			name:   "json without error members",
			status: 403,
			body:   `{"something":"else"}`,
			want:   APIError{Status: 403, Code: "Forbidden", Message: "Forbidden"},
		},
		{
			name:   "unknown status",
			status: 599,
			want:   APIError{Status: 599, Code: "HTTP599", Message: ""},
		},
		{
			name:   "sig and bearer redacted",
			status: 400,
			body:   `{"error":{"code":"BadUrl","message":"Cannot call https://h/x?sv=1.0&sig=FAKEsigVALUE%2B1 with Bearer FAKEtoken.abc"}}`,
			want:   APIError{Status: 400, Code: "BadUrl", Message: "Cannot call https://h/x?sv=1.0&sig=REDACTED with Bearer REDACTED"},
		},
		{
			name:   "sig redacted inside inner message",
			status: 404,
			body:   `{"error":{"code":"AzureResourceManagerRequestFailed","message":"failed: '{\"error\":{\"code\":\"X\",\"message\":\"see https://h/?sig=FAKEsig1\"}}'"}}`,
			want: APIError{Status: 404, Code: "AzureResourceManagerRequestFailed",
				Message:   `failed: '{"error":{"code":"X","message":"see https://h/?sig=REDACTED"}}'`,
				InnerCode: "X", InnerMessage: "see https://h/?sig=REDACTED"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DecodeError(tt.status, tt.header, []byte(tt.body), now)
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("DecodeError mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeErrorSentinels(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		status int
		body   string
		want   error
	}{
		{"flow not found", 404, `{"error":{"code":"FlowNotFound","message":"m"}}`, ErrFlowNotFound},
		{"run not found through arm wrapper", 404, `{"error":{"code":"AzureResourceManagerRequestFailed","message":"x '{\"error\":{\"code\":\"WorkflowRunNotFound\",\"message\":\"gone\"}}'"}}`, ErrRunNotFound},
		{"throttled gateway body", 429, `{"statusCode":429,"message":"Rate limit is exceeded. Try again in 1 seconds."}`, ErrThrottled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := DecodeError(tt.status, nil, []byte(tt.body), now); !errors.Is(err, tt.want) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.want)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	tests := []struct {
		name   string
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"empty", "", 0, false},
		{"seconds", "120", 120 * time.Second, true},
		{"zero", "0", 0, true},
		{"spaces", " 5 ", 5 * time.Second, true},
		{"fraction", "1.5", 1500 * time.Millisecond, true},
		{"huge saturates", "99999999999999999999", time.Duration(1<<63 - 1), true},
		{"negative", "-3", 0, false},
		{"http date", "Tue, 04 Mar 2025 05:08:07 GMT", 2 * time.Minute, true},
		{"http date in the past", "Tue, 04 Mar 2025 05:00:00 GMT", 0, true},
		{"rfc850 date", "Tuesday, 04-Mar-25 05:06:17 GMT", 10 * time.Second, true},
		{"garbage", "soon", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseRetryAfter(tt.in, now)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
