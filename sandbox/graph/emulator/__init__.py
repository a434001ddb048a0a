"""Microsoft Graph and Microsoft identity platform emulator ("Graph sandbox").

Imitates the user-photo endpoints of Microsoft Graph and the client-credentials token
authority closely enough that the real azure-identity and msgraph-sdk run against it
unchanged. See docs/sandbox.md, section "Microsoft Graph emulator".
"""
