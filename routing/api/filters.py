"""Query filters of the routing endpoints (API-1)."""

import django_filters

from agents.models import AgentProfile, Presence
from core.api import IdFilter
from routing.models import Channel


class QueueFilter(django_filters.FilterSet):
    is_active = django_filters.BooleanFilter()


class WorkstreamFilter(django_filters.FilterSet):
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    is_active = django_filters.BooleanFilter()


class AgentFilter(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=AgentProfile.Role.choices)
    presence = IdFilter(field_name="presence_id", help_text="Presence id.")
    presence_base = django_filters.ChoiceFilter(
        field_name="presence__base", choices=Presence.Base.choices, help_text="The base presence, e.g. available."
    )
    queue = IdFilter(field_name="memberships__queue_id", help_text="Queue id.")
