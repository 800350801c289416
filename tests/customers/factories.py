import factory

from customers.models import Account, Case, Contact, Note


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Account {n}")
    city = "Lyon"
    country = "France"
    main_phone = "+33472000000"


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"contact{n}@example.com")
    mobile_phone = factory.Sequence(lambda n: f"+1415555{n % 10000:04d}")
    city = "San Francisco"
    country = "United States"


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case

    title = factory.Sequence(lambda n: f"Case {n}")
    contact = factory.SubFactory(ContactFactory)


class NoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Note

    text = "Called back about the delivery."
    contact = factory.SubFactory(ContactFactory)
