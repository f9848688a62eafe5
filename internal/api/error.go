package api

import (
	"errors"
	"fmt"
	"time"
)

// Sentinels for the error classes callers branch on. An *APIError matches the
// sentinel its code or status implies (errors.Is), so callers never compare strings.
var (
	ErrFlowNotFound         = errors.New("flow not found")
	ErrEnvironmentNotFound  = errors.New("environment not found or access denied")
	ErrUnauthorized         = errors.New("authentication failed")
	ErrForbidden            = errors.New("forbidden")
	ErrThrottled            = errors.New("throttled")
	ErrConnectionNotFound   = errors.New("connection not found")
	ErrConnectionAuthFailed = errors.New("connection authorization failed")
	ErrPrincipalNotFound    = errors.New("principal not found")
	ErrInvalidRequest       = errors.New("invalid request")
	ErrServer               = errors.New("server error")
	ErrConnectorNotFound    = errors.New("connector not found")
	ErrRunNotFound          = errors.New("run not found")
	ErrMissingAPIVersion    = errors.New("missing api-version")
	// ErrTokenExpired matches 401 ExpiredAuthenticationToken (it also
	// matches ErrUnauthorized).
	ErrTokenExpired = errors.New("access token expired")
)

// Error codes the service (and the emulator) use; see CONTRACT.md and NOTES.md §2.4.
const (
	CodeFlowNotFound                  = "FlowNotFound"
	CodeEnvironmentAccessDenied       = "EnvironmentAccessDenied"
	CodeAuthenticationFailed          = "AuthenticationFailed"
	CodeForbidden                     = "Forbidden"
	CodeConnectionNotFound            = "ConnectionNotFound"
	CodeConnectionAuthorizationFailed = "ConnectionAuthorizationFailed"
	CodePrincipalNotFound             = "PrincipalNotFound"
	CodeInvalidRoleName               = "InvalidRoleName"
	CodeInvalidOpenAPIFlow            = "InvalidOpenApiFlow"
	CodeInvalidTemplate               = "InvalidTemplate"
	CodeInvalidFilter                 = "InvalidFilter"
	CodeInvalidRequestContent         = "InvalidRequestContent"
	CodeMissingAPIVersion             = "MissingApiVersionParameter"
	CodeTooManyConcurrentRequests     = "TooManyConcurrentRequests"
	CodeRateLimit                     = "RateLimitExceeded" // our name for the gateway's bare {"statusCode":429} body
	CodeARMRequestFailed              = "AzureResourceManagerRequestFailed"
	CodeXrmAPIRequestFailed           = "XrmApiRequestFailed"
	CodeWorkflowRunNotFound           = "WorkflowRunNotFound"
	CodeAPINotFound                   = "ApiNotFound"
	CodeInternalServerError           = "InternalServerError"
	// CodeExpiredAuthenticationToken is the services' 401 for an expired
	// token: "The access token expiry UTC time '…' is earlier than current
	// UTC time '…'."
	CodeExpiredAuthenticationToken = "ExpiredAuthenticationToken"
	// CodeInvalidAuthenticationToken is Graph's 401 for a token it cannot
	// accept (expired, wrong audience, malformed).
	CodeInvalidAuthenticationToken = "InvalidAuthenticationToken"
)

// APIError is a non-2xx answer of the service, decoded from any of the error
// shapes it uses. Message never contains a token or a SAS signature: the
// client strips sig= values before it builds one.
type APIError struct {
	Status  int    // HTTP status
	Code    string // outer error code
	Message string
	// InnerCode and InnerMessage are set for double-wrapped errors
	// (AzureResourceManagerRequestFailed, XrmApiRequestFailed, InvalidOpenApiFlow).
	InnerCode    string
	InnerMessage string
	// RetryAfter is the server's Retry-After, zero when absent.
	RetryAfter time.Duration
	// Method and Path name the request (path without query).
	Method string
	Path   string
}

func (e *APIError) Error() string {
	code := e.Code
	if e.InnerCode != "" {
		code += "/" + e.InnerCode
	}
	where := ""
	if e.Method != "" {
		where = e.Method + " " + e.Path + ": "
	}
	msg := e.Message
	if e.InnerMessage != "" {
		msg = e.InnerMessage
	}
	return fmt.Sprintf("%s%d %s: %s", where, e.Status, code, msg)
}

// Is maps codes and statuses to the sentinels above.
func (e *APIError) Is(target error) bool {
	code := e.Code
	if e.InnerCode != "" && (code == CodeARMRequestFailed || code == CodeXrmAPIRequestFailed) {
		code = e.InnerCode
	}
	switch target {
	case ErrFlowNotFound:
		return code == CodeFlowNotFound
	case ErrEnvironmentNotFound:
		return code == CodeEnvironmentAccessDenied
	case ErrUnauthorized:
		return e.Status == 401
	case ErrForbidden:
		return e.Status == 403
	case ErrThrottled:
		return e.Status == 429
	case ErrConnectionNotFound:
		return code == CodeConnectionNotFound
	case ErrConnectionAuthFailed:
		return code == CodeConnectionAuthorizationFailed
	case ErrPrincipalNotFound:
		return code == CodePrincipalNotFound
	case ErrInvalidRequest:
		return e.Status == 400
	case ErrServer:
		return e.Status >= 500
	case ErrConnectorNotFound:
		return code == CodeAPINotFound
	case ErrRunNotFound:
		return code == CodeWorkflowRunNotFound
	case ErrMissingAPIVersion:
		return code == CodeMissingAPIVersion
	case ErrTokenExpired:
		return e.Status == 401 && code == CodeExpiredAuthenticationToken
	}
	return false
}
