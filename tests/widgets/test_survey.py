"""The post-chat survey (issue 16): configured per widget, answered once when the chat ended, stored
on the conversation, seen by the agent (conversation page), in the REST API and the webhooks."""

import pytest

from conversations.models import SurveyResponse
from tests.api_helpers import token_client
from tests.conversations.factories import ConversationFactory
from tests.routing.factories import AgentProfileFactory, QueueFactory, SupervisorFactory, WorkstreamFactory
from tests.widgets.endpoints import ORIGIN, call
from tests.widgets.factories import ChatWidgetFactory, VisitorFactory
from webhooks import services as webhooks
from webhooks.models import Event, WebhookDelivery
from widgets.models import ChatWidget, PostChatQuestion
from widgets.tokens import conversation_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def widget():
    widget = ChatWidgetFactory(
        origins=[ORIGIN],
        workstream=WorkstreamFactory(default_queue=QueueFactory(name="Help")),
        survey_rating=ChatWidget.SurveyRating.STARS,
    )
    PostChatQuestion.objects.create(widget=widget, order=2, label="Would you chat with us again?")
    PostChatQuestion.objects.create(widget=widget, order=1, label="Did we solve it?")
    return widget


def ended_chat(widget, status="wrap_up"):
    visitor = VisitorFactory(widget=widget)
    conversation = ConversationFactory(
        widget=widget, visitor=visitor, workstream=widget.workstream, queue=widget.workstream.default_queue
    )
    type(conversation).objects.filter(pk=conversation.pk).update(status=status)
    conversation.refresh_from_db()
    return conversation, conversation_token(
        conversation_public_id=conversation.public_id, visitor_public_id=visitor.public_id
    )


def answer(client, widget, token, **body):
    return call(client, widget, "survey", {"token": token, **body})


def test_the_widget_config_carries_the_survey_with_its_questions_in_order(client, widget):
    # spec: WID-8 — the survey the widget shows when the chat ends (rows, not JSON, in the admin)
    config = call(client, widget, "session", {}).json()["config"]
    assert config["survey"] == {
        "rating": "stars",
        "comment": True,
        "questions": ["Did we solve it?", "Would you chat with us again?"],
    }


def test_the_customer_answers_once_after_the_chat_ended(client, widget, django_capture_on_commit_callbacks):
    # spec: API-2 — answers stored on the conversation, published to the webhooks
    webhooks.webhook_endpoint_create(url="http://127.0.0.1:9/hook", events=[Event.SURVEY_ANSWERED])
    conversation, token = ended_chat(widget)
    with django_capture_on_commit_callbacks(execute=False):
        response = answer(client, widget, token, rating=4, comment=" Quick and kind ", answers=["Yes", ""])
    assert response.status_code == 201, response.content
    survey = SurveyResponse.objects.get(conversation=conversation)
    assert (survey.scale, survey.rating, survey.comment, survey.answers) == (
        "stars",
        4,
        "Quick and kind",
        [{"question": "Did we solve it?", "answer": "Yes"}],
    )
    delivery = WebhookDelivery.objects.get()
    assert delivery.event_type == "conversation.survey_answered"
    assert delivery.payload["data"]["rating"] == 4
    assert delivery.payload["data"]["conversation"] == conversation.pk

    again = answer(client, widget, token, rating=1)
    assert (again.status_code, again.json()["code"]) == (409, "survey_answered")
    assert SurveyResponse.objects.get().rating == 4


def test_the_survey_opens_only_when_the_chat_has_ended(client, widget):
    # spec: LIVE-3 — shown when the chat ends
    _conversation, token = ended_chat(widget, status="active")
    response = answer(client, widget, token, rating=5)
    assert (response.status_code, response.json()["code"]) == (409, "chat_not_ended")
    assert not SurveyResponse.objects.exists()


@pytest.mark.parametrize("rating", ["5", 5.0, True, None, [5], 0, 6, -1])
def test_a_rating_off_the_scale_or_of_another_type_is_refused(client, widget, rating):
    # spec: SEC-3 — exact types, a clear error, nothing stored
    _conversation, token = ended_chat(widget)
    response = answer(client, widget, token, rating=rating)
    assert response.status_code in (400, 409), response.content
    assert not SurveyResponse.objects.exists()


