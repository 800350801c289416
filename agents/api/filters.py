"""Query filters of the agents endpoints (API-1)."""

import django_filters

from agents.models import Presence


class PresenceFilter(django_filters.FilterSet):
    base = django_filters.ChoiceFilter(choices=Presence.Base.choices)
    agent_selectable = django_filters.BooleanFilter()
