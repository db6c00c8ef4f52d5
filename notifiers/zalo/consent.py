"""The Zalo OA admin's consent (OAuth v4 with PKCE): the verifier and challenge, the consent URL,
the code from the redirect URL the admin pastes back. `nhacviec zalo authorize` drives it."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlparse


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) as in RFC 7636: a verifier of 43 characters (32
    random bytes, base64url), as Zalo's own SDKs and documentation make it."""
    verifier = secrets.token_urlsafe(32)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def consent_url(oauth_url: str, app_id: str, redirect_uri: str, challenge: str, state: str) -> str:
    query = urlencode(
        {"app_id": app_id, "redirect_uri": redirect_uri, "code_challenge": challenge, "state": state}
    )
    return f"{oauth_url.rstrip('/')}/v4/oa/permission?{query}"


def code_from(pasted: str, state: str | None) -> str:
    """The `code` from a pasted redirect URL (checking its `state`), or the pasted code itself."""
    pasted = pasted.strip()
    if "code=" not in pasted:
        return pasted
    query = parse_qs(urlparse(pasted).query or pasted)
    if state is not None and query.get("state", [state])[0] != state:
        raise ValueError("state trong URL không khớp: hãy dùng URL của lần cấp quyền này")
    return query.get("code", [""])[0]
