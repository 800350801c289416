"""The language a person reads the product in (I18N-1).

LocaleMiddleware picks the browser's language for every request; a signed-in person's own setting
(an agent's ``AgentProfile.language``, blank for "follow the browser") then takes over for the
pages they read: the agent workspace (``conversations.views.agent_required``) and the admin center
(``omnichannel.middleware.AdminLanguageMiddleware``). What a customer receives follows their
conversation's language instead (``conversations.wait_messages.customer_words``).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation


def request_language_use(request: HttpRequest, language: str) -> None:
    """Read the rest of ``request`` in ``language`` (a shipped language code); blank or unknown
    leaves the browser's choice in place."""
    if language and language in dict(settings.LANGUAGES):
        translation.activate(language)
        request.LANGUAGE_CODE = language
