"""How a bot authenticates to the bot API (ROU-15): ``Authorization: Bot <key>``.

A bot client's key is not a user's token: the agent endpoints do not accept it, and the bot
endpoints accept nothing else (SEC-1).
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from conversations.bots import bot_client_for_key


class BotKeyAuthentication(authentication.BaseAuthentication):
    """``request.user`` is the bot's user and ``request.auth`` its :class:`BotClient`."""

    keyword = "Bot"

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid bot key header: write “Bot <key>”."))
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid bot key.")) from None
        client = bot_client_for_key(key)
        if client is None or not client.user.is_active:
            raise exceptions.AuthenticationFailed(_("Invalid bot key."))
        return client.user, client

    def authenticate_header(self, request) -> str:
        return self.keyword


class BotKeyScheme(OpenApiAuthenticationExtension):
    target_class = "conversations.api.authentication.BotKeyAuthentication"
    name = "botKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A bot client's key, issued in the admin center: `Bot <key>`.",
        }
