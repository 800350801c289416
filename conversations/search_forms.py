"""The filters of the inbox and the search page, parsed from query parameters (issue 15)."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from conversations import inbox
from conversations.models import Conversation, Tag
from conversations.search import ConversationFilters, ExtraFilter, extra_filters
from routing.models import Queue


class ConversationFilterForm(forms.Form):
    """The filters of the inbox and the search page, as query parameters (all optional)."""

    q = forms.CharField(label=gettext_lazy("Words"), required=False, max_length=200, strip=True)
    tag = forms.ModelMultipleChoiceField(label=gettext_lazy("Tags"), queryset=Tag.objects.all(), required=False)
    queue = forms.ModelChoiceField(label=gettext_lazy("Queue"), queryset=Queue.objects.all(), required=False)
    agent = forms.IntegerField(label=gettext_lazy("Agent"), required=False, min_value=1, max_value=2**31 - 1)
    channel = forms.ChoiceField(
        label=gettext_lazy("Channel"),
        choices=[("", gettext_lazy("Any")), *Conversation.Channel.choices],
        required=False,
    )
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        choices=[("", gettext_lazy("Any")), *Conversation.Status.choices],
        required=False,
    )
    since = forms.DateField(label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data=None, *, user, **kwargs):
        super().__init__(data, **kwargs)
        #: registered filters (``register_conversation_filter``): a select of what ``user`` may choose,
        #: so a value outside it (not a number, unknown, another workstream's) is a form error
        self.extra_filters: list[ExtraFilter] = extra_filters()
        for extra in self.extra_filters:
            # Its help text is the API's (tags_search.py); on the page it would only leave the
            # select pointing at a description that is not there (aria-describedby).
            field = forms.ModelChoiceField(label=extra.label, queryset=extra.choices(user), required=False)
            field.label_from_instance = extra.option_label
            self.fields[extra.name] = field

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end of the range is before its start."))
        return cleaned

    def filters(self) -> ConversationFilters:
        """The valid filters (call after ``is_valid()``)."""
        data = self.cleaned_data
        return ConversationFilters(
            text=data.get("q") or "",
            tags=tuple(sorted(tag.pk for tag in data.get("tag") or [])),
            queue=data["queue"].pk if data.get("queue") else None,
            agent=data.get("agent"),
            channel=data.get("channel") or "",
            status=data.get("status") or "",
            since=data.get("since"),
            until=data.get("until"),
            extra={extra.name: data[extra.name] for extra in self.extra_filters if data.get(extra.name)},
        )


def inbox_context(request: HttpRequest) -> dict:
    """The inbox of the dashboard and of its live panel: the tab and the filters asked for."""
    form = ConversationFilterForm(request.GET or None, user=request.user)
    filters = form.filters() if form.is_valid() else None
    return {
        "inbox": inbox.inbox(request.agent, tab=request.GET.get("tab", "mine"), filters=filters),
        "filter_form": form,
    }
