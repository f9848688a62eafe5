// Package entra is the emulator's stand-in for the Entra ID token service:
// the endpoints a token library calls to get an application token with the
// client-credentials grant.
//
// Libraries first read the tenant's OpenID metadata (or, with instance
// discovery on, the instance metadata) to find the token endpoint, then post
// the client id with either a client secret or a client assertion: a JWT
// signed with the private key of a certificate registered on the app. The
// handler checks the secret against its SHA-256 (never storing the secret)
// or the assertion's signature, thumbprint, issuer, audience and lifetime,
// and answers failures in Entra's error shape with its AADSTS codes.
//
// Issued tokens are unsigned JWTs (internal/token) carrying what the Power
// Automate emulator reads: the tenant, the app's object and application ids,
// idtyp=app, the Power Platform Administrator role for admin apps, and an
// aud that is the requested scope without its "/.default" suffix.
package entra
