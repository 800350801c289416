"""The customer organisation's side of chat authentication, for tests: keys, tokens, a key-set server.

Tests sign their own JWTs with keys they generate (AUTH-2), and serve key sets from a tiny HTTP
server on 127.0.0.1 in both published forms (a JWKS, and a list of ``{kid, publicKey, expiry}``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ISSUER = "https://login.example.com"


@functools.cache
def _private_key(algorithm: str, index: int):
    """A few keys per algorithm, made once per test run (RSA generation is slow)."""
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class SigningKey:
    """One key pair of the customer organisation: signs tokens, publishes its public half."""

    def __init__(self, algorithm: str = "RS256", *, kid: str | None = None, index: int = 0):
        self.algorithm, self.kid = algorithm, kid
        self.private_key = _private_key(algorithm, index)
        self.public_key = self.private_key.public_key()

    @property
    def public_pem(self) -> str:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def claims(self, *, sub: str = "customer-1", lifetime: int = 300, issuer: str = ISSUER, **extra) -> dict:
        now = int(time.time())
        claims = {"sub": sub, "iss": issuer, "iat": now, "exp": now + lifetime}
        claims.update(extra)
        return {name: value for name, value in claims.items() if value is not None}

    def token(self, *, headers: dict | None = None, **claims) -> str:
        header = {"kid": self.kid} if self.kid else {}
        header.update(headers or {})
        return jwt.encode(self.claims(**claims), self.private_key, algorithm=self.algorithm, headers=header)

    def jwk(self) -> dict[str, Any]:
        algorithm = jwt.algorithms.ECAlgorithm if self.algorithm == "ES256" else jwt.algorithms.RSAAlgorithm
        jwk = algorithm.to_jwk(self.public_key, as_dict=True)
        jwk.update({"kid": self.kid, "alg": self.algorithm, "use": "sig"})
        return jwk

    def listed(self, *, expiry: Any = None) -> dict[str, Any]:
        """This key as an entry of the ``[{kid, publicKey, expiry}]`` form."""
        return {"kid": self.kid, "publicKey": self.public_pem, "expiry": expiry}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(claims: dict, *, header: dict | None = None) -> str:
    """``alg: none`` — a token anyone can make (AUTH-3 must refuse it)."""
    head = {"alg": "none", "typ": "JWT", **(header or {})}
    return f"{_b64(json.dumps(head).encode())}.{_b64(json.dumps(claims).encode())}."


def hs256_with_public_key(claims: dict, public_pem: str, *, header: dict | None = None) -> str:
    """The classic forgery: HS256 keyed with the organisation's *public* key (AUTH-3 must refuse it).

    Built by hand, since PyJWT itself refuses to use a PEM key as an HMAC secret.
    """
    head = {"alg": "HS256", "typ": "JWT", **(header or {})}
    signing_input = f"{_b64(json.dumps(head).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(public_pem.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


class KeySetServer:
    """Serves ``document`` as JSON at ``/keys`` on 127.0.0.1 and counts the fetches."""

    def __init__(self, document: Any = None):
        self.document = document if document is not None else {"keys": []}
        self.fetches = 0
        self.status = 200
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.fetches += 1
                body = json.dumps(server.document).encode()
                self.send_response(server.status if self.path == "/keys" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/keys"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
