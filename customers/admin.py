"""Admin center: contacts, accounts, cases and notes (the records behind the customer summary)."""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from customers.models import Account, Case, Contact, Note, normalise_phone
from customers.services import CASE_FIELDS, case_create, case_update


class NoteInline(admin.TabularInline):
    """Notes on the record; the author is whoever writes them here."""

    model = Note
    extra = 1
    fields = ["text", "author", "created_at"]
    readonly_fields = ["author", "created_at"]


class ContactNoteInline(NoteInline):
    fk_name = "contact"


class AccountNoteInline(NoteInline):
    fk_name = "account"


class CaseNoteInline(NoteInline):
    fk_name = "case"


class NoteAuthorMixin:
    def save_formset(self, request, form, formset, change):
        if formset.model is Note:
            for note_form in formset.forms:
                if note_form.instance.pk is None and note_form.has_changed():
                    note_form.instance.author = request.user
        super().save_formset(request, form, formset, change)


@admin.register(Contact)
class ContactAdmin(NoteAuthorMixin, admin.ModelAdmin):
    list_display = ["full_name", "email", "mobile_phone", "account", "city", "country"]
    list_filter = [("account", admin.RelatedOnlyFieldListFilter), "country", "preferred_language"]
    list_select_related = ["account"]
    search_fields = ["first_name", "last_name", "email", "mobile_phone", "business_phone", "auth_subject"]
    autocomplete_fields = ["account"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [ContactNoteInline]
    fieldsets = [
        (None, {"fields": [("first_name", "last_name"), "email", "job_title", "account", "preferred_language"]}),
        (_("Phones and place"), {"fields": ["mobile_phone", "business_phone", "city", "country"]}),
        (_("Identity"), {"fields": ["auth_subject", "created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    @admin.display(description=_("name"), ordering="last_name")
    def full_name(self, contact: Contact) -> str:
        return contact.full_name

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # Phones are stored in international form (SMS-2): "(415) 555-0123" finds +14155550123.
        try:
            phone = normalise_phone(search_term)
        except ValidationError:
            phone = ""
        if phone:
            results |= queryset.filter(Q(mobile_phone=phone) | Q(business_phone=phone))
        return results, may_have_duplicates


class ContactInline(admin.TabularInline):
    model = Contact
    fields = ["first_name", "last_name", "email", "mobile_phone", "job_title"]
    extra = 0
    show_change_link = True


@admin.register(Account)
class AccountAdmin(NoteAuthorMixin, admin.ModelAdmin):
    list_display = ["name", "email", "main_phone", "city", "country", "primary_contact", "contact_count"]
    list_filter = ["country"]
    list_select_related = ["primary_contact"]
    search_fields = ["name", "email", "main_phone", "other_phone", "website"]
    autocomplete_fields = ["primary_contact"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [ContactInline, AccountNoteInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(contact_count=Count("contacts", distinct=True))

    @admin.display(description=_("contacts"), ordering="contact_count")
    def contact_count(self, account: Account) -> int:
        return account.contact_count


@admin.register(Case)
class CaseAdmin(NoteAuthorMixin, admin.ModelAdmin):
    list_display = ["number", "title", "status", "priority", "origin", "contact", "account", "owner", "created_at"]
    list_filter = ["status", "priority", "origin"]
    list_select_related = ["contact", "account", "owner"]
    search_fields = ["title", "description", "contact__last_name", "contact__email", "account__name"]
    autocomplete_fields = ["contact", "account", "owner"]
    readonly_fields = ["resolved_at", "created_at", "updated_at"]
    date_hierarchy = "created_at"
    inlines = [CaseNoteInline]

    def save_model(self, request, obj, form, change):
        # Through the case services: resolving stamps resolved_at, and creating a case is where
        # it enters routing (REC-1). The form has validated the same rules already.
        if change:
            changes = {name: form.cleaned_data[name] for name in form.changed_data if name in CASE_FIELDS}
            case = case_update(case_id=obj.pk, changes=changes)
        else:
            case = case_create(**{name: form.cleaned_data[name] for name in CASE_FIELDS if name in form.cleaned_data})
        obj.pk = case.pk
        obj._state.adding = False
        obj.refresh_from_db()

    @admin.display(description=_("number"), ordering="pk")
    def number(self, case: Case) -> str:
        return case.number


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = ["__str__", "contact", "account", "case", "author", "created_at"]
    list_filter = [
        ("contact", admin.EmptyFieldListFilter),
        ("account", admin.EmptyFieldListFilter),
        ("case", admin.EmptyFieldListFilter),
    ]
    list_select_related = ["contact", "account", "case", "author"]
    search_fields = ["text", "contact__last_name", "account__name", "case__title"]
    autocomplete_fields = ["contact", "account", "case"]
    readonly_fields = ["author", "conversation_id", "created_at"]
    date_hierarchy = "created_at"

    def save_model(self, request, obj, form, change):
        if not change:
            obj.author = request.user
        super().save_model(request, obj, form, change)
