import factory

from tests.routing.factories import WorkstreamFactory
from widgets.models import (
    AllowedDomain,
    AuthenticationSetting,
    ChatWidget,
    Invitation,
    PageVisit,
    PreChatQuestion,
    ProactiveRule,
    Visitor,
)


class AuthenticationSettingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuthenticationSetting

    name = factory.Sequence(lambda n: f"Auth {n}")
    key_set_url = "https://login.example.com/.well-known/jwks.json"
    algorithms = ["RS256"]
    issuer = "https://login.example.com"


class ChatWidgetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChatWidget
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Widget {n}")
    workstream = factory.SubFactory(WorkstreamFactory)

    @factory.post_generation
    def origins(obj, create, extracted, **kwargs):
        for origin in extracted or ("https://shop.example.com",):
            AllowedDomain.objects.create(widget=obj, origin=origin)


class PreChatQuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PreChatQuestion

    widget = factory.SubFactory(ChatWidgetFactory)
    order = factory.Sequence(int)
    name = factory.Sequence(lambda n: f"question_{n}")
    label = "What is your order number?"


class ProactiveRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProactiveRule

    widget = factory.SubFactory(ChatWidgetFactory, proactive_enabled=True)
    name = factory.Sequence(lambda n: f"Rule {n}")
    trigger_message = "Need a hand? Chat with us."


class VisitorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Visitor

    widget = factory.SubFactory(ChatWidgetFactory)
    language = "en"


class PageVisitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PageVisit

    visitor = factory.SubFactory(VisitorFactory)
    url = "https://shop.example.com/checkout"
    title = "Checkout"


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    visitor = factory.SubFactory(VisitorFactory)
    widget = factory.LazyAttribute(lambda i: i.visitor.widget)
    message = "Need a hand? Chat with us."
    page_url = "https://shop.example.com/checkout"
