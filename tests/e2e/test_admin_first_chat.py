"""From an empty install to a first routed chat using only the admin center's pages (issue 14).

One superuser, no demo data, no JSON typed and no shell: operating hours, queues, a skill, a
workstream with a rule on a pre-chat answer, an agent with that skill, a notification template,
and a widget with an allowed domain; the script tag is copied into a page of another origin, a
customer chats, and the conversation reaches the new agent through the rule. Along the way the
start page, the widget page and the workstream page are photographed at 1,280 × 800 and checked
for horizontal scrolling.
"""

import re
import tempfile
from pathlib import Path

from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from agents.models import AgentProfile
from conversations.models import Conversation
from notifications.models import NotificationTemplate
from routing.models import RoutingRule, Workstream
from tests.e2e.test_live_chat import TIMEOUT
from tests.e2e.workspace import sign_in_available
from tests.live import wait_until
from tests.routing.factories import PASSWORD
from widgets.models import ChatWidget

WINDOW = {"width": 1280, "height": 800}


def choose(page, select_id: str, text: str) -> None:
    """Pick ``text`` in one of the admin's autocomplete boxes, as a person does: open, type, pick."""
    page.locator(f"#{select_id} + .select2 .select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").fill(text)
    page.locator(".select2-container--open .select2-results__option", has_text=text).first.click()


def save_and_continue(page) -> None:
    page.locator("input[name=_continue]").click()
    expect(page.locator(".messagelist .success")).to_be_visible(timeout=TIMEOUT)


