"""Run the stand-in SMS provider and point a demo SMS channel at it (the demo's SMS, end to end)."""

import time

from django.core.management.base import BaseCommand, CommandError

from conversations.channels.standin import StandInProvider
from conversations.models import PhoneChannel
from routing.models import Workstream

ACCOUNT = "AC" + "0" * 32
TOKEN = "demo-stand-in-token"  # a demo secret, public on purpose: the stand-in runs on 127.0.0.1 only
NUMBER = "+14155550100"


class Command(BaseCommand):
    help = "Serve a Twilio-compatible stand-in SMS provider on 127.0.0.1 and connect the demo SMS channel to it."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8010)
        parser.add_argument("--server", default="http://127.0.0.1:8000", help="This product's base URL.")
        parser.add_argument("--workstream", default="SMS support")

    def handle(self, *args, port, server, workstream, **options):
        found = Workstream.objects.filter(name=workstream, channel="sms").first()
        if found is None:
            raise CommandError(f"No SMS workstream named {workstream!r}: load the demo data first.")
        provider = StandInProvider(account_sid=ACCOUNT, auth_token=TOKEN, phone_number=NUMBER, webhook_base=server)
        provider.start(port)
        PhoneChannel.objects.update_or_create(
            name="Demo SMS (stand-in)",
            defaults={
                "kind": PhoneChannel.Kind.SMS,
                "account_sid": ACCOUNT,
                "auth_token": TOKEN,
                "phone_number": NUMBER,
                "workstream": found,
                "public_base_url": server,
                "api_base_url": provider.url,
            },
        )
        self.stdout.write(f"Stand-in SMS provider on {provider.url}/ — text {NUMBER} from its page; Ctrl-C stops it.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            provider.stop()
