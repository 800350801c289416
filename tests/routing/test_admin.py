"""Admin center for routing: workstreams, queues, hours, skills, presences, agents (ADM-1, ROU-1..5)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from agents.models import AgentProfile, Presence, Skill
from conversations.models import ChatSettings
from notifications.models import AgentBanner, NotificationTemplate
from routing.models import (
    Offer,
    OperatingHours,
    Queue,
    QueueMembership,
    RoutingRule,
    WorkItem,
    Workstream,
    WorkstreamTemplate,
)
from tests.admin_helpers import add_inline_rows, admin_form_data, field_errors, inline_errors, inline_prefix
from tests.conversations.factories import ConversationFactory
from tests.routing.factories import (
    AgentProfileFactory,
    AgentSkillFactory,
    OperatingHoursFactory,
    OperatingWindowFactory,
    QueueFactory,
    SkillFactory,
    UserFactory,
    WorkItemFactory,
    WorkstreamFactory,
    presence,
)
from tests.widgets.factories import ChatWidgetFactory

pytestmark = pytest.mark.django_db


# --- Every page answers ---------------------------------------------------------------------


def _several_rows():
    hours = OperatingHoursFactory.create_batch(3)
    for schedule in hours:
        OperatingWindowFactory(schedule=schedule)
    queues = [QueueFactory(operating_hours=hours[0]) for _ in range(4)]
    skills = SkillFactory.create_batch(4)
    agents = [AgentProfileFactory(queues=queues[:2]) for _ in range(5)]
    for agent in agents:
        AgentSkillFactory(agent=agent, skill=skills[0])
    workstreams = [WorkstreamFactory(default_queue=queue) for queue in queues]
    for agent in agents:
        item = WorkItemFactory(conversation=ConversationFactory(workstream=workstreams[0]))
        Offer.objects.create(work_item=item, agent=agent, expires_at=timezone.now() + timedelta(minutes=2))
    return agents


@pytest.mark.parametrize(
    "model, queries",
    [
        ("routing_workstream", 7),  # + the rules, for the "unverified" column
        ("routing_queue", 8),
        ("routing_operatinghours", 7),
        ("agents_skill", 6),
        ("agents_presence", 6),
        ("agents_agentprofile", 9),
        ("routing_workitem", 10),
        ("routing_offer", 8),
    ],
)
def test_every_changelist_answers_with_a_fixed_number_of_queries(
    admin_client, django_assert_max_num_queries, model, queries
):
    # spec: ADM-1
    _several_rows()  # four or five rows of each: one query a row would break the bound
    url = reverse(f"admin:{model}_changelist")
    with django_assert_max_num_queries(queries):
        response = admin_client.get(url)
    assert response.status_code == 200
    assert admin_client.get(url, {"q": "a"}).status_code == 200


@pytest.mark.parametrize(
    "model",
    [
        "routing_workstream",
        "routing_queue",
        "routing_operatinghours",
        "agents_skill",
        "agents_presence",
        "agents_agentprofile",
    ],
)
def test_every_add_page_answers(admin_client, model):
    # spec: ADM-1
    assert admin_client.get(reverse(f"admin:{model}_add")).status_code == 200


def test_change_pages_answer(admin_client):
    # spec: ADM-1
    agent = _several_rows()[0]
    workstream = Workstream.objects.first()
    RoutingRule.objects.create(workstream=workstream, name="Billing", queue=workstream.default_queue)
    pages = [
        reverse("admin:index"),
        reverse("admin:agents_agentprofile_change", args=[agent.pk]),
        reverse("admin:routing_workstream_change", args=[workstream.pk]),
        reverse("admin:routing_queue_change", args=[Queue.objects.first().pk]),
        reverse("admin:routing_operatinghours_change", args=[OperatingHours.objects.first().pk]),
        reverse("admin:routing_workitem_change", args=[WorkItem.objects.first().pk]),
    ]
    for url in pages:
        assert admin_client.get(url).status_code == 200, url


def test_a_non_staff_agent_is_sent_to_the_admin_login(client):
    # spec: ADM-1
    agent = AgentProfileFactory()
    client.force_login(agent.user)
    for url in (reverse("admin:index"), reverse("admin:agents_agentprofile_changelist")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('admin:login')}?next={url}"


# --- Workstreams and routing rules (ROU-1, ROU-2) -------------------------------------------


def _workstream_add_data(admin_client, **changes) -> dict:
    response = admin_client.get(reverse("admin:routing_workstream_add"))
    data = admin_form_data(response)
    data.update({"name": "Support chat", "default_queue": str(QueueFactory().pk), **changes})
    return data


def test_a_workstream_is_created_with_ordered_rules_and_a_template_per_scenario(admin_client):
    # spec: ROU-1, ROU-2
    billing = QueueFactory(name="Billing")
    skill = SkillFactory(name="French")
    template = NotificationTemplate.objects.get(scenario="incoming_chat", is_default=True)
    response = admin_client.get(reverse("admin:routing_workstream_add"))
    data = _workstream_add_data(admin_client, allowed_presences=[str(presence("available").pk)])
    add_inline_rows(
        data,
        inline_prefix(response, RoutingRule),
        [
            {
                "order": "1",
                "name": "French billing",
                "is_active": "on",
                "conditions-0-field": "language",
                "conditions-0-operator": "equals",
                "conditions-0-value": "fr",
                "queue": str(billing.pk),
                "skills": [str(skill.pk)],
            }
        ],
    )
    add_inline_rows(
        data,
        inline_prefix(response, WorkstreamTemplate),
        [{"scenario": "incoming_chat", "template": str(template.pk)}],
    )
    response = admin_client.post(reverse("admin:routing_workstream_add"), data)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    workstream = Workstream.objects.get(name="Support chat")
    rule = workstream.routing_rules.get()
    assert (rule.name, rule.queue, list(rule.skills.all())) == ("French billing", billing, [skill])
    assert rule.conditions == [{"source": "language", "operator": "equals", "value": "fr"}]
    assert list(workstream.templates.values_list("scenario", "template")) == [("incoming_chat", template.pk)]


def test_a_persistent_workstream_must_keep_the_same_agent(admin_client):
    # spec: PER-8, ADM-1
    data = _workstream_add_data(admin_client, chat_mode="persistent")
    data.pop("keep_same_agent", None)
    response = admin_client.post(reverse("admin:routing_workstream_add"), data)
    assert response.status_code == 200
    assert field_errors(response, "keep_same_agent") == [
        "Persistent chat keeps the same agent for the whole conversation."
    ]
    assert not Workstream.objects.filter(name="Support chat").exists()


def _change_workstream_with_a_widget(admin_client, **changes):
    """Post ``changes`` to the page of a workstream the "Shop widget" uses; the workstream and the answer."""
    workstream = WorkstreamFactory(name="Support chat")
    ChatWidgetFactory(workstream=workstream, name="Shop widget")
    url = reverse("admin:routing_workstream_change", args=[workstream.pk])
    data = admin_form_data(admin_client.get(url))
    data.update(changes)
    return workstream, admin_client.post(url, data)


def test_a_workstream_cannot_turn_persistent_while_its_widgets_lack_authentication(admin_client):
    # spec: PER-2, PER-8
    workstream, response = _change_workstream_with_a_widget(admin_client, chat_mode="persistent", keep_same_agent="on")
    assert response.status_code == 200
    assert field_errors(response, "chat_mode") == [
        "Persistent chat needs signed-in customers, and these widgets have no authentication setting: Shop widget. "
        "Choose one on each widget first."
    ]
    workstream.refresh_from_db()
    assert (workstream.chat_mode, workstream.keep_same_agent) == ("live", False)


def test_a_workstream_with_widgets_stays_a_chat_workstream(admin_client):
    # spec: WID-1, ROU-1
    workstream, response = _change_workstream_with_a_widget(admin_client, channel="sms", chat_mode="")
    assert field_errors(response, "channel") == [
        "Chat widgets use this workstream: Shop widget. Move them to another chat workstream first."
    ]
    workstream.refresh_from_db()
    assert (workstream.channel, workstream.chat_mode) == ("chat", "live")


def test_a_template_for_another_scenario_is_refused_in_the_workstream(admin_client):
    # spec: ROU-1, NOT-2
    workstream = WorkstreamFactory()
    sms_template = NotificationTemplate.objects.get(scenario="incoming_sms", is_default=True)
    url = reverse("admin:routing_workstream_change", args=[workstream.pk])
    response = admin_client.get(url)
    data = add_inline_rows(
        admin_form_data(response),
        inline_prefix(response, WorkstreamTemplate),
        [{"scenario": "incoming_chat", "template": str(sms_template.pk)}],
    )
    response = admin_client.post(url, data)
    assert inline_errors(response, WorkstreamTemplate) == [{"template": ["This template is for another scenario."]}]
    assert not WorkstreamTemplate.objects.exists()


def test_agents_are_created_against_users_found_by_autocomplete(admin_client):
    # spec: ADM-1
    UserFactory(username="maria")
    UserFactory(username="jean")
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {"term": "mar", "app_label": "agents", "model_name": "agentprofile", "field_name": "user"},
    )
    assert [result["text"] for result in response.json()["results"]] == ["maria"]


def test_a_workstreams_chat_settings_are_edited_on_its_page_and_stored_with_it(admin_client):
    # spec: ROU-1, LIVE-1, LIVE-3, SUM-12
    response = admin_client.get(reverse("admin:routing_workstream_add"))
    prefix = inline_prefix(response, ChatSettings)
    assert b"Auto-close and customer messages" in response.content and b"Customer summary" in response.content
    data = _workstream_add_data(
        admin_client,
        **{
            f"{prefix}-0-customer_grace_seconds": "45",
            f"{prefix}-0-queue_position_message": "Number {position}",
            f"{prefix}-0-summary_self_service_types": ["page_visited"],
        },
    )
    response = admin_client.post(reverse("admin:routing_workstream_add"), data)
    assert response.status_code == 302, inline_errors(response, ChatSettings)
    workstream = Workstream.objects.get(name="Support chat")
    settings = ChatSettings.objects.get(workstream=workstream)
    assert (settings.customer_grace_seconds, settings.queue_position_message, settings.summary_self_service_types) == (
        45,
        "Number {position}",
        ["page_visited"],
    )
    assert settings.auto_close_wrap_up_seconds == 600  # the rest keep their defaults

    change = reverse("admin:routing_workstream_change", args=[workstream.pk])
    data = admin_form_data(admin_client.get(change))
    data[f"{prefix}-0-average_wait_message"] = "About {hours} hours"
    response = admin_client.post(change, data)
    assert inline_errors(response, ChatSettings) == [{"average_wait_message": ["Unknown placeholder: hours."]}]
    assert ChatSettings.objects.get(workstream=workstream).average_wait_message == settings.average_wait_message


def test_a_workstream_left_at_the_default_chat_settings_still_gets_its_row(admin_client):
    # spec: ROU-1
    response = admin_client.post(reverse("admin:routing_workstream_add"), _workstream_add_data(admin_client))
    assert response.status_code == 302
    assert ChatSettings.objects.get(workstream__name="Support chat").customer_grace_seconds == 120


def test_self_service_types_are_chosen_from_the_known_kinds(admin_client):
    # spec: ROU-1, REL-3
    response = admin_client.get(reverse("admin:routing_workstream_add"))
    prefix = inline_prefix(response, ChatSettings)
    data = _workstream_add_data(
        admin_client, **{f"{prefix}-0-summary_self_service_types": ["page_visited", "teleported"]}
    )
    response = admin_client.post(reverse("admin:routing_workstream_add"), data)
    assert inline_errors(response, ChatSettings) == [
        {"summary_self_service_types": ["Select a valid choice. teleported is not one of the available choices."]}
    ]
    assert not Workstream.objects.filter(name="Support chat").exists()


# --- Queues and operating hours (ROU-3) -----------------------------------------------------


def test_a_queue_gets_member_agents_inline(admin_client):
    # spec: ROU-3
    agents = AgentProfileFactory.create_batch(2)
    response = admin_client.get(reverse("admin:routing_queue_add"))
    data = admin_form_data(response)
    data.update({"name": "Returns", "priority": "2", "assignment_method": "round_robin"})
    add_inline_rows(data, inline_prefix(response, QueueMembership), [{"agent": str(a.pk)} for a in agents])
    assert admin_client.post(reverse("admin:routing_queue_add"), data).status_code == 302
    queue = Queue.objects.get(name="Returns")
    assert set(queue.members.all()) == set(agents)


def test_operating_hours_take_windows_and_holidays_and_refuse_a_backwards_window(admin_client):
    # spec: ROU-3, ADM-1
    from routing.models import Holiday, OperatingWindow

    response = admin_client.get(reverse("admin:routing_operatinghours_add"))
    data = admin_form_data(response)
    data.update({"name": "Paris office", "time_zone": "Europe/Paris"})
    add_inline_rows(
        data,
        inline_prefix(response, OperatingWindow),
        [{"weekday": "0", "opens_at": "17:00", "closes_at": "09:00"}],
    )
    add_inline_rows(data, inline_prefix(response, Holiday), [{"date": "2025-12-25", "name": "Christmas"}])
    response = admin_client.post(reverse("admin:routing_operatinghours_add"), data)
    assert response.status_code == 200
    assert inline_errors(response, OperatingWindow) == [{"closes_at": ["Closing time must be after opening time."]}]
    assert not OperatingHours.objects.exists()

    data[f"{inline_prefix(response, OperatingWindow)}-0-opens_at"] = "09:00"
    data[f"{inline_prefix(response, OperatingWindow)}-0-closes_at"] = "17:00"
    assert admin_client.post(reverse("admin:routing_operatinghours_add"), data).status_code == 302
    hours = OperatingHours.objects.get()
    assert [str(window) for window in hours.windows.all()] == ["Monday 09:00–17:00"]
    assert [holiday.name for holiday in hours.holidays.all()] == ["Christmas"]


def test_an_unknown_time_zone_is_refused(admin_client):
    # spec: ROU-3, ADM-1
    data = admin_form_data(admin_client.get(reverse("admin:routing_operatinghours_add")))
    data.update({"name": "Moon base", "time_zone": "Moon/Crater"})
    response = admin_client.post(reverse("admin:routing_operatinghours_add"), data)
    assert field_errors(response, "time_zone") == ["“Moon/Crater” is not a known time zone (e.g. Europe/Paris)."]
    assert not OperatingHours.objects.exists()


# --- Presences (ROU-5) ----------------------------------------------------------------------


def test_system_presences_cannot_be_deleted_and_keep_their_base(admin_client):
    # spec: ROU-5
    inactive = presence("inactive")
    assert admin_client.get(reverse("admin:agents_presence_delete", args=[inactive.pk])).status_code == 403
    url = reverse("admin:agents_presence_change", args=[inactive.pk])
    data = admin_form_data(admin_client.get(url))
    assert "base" not in data
    data.update({"name": "Inactive", "base": "available", "color": "#000000"})
    assert admin_client.post(url, data).status_code == 302
    inactive.refresh_from_db()
    assert (inactive.base, inactive.color, inactive.is_system) == ("inactive", "#000000", True)
    assert Presence.objects.filter(is_system=True).count() == 6


def test_the_bulk_delete_action_spares_system_presences(admin_client):
    # spec: ROU-5
    response = admin_client.post(
        reverse("admin:agents_presence_changelist"),
        {"action": "delete_selected", "_selected_action": [presence("away").pk], "post": "yes"},
    )
    assert response.status_code == 403
    assert Presence.objects.filter(is_system=True).count() == 6


def test_a_custom_presence_maps_to_a_base_and_can_be_deleted(admin_client):
    # spec: ROU-5
    data = admin_form_data(admin_client.get(reverse("admin:agents_presence_add")))
    data.update({"name": "In training", "base": "busy", "color": "#123456", "agent_selectable": "on"})
    assert admin_client.post(reverse("admin:agents_presence_add"), data).status_code == 302
    custom = Presence.objects.get(name="In training")
    assert (custom.base, custom.is_system) == ("busy", False)
    response = admin_client.post(reverse("admin:agents_presence_delete", args=[custom.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Presence.objects.filter(name="In training").exists()


def test_a_custom_inactive_presence_cannot_be_agent_selectable(admin_client):
    # spec: ROU-5, ADM-1
    data = admin_form_data(admin_client.get(reverse("admin:agents_presence_add")))
    data.update({"name": "Asleep", "base": "inactive", "color": "#123456", "agent_selectable": "on"})
    response = admin_client.post(reverse("admin:agents_presence_add"), data)
    assert field_errors(response, "agent_selectable") == ["Inactive is set by the system only."]
    assert not Presence.objects.filter(name="Asleep").exists()


# --- Agents (ROU-4, ROU-5) ------------------------------------------------------------------


def test_an_agent_is_created_for_an_existing_user_with_skills_and_queues(admin_client):
    # spec: ROU-4, ADM-1
    from agents.models import AgentSkill

    user = UserFactory(username="maria")
    french = SkillFactory(name="French")
    queue = QueueFactory(name="Billing")
    response = admin_client.get(reverse("admin:agents_agentprofile_add"))
    data = admin_form_data(response)
    assert data["presence"] == str(presence("offline").pk)
    data.update({"user": str(user.pk), "display_name": "Maria", "capacity": "60", "role": "agent"})
    add_inline_rows(data, inline_prefix(response, AgentSkill), [{"skill": str(french.pk), "proficiency": "8"}])
    add_inline_rows(data, inline_prefix(response, QueueMembership), [{"queue": str(queue.pk)}])
    response = admin_client.post(reverse("admin:agents_agentprofile_add"), data)
    assert response.status_code == 302
    agent = AgentProfile.objects.get(user=user)
    assert (agent.display_name, agent.capacity, agent.presence) == ("Maria", 60, presence("offline"))
    assert [(s.skill.name, s.proficiency) for s in agent.agent_skills.all()] == [("French", 8)]
    assert list(agent.queues.all()) == [queue]


def test_a_proficiency_outside_one_to_ten_is_refused(admin_client):
    # spec: ROU-4, ADM-1
    from agents.models import AgentSkill

    agent = AgentProfileFactory()
    url = reverse("admin:agents_agentprofile_change", args=[agent.pk])
    response = admin_client.get(url)
    data = add_inline_rows(
        admin_form_data(response),
        inline_prefix(response, AgentSkill),
        [{"skill": str(SkillFactory().pk), "proficiency": "11"}],
    )
    response = admin_client.post(url, data)
    assert inline_errors(response, AgentSkill) == [{"proficiency": ["Ensure this value is less than or equal to 10."]}]
    assert not agent.agent_skills.exists()


def test_the_agent_list_shows_presence_capacity_used_and_sessions(admin_client):
    # spec: ADM-2, ROU-6
    agent = AgentProfileFactory(display_name="Maria", capacity=50)
    AgentProfile.objects.filter(pk=agent.pk).update(capacity_used=20, session_count=2)
    response = admin_client.get(reverse("admin:agents_agentprofile_changelist"))
    row = next(line for line in response.content.decode().split("<tr") if "Maria" in line)
    assert "Available" in row and "20/50" in row and '<td class="field-session_count">2</td>' in row


def test_reset_presence_action_makes_an_inactive_agent_available_and_clears_the_banner(admin_client):
    # spec: ROU-5, NOT-10, ADM-2
    inactive = AgentProfileFactory(presence=presence("inactive"))
    banner = AgentBanner.objects.create(agent=inactive, kind="missed_notification", message="You missed a chat.")
    bystander = AgentProfileFactory(presence=presence("away"))
    response = admin_client.post(
        reverse("admin:agents_agentprofile_changelist"),
        {"action": "reset_presence_to_available", "_selected_action": [inactive.pk]},
        follow=True,
    )
    assert [str(message) for message in response.context["messages"]] == ["1 agent reset to Available."]
    inactive.refresh_from_db()
    banner.refresh_from_db()
    bystander.refresh_from_db()
    assert inactive.presence == presence("available")
    assert banner.cleared_at is not None
    assert bystander.presence == presence("away")


def test_reset_presence_action_reports_a_refusal(admin_client, monkeypatch):
    # spec: ROU-5, ADM-2
    from agents import admin as agents_admin
    from agents.errors import AgentError

    agent = AgentProfileFactory(presence=presence("inactive"))

    def refuse(**kwargs):
        raise AgentError("Only a supervisor or an admin can change another agent's presence.")

    monkeypatch.setattr(agents_admin, "agent_presence_set", refuse)
    response = admin_client.post(
        reverse("admin:agents_agentprofile_changelist"),
        {"action": "reset_presence_to_available", "_selected_action": [agent.pk]},
        follow=True,
    )
    assert [str(message) for message in response.context["messages"]] == [
        "Only a supervisor or an admin can change another agent's presence."
    ]
    agent.refresh_from_db()
    assert agent.presence == presence("inactive")


def test_changing_presence_on_the_agent_page_goes_through_the_presence_service(admin_client):
    # spec: ROU-5, NOT-10
    agent = AgentProfileFactory(presence=presence("inactive"), display_name="Maria")
    banner = AgentBanner.objects.create(agent=agent, kind="missed_notification", message="You missed a chat.")
    url = reverse("admin:agents_agentprofile_change", args=[agent.pk])
    data = admin_form_data(admin_client.get(url))
    data.update({"presence": str(presence("available").pk), "capacity": "80"})
    assert admin_client.post(url, data).status_code == 302
    agent.refresh_from_db()
    banner.refresh_from_db()
    assert (agent.presence, agent.capacity, agent.display_name) == (presence("available"), 80, "Maria")
    assert banner.cleared_at is not None


# --- Work items and offers are for inspection only ------------------------------------------


def test_work_items_cannot_be_added_or_changed(admin_client):
    # spec: ADM-1
    item = WorkItemFactory()
    assert admin_client.get(reverse("admin:routing_workitem_add")).status_code == 403
    url = reverse("admin:routing_workitem_change", args=[item.pk])
    response = admin_client.post(url, {"capacity_units": "99"})
    assert response.status_code == 403
    item.refresh_from_db()
    assert (item.status, item.capacity_units) == ("queued", 10)
    assert admin_client.get(reverse("admin:routing_workitem_delete", args=[item.pk])).status_code == 403


def test_skills_list_counts_agents(admin_client):
    # spec: ROU-4
    skill = SkillFactory(name="Spanish")
    AgentSkillFactory.create_batch(3, skill=skill)
    response = admin_client.get(reverse("admin:agents_skill_changelist"))
    row = next(line for line in response.content.decode().split("<tr") if "Spanish" in line)
    assert '<td class="field-agent_count">3</td>' in row
    assert Skill.objects.count() == 1
