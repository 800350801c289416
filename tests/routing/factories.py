import importlib

import factory
from django.contrib.auth import get_user_model

from agents.models import AgentConnection, AgentProfile, AgentSkill, Presence, Skill
from routing.models import OperatingHours, OperatingWindow, Queue, QueueMembership, WorkItem, Workstream

PASSWORD = "correct-horse-battery"


BASE_PRESENCES = importlib.import_module("routing.migrations.0002_base_presences").BASE_PRESENCES


def presence(base: str) -> Presence:
    """One of the six base presences shipped by the migration (made again after a flush)."""
    name, base, color, selectable, order = next(row for row in BASE_PRESENCES if row[1] == base)
    found, _ = Presence.objects.get_or_create(
        name=name,
        defaults={"base": base, "color": color, "agent_selectable": selectable, "order": order, "is_system": True},
    )
    return found


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class SkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Skill
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Skill {n}")


class OperatingHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OperatingHours

    name = factory.Sequence(lambda n: f"Hours {n}")
    time_zone = "Europe/Paris"


class OperatingWindowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OperatingWindow

    schedule = factory.SubFactory(OperatingHoursFactory)
    weekday = 0
    opens_at = "09:00"
    closes_at = "17:00"


class QueueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Queue

    name = factory.Sequence(lambda n: f"Queue {n}")


class WorkstreamFactory(factory.django.DjangoModelFactory):
    """A chat workstream with its chat settings (``chat_settings__customer_grace_seconds=5``)."""

    class Meta:
        model = Workstream
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Workstream {n}")
    channel = "chat"
    chat_mode = "live"
    default_queue = factory.SubFactory(QueueFactory)
    chat_settings = factory.RelatedFactory(
        "tests.conversations.factories.ChatSettingsFactory", factory_related_name="workstream"
    )

    class Params:
        persistent = factory.Trait(chat_mode="persistent", keep_same_agent=True)


class AgentProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentProfile
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    display_name = factory.LazyAttribute(lambda a: a.user.username.title())
    presence = factory.LazyFunction(lambda: presence("available"))
    capacity = 100

    class Params:
        # Only reachable agents are offered work (ROU-8, proven in test_presence.py): a test
        # about what happens among reachable agents asks for one with a workspace page open,
        # on the channel ``workspace_page(agent)`` names.
        reachable = factory.Trait(
            workspace_open=factory.RelatedFactory("tests.routing.factories.AgentConnectionFactory", "agent")
        )

    @factory.post_generation
    def queues(obj, create, extracted, **kwargs):
        for queue in extracted or ():
            QueueMembership.objects.create(queue=queue, agent=obj)


class SupervisorFactory(AgentProfileFactory):
    role = AgentProfile.Role.SUPERVISOR


def workspace_page(agent: AgentProfile) -> str:
    """The channel name of the workspace page a ``reachable`` agent has open."""
    return f"page.{agent.pk}"


class AgentConnectionFactory(factory.django.DjangoModelFactory):
    """An open workspace page, as the workspace socket records it on connect."""

    class Meta:
        model = AgentConnection

    agent = factory.SubFactory(AgentProfileFactory)
    channel_name = factory.LazyAttribute(lambda c: workspace_page(c.agent))


class AgentSkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentSkill

    agent = factory.SubFactory(AgentProfileFactory)
    skill = factory.SubFactory(SkillFactory)
    proficiency = 5


class WorkItemFactory(factory.django.DjangoModelFactory):
    """A queued work item for a new conversation on the conversation's workstream, owned by the
    conversation (``Conversation.work_item``) with the scenario and facts its owner gives it.
    ``case=`` makes it a case's work item instead."""

    class Meta:
        model = WorkItem

    class Params:
        case = None

    conversation = factory.Maybe("case", None, factory.SubFactory("tests.conversations.factories.ConversationFactory"))
    workstream = factory.LazyAttribute(
        lambda w: w.conversation.workstream if w.conversation is not None else WorkstreamFactory()
    )
    queue = factory.LazyAttribute(
        lambda w: w.conversation.queue if w.conversation is not None else w.workstream.default_queue
    )

    @factory.lazy_attribute
    def kind(self):
        return WorkItem.Kind.CASE if self.case is not None else WorkItem.Kind.CONVERSATION

    @factory.lazy_attribute
    def scenario(self):
        from conversations.services import conversation_scenario

        if self.case is not None:
            return "case_assignment"
        return conversation_scenario(self.conversation)

    @factory.lazy_attribute
    def facts(self):
        from conversations.services import conversation_work_facts
        from customers.services import case_work_facts

        return case_work_facts(self.case) if self.case is not None else conversation_work_facts(self.conversation)

    @factory.lazy_attribute
    def owner(self):
        return self.case if self.case is not None else self.conversation

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        kwargs.pop("conversation", None)
        owner = kwargs.pop("owner")
        work_item = super()._create(model_class, *args, **kwargs)
        owner.work_item = work_item
        owner.save(update_fields=["work_item"])
        return work_item
