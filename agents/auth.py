"""Signing in: Django's model backend, loading the person's agent profile with them."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class ModelBackendWithProfile(ModelBackend):
    """The user of each request comes with their agent profile in the same query (a left join), so
    reading their own settings — the language of their screens (I18N-1) — costs no query."""

    def get_user(self, user_id):
        user_model = get_user_model()
        try:
            user = user_model._default_manager.select_related("agent").get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
