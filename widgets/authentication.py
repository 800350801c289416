"""Chat authentication: verifying the customer's signed token (AUTH-1..3, WID-7).

The host page's token provider returns a JWT signed with the customer organisation's private
key. We verify it against the widget's :class:`~widgets.models.AuthenticationSetting` with PyJWT:

- the key is the setting's PEM public key, or the key of the token's ``kid`` in the setting's
  key set (a JWKS ``{"keys": [...]}``, or a JSON list of ``{kid, publicKey, expiry}``);
- key sets are cached (Django's cache, ``key_cache_seconds``) and fetched again when a token
  names a ``kid`` the cache does not hold — at most once per :data:`REFRESH_MIN_SECONDS` per
  setting, so a flood of forged ``kid`` values cannot turn into a flood of fetches — which is
  how a key rotation takes effect without downtime;
- only the setting's algorithms (RS256 / ES256) are accepted: ``alg: none``, HS256 (a public
  key used as an HMAC secret) and anything else are refused before any key is looked at;
- ``exp``, ``iat``, ``iss`` and ``sub`` are required, ``nbf`` is checked when present, ``aud``
  when the setting names one.

Every refusal is an :class:`AuthTokenError` with a stable code and a message a person can read;
it is a :class:`~widgets.tokens.TokenError`, so the widget endpoints answer 403 and the socket
an ``error`` frame. Nothing here writes to the database.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from jwt.exceptions import InvalidJTIError, InvalidSubjectError

from widgets.models import AuthenticationSetting
from widgets.tokens import TokenError

logger = logging.getLogger(__name__)

#: A JWT longer than this is not a customer token (and is not parsed).
MAX_AUTH_TOKEN_LENGTH = 8192
#: Clock skew allowed between the customer organisation's servers and ours.
LEEWAY_SECONDS = 30
#: An unknown ``kid`` fetches the key set again at most this often per setting.
REFRESH_MIN_SECONDS = 10
#: A key set is read with this timeout and up to this size.
FETCH_TIMEOUT_SECONDS = 5
MAX_KEY_SET_BYTES = 1024 * 1024
#: Context variable values taken from claims are cut to this length (as the widget's, WID-6).
MAX_CLAIM_VALUE_LENGTH = 2000

KEY_TYPES = {"RS256": rsa.RSAPublicKey, "ES256": ec.EllipticCurvePublicKey}


class AuthTokenError(TokenError):
    """A customer token that is missing, malformed, expired, forged or signed the wrong way (AUTH-3)."""

    code = "auth_token_invalid"


@dataclass(frozen=True)
class VerifiedCustomer:
    """Who a verified token says the customer is (AUTH-2)."""

    subject: str
    claims: dict[str, Any] = field(repr=False)
    #: The setting's ``context_claims`` found in the token, as context variables (WID-6 shape).
    context: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def email(self) -> str:
        """The ``email`` claim when it is a well-formed address, else "" (signed, so verified: SUM-5)."""
        value = self.claims.get("email")
        if not isinstance(value, str):
            return ""
        value = value.strip()
        try:
            validate_email(value)
        except ValidationError:
            return ""
        return value


# --- key sets -------------------------------------------------------------------------------------


def _cache_key(setting: AuthenticationSetting, suffix: str) -> str:
    url = hashlib.sha256(setting.key_set_url.encode()).hexdigest()[:16]
    return f"widgets:auth-keys:{setting.pk}:{url}:{suffix}"


def _pem(key) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _expiry_timestamp(value: Any) -> float | None:
    """``expiry`` of the list form: epoch seconds or milliseconds, or an ISO 8601 moment; None: no expiry."""
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise ValueError("expiry is not a moment")
    if isinstance(value, int | float):
        return float(value) / 1000 if value > 1e11 else float(value)
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("expiry needs a time zone")
    return moment.timestamp()


def parse_key_set(document: Any) -> dict[str, dict[str, Any]]:
    """``kid`` → ``{"pem", "expires"}`` from a JWKS or a list of ``{kid, publicKey, expiry}``.

    Keys that cannot be used (no ``kid``, another key type, not a public key) are skipped;
    a document of neither form raises :class:`ValueError`.
    """
    keys: dict[str, dict[str, Any]] = {}
    if isinstance(document, dict) and isinstance(document.get("keys"), list):
        for entry in document["keys"]:
            if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str) or "d" in entry:
                continue  # a private key published by mistake is never used
            try:
                key = jwt.PyJWK(entry).key
            except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError, KeyError):
                continue
            if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
                keys[entry["kid"]] = {"pem": _pem(key), "expires": None}
        return keys
    if isinstance(document, list):
        for entry in document:
            if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
                continue
            try:
                key = serialization.load_pem_public_key(str(entry.get("publicKey", "")).strip().encode())
                expires = _expiry_timestamp(entry.get("expiry"))
            except (ValueError, TypeError):
                continue
            if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
                keys[entry["kid"]] = {"pem": _pem(key), "expires": expires}
        return keys
    raise ValueError("A key set is a JWKS object or a list of {kid, publicKey, expiry}.")


def _fetch_key_set(url: str) -> dict[str, dict[str, Any]]:
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "omnichannel"})
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310 (admin-set URL)
        body = response.read(MAX_KEY_SET_BYTES + 1)
    if len(body) > MAX_KEY_SET_BYTES:
        raise ValueError("The key set is larger than 1 MB.")
    return parse_key_set(json.loads(body))


def key_set(setting: AuthenticationSetting, *, refresh: bool = False) -> dict[str, dict[str, Any]]:
    """The setting's key set, from the cache or fetched (and cached for ``key_cache_seconds``).

    With ``refresh`` the set is fetched again, unless it was fetched less than
    :data:`REFRESH_MIN_SECONDS` ago. A failed fetch keeps the cached set; with none cached it
    raises :class:`AuthTokenError` ``auth_keys_unavailable``.
    """
    cache_key = _cache_key(setting, "set")
    cached = cache.get(cache_key)
    if cached is not None:
        if not refresh or time.time() - cached["fetched_at"] < REFRESH_MIN_SECONDS:
            return cached["keys"]
        # Claim this refresh: requests arriving meanwhile see a fresh stamp and do not fetch too.
        cache.set(cache_key, {**cached, "fetched_at": time.time()}, timeout=setting.key_cache_seconds)
    try:
        keys = _fetch_key_set(setting.key_set_url)
    except Exception as exc:  # any network or parse failure: the customer cannot be verified now
        logger.warning("Could not read the key set of authentication setting %s: %s", setting.pk, exc)
        if cached is not None:
            return cached["keys"]
        raise AuthTokenError(
            "The sign-in keys of this site cannot be read right now; please try again later.",
            code="auth_keys_unavailable",
        ) from None
    cache.set(cache_key, {"keys": keys, "fetched_at": time.time()}, timeout=setting.key_cache_seconds)
    return keys


def _usable(entry: dict[str, Any] | None) -> bool:
    return entry is not None and (entry["expires"] is None or entry["expires"] > time.time())


def _verification_key(setting: AuthenticationSetting, *, kid: Any, algorithm: str):
    if setting.public_key_pem.strip():
        pem = setting.public_key_pem.strip()
    else:
        if not isinstance(kid, str) or not kid:
            raise AuthTokenError(
                "The sign-in token does not say which key signed it (kid).", code="auth_token_unknown_key"
            )
        entry = key_set(setting).get(kid)
        if not _usable(entry):
            # A rotation: the new key is not in our cached copy yet (rate-limited refetch).
            entry = key_set(setting, refresh=True).get(kid)
        if not _usable(entry):
            raise AuthTokenError(
                "The sign-in token was signed with a key this site does not publish (or no longer does).",
                code="auth_token_unknown_key",
            )
        pem = entry["pem"]
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, KEY_TYPES[algorithm]):
        raise AuthTokenError(
            f"The sign-in token says {algorithm}, but its key is of another kind.", code="auth_token_signature"
        )
    return key


# --- verification ---------------------------------------------------------------------------------

_REFUSALS: list[tuple[type[Exception], str, str]] = [
    (jwt.ExpiredSignatureError, "auth_token_expired", "The sign-in token has expired; sign in again."),
    (jwt.ImmatureSignatureError, "auth_token_not_yet_valid", "The sign-in token is not valid yet."),
    (jwt.InvalidIssuerError, "auth_token_issuer", "The sign-in token was issued by someone this site does not trust."),
    (jwt.InvalidAudienceError, "auth_token_audience", "The sign-in token was made for another audience."),
    (jwt.InvalidIssuedAtError, "auth_token_claims", "The sign-in token's issued-at time (iat) is not a time."),
    (jwt.MissingRequiredClaimError, "auth_token_claims", "The sign-in token lacks a required claim"),
    (InvalidSubjectError, "auth_token_claims", "The sign-in token's subject (sub) is not a customer id."),
    (InvalidJTIError, "auth_token_claims", "The sign-in token's id (jti) is not text."),
    (
        jwt.InvalidSignatureError,
        "auth_token_signature",
        "The sign-in token's signature does not match this site's key.",
    ),
    (jwt.InvalidAlgorithmError, "auth_token_algorithm", "The sign-in token is signed with an algorithm not allowed."),
    (jwt.DecodeError, "auth_token_malformed", "The sign-in token is not a well-formed JWT."),
    (jwt.InvalidKeyError, "auth_token_signature", "The sign-in token's key does not fit its algorithm."),
    (jwt.InvalidTokenError, "auth_token_invalid", "The sign-in token is not valid."),
]


def _context_value(value: Any) -> str | int | float | bool | None:
    if value is None or isinstance(value, str | int | float | bool):
        return value[:MAX_CLAIM_VALUE_LENGTH] if isinstance(value, str) else value
    return json.dumps(value, separators=(",", ":"), default=str)[:MAX_CLAIM_VALUE_LENGTH]


def auth_token_verify(setting: AuthenticationSetting, token: object) -> VerifiedCustomer:
    """Verify a customer's JWT against ``setting``; the verified customer, or :class:`AuthTokenError`."""
    if token is None or token == "":
        raise AuthTokenError("Sign in on this site to chat with us.", code="authentication_required")
    if not isinstance(token, str) or len(token) > MAX_AUTH_TOKEN_LENGTH:
        raise AuthTokenError("The sign-in token is not a well-formed JWT.", code="auth_token_malformed")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise AuthTokenError("The sign-in token is not a well-formed JWT.", code="auth_token_malformed") from None
    algorithm = header.get("alg")
    allowed = [alg for alg in setting.algorithms if alg in KEY_TYPES]
    if algorithm not in allowed:
        raise AuthTokenError(
            f"The sign-in token is signed with {str(algorithm)[:20]!s}; this site accepts {', '.join(allowed)}.",
            code="auth_token_algorithm",
        )
    key = _verification_key(setting, kid=header.get("kid"), algorithm=algorithm)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            issuer=setting.issuer,
            audience=setting.audience or None,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "sub"], "verify_aud": bool(setting.audience)},
        )
    except jwt.InvalidTokenError as exc:
        for kind, code, message in _REFUSALS:
            if isinstance(exc, kind):
                if kind is jwt.MissingRequiredClaimError:
                    message = f"{message}: {exc.claim}."
                raise AuthTokenError(message, code=code) from None
        raise  # pragma: no cover - InvalidTokenError is the last entry
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip() or len(subject) > 255:
        raise AuthTokenError("The sign-in token's subject (sub) is not a customer id.", code="auth_token_claims")
    context = {
        name: {"value": _context_value(claims[name]), "isDisplayable": True}
        for name in setting.context_claims
        if isinstance(name, str) and name in claims
    }
    return VerifiedCustomer(subject=subject, claims=claims, context=context)
