"""Chat authentication: verifying the customer's JWT, key sets and rotation, every refusal
(AUTH-1, AUTH-2, AUTH-3, WID-7), over the verifier and over the widget's HTTP endpoints."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from conversations.models import Conversation, Message
from customers.models import Contact
from tests.customers.factories import ContactFactory
from tests.routing.factories import WorkstreamFactory
from tests.widgets.endpoints import call
from tests.widgets.factories import AuthenticationSettingFactory, ChatWidgetFactory
from tests.widgets.signing import KeySetServer, SigningKey, hs256_with_public_key, unsigned_token
from widgets.authentication import REFRESH_MIN_SECONDS, AuthTokenError, auth_token_verify
from widgets.models import Visitor

pytestmark = pytest.mark.django_db

ORIGIN = "https://portal.example.com"
RSA = SigningKey("RS256")
OTHER_RSA = SigningKey("RS256", index=1)


@pytest.fixture
def key_server():
    server = KeySetServer()
    yield server
    server.stop()


def pem_setting(key: SigningKey = RSA, **fields):
    fields.setdefault("algorithms", [key.algorithm])
    return AuthenticationSettingFactory(public_key_pem=key.public_pem, key_set_url="", **fields)


def refusal(setting, token) -> str:
    with pytest.raises(AuthTokenError) as caught:
        auth_token_verify(setting, token)
    assert caught.value.message  # a clear, readable reason
    return caught.value.code


# --- verification (AUTH-2) -------------------------------------------------------------------------


def test_a_token_signed_with_the_organisations_key_names_the_customer_and_their_context():
    # spec: AUTH-1, AUTH-2
    setting = pem_setting(context_claims=["tier", "account", "missing"])
    verified = auth_token_verify(setting, RSA.token(sub="user-42", tier="gold", account={"id": 7}))
    assert verified.subject == "user-42"
    assert verified.context == {
        "tier": {"value": "gold", "isDisplayable": True},
        "account": {"value": '{"id":7}', "isDisplayable": True},
    }


def test_es256_tokens_are_verified_with_an_ec_key():
    # spec: AUTH-2
    key = SigningKey("ES256")
    assert auth_token_verify(pem_setting(key), key.token(sub="ec-user")).subject == "ec-user"


def test_the_audience_is_checked_when_the_setting_names_one():
    # spec: AUTH-2
    setting = pem_setting(audience="chat.example.com")
    assert auth_token_verify(setting, RSA.token(aud="chat.example.com")).subject == "customer-1"
    assert refusal(setting, RSA.token(aud="other.example.com")) == "auth_token_audience"
    assert refusal(setting, RSA.token()) == "auth_token_claims"  # no aud at all


def forged_claims() -> dict:
    return RSA.claims(sub="victim")


# Every refusal of AUTH-3, with the code the widget and the host page see.
REFUSALS = {
    "missing": (lambda: "", "authentication_required"),
    "expired": (lambda: RSA.token(lifetime=-120), "auth_token_expired"),
    "not yet valid (nbf)": (lambda: RSA.token(nbf=int(time.time()) + 600), "auth_token_not_yet_valid"),
    "issued in the future (iat)": (lambda: RSA.token(iat=int(time.time()) + 600), "auth_token_not_yet_valid"),
    "wrong issuer": (lambda: RSA.token(issuer="https://evil.example.com"), "auth_token_issuer"),
    "wrong key": (lambda: OTHER_RSA.token(), "auth_token_signature"),
    "alg none": (lambda: unsigned_token(forged_claims()), "auth_token_algorithm"),
    "HS256 keyed with the public key": (
        lambda: hs256_with_public_key(forged_claims(), RSA.public_pem),
        "auth_token_algorithm",
    ),
    "algorithm not in the setting": (lambda: SigningKey("ES256").token(), "auth_token_algorithm"),
    "malformed": (lambda: "not.a.jwt", "auth_token_malformed"),
    "garbage": (lambda: "%%%", "auth_token_malformed"),
    "no subject": (lambda: RSA.token(sub=None), "auth_token_claims"),
    "no expiry": (lambda: RSA.token(exp=None), "auth_token_claims"),
    "tampered payload": (lambda: _tampered(), "auth_token_signature"),
}


def _tampered() -> str:
    head, _payload, signature = RSA.token(sub="me").split(".")
    other = RSA.token(sub="someone-else").split(".")[1]
    return f"{head}.{other}.{signature}"


@pytest.mark.parametrize("case", list(REFUSALS))
def test_every_bad_token_is_refused_with_its_own_code(case):
    # spec: AUTH-3
    make, code = REFUSALS[case]
    assert refusal(pem_setting(), make()) == code


# --- key sets and rotation by kid (AUTH-1, AUTH-2) --------------------------------------------------


def test_rotation_by_kid_through_a_jwks_key_set_needs_no_downtime(key_server):
    # spec: AUTH-1, AUTH-2
    old, new = SigningKey("RS256", kid="2026-01"), SigningKey("ES256", kid="2026-07")
    key_server.document = {"keys": [old.jwk()]}
    setting = AuthenticationSettingFactory(key_set_url=key_server.url, algorithms=["RS256", "ES256"])
    assert auth_token_verify(setting, old.token(sub="a")).subject == "a"
    assert auth_token_verify(setting, old.token(sub="b")).subject == "b"
    assert key_server.fetches == 1  # cached

    key_server.document = {"keys": [old.jwk(), new.jwk()]}  # the organisation rotates
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=REFRESH_MIN_SECONDS + 1)):
        assert auth_token_verify(setting, new.token(sub="c")).subject == "c"  # unknown kid: fetched again
        assert key_server.fetches == 2
        assert auth_token_verify(setting, old.token(sub="d")).subject == "d"  # both valid during the overlap
        assert key_server.fetches == 2


def test_rotation_through_a_list_of_kid_public_key_expiry(key_server):
    # spec: AUTH-1, AUTH-2, AUTH-3
    first, second = SigningKey("RS256", kid="k1"), SigningKey("RS256", kid="k2", index=1)
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    future_ms = int((time.time() + 3600) * 1000)
    key_server.document = [first.listed(expiry=future_ms)]
    setting = AuthenticationSettingFactory(key_set_url=key_server.url)
    assert auth_token_verify(setting, first.token(sub="x")).subject == "x"

    key_server.document = [first.listed(expiry=past), second.listed(expiry=None)]
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=REFRESH_MIN_SECONDS + 1)):
        assert auth_token_verify(setting, second.token(sub="y")).subject == "y"
        # The refetch brought the first key's expiry: it is no longer accepted.
        assert refusal(setting, first.token(sub="x")) == "auth_token_unknown_key"


def test_an_unknown_kid_is_refused_and_refetches_are_rate_limited(key_server):
    # spec: AUTH-3
    known = SigningKey("RS256", kid="known")
    key_server.document = {"keys": [known.jwk()]}
    setting = AuthenticationSettingFactory(key_set_url=key_server.url)
    assert auth_token_verify(setting, known.token()).subject == "customer-1"
    for kid in ("forged-1", "forged-2", "forged-3"):
        stranger = SigningKey("RS256", kid=kid, index=1)
        assert refusal(setting, stranger.token()) == "auth_token_unknown_key"
    assert key_server.fetches == 1  # the first fetch was just now: no refetch flood
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=REFRESH_MIN_SECONDS + 1)):
        assert refusal(setting, SigningKey("RS256", kid="forged-4", index=1).token()) == "auth_token_unknown_key"
        assert refusal(setting, SigningKey("RS256", kid="forged-5", index=1).token()) == "auth_token_unknown_key"
    assert key_server.fetches == 2  # one refetch per interval at most
    assert refusal(setting, SigningKey("RS256", index=1).token()) == "auth_token_unknown_key"  # no kid at all


def test_a_token_signed_by_another_key_under_a_known_kid_is_refused(key_server):
    # spec: AUTH-3
    known = SigningKey("RS256", kid="known")
    key_server.document = {"keys": [known.jwk()]}
    setting = AuthenticationSettingFactory(key_set_url=key_server.url)
    impostor = SigningKey("RS256", kid="known", index=1)
    assert refusal(setting, impostor.token()) == "auth_token_signature"


def test_an_unreachable_key_set_is_a_clear_refusal(key_server):
    # spec: AUTH-3
    key_server.status = 500
    key_server.document = "oops"
    setting = AuthenticationSettingFactory(key_set_url=key_server.url)
    assert refusal(setting, SigningKey("RS256", kid="k").token()) == "auth_keys_unavailable"


# --- over the widget's endpoints: refusals create nothing (AUTH-3, PER-2) ---------------------------


@pytest.fixture
def portal():
    """A persistent widget whose customers sign in with the RSA key."""
    setting = pem_setting(context_claims=["tier"])
    workstream = WorkstreamFactory(persistent=True)
    return ChatWidgetFactory(workstream=workstream, authentication=setting, origins=[ORIGIN])


def post(client, widget, endpoint, body):
    return call(client, widget, endpoint, body, origin=ORIGIN)


def visitor_token_of(client, widget) -> str:
    response = post(client, widget, "session", {})
    assert response.status_code == 200
    return response.json()["visitor_token"]


def created() -> dict:
    return {
        "conversations": Conversation.objects.count(),
        "messages": Message.objects.count(),
        "contacts": Contact.objects.count(),
        "signed_in_visitors": Visitor.objects.exclude(auth_subject="").count(),
    }


@pytest.mark.parametrize("case", list(REFUSALS))
def test_starting_a_persistent_chat_with_a_bad_token_is_a_403_with_its_code_and_creates_nothing(client, portal, case):
    # spec: AUTH-3, PER-2
    make, code = REFUSALS[case]
    visitor = visitor_token_of(client, portal)
    before = created()
    response = post(client, portal, "chats", {"visitor_token": visitor, "auth_token": make()})
    assert response.status_code == 403, response.content
    assert response.json()["code"] == code
    assert response.json()["message"]
    assert created() == before


def test_an_oversized_token_is_a_400(client, portal):
    # spec: AUTH-3, REL-3
    visitor = visitor_token_of(client, portal)
    response = post(client, portal, "chats", {"visitor_token": visitor, "auth_token": "x" * 9000})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert not Conversation.objects.exists()


def test_a_verified_customer_starts_an_authenticated_chat_linked_to_a_new_contact(client, portal):
    # spec: AUTH-2, PER-2, WID-13
    visitor = visitor_token_of(client, portal)
    token = RSA.token(sub="user-42", given_name="Ada", family_name="Lovelace", email="ADA@example.com", tier="gold")
    response = post(client, portal, "chats", {"visitor_token": visitor, "auth_token": token, "context": {}})
    assert response.status_code == 201, response.content
    conversation = Conversation.objects.get()
    contact = Contact.objects.get(auth_subject="user-42")
    assert (contact.first_name, contact.last_name, contact.email) == ("Ada", "Lovelace", "ada@example.com")
    assert (conversation.authenticated, conversation.auth_subject, conversation.contact) == (True, "user-42", contact)
    assert conversation.context_variables["tier"] == {"value": "gold", "isDisplayable": True, "verified": True}
    assert Visitor.objects.get().auth_subject == "user-42"


def test_a_verified_customer_is_linked_to_their_existing_contact_and_none_is_made_when_switched_off(client, portal):
    # spec: AUTH-2
    existing = ContactFactory(auth_subject="known-1")
    visitor = visitor_token_of(client, portal)
    assert (
        post(client, portal, "chats", {"visitor_token": visitor, "auth_token": RSA.token(sub="known-1")}).status_code
        == 201
    )
    assert Conversation.objects.get().contact == existing

    portal.authentication.create_contact = False
    portal.authentication.save()
    other = visitor_token_of(client, portal)
    assert (
        post(client, portal, "chats", {"visitor_token": other, "auth_token": RSA.token(sub="nobody")}).status_code
        == 201
    )
    assert Conversation.objects.get(auth_subject="nobody").contact is None
    assert Contact.objects.count() == 1


def test_a_live_widget_with_authentication_marks_only_verified_chats_authenticated(client):
    # spec: AUTH-2, AUTH-3, WID-13
    widget = ChatWidgetFactory(authentication=pem_setting(), origins=[ORIGIN])
    anonymous = post(client, widget, "chats", {"visitor_token": visitor_token_of(client, widget)})
    assert anonymous.status_code == 201
    signed = post(
        client, widget, "chats", {"visitor_token": visitor_token_of(client, widget), "auth_token": RSA.token(sub="s1")}
    )
    assert signed.status_code == 201
    forged = post(
        client,
        widget,
        "chats",
        {"visitor_token": visitor_token_of(client, widget), "auth_token": OTHER_RSA.token(sub="s2")},
    )
    assert forged.status_code == 403
    assert list(Conversation.objects.order_by("pk").values_list("authenticated", "auth_subject")) == [
        (False, ""),
        (True, "s1"),
    ]


def test_a_session_with_a_bad_token_still_loads_the_widget_and_reports_the_refusal(client, portal):
    # spec: AUTH-3, WID-8
    response = post(client, portal, "session", {"auth_token": RSA.token(lifetime=-120)})
    assert response.status_code == 200
    answer = response.json()
    assert answer["auth_error"]["code"] == "auth_token_expired"
    assert "conversation" not in answer
    assert not Visitor.objects.exclude(auth_subject="").exists()


def _signed_with_raw_subject(subject) -> str:
    """A correctly signed token whose ``sub`` is exactly ``subject`` (None included, unlike ``RSA.token``)."""
    import jwt

    claims = {**RSA.claims(), "sub": subject}
    return jwt.encode(claims, RSA.private_key, algorithm="RS256")


@pytest.mark.parametrize("subject", [42, ["user-42"], {"id": "user-42"}, None, True, 4.2], ids=repr)
def test_a_subject_that_is_not_text_is_refused_as_bad_claims(subject):
    # spec: AUTH-3 — a non-string sub is the documented auth_token_claims, not the generic code
    setting = pem_setting()
    assert refusal(setting, _signed_with_raw_subject(subject)) == "auth_token_claims"
