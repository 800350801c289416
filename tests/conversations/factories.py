from datetime import timedelta

import factory
from django.test import TestCase
from django.utils import timezone

from conversations.models import CannedResponse, ChatSettings, Conversation, Message, Tag, WrapUpCode, WrapUpSettings
from conversations.services import conversation_agent_end, conversation_start, conversation_wrap_up_close
from notifications.services import notification_raise_for_offer
from routing.models import Offer
from routing.services import offer_accept
from tests.routing.factories import WorkItemFactory, WorkstreamFactory
from tests.widgets.factories import VisitorFactory


class ChatSettingsFactory(factory.django.DjangoModelFactory):
    """A workstream's chat settings; made by ``WorkstreamFactory``, which passes ``chat_settings__…`` here."""

    class Meta:
        model = ChatSettings
        django_get_or_create = ["workstream"]


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    channel = Conversation.Channel.LIVE_CHAT
    workstream = factory.SubFactory(WorkstreamFactory)
    queue = factory.LazyAttribute(lambda c: c.workstream.default_queue)
    language = "en"


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    conversation = factory.SubFactory(ConversationFactory)
    seq = factory.Sequence(lambda n: n + 1)
    sender = Message.Sender.CUSTOMER
    text = "Hello, I need help with my order."


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Tag {n}")
    colour = "#2563eb"


def chat_start(widget, **fields) -> Conversation:
    """A new visitor of ``widget`` starts a chat through the service (``conversation_start`` fields)."""
    return conversation_start(widget=widget, visitor=VisitorFactory(widget=widget), **fields)


def pending_offer(conversation) -> Offer | None:
    """The offer of ``conversation`` waiting for an answer, if routing made one."""
    return Offer.objects.filter(work_item__conversation=conversation, status="pending").first()


def chat_accepted_by(agent, widget, **start_fields) -> Conversation:
    """A chat a visitor started on ``widget``, that routing offered to ``agent``, who accepted:
    through the real services, each with its on-commit work run as after a committed request.

    ``agent`` must be the one routing picks (reachable, in the queue, with room): the offer is
    looked up as made to them, so a test whose routing went elsewhere fails here."""
    # The same capture pytest-django's django_capture_on_commit_callbacks fixture hands out.
    with TestCase.captureOnCommitCallbacks(execute=True):
        conversation = conversation_start(widget=widget, visitor=VisitorFactory(widget=widget), **start_fields)
    offer = Offer.objects.get(work_item__conversation=conversation, agent=agent, status=Offer.Status.PENDING)
    with TestCase.captureOnCommitCallbacks(execute=True):
        offer_accept(offer_id=offer.pk, agent=agent)
    return Conversation.objects.get(pk=conversation.pk)


def offer_to(agent, conversation=None, *, workstream=None, seconds=120) -> Offer:
    """A pending offer of a new chat to ``agent``, with its notification, as routing makes them,
    for tests that need a chat of given fields (a contact, answers, a channel) in an agent's hands
    without going through a widget and the queue."""
    conversation = conversation or ConversationFactory(workstream=workstream or WorkstreamFactory())
    work_item = WorkItemFactory(conversation=conversation, status="offered")
    offer = Offer.objects.create(
        work_item=work_item, agent=agent, expires_at=timezone.now() + timedelta(seconds=seconds)
    )
    notification_raise_for_offer(offer=offer, scenario="incoming_chat")
    return offer


def chat_given_to(agent, **conversation_fields) -> Conversation:
    """A chat (``ConversationFactory`` fields) offered to ``agent`` as routing offers, accepted
    through ``offer_accept``: active, held by them, with an open session."""
    offer = offer_to(agent, ConversationFactory(**conversation_fields))
    offer_accept(offer_id=offer.pk, agent=agent)
    return Conversation.objects.get(pk=offer.work_item.conversation.pk)


def closed_chat_of(agent, **conversation_fields) -> Conversation:
    """A chat ``agent`` held, ended and closed after wrap-up."""
    conversation = chat_given_to(agent, **conversation_fields)
    conversation_agent_end(conversation_id=conversation.pk, agent=agent)
    return conversation_wrap_up_close(conversation_id=conversation.pk, agent=agent)


class CannedResponseFactory(factory.django.DjangoModelFactory):
    """A canned response every agent sees; ``personal`` (with ``owner=``) or ``for_queues``
    (then ``queues=[…]``) narrow it (issue 15)."""

    class Meta:
        model = CannedResponse
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Reply {n}")
    shortcut = factory.Sequence(lambda n: f"reply{n}")
    text = "Hello {customer_name}, thank you for waiting."
    visibility = CannedResponse.Visibility.ALL

    class Params:
        personal = factory.Trait(visibility=CannedResponse.Visibility.PERSONAL)
        for_queues = factory.Trait(visibility=CannedResponse.Visibility.QUEUES)

    @factory.post_generation
    def queues(self, create, extracted, **kwargs):
        if create and extracted:
            self.queues.set(extracted)


def wrap_up_settings(workstream, *, required: bool) -> WrapUpSettings:
    """The workstream's wrap-up settings, made once; ``required`` turns the requirement on."""
    settings, _ = WrapUpSettings.objects.get_or_create(workstream=workstream)
    if required and not settings.code_required:
        settings.code_required = True
        settings.save(update_fields=["code_required"])
    return settings


class WrapUpCodeFactory(factory.django.DjangoModelFactory):
    """A wrap-up code of ``workstream=`` (its settings made once); ``required`` makes closing need one."""

    class Meta:
        model = WrapUpCode
        exclude = ["workstream", "required"]

    workstream = factory.SubFactory(WorkstreamFactory)
    required = False
    settings = factory.LazyAttribute(lambda o: wrap_up_settings(o.workstream, required=o.required))
    name = factory.Sequence(lambda n: f"Outcome {n}")
