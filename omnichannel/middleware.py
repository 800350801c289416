"""Project-wide request middleware."""

from __future__ import annotations

from agents.selectors import user_language
from core.i18n import request_language_use


class AdminLanguageMiddleware:
    """The admin center follows the admin's own language setting, then the browser (I18N-1).

    After LocaleMiddleware (the browser's choice) and AuthenticationMiddleware; only the admin
    center's pages read it (no query: ``agents.auth.ModelBackendWithProfile``).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/admin/"):
            request_language_use(request, user_language(request.user))
        return self.get_response(request)
