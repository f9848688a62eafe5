package auth

import (
	"fmt"
	"strings"
)

// Method names how flowsync obtains its bearer tokens.
type Method string

// The accepted methods; see the package documentation for what each reads.
const (
	MethodDefault          Method = "default"
	MethodSecret           Method = "secret"
	MethodCertificate      Method = "certificate"
	MethodDeviceCode       Method = "devicecode"
	MethodAzureCLI         Method = "azcli"
	MethodManagedIdentity  Method = "managedidentity"
	MethodWorkloadIdentity Method = "workloadidentity"
	MethodToken            Method = "token"
)

// Methods lists every accepted method in the order help texts show them.
func Methods() []Method {
	return []Method{
		MethodDefault, MethodSecret, MethodCertificate, MethodDeviceCode,
		MethodAzureCLI, MethodManagedIdentity, MethodWorkloadIdentity, MethodToken,
	}
}

// ParseMethod reads a method name case-insensitively; "" means default.
func ParseMethod(s string) (Method, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	if v == "" {
		return MethodDefault, nil
	}
	for _, m := range Methods() {
		if string(m) == v {
			return m, nil
		}
	}
	names := make([]string, 0, len(Methods()))
	for _, m := range Methods() {
		names = append(names, string(m))
	}
	return "", fmt.Errorf("unknown authentication method %q: want one of %s", s, strings.Join(names, ", "))
}

// String returns the method's name.
func (m Method) String() string { return string(m) }
