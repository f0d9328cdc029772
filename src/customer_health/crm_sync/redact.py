"""Secrets out of everything the CRM sync prints or stores.

`redact` is the one function every print and every write of the state file goes through.
It removes the literal secrets it is given (the access token, credentials taken from the API
base URL) in their plain and URL-encoded forms, and, in any text, a `Bearer` credential, the
user information of a URL (`https://user:pass@host`) and the value of a query parameter whose
name looks like a credential (`?token=`, `?hapikey=`, `&client_secret=` ...).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit

REDACTED = "[redacted]"
# Shorter literals are left to the patterns: replacing every "ab" would garble the text.
MIN_SECRET_LENGTH = 4

BEARER = re.compile(r"(?i)\b(bearer)(\s+)[^\s\"'<>,;]+")
USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@?#\"'<>]+@")
CREDENTIAL_NAME = (
    r"[^=&#?\s\"'<>]*(?:token|key|secret|pass|pwd|auth|sig|cred|session)[^=&#?\s\"'<>]*"
)
CREDENTIAL_PARAM = re.compile(rf"(?i)([?&;]{CREDENTIAL_NAME}=)[^&;#\s\"'<>]*")
CREDENTIAL_PARAM_NAME = re.compile(rf"(?i)^{CREDENTIAL_NAME}$")


def url_secrets(url: str) -> list[str]:
    """The credentials written into a URL: its user information (and the Basic credential
    an HTTP client makes of it) and the values of credential-looking query parameters."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found: list[str] = []
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at:
        # The user name alone is left to the URL pattern; the password is a secret anywhere.
        user, _, password = userinfo.partition(":")
        found += [userinfo, password, unquote(password)]
        basic = f"{unquote(user)}:{unquote(password)}".encode()
        found.append(base64.b64encode(basic).decode("ascii"))
    found += [
        value
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if CREDENTIAL_PARAM_NAME.match(name)
    ]
    return [item for item in found if item]


def secrets_of(token: str | None, base_url: str | None) -> tuple[str, ...]:
    """The literal secrets of a configuration: the access token and the base URL's
    credentials."""
    found = [token] if token else []
    if base_url:
        found += url_secrets(base_url)
    return tuple(found)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without the given secrets, Bearer credentials, URL user information and
    credential-looking query parameter values."""
    forms = {
        form
        for secret in secrets
        if secret
        for form in (secret, quote(secret, safe=""), quote_plus(secret, safe=""))
        if len(form) >= MIN_SECRET_LENGTH
    }
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, REDACTED)
    text = BEARER.sub(rf"\1\2{REDACTED}", text)
    text = USERINFO.sub(rf"\1{REDACTED}@", text)
    return CREDENTIAL_PARAM.sub(rf"\1{REDACTED}", text)
