"""Which rule invites whom, when and where — decided by the server alone (PRO-1, PRO-2, PRO-3, PRO-7a)."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.utils import timezone

from agents.models import AgentConnection
from core.realtime import visitor_group
from tests.routing.factories import AgentProfileFactory, OperatingHoursFactory, QueueFactory, presence
from tests.widgets.factories import ChatWidgetFactory, PageVisitFactory, ProactiveRuleFactory, VisitorFactory
from widgets.models import Invitation, PageVisit, ProactiveRuleMessage
from widgets.proactive import location_matches, time_frame_matches
from widgets.services import HEARTBEAT_MAX_SECONDS, page_visit_heartbeat

pytestmark = pytest.mark.django_db

# A Monday, 10:00 UTC (11:00 in Paris, 05:00 in New York, 19:00 in Tokyo).
MONDAY_10_UTC = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(MONDAY_10_UTC, tick=False)
    return time_machine


def visit(rule, *, url="https://shop.example.com/checkout", seconds_ago=0, **visitor):
    """A page visit of a new visitor of the rule's widget, started ``seconds_ago`` by the server's clock."""
    started = timezone.now() - timedelta(seconds=seconds_ago)
    visitor = VisitorFactory(widget=rule.widget, **visitor)
    return PageVisitFactory(visitor=visitor, url=url, started_at=started, last_seen_at=started)


def invited(page_visit) -> Invitation | None:
    return page_visit_heartbeat(page_visit_id=page_visit.pk).invitation


# --- target audience (PRO-2) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("audience", "visitor", "expected"),
    [
        ("all", {}, True),
        ("authenticated", {"auth_subject": "customer-7"}, True),
        ("authenticated", {}, False),
        ("anonymous", {}, True),
        ("anonymous", {"auth_subject": "customer-7"}, False),
        ("new", {"visit_count": 1}, True),
        ("new", {"visit_count": 2}, False),
        ("returning", {"visit_count": 3}, True),
        ("returning", {"visit_count": 1}, False),
    ],
)
def test_target_audience(clock, audience, visitor, expected):
    # spec: PRO-2 — all, authenticated, anonymous, new, returning visitors
    rule = ProactiveRuleFactory(audience=audience)
    assert (invited(visit(rule, **visitor)) is not None) is expected


@pytest.mark.parametrize(
    ("rule_language", "visitor_language", "expected"),
    [("", "pl", True), ("fr", "fr", True), ("fr", "fr-ca", True), ("fr", "en", False), ("fr", "", False)],
)
def test_audience_by_language(clock, rule_language, visitor_language, expected):
    # spec: PRO-2 — visitors in a language
    rule = ProactiveRuleFactory(audience_language=rule_language)
    assert (invited(visit(rule, language=visitor_language)) is not None) is expected


# --- time frame, in the rule's time zone (PRO-2) --------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "at", "expected"),
    [
        # dates are inclusive, on the rule's calendar
        ({"starts_on": date(2026, 3, 2)}, MONDAY_10_UTC, True),
        ({"starts_on": date(2026, 3, 3)}, MONDAY_10_UTC, False),
        ({"ends_on": date(2026, 3, 2)}, MONDAY_10_UTC, True),
        ({"ends_on": date(2026, 3, 1)}, MONDAY_10_UTC, False),
        # Tokyo is already on Tuesday 3 March at 16:00 UTC on Monday
        ({"ends_on": date(2026, 3, 2), "time_zone": "Asia/Tokyo"}, datetime(2026, 3, 2, 16, 0, tzinfo=UTC), False),
        ({"ends_on": date(2026, 3, 2), "time_zone": "UTC"}, datetime(2026, 3, 2, 16, 0, tzinfo=UTC), True),
        # days of week (0 = Monday); New York is still on Sunday at 03:00 UTC on Monday
        ({"days_of_week": [0]}, MONDAY_10_UTC, True),
        ({"days_of_week": [1, 2, 3, 4, 5, 6]}, MONDAY_10_UTC, False),
        ({"days_of_week": [6], "time_zone": "America/New_York"}, datetime(2026, 3, 2, 3, 0, tzinfo=UTC), True),
        ({"days_of_week": [0], "time_zone": "America/New_York"}, datetime(2026, 3, 2, 3, 0, tzinfo=UTC), False),
        # hours are [start, end) on the rule's wall clock: 10:00 UTC is 11:00 in Paris
        ({"start_time": time(11), "end_time": time(12), "time_zone": "Europe/Paris"}, MONDAY_10_UTC, True),
        ({"start_time": time(10), "end_time": time(11), "time_zone": "Europe/Paris"}, MONDAY_10_UTC, False),
        ({"start_time": time(9), "end_time": time(10), "time_zone": "UTC"}, MONDAY_10_UTC, False),
        ({"start_time": time(10), "end_time": time(11), "time_zone": "UTC"}, MONDAY_10_UTC, True),
        (
            {"start_time": time(9), "end_time": time(10), "time_zone": "UTC"},
            MONDAY_10_UTC - timedelta(microseconds=1),
            True,
        ),
        # a window across midnight
        ({"start_time": time(22), "end_time": time(6), "time_zone": "UTC"}, MONDAY_10_UTC.replace(hour=23), True),
        ({"start_time": time(22), "end_time": time(6), "time_zone": "UTC"}, MONDAY_10_UTC.replace(hour=5), True),
        ({"start_time": time(22), "end_time": time(6), "time_zone": "UTC"}, MONDAY_10_UTC.replace(hour=6), False),
        # summer time: 10:00 UTC is 12:00 in Paris on 1 July
        (
            {"start_time": time(12), "end_time": time(13), "time_zone": "Europe/Paris"},
            datetime(2026, 7, 1, 10, 0, tzinfo=UTC),
            True,
        ),
    ],
)
def test_time_frame_edges_and_time_zones(time_machine, frame, at, expected):
    # spec: PRO-2 — start and end dates, days of week and hours, in a time zone
    time_machine.move_to(at, tick=False)
    rule = ProactiveRuleFactory(**frame)
    assert time_frame_matches(rule, timezone.now()) is expected
    assert (invited(visit(rule)) is not None) is expected


# --- target location (PRO-2) ----------------------------------------------------------------------

URL = "https://shop.example.com/checkout/payment?step=2"


@pytest.mark.parametrize(
    ("kind", "pattern", "expected"),
    [
        ("any", "", True),
        ("contains", "/checkout/", True),
        ("contains", "/basket/", False),
        ("contains", "/CHECKOUT/", False),
        ("starts_with", "https://shop.example.com/checkout", True),
        ("starts_with", "/checkout", False),
        ("exact", URL, True),
        ("exact", "https://shop.example.com/checkout/payment", False),
        ("regex", r"/checkout/(payment|shipping)\?step=\d$", True),
        ("regex", r"^https://shop\.example\.com/basket", False),
    ],
)
def test_target_location(clock, kind, pattern, expected):
    # spec: PRO-2 — contains, starts with, exact or regular expression
    rule = ProactiveRuleFactory(location_match=kind, location_pattern=pattern)
    assert location_matches(rule, URL) is expected
    assert (invited(visit(rule, url=URL)) is not None) is expected


def test_a_broken_regular_expression_saved_around_the_admin_matches_nothing(clock):
    # spec: PRO-2
    rule = ProactiveRuleFactory(location_match="regex", location_pattern="(unclosed")
    assert invited(visit(rule, url=URL)) is None


# --- time on page, measured by the server (PRO-2) -------------------------------------------------


def test_time_on_page_is_measured_by_the_server_from_the_page_load(clock):
    # spec: PRO-2 — the page cannot claim more time than it has had
    rule = ProactiveRuleFactory(time_on_page_seconds=20)
    page_visit = visit(rule)
    clock.shift(timedelta(seconds=12))
    beat = page_visit_heartbeat(page_visit_id=page_visit.pk)
    assert beat.invitation is None
    assert beat.next_heartbeat_seconds == 8  # the server asks again when the rule can match
    clock.shift(timedelta(seconds=7.9))
    assert invited(page_visit) is None
    clock.shift(timedelta(seconds=0.1))
    invitation = invited(page_visit)
    assert invitation is not None and invitation.rule == rule
    page_visit.refresh_from_db()
    assert page_visit.last_seen_at == timezone.now()


def test_the_heartbeat_asks_again_within_bounds(clock):
    # spec: PRO-2
    rule = ProactiveRuleFactory(time_on_page_seconds=3600)
    assert page_visit_heartbeat(page_visit_id=visit(rule).pk).next_heartbeat_seconds == HEARTBEAT_MAX_SECONDS
    ProactiveRuleFactory(widget=rule.widget, time_on_page_seconds=1)
    page_visit = visit(rule)
    clock.shift(timedelta(seconds=0.5))
    assert page_visit_heartbeat(page_visit_id=page_visit.pk).next_heartbeat_seconds == 1.0


# --- order, once per page visit, daily cap (PRO-2, PRO-3) -----------------------------------------


def test_the_first_matching_rule_by_order_wins_with_its_message_in_the_visitors_language(
    clock, published, django_capture_on_commit_callbacks
):
    # spec: PRO-2, PRO-3
    widget = ChatWidgetFactory(proactive_enabled=True)
    ProactiveRuleFactory(widget=widget, order=1, name="Basket", location_match="contains", location_pattern="/basket")
    checkout = ProactiveRuleFactory(widget=widget, order=2, name="Checkout", trigger_message="Help with payment?")
    ProactiveRuleFactory(widget=widget, order=3, name="Everywhere")
    ProactiveRuleMessage.objects.create(rule=checkout, language="fr", text="Besoin d’aide pour payer ?")
    page_visit = visit(checkout, language="fr-ca")
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invited(page_visit)
    assert (invitation.rule, invitation.message, invitation.page_url) == (
        checkout,
        "Besoin d’aide pour payer ?",
        page_visit.url,
    )
    assert invitation.expires_at - invitation.shown_at == timedelta(minutes=1)
    assert published == [
        (
            visitor_group(page_visit.visitor_id),
            {
                "type": "invitation.shown",
                "invitation": {
                    "id": str(invitation.public_id),
                    "message": "Besoin d’aide pour payer ?",
                    "show_prechat": True,
                    "shown_at": invitation.shown_at.isoformat(),
                    "expires_at": invitation.expires_at.isoformat(),
                },
            },
        )
    ]
    other = visit(checkout, language="en")
    assert invited(other).message == "Help with payment?"


def test_a_rule_does_not_invite_twice_on_the_same_page_visit(clock):
    # spec: PRO-3
    rule = ProactiveRuleFactory(order=1)
    later = ProactiveRuleFactory(widget=rule.widget, order=2)
    page_visit = visit(rule)
    first = invited(page_visit)
    assert first.rule == rule
    assert invited(page_visit) is None  # the first one is still open: one at a time
    clock.shift(timedelta(minutes=2))
    Invitation.objects.filter(pk=first.pk).update(status="dismissed")
    assert invited(page_visit).rule == later  # the same rule never again on this visit
    Invitation.objects.filter(rule=later).update(status="dismissed")
    assert invited(page_visit) is None
    next_page = PageVisitFactory(visitor=page_visit.visitor, url=page_visit.url)
    assert invited(next_page).rule == rule  # a new page visit may be invited again


def test_the_daily_cap_counts_the_visitors_invitations_since_local_midnight(time_machine):
    # spec: PRO-3 — an admin can cap invitations per visitor per day
    time_machine.move_to(datetime(2026, 3, 2, 22, 30, tzinfo=UTC), tick=False)  # 23:30 in Paris
    rule = ProactiveRuleFactory(daily_cap_per_visitor=2, time_zone="Europe/Paris")
    visitor = VisitorFactory(widget=rule.widget)

    def new_page():
        return PageVisitFactory(visitor=visitor, url="https://shop.example.com/checkout")

    for _ in range(2):
        invitation = invited(new_page())
        assert invitation is not None
        Invitation.objects.filter(pk=invitation.pk).update(status="dismissed")
    assert invited(new_page()) is None  # capped for today
    time_machine.shift(timedelta(minutes=31))  # 00:01 in Paris: a new day (still 2 March in UTC)
    assert invited(new_page()) is not None


# --- availability, switch, visitors already busy (PRO-1, PRO-7a) ----------------------------------


@pytest.fixture
def staffed_rule():
    queue = QueueFactory()
    rule = ProactiveRuleFactory(require_available_agent=True, widget__workstream__default_queue=queue)
    agent = AgentProfileFactory(queues=[queue], reachable=True)
    return rule, agent


def test_an_available_reachable_agent_with_room_lets_the_rule_invite(clock, staffed_rule):
    # spec: PRO-7a
    rule, _agent = staffed_rule
    assert invited(visit(rule)) is not None


@pytest.mark.parametrize(
    "spoil",
    [
        "offline",
        "unreachable",
        "full",
        "not_a_member",
        "queue_closed",
    ],
)
def test_no_invitation_into_an_empty_room(clock, staffed_rule, spoil):
    # spec: PRO-7a — an eligible, reachable agent in an allowed presence with free capacity
    rule, agent = staffed_rule
    if spoil == "offline":
        agent.presence = presence("offline")
        agent.save(update_fields=["presence"])
    elif spoil == "unreachable":
        AgentConnection.objects.filter(agent=agent).delete()
    elif spoil == "full":
        agent.capacity_used = agent.capacity
        agent.save(update_fields=["capacity_used"])
    elif spoil == "not_a_member":
        agent.memberships.all().delete()
    elif spoil == "queue_closed":
        queue = rule.widget.workstream.default_queue
        queue.operating_hours = OperatingHoursFactory()  # no opening windows: always closed
        queue.save(update_fields=["operating_hours"])
    assert invited(visit(rule)) is None
    rule.require_available_agent = False
    rule.save(update_fields=["require_available_agent"])
    assert invited(visit(rule)) is not None


def test_nothing_invites_while_proactive_chat_is_off_for_the_widget(clock):
    # spec: PRO-1
    rule = ProactiveRuleFactory(widget__proactive_enabled=False)
    page_visit = visit(rule)
    assert invited(page_visit) is None
    rule.widget.proactive_enabled = True
    rule.widget.save(update_fields=["proactive_enabled"])
    assert invited(page_visit) is not None


def test_a_rule_only_triggers_on_its_own_widgets_pages(clock):
    # spec: PRO-1 — a rule belongs to one widget; other widgets' visits never match it
    rule = ProactiveRuleFactory()
    other_widget = ChatWidgetFactory(proactive_enabled=True)
    other_visitor = VisitorFactory(widget=other_widget)
    assert invited(PageVisitFactory(visitor=other_visitor)) is None
    assert not Invitation.objects.exists()
    assert invited(visit(rule)) is not None


def test_inactive_rules_and_visitors_already_chatting_are_not_invited(clock):
    # spec: PRO-2, PRO-3
    from tests.conversations.factories import ConversationFactory

    rule = ProactiveRuleFactory(is_active=False)
    assert invited(visit(rule)) is None
    rule.is_active = True
    rule.save(update_fields=["is_active"])
    page_visit = visit(rule)
    ConversationFactory(widget=rule.widget, visitor=page_visit.visitor, workstream=rule.widget.workstream)
    assert invited(page_visit) is None


def test_a_heartbeat_for_an_unknown_visit_is_refused():
    # spec: PRO-2
    from core.errors import NotFound

    with pytest.raises(NotFound):
        page_visit_heartbeat(page_visit_id=987_654)
    assert not PageVisit.objects.exists()
