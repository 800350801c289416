"""A workstream's chat settings in the workstream API, where they stood before they moved here.

Registered with ``routing.contributions`` in ``ConversationsConfig.ready()``: the workstream
API (routing's) shows these fields read-only, with the names and types it always had.
"""

from __future__ import annotations

from rest_framework import serializers

from conversations.chat_settings import chat_settings_of
from conversations.models import ChatSettings


class _ChatSetting:
    """Reads the field's name from the workstream's chat settings (defaults when it has none)."""

    def get_attribute(self, instance):
        return getattr(chat_settings_of(instance), self.field_name)


class ChatSettingInteger(_ChatSetting, serializers.IntegerField):
    pass


class ChatSettingText(_ChatSetting, serializers.CharField):
    pass


class ChatSettingBoolean(_ChatSetting, serializers.BooleanField):
    pass


class ChatSettingList(_ChatSetting, serializers.ListField):
    pass


def workstream_chat_settings_fields() -> dict[str, serializers.Field]:
    """The fields, new instances each call (a serializer binds its fields), described as the model does."""
    seconds = {"read_only": True}
    fields = {
        "customer_grace_seconds": ChatSettingInteger(**seconds),
        "auto_close_open_seconds": ChatSettingInteger(allow_null=True, **seconds),
        "auto_close_active_seconds": ChatSettingInteger(allow_null=True, **seconds),
        "auto_close_waiting_seconds": ChatSettingInteger(allow_null=True, **seconds),
        "auto_close_wrap_up_seconds": ChatSettingInteger(allow_null=True, **seconds),
        "queue_position_message": ChatSettingText(read_only=True),
        "average_wait_message": ChatSettingText(read_only=True),
        "summary_self_service_types": ChatSettingList(child=serializers.CharField(), read_only=True),
        "summary_show_additional_details": ChatSettingBoolean(read_only=True),
        "agents_may_edit_skills": ChatSettingBoolean(read_only=True),
    }
    for name, field in fields.items():
        field.help_text = ChatSettings._meta.get_field(name).help_text or None
    return fields
