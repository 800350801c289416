"""Query filters of the customer-record endpoints (API-1)."""

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ValidationError

from core.api import IdFilter
from customers.models import Case, Contact
from customers.selectors import contacts_with_email, contacts_with_mobile_phone


class ContactFilter(django_filters.FilterSet):
    email = django_filters.CharFilter(method="filter_email", help_text="Exact email, ignoring case.")
    mobile_phone = django_filters.CharFilter(
        method="filter_mobile_phone", help_text="A phone number in any common notation; matched in E.164."
    )
    account = IdFilter(field_name="account_id", help_text="Account id.")

    class Meta:
        model = Contact
        fields = ["email", "mobile_phone", "account"]

    def filter_email(self, queryset, name, value):
        return contacts_with_email(queryset, value)

    def filter_mobile_phone(self, queryset, name, value):
        try:
            return contacts_with_mobile_phone(queryset, value)
        except DjangoValidationError as exc:
            raise ValidationError({"mobile_phone": exc.messages}) from None


class AccountFilter(django_filters.FilterSet):
    email = django_filters.CharFilter(field_name="email", lookup_expr="iexact", help_text="Exact email, ignoring case.")
    primary_contact = IdFilter(field_name="primary_contact_id", help_text="Contact id.")


class CaseFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Case.Status.choices)
    priority = django_filters.ChoiceFilter(choices=Case.Priority.choices)
    contact = IdFilter(field_name="contact_id", help_text="Contact id.")
    account = IdFilter(field_name="account_id", help_text="Account id.")


class NoteFilter(django_filters.FilterSet):
    contact = IdFilter(field_name="contact_id", help_text="Contact id.")
    account = IdFilter(field_name="account_id", help_text="Account id.")
    case = IdFilter(field_name="case_id", help_text="Case id.")
