"""What agents use while they answer (issue 15): canned responses, private notes in the thread
and the wrap-up codes of a workstream. Imported by ``conversations.models``."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from conversations.placeholders import placeholders_check

MAX_NOTE_BYTES = 28 * 1024  # the same bound as a message (CONV-2a)


class CannedResponse(models.Model):
    """A reply an agent inserts by typing ``/`` and its shortcut, then edits before sending.

    Visible to every agent, to the agents of some queues, or only to its owner (personal: the
    agent's own to manage in the workspace). ``text`` may hold placeholders such as
    ``{customer_name}`` (conversations.placeholders), filled from the conversation.
    """

    class Visibility(models.TextChoices):
        ALL = "all", _("Every agent")
        QUEUES = "queues", _("Agents of some queues")
        PERSONAL = "personal", _("One agent only (personal)")

    title = models.CharField(max_length=100)
    shortcut = models.SlugField(
        max_length=40,
        help_text=_('What the agent types after "/" in the message box, e.g. "thanks" for /thanks.'),
    )
    text = models.TextField(
        help_text=_(
            "The reply. Placeholders in braces are filled from the conversation: {customer_name}, "
            "{customer_email}, {agent_name}, {queue}, {workstream}."
        )
    )
    language = models.CharField(
        max_length=16, blank=True, help_text=_("Offered only in conversations in this language; empty: in all.")
    )
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.ALL)
    queues = models.ManyToManyField(
        "routing.Queue",
        blank=True,
        related_name="canned_responses",
        help_text=_("With “Agents of some queues”: the queues whose agents see it."),
    )
    owner = models.ForeignKey(
        "agents.AgentProfile",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="canned_responses",
        help_text=_("With “One agent only”: the agent it belongs to."),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(visibility="personal") & Q(owner__isnull=False))
                | (~Q(visibility="personal") & Q(owner__isnull=True)),
                name="canned_response_owner_iff_personal",
                violation_error_message=_("Only a personal canned response has an owner, and it must have one."),
            ),
            models.UniqueConstraint(
                fields=["shortcut", "language"],
                condition=Q(owner__isnull=True),
                name="one_shared_canned_shortcut",
                violation_error_message=_("A shared canned response with this shortcut and language exists already."),
            ),
            models.UniqueConstraint(
                fields=["owner", "shortcut", "language"],
                condition=Q(owner__isnull=False),
                name="one_personal_canned_shortcut",
                violation_error_message=_("You already have a canned response with this shortcut and language."),
            ),
        ]

    def __str__(self) -> str:
        return f"/{self.shortcut} – {self.title}"

    def clean(self) -> None:
        errors = {}
        try:
            placeholders_check(self.text or "")
        except ValidationError as error:
            errors["text"] = error.messages
        if self.visibility == self.Visibility.PERSONAL and self.owner_id is None:
            errors["owner"] = [_("A personal canned response belongs to one agent: choose them.")]
        if self.visibility != self.Visibility.PERSONAL and self.owner_id is not None:
            errors["owner"] = [_("Only a personal canned response has an owner; leave it empty.")]
        if errors:
            raise ValidationError(errors)


class ConversationNote(models.Model):
    """A private note in a conversation's thread: agents see it, the customer never does.

    Its own table, not a kind of message: every path to the customer (the widget socket and its
    resume, transcripts, SMS, the bot API, webhooks of the message flow) reads ``Message`` only,
    and the customer's sequence numbers stay without gaps (CONV-2).
    """

    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="private_notes"
    )
    author = models.ForeignKey(
        "agents.AgentProfile", null=True, blank=True, on_delete=models.SET_NULL, related_name="conversation_notes"
    )
    text = models.TextField(help_text=_("Plain text; shown as typed, never as HTML."))
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["conversation", "created_at", "pk"]
        indexes = [models.Index(fields=["conversation", "id"], name="conversation_note_resume")]
        constraints = [
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("text"), MAX_NOTE_BYTES), name="conversation_note_at_most_28kb"
            ),
        ]

    def __str__(self) -> str:
        return f"Note {self.pk} in {self.conversation_id}"


class WrapUpSettings(models.Model):
    """A workstream's wrap-up (disposition) codes and whether one is required before closing."""

    workstream = models.OneToOneField("routing.Workstream", on_delete=models.CASCADE, related_name="wrap_up_settings")
    code_required = models.BooleanField(
        default=False, help_text=_("Agents cannot close a conversation of this workstream without a wrap-up code.")
    )

    class Meta:
        verbose_name = _("wrap-up codes of a workstream")
        verbose_name_plural = _("wrap-up codes")

    def __str__(self) -> str:
        return str(self.workstream)


class WrapUpCode(models.Model):
    """One disposition an agent picks when ending a conversation (“Resolved”, “Call back”)."""

    settings = models.ForeignKey(WrapUpSettings, on_delete=models.CASCADE, related_name="codes")
    name = models.CharField(max_length=100)
    order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True, help_text=_("Retired codes stay on past conversations."))

    class Meta:
        ordering = ["order", "name", "pk"]
        constraints = [models.UniqueConstraint(fields=["settings", "name"], name="one_wrap_up_code_name")]

    def __str__(self) -> str:
        return self.name
