import factory

from conversations.models import Conversation, Message
from tests.routing.factories import WorkstreamFactory


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