def test_thumbs_take_one_up_or_zero_down(client, widget):
    # spec: issue 16 — a 1–5 rating or thumbs
    ChatWidget.objects.filter(pk=widget.pk).update(survey_rating=ChatWidget.SurveyRating.THUMBS)
    _conversation, token = ended_chat(widget)
    assert answer(client, widget, token, rating=2).status_code == 409
    assert answer(client, widget, token, rating=0).status_code == 201
    assert SurveyResponse.objects.get().scale == "thumbs"


def test_another_customers_token_answers_nothing(client, widget):
    # spec: SEC-1 — customers only their own conversation
    _conversation, token = ended_chat(widget)
    other_widget = ChatWidgetFactory(origins=[ORIGIN], survey_rating=ChatWidget.SurveyRating.STARS)
    response = answer(client, other_widget, token, rating=5)
    assert response.status_code in (403, 404)
    assert answer(client, widget, "forged", rating=5).status_code == 403
    assert not SurveyResponse.objects.exists()


def test_the_agent_and_the_supervisor_see_the_rating(client, widget, django_assert_max_num_queries):
    # spec: SEC-1, API-1 — the conversation page and the REST API
    conversation, token = ended_chat(widget)
    assert answer(client, widget, token, rating=5, comment="Great <b>help</b>").status_code == 201
    agent = AgentProfileFactory(queues=[widget.workstream.default_queue])
    api = token_client(agent.user)
    row = api.get(f"/api/v1/conversations/{conversation.pk}/").json()
    assert row["survey"]["rating"] == 5 and row["survey"]["comment"] == "Great <b>help</b>"
    with django_assert_max_num_queries(8):
        listed = api.get("/api/v1/conversations/").json()["results"]
    assert [item["survey"]["rating"] for item in listed] == [5]
    stranger = AgentProfileFactory(queues=[QueueFactory()])
    assert token_client(stranger.user).get(f"/api/v1/conversations/{conversation.pk}/").status_code == 404
    supervisor = SupervisorFactory()
    assert (
        token_client(supervisor.user).get(f"/api/v1/conversations/{conversation.pk}/").json()["survey"]["rating"] == 5
    )

    type(conversation).objects.filter(pk=conversation.pk).update(agent=agent)  # the agent who held it
    client.force_login(supervisor.user)
    with django_assert_max_num_queries(20):
        board = client.get("/workspace/supervisor/")
    assert board.status_code == 200
    assert 'data-testid="supervisor-survey-rating" data-rating="5"' in board.content.decode()
    assert "Great &lt;b&gt;help&lt;/b&gt;" in board.content.decode()
    client.force_login(agent.user)
    page = client.get(f"/workspace/conversations/{conversation.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="survey-rating" data-rating="5"' in html
    assert "Great &lt;b&gt;help&lt;/b&gt;" in html  # escaped


@pytest.mark.embedded
def test_a_page_showing_the_conversation_gets_the_answers_as_they_come(layer, workspace):
    # spec: LIVE-2, SEC-2 — issue 16: pushed to the conversation page when answered, escaped
    from conversations.services import conversation_agent_end
    from conversations.survey import conversation_survey_answer
    from tests.conversations.factories import chat_given_to
    from tests.conversations.workspace_socket import join, marker, receive

    agent = AgentProfileFactory()
    bystander = AgentProfileFactory()
    conversation = chat_given_to(agent)
    conversation_agent_end(conversation_id=conversation.pk, agent=agent)
    ws, other = workspace(agent), workspace(bystander)
    join(ws, agent, conversation.pk)
    conversation_survey_answer(
        conversation_id=conversation.pk,
        scale="stars",
        rating=4,
        comment="Quick <i>and</i> kind",
        questions=["Did we solve it?"],
        answers=["Yes"],
    )
    frame = receive(ws)
    assert (frame["type"], frame["conversation"], frame["rating"]) == ("conversation.survey", conversation.pk, 4)
    assert 'data-testid="survey-rating" data-rating="4" data-scale="stars">4 of 5</span>' in frame["html"]
    assert "Quick &lt;i&gt;and&lt;/i&gt; kind" in frame["html"] and "<i>" not in frame["html"]
    assert "<dt>Did we solve it?</dt><dd>Yes</dd>" in frame["html"]
    assert marker(other, bystander) == []  # a page not showing it gets nothing
