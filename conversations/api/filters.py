"""Query filters of the conversation endpoints (API-1)."""

import django_filters
from django.contrib.auth.models import AnonymousUser

from conversations.models import Conversation
from conversations.wrap_up import conversations_with_chosen_wrap_up_code, wrap_up_codes_visible_to
from core.api import DateTimeRangeFilter, IdFilter


class ConversationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Conversation.Status.choices)
    channel = django_filters.ChoiceFilter(choices=Conversation.Channel.choices)
    queue = IdFilter(field_name="queue_id", help_text="Queue id.")
    agent = IdFilter(field_name="agent_id", help_text="Agent id.")
    contact = IdFilter(field_name="contact_id", help_text="Contact id.")
    account = IdFilter(field_name="account_id", help_text="Account id.")
    case = IdFilter(field_name="case_id", help_text="Case id.")
    wrap_up_code = django_filters.ModelChoiceFilter(
        queryset=lambda request: wrap_up_codes_visible_to(request.user if request is not None else AnonymousUser()),
        method="filter_wrap_up_code",
        help_text="Wrap-up code id (one of your workstreams'): conversations closed with it (issue 15). "
        "Another workstream's or an unknown id is a 400.",
    )
    tag = IdFilter(field_name="tags", help_text="Tag id: conversations carrying this tag.")
    created_at = DateTimeRangeFilter(
        help_text="Started in a range: created_at_after and/or created_at_before (ISO 8601)."
    )

    class Meta:
        model = Conversation
        fields = [
            "status",
            "channel",
            "queue",
            "agent",
            "contact",
            "account",
            "case",
            "wrap_up_code",
            "tag",
            "created_at",
        ]

    def filter_wrap_up_code(self, queryset, name, value):
        return conversations_with_chosen_wrap_up_code(queryset, value)