def fits_the_window(page, name: str, shots: Path) -> Path:
    """The page needs no horizontal scroll at 1,280 px; its whole-page screenshot goes to ``shots``."""
    page.wait_for_load_state("load")  # what the page waits for (preview, try result) was awaited already
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (
        f"{name} scrolls sideways: {page.evaluate('document.documentElement.scrollWidth')} px"
    )
    path = shots / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def test_an_admin_sets_up_a_contact_center_and_a_first_chat_is_routed(browser, asgi_server, host_site):
    # spec: ADM-1, ROU-2, WID-1
    get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    shots = Path(tempfile.mkdtemp(prefix="admin-center-"))
    context = browser.new_context(base_url=asgi_server.url, viewport=WINDOW)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=asgi_server.url)
    admin = context.new_page()
    agent_page = browser.new_context(base_url=asgi_server.url).new_page()
    customer = browser.new_context().new_page()
    try:
        admin.goto("/admin/")
        admin.fill("#id_username", "root")
        admin.fill("#id_password", PASSWORD)
        admin.locator("input[type=submit]").click()
        expect(admin.locator("#setup-heading")).to_be_visible(timeout=TIMEOUT)
        expect(admin.locator(".setup-checklist .todo")).to_have_count(4)  # the shipped templates count
        fits_the_window(admin, "start-page", shots)

        # Operating hours: open around the clock, every day, so the test passes at any hour.
        admin.locator(".setup-checklist a", has_text="Add operating hours").click()
        admin.fill("#id_name", "Around the clock")
        for day in range(7):
            if day:
                admin.locator("#windows-group .add-row a").click()
            admin.select_option(f"#id_windows-{day}-weekday", str(day))
            admin.fill(f"#id_windows-{day}-opens_at", "00:00")
            admin.fill(f"#id_windows-{day}-closes_at", "00:00")
        save_and_continue(admin)

        # Two queues: the default one and Billing, both with those hours.
        for name in ("General", "Billing"):
            admin.goto("/admin/routing/queue/add/")
            admin.fill("#id_name", name)
            choose(admin, "id_operating_hours", "Around the clock")
            save_and_continue(admin)
        admin.goto("/admin/agents/skill/add/")
        admin.fill("#id_name", "Billing")
        save_and_continue(admin)

        # A notification template for incoming chats.
        admin.goto("/admin/notifications/notificationtemplate/add/")
        admin.fill("#id_name", "Shop chat")
        admin.select_option("#id_scenario", "incoming_chat")
        admin.fill("#id_title", "A shop customer is waiting")
        save_and_continue(admin)

        # A workstream with General as its default queue and that template for incoming chats.
        admin.goto("/admin/routing/workstream/add/")
        admin.fill("#id_name", "Shop chat")
        choose(admin, "id_default_queue", "General")
        admin.locator("#templates-group .add-row a").click()
        admin.select_option("#id_templates-0-scenario", "incoming_chat")
        choose(admin, "id_templates-0-template", "Shop chat")
        save_and_continue(admin)
        workstream_url = admin.url

        # A widget on it: an allowed domain (the shop's origin) and a pre-chat question as rows.
        admin.goto("/admin/widgets/chatwidget/add/")
        admin.fill("#id_name", "Shop")
        choose(admin, "id_workstream", "Shop chat")
        admin.fill("#id_allowed_domains-0-origin", host_site.origin)
        admin.fill("#id_prechat_questions-0-name", "topic")
        admin.fill("#id_prechat_questions-0-label", "What is it about?")
        admin.select_option("#id_prechat_questions-0-kind", "option_set")
        admin.fill("input[name='prechat_questions-0-choices-0']", "Orders")
        admin.fill("input[name='prechat_questions-0-choices-1']", "Billing")
        save_and_continue(admin)
        expect(admin.locator(".admin-warning")).to_have_count(0)
        admin.locator("[data-copy-from=widget-script-tag]").click()
        expect(admin.locator(".copy-status")).to_have_text("Copied.")
        tag = admin.evaluate("navigator.clipboard.readText()")
        assert tag == admin.locator("#widget-script-tag").input_value()
        assert 'data-widget="' in tag
        preview = admin.frame_locator("iframe[data-widget-preview]")
        expect(preview.locator("text=What is it about?")).to_be_attached(timeout=TIMEOUT)
        fits_the_window(admin, "widget-page", shots)

        # The rule: a pre-chat answer of Billing goes to the Billing queue and needs the skill.
        admin.goto(workstream_url)
        admin.locator("#routing_rules-group .add-row a").click()
        admin.fill("#id_routing_rules-0-order", "1")
        admin.fill("#id_routing_rules-0-name", "Billing questions")
        admin.select_option("select[name='routing_rules-0-conditions-0-field']", "prechat:topic")
        admin.select_option("select[name='routing_rules-0-conditions-0-operator']", "equals")
        admin.fill("input[name='routing_rules-0-conditions-0-value']", "Billing")
        choose(admin, "id_routing_rules-0-queue", "Billing")
        choose(admin, "id_routing_rules-0-skills", "Billing")
        save_and_continue(admin)
        admin.fill("input[name='sample-prechat:topic']", "Billing")
        admin.locator("form[data-try-rules] input[type=submit]").click()
        expect(admin.locator(".try-rule-result")).to_contain_text("Goes to: Billing", timeout=TIMEOUT)
        fits_the_window(admin, "workstream-page", shots)

        # An agent with that skill, in both queues, in one form.
        admin.goto("/admin/")
        admin.locator(".setup-checklist a", has_text="Add an agent").click()
        admin.fill("#id_username", "ada")
        admin.fill("#id_display_name", "Ada Agent")
        admin.fill("#id_password", PASSWORD)
        admin.locator("#id_queues label", has_text="General").click()
        admin.locator("#id_queues label", has_text="Billing").click()
        admin.select_option("#id_skills-0-skill", label="Billing")
        admin.fill("#id_skills-0-proficiency", "7")
        admin.locator("input[type=submit]").click()
        expect(admin.locator(".messagelist .success")).to_contain_text("Ada Agent can now take work.")
        admin.goto("/admin/")
        expect(admin.locator(".setup-checklist .todo")).to_have_count(0)

        # Nothing was typed as JSON, and the data is what a routed chat needs.
        rule = RoutingRule.objects.get(name="Billing questions")
        assert rule.conditions == [{"source": "prechat", "operator": "equals", "name": "topic", "value": "Billing"}]
        agent = AgentProfile.objects.get(user__username="ada")

        # The customer's site pastes the copied tag; the agent is in the workspace.
        host_site.pages["/shop"] = (
            f"<!doctype html><html><head><title>Shop</title></head><body><h1>Shop</h1>{tag}</body></html>"
        )
        sign_in_available(agent_page, agent)
        customer.goto(f"{host_site.origin}/shop")
        customer.get_by_test_id("chat-button").click()
        customer.get_by_test_id("prechat-field-topic").select_option("Billing")
        customer.get_by_test_id("prechat-submit").click()

        notification = agent_page.get_by_test_id("notification")
        expect(notification).to_be_visible(timeout=TIMEOUT)
        expect(notification).to_contain_text("A shop customer is waiting")
        agent_page.get_by_test_id("notification-accept").click()
        agent_page.wait_for_url(re.compile(r"/workspace/conversations/\d+/"), timeout=TIMEOUT)
        conversation = Conversation.objects.select_related("queue").get(widget=ChatWidget.objects.get(name="Shop"))
        wait_until(lambda: Conversation.objects.get(pk=conversation.pk).agent_id == agent.pk)
        assert conversation.queue.name == "Billing"
        assert conversation.workstream == Workstream.objects.get(name="Shop chat")
        assert NotificationTemplate.objects.filter(name="Shop chat").exists()
    finally:
        context.close()
        agent_page.context.close()
        customer.context.close()
