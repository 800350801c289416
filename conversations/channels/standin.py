"""A stand-in SMS provider on 127.0.0.1 that speaks Twilio's Messages API (tests and the demo).

It accepts message-create calls (basic auth with the account id and token), returns ids or
the errors it was told to, posts signed status callbacks, and posts signed inbound messages
to our webhook. Nothing of ours is mocked: our code talks HTTP to it as to the real provider.
"""

from __future__ import annotations

import base64
import html
import json
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from conversations.channels.signature import twilio_signature
from conversations.models import PhoneChannel

Signer = Callable[[str, str, dict[str, str]], str]  # (token, url, params) → signature

# The demo's stand-in (``manage.py demo_data`` points its SMS and voice channels here and
# ``manage.py sms_standin`` serves it). A demo secret, public on purpose: 127.0.0.1 only.
DEMO_ACCOUNT_SID = "AC" + "0" * 32
DEMO_AUTH_TOKEN = "demo-stand-in-token"
DEMO_SMS_NUMBER = "+14155550100"
DEMO_VOICE_NUMBER = "+14155550199"
DEMO_PORT = 8010
DEMO_SERVER = "http://127.0.0.1:8000"


def _our_signer(token: str, url: str, params: dict[str, str]) -> str:
    return twilio_signature(auth_token=token, url=url, params=params.items())


def demo_standin(*, port: int = DEMO_PORT, server: str = DEMO_SERVER) -> StandInProvider:
    """Start the stand-in for the demo's phone channels (made by ``manage.py demo_data``) and point
    them at it and at ``server``. Returns the running provider; raises LookupError without them."""
    channels = PhoneChannel.objects.filter(account_sid=DEMO_ACCOUNT_SID, auth_token=DEMO_AUTH_TOKEN)
    if not channels.exists():
        raise LookupError("The demo's phone channels are missing: run `manage.py demo_data` first.")
    provider = StandInProvider(
        account_sid=DEMO_ACCOUNT_SID,
        auth_token=DEMO_AUTH_TOKEN,
        phone_number=DEMO_SMS_NUMBER,
        voice_number=DEMO_VOICE_NUMBER,
        webhook_base=server.rstrip("/"),
    ).start(port)
    channels.update(public_base_url=server.rstrip("/"), api_base_url=provider.url)
    return provider


@dataclass
class Fault:
    status: int
    code: str = ""
    message: str = ""
    delay: float = 0.0  # answer this late (after accepting the message when status is 201)


