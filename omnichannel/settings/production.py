"""Production: PostgreSQL, Redis, HTTPS. Everything still comes from the environment.

``SECRET_KEY``, ``ALLOWED_HOSTS``, ``DATABASE_URL`` and ``REDIS_URL`` must be set.

Behind proxies (docs/security.md):

- ``NUM_PROXIES`` (base settings, default ``0``): how many proxies of yours append to
  ``X-Forwarded-For`` in front of the ASGI servers. Every throttle takes the client's address
  from the entry the outermost of them wrote; with ``0`` the header is ignored and the peer's
  address counts. Never more than you have: clients would choose their own address.
- ``X-Forwarded-Proto`` is trusted for ``https`` (``SECURE_PROXY_SSL_HEADER`` below): the proxy
  must set it and strip a client's own. It also tells the workspace socket's origin check that
  the page is ``https``.
- ``CSRF_TRUSTED_ORIGINS`` and ``PUBLIC_BASE_URL`` are, with the server's own origin, the only
  origins whose pages may open the workspace and supervisor sockets.
- Run uvicorn with ``--no-proxy-headers``, so that it does not rewrite the peer address itself.
"""

from .base import *  # noqa: F401,F403
from .base import env

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Attachments in an S3-compatible bucket (pip install ".[s3]"): django-storages reads the rest of
# its AWS_* settings from here; files stay private and are served through the signed download view.
if env.str("AWS_STORAGE_BUCKET_NAME", default=""):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
WHITENOISE_USE_FINDERS = False
