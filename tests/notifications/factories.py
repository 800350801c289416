import factory

from notifications.models import NotificationTemplate, NotificationTemplateField


class NotificationTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NotificationTemplate

    name = factory.Sequence(lambda n: f"Template {n}")
    scenario = "incoming_chat"
    kind = "alert"
    title = "Chat from {customerName}"


class NotificationTemplateFieldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NotificationTemplateField

    template = factory.SubFactory(NotificationTemplateFactory)
    header = "Queue"
    value = "{queueName}"
