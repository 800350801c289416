"""People in one place: create an agent in one form, import agents from CSV, deactivate without
losing history (issue 14). # spec: ADM-1, ROU-4"""

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from agents.models import AgentProfile, AgentSkill
from routing.models import QueueMembership
from routing.people import PeopleError, agents_import_csv
from tests.conversations.factories import ConversationFactory
from tests.routing.factories import AgentProfileFactory, QueueFactory, SkillFactory, presence

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def setup():
    presence("offline")
    return {
        "billing": QueueFactory(name="Billing"),
        "orders": QueueFactory(name="Orders"),
        "french": SkillFactory(name="French"),
        "vip": SkillFactory(name="VIP"),
    }


def test_an_agent_is_created_in_one_form(admin_client, setup):
    url = reverse("admin:people_agent_create")
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(
        url,
        {
            "username": "ana",
            "email": "ana@example.com",
            "display_name": "Ana",
            "password": "a-long-enough-passphrase-42",
            "capacity": "60",
            "queues": [str(setup["billing"].pk), str(setup["orders"].pk)],
            "supervisor": "on",
            "skills-TOTAL_FORMS": "3",
            "skills-INITIAL_FORMS": "0",
            "skills-0-skill": str(setup["french"].pk),
            "skills-0-proficiency": "8",
            "skills-1-skill": "",
            "skills-1-proficiency": "5",
            "skills-2-skill": "",
            "skills-2-proficiency": "",
        },
    )
    assert response.status_code == 302, response.context and response.context["form"].errors
    agent = AgentProfile.objects.select_related("user", "presence").get(user__username="ana")
    assert (agent.display_name, agent.capacity, agent.role, agent.presence.base) == ("Ana", 60, "supervisor", "offline")
    assert agent.user.check_password("a-long-enough-passphrase-42")
    assert not agent.user.is_staff  # a workspace user, not an admin
    assert sorted(agent.queues.values_list("name", flat=True)) == ["Billing", "Orders"]
    assert list(agent.agent_skills.values_list("skill__name", "proficiency")) == [("French", 8)]


@pytest.mark.parametrize(
    "changes, field, error",
    [
        ({"username": "Taken"}, "username", "This username is taken."),
        ({"capacity": "0"}, "capacity", "Ensure this value is greater than or equal to 1."),
        ({"password": "123"}, "password", "This password is too short. It must contain at least 8 characters."),
    ],
)
def test_a_bad_agent_form_creates_nothing(admin_client, setup, changes, field, error, settings):
    settings.AUTH_PASSWORD_VALIDATORS = [{"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"}]
    User.objects.create(username="taken")
    users = User.objects.count()
    data = {
        "username": "ana",
        "display_name": "Ana",
        "capacity": "100",
        "skills-TOTAL_FORMS": "1",
        "skills-INITIAL_FORMS": "0",
        "skills-0-skill": str(setup["french"].pk),
        "skills-0-proficiency": "5",
        **changes,
    }
    response = admin_client.post(reverse("admin:people_agent_create"), data)
    assert response.status_code == 200
    assert error in response.context["form"].errors[field]
    assert User.objects.count() == users
    assert not AgentProfile.objects.exists()


def test_a_proficiency_out_of_range_creates_nothing(admin_client, setup):
    data = {
        "username": "ana",
        "display_name": "Ana",
        "capacity": "100",
        "skills-TOTAL_FORMS": "2",
        "skills-INITIAL_FORMS": "0",
        "skills-0-skill": str(setup["french"].pk),
        "skills-0-proficiency": "11",
        "skills-1-skill": str(setup["french"].pk),
        "skills-1-proficiency": "3",
    }
    response = admin_client.post(reverse("admin:people_agent_create"), data)
    assert response.status_code == 200
    errors = [form.errors for form in response.context["skills"].forms]
    assert errors[0]["proficiency"] == ["Ensure this value is less than or equal to 10."]
    assert not AgentProfile.objects.exists()
    assert not User.objects.filter(username="ana").exists()


# --- Import from CSV ----------------------------------------------------------------------------

GOOD_AND_BAD = (
    "username,email,display_name,capacity,queues,skills,supervisor\n"
    "ana,ana@example.com,Ana,100,Billing;Orders,French:8;VIP,no\n"  # line 2: good
    "bob,not-an-email,Bob,100,Billing,,no\n"  # line 3: bad email
    "cleo,,Cléo,50,Refunds,,no\n"  # line 4: no such queue
    "dan,,Dan,100,Orders,French:11,no\n"  # line 5: proficiency out of range
    "\n"
    "eve,,Eve,abc,Orders,,no\n"  # line 7: capacity
    "ANA,,Ana again,100,,,no\n"  # line 8: username taken (case-insensitively)
    "finn,,Finn,,Orders,french,yes\n"  # line 9: good (capacity 100, proficiency 5)
    "gus,,Gus,100,,,maybe\n"  # line 10: supervisor
)


