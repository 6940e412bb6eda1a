"""Remote mode: the same tools over Streamable HTTP, protected by Entra ID, calling Graph on behalf of each user.

    settings.py     what remote mode needs from Settings, validated once; issuers, scopes, URLs
    verifier.py     EntraTokenVerifier: inbound bearer tokens (PyJWT + the authority's JWKS)
    obo.py          OboTokenProvider: Graph tokens on behalf of the caller (MSAL confidential client)
    cache_store.py  the per-user OBO token cache: in memory, or encrypted in Redis
    http_app.py     the Starlette app: /mcp behind the SDK's auth middleware, metadata, health, audit

Nothing here is imported in stdio mode.
"""