@dataclass
class StandInProvider:
    account_sid: str
    auth_token: str
    phone_number: str
    webhook_base: str = ""  # our public base URL, for inbound messages
    voice_number: str = ""  # the voice hand-off line, for calls its voice bot handled
    signer: Signer = _our_signer
    auto_callbacks: tuple[str, ...] = ("sent", "delivered")
    messages: list[dict] = field(default_factory=list)
    requests: int = 0
    faults: list[Fault] = field(default_factory=list)
    callback_errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    # --- running ------------------------------------------------------------------------------
    def start(self, port: int = 0) -> StandInProvider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                provider._page(self)

            def do_POST(self) -> None:
                provider._post(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True, name="sms-standin").start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def fail_next(self, count: int, status: int, *, code: str = "", message: str = "", delay: float = 0.0) -> None:
        with self._lock:
            self.faults.extend(Fault(status, code, message, delay) for _ in range(count))

    # --- the provider's side of the protocol --------------------------------------------------
    def _post(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length).decode()
        form = {key: values[0] for key, values in urllib.parse.parse_qs(body, keep_blank_values=True).items()}
        if request.path == "/_standin/inbound":  # the demo page: text our webhook as a customer
            self.send_inbound(from_number=form.get("From", ""), body=form.get("Body", ""))
            return self._answer(request, 303, b"", headers={"Location": "/"})
        if request.path == "/_standin/call":  # the demo page: a call the voice bot handled
            self.send_call_handoff(from_number=form.get("From", ""), transcript=form.get("Transcript", ""))
            return self._answer(request, 303, b"", headers={"Location": "/"})
        expected = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        auth = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.path != expected:
            return self._json(request, 404, {"code": 20404, "message": "The requested resource was not found"})
        if request.headers.get("Authorization") != f"Basic {auth}":
            return self._json(request, 401, {"code": 20003, "message": "Authenticate"})
        with self._lock:
            self.requests += 1
            fault = self.faults.pop(0) if self.faults else None
        if fault is not None and fault.status != 201:
            time.sleep(fault.delay)
            return self._json(request, fault.status, {"code": fault.code or fault.status, "message": fault.message})
        sid = "SM" + uuid.uuid4().hex
        message = {"sid": sid, "to": form.get("To"), "body": form.get("Body"), "callback": form.get("StatusCallback")}
        with self._lock:
            self.messages.append(message)
        if form.get("StatusCallback"):
            threading.Thread(target=self._callbacks, args=(message, fault.delay if fault else 0.0), daemon=True).start()
        if fault is not None:
            time.sleep(fault.delay)  # accepted, but answers too late
        self._json(request, 201, {"sid": sid, "status": "queued", "to": form.get("To"), "body": form.get("Body")})

    def _callbacks(self, message: dict, wait: float) -> None:
        time.sleep(min(wait, 0.2) if wait else 0.05)
        for status in self.auto_callbacks:
            self.post_signed(
                message["callback"],
                {
                    "AccountSid": self.account_sid,
                    "MessageSid": message["sid"],
                    "MessageStatus": status,
                    "From": self.phone_number,
                    "To": message["to"] or "",
                },
            )

    def post_signed(self, url: str, params: dict[str, str]) -> int:
        """POST ``params`` to ``url`` form-encoded, signed as the provider signs."""
        data = urllib.parse.urlencode(params).encode()
        request = urllib.request.Request(url, data=data, method="POST")
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        request.add_header("X-Twilio-Signature", self.signer(self.auth_token, url, params))
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            self.callback_errors.append(f"{exc.code} {url}")
            return exc.code
        except OSError as exc:
            self.callback_errors.append(f"{exc} {url}")
            return 0

    def send_inbound(self, *, from_number: str, body: str, message_sid: str = "", media: tuple[str, ...] = ()) -> int:
        """Text our webhook as a customer would, through this provider."""
        params = {
            "MessageSid": message_sid or "SM" + uuid.uuid4().hex,
            "AccountSid": self.account_sid,
            "From": from_number,
            "To": self.phone_number,
            "Body": body,
            "NumMedia": str(len(media)),
            **{f"MediaUrl{index}": url for index, url in enumerate(media)},
        }
        return self.post_signed(self.webhook_base.rstrip("/") + "/channels/twilio/sms/inbound/", params)

    def send_call_handoff(
        self, *, from_number: str, transcript: str, context: dict | None = None, call_sid: str = ""
    ) -> int:
        """Hand a call its voice bot handled to our voice webhook, as the telephony provider does (VOI-1)."""
        params = {
            "CallSid": call_sid or "CA" + uuid.uuid4().hex,
            "AccountSid": self.account_sid,
            "From": from_number,
            "To": self.voice_number or self.phone_number,
            "Transcript": transcript,
            "Context": json.dumps(context or {"intent": "talk to an agent"}),
        }
        return self.post_signed(self.webhook_base.rstrip("/") + "/channels/twilio/voice/handoff/", params)

    def _page(self, request: BaseHTTPRequestHandler) -> None:
        rows = "".join(
            f"<li><code>{html.escape(m['to'] or '')}</code>: {html.escape(m['body'] or '')}</li>"
            for m in reversed(self.messages)
        )
        page = (
            "<!doctype html><title>SMS stand-in</title><h1>SMS stand-in provider</h1>"
            f"<p>Texts to {html.escape(self.phone_number)} go to {html.escape(self.webhook_base)}.</p>"
            '<form method="post" action="/_standin/inbound"><input name="From" value="+14155550101"> '
            '<input name="Body" placeholder="Your text" size="40"> <button>Send as the customer</button></form>'
            + (
                f"<p>Calls to {html.escape(self.voice_number)}: the voice bot hands them over with a transcript.</p>"
                '<form method="post" action="/_standin/call"><input name="From" value="+14155550101"> '
                '<input name="Transcript" placeholder="What the caller told the bot" size="40"> '
                "<button>Hand a call over</button></form>"
                if self.voice_number
                else ""
            )
            + f"<h2>Replies sent</h2><ul>{rows}</ul>"
        )
        self._answer(request, 200, page.encode(), headers={"Content-Type": "text/html; charset=utf-8"})

    @staticmethod
    def _json(request: BaseHTTPRequestHandler, status: int, payload: dict) -> None:
        StandInProvider._answer(request, status, json.dumps(payload).encode(), {"Content-Type": "application/json"})

    @staticmethod
    def _answer(request: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> None:
        request.send_response(status)
        for name, value in headers.items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)