def test_the_import_creates_good_rows_and_reports_bad_ones_with_line_and_reason(setup):
    report = agents_import_csv(data=GOOD_AND_BAD.encode())
    assert [(line, agent.user.username) for line, agent in report.created] == [(2, "ana"), (9, "finn")]
    assert report.refused == [
        (3, "“not-an-email” is not an email address."),
        (4, "There is no queue named “Refunds”."),
        (5, "The proficiency of French, “11”, is not from 1 to 10."),
        (7, "Capacity “abc” is not a whole number from 1 to 10000."),
        (8, "The username “ANA” is taken."),
        (10, "Supervisor is yes or no, not “maybe”."),
    ]
    # Nothing half-created: the refused lines left no account, profile, membership or skill.
    assert sorted(User.objects.values_list("username", flat=True)) == ["ana", "finn"]
    assert AgentProfile.objects.count() == 2
    assert QueueMembership.objects.count() == 3
    assert sorted(AgentSkill.objects.values_list("agent__user__username", "skill__name", "proficiency")) == [
        ("ana", "French", 8),
        ("ana", "VIP", 5),
        ("finn", "French", 5),
    ]
    finn = AgentProfile.objects.get(user__username="finn")
    assert (finn.capacity, finn.role) == (100, "supervisor")
    assert not finn.user.has_usable_password()


@pytest.mark.parametrize(
    "data, message",
    [
        (b"name,email\nana,a@example.com\n", "The first line must name the columns, at least “username”"),
        (b"username,colour\nana,red\n", "Unknown columns: colour."),
        ("username\nanä\n".encode("latin-1"), "The file is not UTF-8 text"),
    ],
)
def test_a_file_that_cannot_be_read_creates_nothing(setup, data, message):
    with pytest.raises(PeopleError, match=message):
        agents_import_csv(data=data)
    assert not AgentProfile.objects.exists()


def test_the_import_page_shows_the_report(admin_client, setup, django_assert_max_num_queries):
    upload = SimpleUploadedFile("agents.csv", GOOD_AND_BAD.encode(), content_type="text/csv")
    response = admin_client.post(reverse("admin:people_agent_import"), {"file": upload})
    assert response.status_code == 200
    body = response.content.decode()
    assert "2 agents created." in body
    assert "6 lines refused; nothing of them was created." in body
    assert "Line 4: There is no queue named “Refunds”." in body
    with django_assert_max_num_queries(12):
        assert admin_client.get(reverse("admin:people")).status_code == 200


# --- Deactivate ---------------------------------------------------------------------------------


def test_deactivating_keeps_the_agents_history(admin_client, setup):
    agent = AgentProfileFactory(queues=[setup["billing"]], presence=presence("available"))
    conversation = ConversationFactory(agent=agent, status="closed")
    response = admin_client.post(reverse("admin:people_agent_deactivate", args=[agent.pk]))
    assert response.status_code == 302
    agent.refresh_from_db()
    agent.user.refresh_from_db()
    assert not agent.user.is_active
    assert agent.presence.base == "offline"
    assert list(agent.queues.all()) == [setup["billing"]]  # kept for a reactivation
    conversation.refresh_from_db()
    assert conversation.agent_id == agent.pk
    page = admin_client.get(reverse("admin:people")).content.decode()
    assert "Deactivated" in page
    # Twice is the same as once.
    assert admin_client.post(reverse("admin:people_agent_deactivate", args=[agent.pk])).status_code == 302
    admin_client.post(reverse("admin:people_agent_reactivate", args=[agent.pk]))
    agent.user.refresh_from_db()
    assert agent.user.is_active


def test_deactivating_is_a_post(admin_client, setup):
    agent = AgentProfileFactory()
    assert admin_client.get(reverse("admin:people_agent_deactivate", args=[agent.pk])).status_code == 405
    agent.user.refresh_from_db()
    assert agent.user.is_active


def test_the_people_pages_are_in_the_people_section(admin_client):
    response = admin_client.get(reverse("admin:index"))
    people = next(app for app in response.context["app_list"] if app["app_label"] == "people")
    assert people["models"][0]["admin_url"] == reverse("admin:people")
