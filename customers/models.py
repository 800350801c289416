"""Contacts, accounts, cases and notes: the records an agent links a conversation to."""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

DEFAULT_PHONE_REGION = "US"


def normalise_phone(raw: str, *, region: str = DEFAULT_PHONE_REGION) -> str:
    """Return ``raw`` in E.164 form (``+14155550123``) or raise ValidationError (SMS-2)."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(_("Enter a valid phone number, e.g. +14155550123.")) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("Enter a valid phone number, e.g. +14155550123."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class Account(models.Model):
    """An organisation the customer belongs to (SUM-3)."""

    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    main_phone = models.CharField(max_length=32, blank=True, help_text=_("Stored in international form."))
    other_phone = models.CharField(max_length=32, blank=True)
    city = models.CharField(max_length=120, blank=True)
    country = models.CharField(max_length=120, blank=True)
    website = models.URLField(blank=True)
    primary_contact = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["name"])]

    def __str__(self) -> str:
        return self.name

    @property
    def location(self) -> str:
        return ", ".join(part for part in (self.city, self.country) if part)

    def clean(self) -> None:
        errors = {}
        for field in ("main_phone", "other_phone"):
            try:
                setattr(self, field, normalise_phone(getattr(self, field)))
            except ValidationError as exc:
                errors[field] = exc.messages
        if errors:
            raise ValidationError(errors)


class Contact(models.Model):
    """A person the organisation serves. ``mobile_phone`` is stored normalised (E.164)."""

    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100)
    email = models.EmailField(blank=True)
    mobile_phone = models.CharField(
        max_length=32, blank=True, help_text=_("Stored in international form, e.g. +14155550123.")
    )
    business_phone = models.CharField(max_length=32, blank=True)
    city = models.CharField(max_length=120, blank=True)
    country = models.CharField(max_length=120, blank=True)
    job_title = models.CharField(max_length=120, blank=True)
    preferred_language = models.CharField(max_length=8, choices=settings.LANGUAGES, blank=True)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts")
    auth_subject = models.CharField(
        max_length=255,
        null=True,
        blank=True,
        unique=True,
        help_text=_(
            "The customer's id in your sign-in system (the token's subject); it links their chats to this contact."
        ),  # AUTH-2
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name", "pk"]
        indexes = [
            models.Index(fields=["email"]),
            models.Index(fields=["mobile_phone"]),
            models.Index(fields=["last_name", "first_name"]),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def location(self) -> str:
        return ", ".join(part for part in (self.city, self.country) if part)

    def clean(self) -> None:
        errors = {}
        for field in ("mobile_phone", "business_phone"):
            try:
                setattr(self, field, normalise_phone(getattr(self, field)))
            except ValidationError as exc:
                errors[field] = exc.messages
        if self.email:
            self.email = self.email.strip().lower()
        if self.auth_subject == "":
            self.auth_subject = None
        if errors:
            raise ValidationError(errors)


class Case(models.Model):
    """A customer issue tracked over time (SUM-14, REC-1)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        RESOLVED = "resolved", _("Resolved")
        CANCELLED = "cancelled", _("Cancelled")

    class Priority(models.TextChoices):
        LOW = "low", _("Low")
        NORMAL = "normal", _("Normal")
        HIGH = "high", _("High")

    class Origin(models.TextChoices):
        CHAT = "chat", _("Chat")
        PHONE = "phone", _("Phone")
        EMAIL = "email", _("Email")
        WEB = "web", _("Web")
        SMS = "sms", _("SMS")

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.NORMAL)
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.WEB)
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Owned by the case (issue 11): routing knows work items, not cases.
    work_item = models.OneToOneField(
        "routing.WorkItem", null=True, blank=True, on_delete=models.PROTECT, related_name="case", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["contact", "-created_at"]),
            models.Index(fields=["account", "-created_at"]),
            models.Index(fields=["status"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(contact__isnull=False) | Q(account__isnull=False),
                name="case_has_customer",
                violation_error_message=_("A case belongs to a contact or an account."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def number(self) -> str:
        return f"CAS-{self.pk:06d}" if self.pk else "CAS-new"


class Note(models.Model):
    """A note on exactly one record; a quick note written from a conversation also keeps it."""

    text = models.TextField(max_length=10_000)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="notes")
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.CASCADE, related_name="notes")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.CASCADE, related_name="notes")
    # The conversation a quick note was written from, as a plain id: conversations sits above
    # customers, so the record does not point at it (issue 11); conversations are never deleted.
    conversation_id = models.BigIntegerField(_("conversation"), null=True, blank=True, db_index=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["contact", "-created_at"]),
            models.Index(fields=["account", "-created_at"]),
            models.Index(fields=["case", "-created_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(contact__isnull=False, account__isnull=True, case__isnull=True)
                    | Q(contact__isnull=True, account__isnull=False, case__isnull=True)
                    | Q(contact__isnull=True, account__isnull=True, case__isnull=False)
                ),
                name="note_on_exactly_one_record",
                violation_error_message=_("A note belongs to exactly one contact, account or case."),
            )
        ]

    def __str__(self) -> str:
        return self.text[:60]
