package deps

import (
	_ "filippo.io/age"
	_ "github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	_ "github.com/go-git/go-git/v5"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/sourcegraph/conc"
	_ "github.com/urfave/cli/v2"
	_ "golang.org/x/time/rate"
	_ "software.sslmate.com/src/go-pkcs12"
)
