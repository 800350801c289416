"""Contacts, accounts, cases and notes in the developer API (API-1).

Input serializers check shape and types and refuse fields they do not know; the rules of a
record (phone numbers, a case's customer, a note's one record) are checked once, by the
services through the models, so the admin and the API cannot disagree. Output serializers
render a record with short references ({id, name}) to the records it points at.

In the OpenAPI document an input serializer is named after its record, so the request body
of a contact is ``ContactRequest`` beside the response ``Contact`` (COMPONENT_SPLIT_REQUEST)
and each choice set (a case's status…) gets one enum name.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from core.api import InputSerializer, OptionalEmailField, OptionalURLField, reference_serializer
from customers.models import Account, Case, Contact, Note
from customers.selectors import records_visible_to
from customers.services import CONTACT_FIELDS


def _text(max_length: int, **kwargs) -> serializers.CharField:
    """An optional text field: blank is allowed, and a full update (PUT) that omits it clears it."""
    return serializers.CharField(max_length=max_length, allow_blank=True, default="", **kwargs)


class VisibleRecordField(serializers.PrimaryKeyRelatedField):
    """A customer record by id, among those the caller reaches (SEC-1): any other id is refused
    like a missing one. Without a request in the context it finds nothing."""

    def get_queryset(self):
        request = self.context.get("request")
        if request is None:
            return self.queryset.none()
        return records_visible_to(request.user, self.queryset)


def _reference(queryset, **kwargs) -> serializers.PrimaryKeyRelatedField:
    """An optional link to another record by id; a full update (PUT) that omits it unlinks it."""
    field = VisibleRecordField if queryset.model in (Contact, Account, Case) else serializers.PrimaryKeyRelatedField
    return field(queryset=queryset, allow_null=True, default=None, **kwargs)


# --- References -------------------------------------------------------------------------------


AccountReferenceSerializer = reference_serializer(Account, "name")


class ContactReferenceSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="full_name", read_only=True)

    class Meta:
        model = Contact
        fields = ["id", "name"]


class CaseReferenceSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)

    class Meta:
        model = Case
        fields = ["id", "number", "title"]


UserReferenceSerializer = reference_serializer(get_user_model(), "username")


# --- Contacts ---------------------------------------------------------------------------------


@extend_schema_serializer(component_name="Contact")
class ContactInputSerializer(InputSerializer):
    first_name = _text(100)
    last_name = serializers.CharField(max_length=100)
    # Left out of a PUT, an email (or a website) is cleared like any text. The default is the
    # callable ``str`` (giving "") rather than "": the OpenAPI document would show a default ""
    # that is not a valid email, and the document would not validate.
    email = serializers.EmailField(allow_blank=True, default=str)
    mobile_phone = _text(32, help_text="Any common notation; stored in E.164, e.g. +14155550123.")
    business_phone = _text(32, help_text="Any common notation; stored in E.164.")
    city = _text(120)
    country = _text(120)
    job_title = _text(120)
    preferred_language = serializers.ChoiceField(choices=settings.LANGUAGES, allow_blank=True, default="")
    account = _reference(Account.objects.all())
    auth_subject = serializers.CharField(
        max_length=255,
        allow_null=True,
        allow_blank=True,
        default=None,
        help_text="The verified token subject (sub) that identifies this contact; unique.",
    )


class ContactSerializer(serializers.ModelSerializer):
    full_name = serializers.CharField(read_only=True)
    account = AccountReferenceSerializer(read_only=True, allow_null=True)
    email = OptionalEmailField(read_only=True)
    preferred_language = serializers.ChoiceField(choices=settings.LANGUAGES, allow_blank=True, read_only=True)

    class Meta:
        model = Contact
        fields = ["id", *CONTACT_FIELDS[:2], "full_name", *CONTACT_FIELDS[2:], "created_at", "updated_at"]
        read_only_fields = fields


# --- Accounts ---------------------------------------------------------------------------------


@extend_schema_serializer(component_name="Account")
class AccountInputSerializer(InputSerializer):
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(allow_blank=True, default=str)
    main_phone = _text(32, help_text="Any common notation; stored in E.164.")
    other_phone = _text(32, help_text="Any common notation; stored in E.164.")
    city = _text(120)
    country = _text(120)
    website = serializers.URLField(allow_blank=True, default=str)
    primary_contact = _reference(Contact.objects.all())


class AccountSerializer(serializers.ModelSerializer):
    primary_contact = ContactReferenceSerializer(read_only=True, allow_null=True)
    email = OptionalEmailField(read_only=True)
    website = OptionalURLField(read_only=True)

    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "email",
            "main_phone",
            "other_phone",
            "city",
            "country",
            "website",
            "primary_contact",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


# --- Cases ------------------------------------------------------------------------------------


@extend_schema_serializer(component_name="Case")
class CaseInputSerializer(InputSerializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True, default="")
    status = serializers.ChoiceField(choices=Case.Status.choices, default=Case.Status.ACTIVE)
    priority = serializers.ChoiceField(choices=Case.Priority.choices, default=Case.Priority.NORMAL)
    origin = serializers.ChoiceField(choices=Case.Origin.choices, default=Case.Origin.WEB)
    contact = _reference(Contact.objects.all(), help_text="A case needs a contact, an account, or both.")
    account = _reference(Account.objects.all(), help_text="A case needs a contact, an account, or both.")
    owner = _reference(
        get_user_model().objects.filter(Q(agent__isnull=False) | Q(is_staff=True)),
        help_text="The id of the user (an agent or an admin) who owns the case.",
    )


class CaseSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    contact = ContactReferenceSerializer(read_only=True, allow_null=True)
    account = AccountReferenceSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Case
        fields = [
            "id",
            "number",
            "title",
            "description",
            "status",
            "priority",
            "origin",
            "contact",
            "account",
            "owner",
            "created_at",
            "updated_at",
            "resolved_at",
        ]
        read_only_fields = fields


# --- Notes ------------------------------------------------------------------------------------

NOTE_MAX_LENGTH = Note._meta.get_field("text").max_length


@extend_schema_serializer(component_name="Note")
class NoteInputSerializer(InputSerializer):
    text = serializers.CharField(max_length=NOTE_MAX_LENGTH)
    contact = _reference(Contact.objects.all(), help_text="Set exactly one of contact, account and case.")
    account = _reference(Account.objects.all(), help_text="Set exactly one of contact, account and case.")
    case = _reference(Case.objects.all(), help_text="Set exactly one of contact, account and case.")


@extend_schema_serializer(component_name="NoteText")
class NoteUpdateInputSerializer(InputSerializer):
    """A note stays on its record; only its text changes."""

    text = serializers.CharField(max_length=NOTE_MAX_LENGTH)


class NoteSerializer(serializers.ModelSerializer):
    author = UserReferenceSerializer(read_only=True, allow_null=True)
    contact = ContactReferenceSerializer(read_only=True, allow_null=True)
    account = AccountReferenceSerializer(read_only=True, allow_null=True)
    case = CaseReferenceSerializer(read_only=True, allow_null=True)
    conversation = serializers.IntegerField(source="conversation_id", read_only=True, allow_null=True)

    class Meta:
        model = Note
        fields = ["id", "text", "author", "contact", "account", "case", "conversation", "created_at"]
        read_only_fields = fields


# --- The customer summary of a conversation (SUM-2..17) -----------------------------------------
#: The records a conversation links to; one enum in the OpenAPI document (ENUM_NAME_OVERRIDES).
RECORD_KINDS = [("contact", "Contact"), ("account", "Account"), ("case", "Case")]


class DetailSerializer(serializers.Serializer):
    name = serializers.CharField(read_only=True)
    label = serializers.CharField(read_only=True)
    value = serializers.CharField(read_only=True)


class CustomerCardSerializer(serializers.Serializer):
    kind = serializers.CharField(read_only=True, help_text="contact or account")
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    fields = DetailSerializer(many=True, read_only=True)


class CaseCardSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    number = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True, help_text="active, resolved or cancelled")
    status_label = serializers.CharField(read_only=True)
    priority_label = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class SelfServiceRowSerializer(serializers.Serializer):
    kind = serializers.CharField(read_only=True)
    kind_label = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    url = serializers.CharField(read_only=True)
    occurred_at = serializers.DateTimeField(read_only=True)


class LinkedRecordSerializer(serializers.Serializer):
    kind = serializers.CharField(read_only=True, help_text="contact, account or case")
    id = serializers.IntegerField(read_only=True)
    label = serializers.CharField(read_only=True)


class SkillRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class TimelineItemSerializer(serializers.Serializer):
    kind = serializers.CharField(read_only=True, help_text="note, case or conversation")
    id = serializers.IntegerField(read_only=True)
    at = serializers.DateTimeField(read_only=True)
    title = serializers.CharField(read_only=True)
    text = serializers.CharField(read_only=True)
    author = serializers.CharField(read_only=True)


class TimelinePageSerializer(serializers.Serializer):
    record = LinkedRecordSerializer(read_only=True, allow_null=True)
    items = TimelineItemSerializer(many=True, read_only=True)
    next_cursor = serializers.CharField(
        read_only=True, allow_null=True, help_text="Pass as ?cursor= for the next page; null on the last page."
    )


class PossibleMatchSerializer(serializers.Serializer):
    contact_id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    matched_by = serializers.CharField(read_only=True)
    label = serializers.CharField(read_only=True)


class CustomerSummarySerializer(serializers.Serializer):
    """Everything the customer summary shows of a conversation."""

    # spec: SUM-2..16

    conversation = serializers.IntegerField(source="conversation.pk", read_only=True)
    status = serializers.CharField(source="conversation.status", read_only=True)
    read_only = serializers.BooleanField(read_only=True, help_text="Closed, or not yours to change.")
    contact = CustomerCardSerializer(read_only=True, allow_null=True)
    account = CustomerCardSerializer(read_only=True, allow_null=True)
    suggestion = PossibleMatchSerializer(
        read_only=True,
        allow_null=True,
        help_text="A contact matching what an unverified customer typed; only linked once an agent confirms it.",
    )
    channel = serializers.CharField(read_only=True)
    wait = serializers.CharField(read_only=True)
    wait_seconds = serializers.FloatField(read_only=True, allow_null=True)
    skills = SkillRefSerializer(many=True, read_only=True)
    may_edit_skills = serializers.BooleanField(read_only=True)
    skill_choices = SkillRefSerializer(many=True, read_only=True)
    queue = serializers.CharField(read_only=True)
    started_at = serializers.DateTimeField(read_only=True)
    prechat = DetailSerializer(many=True, read_only=True)
    self_service = SelfServiceRowSerializer(many=True, read_only=True)
    visitor = DetailSerializer(many=True, read_only=True)
    additional = DetailSerializer(many=True, read_only=True)
    show_additional = serializers.BooleanField(read_only=True)
    case = CaseCardSerializer(read_only=True, allow_null=True)
    recent_cases = CaseCardSerializer(many=True, read_only=True)
    linked_records = LinkedRecordSerializer(many=True, read_only=True)
    timeline = TimelinePageSerializer(read_only=True)


class TimelineParamsSerializer(InputSerializer):
    record = serializers.ChoiceField(
        choices=RECORD_KINDS,
        help_text="Whose activities: the linked contact, account or case.",
    )
    cursor = serializers.CharField(required=False, max_length=200, help_text="next_cursor of the previous page.")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=20)


class SearchParamsSerializer(InputSerializer):
    kind = serializers.ChoiceField(choices=RECORD_KINDS)
    q = serializers.CharField(min_length=2, max_length=100, help_text="Name, email, phone, or a case number.")


@extend_schema_serializer(component_name="ConversationLink")
class LinkInputSerializer(InputSerializer):
    kind = serializers.ChoiceField(choices=RECORD_KINDS)
    id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


@extend_schema_serializer(component_name="QuickNote")
class QuickNoteInputSerializer(InputSerializer):
    record = serializers.ChoiceField(
        choices=RECORD_KINDS,
        help_text="On which linked record the note goes.",
    )
    text = serializers.CharField(max_length=NOTE_MAX_LENGTH)


@extend_schema_serializer(component_name="ConversationSkills")
class SkillsInputSerializer(InputSerializer):
    skills = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), max_length=50, allow_empty=True
    )


class NewContactInputSerializer(ContactInputSerializer):
    """A contact created in place from the summary: no token subject or account here."""

    auth_subject = None
    account = None


class NewAccountInputSerializer(AccountInputSerializer):
    primary_contact = None


class NewCaseInputSerializer(InputSerializer):
    """A case created in place: it belongs to the conversation's contact and account (SUM-14)."""

    title = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True, default="", max_length=10_000)
    priority = serializers.ChoiceField(choices=Case.Priority.choices, default=Case.Priority.NORMAL)


class StrictIdField(serializers.IntegerField):
    """A row id sent as a JSON integer: "5", 5.0 or true are refused, not coerced (REL-3)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_serializer(component_name="PossibleMatchConfirm")
class MatchConfirmInputSerializer(InputSerializer):
    contact = StrictIdField(min_value=1, max_value=2**63 - 1, help_text="The suggested contact the agent confirms.")
