"""Serve the stand-in SMS / voice provider the demo's phone channels point at (SMS-1, VOI-1).

``manage.py demo_data`` creates the channels *Demo SMS (stand-in)* and *Demo voice (stand-in)*
for the stand-in on 127.0.0.1:8010 and this product on 127.0.0.1:8000; with other addresses,
``--port`` / ``--server`` move the two channels to them.
"""

import time

from django.core.management.base import BaseCommand, CommandError

from conversations.channels.standin import DEMO_PORT, DEMO_SERVER, DEMO_SMS_NUMBER, DEMO_VOICE_NUMBER, demo_standin


class Command(BaseCommand):
    help = "Serve a Twilio-compatible stand-in SMS and voice provider on 127.0.0.1 for the demo's phone channels."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=DEMO_PORT)
        parser.add_argument("--server", default=DEMO_SERVER, help="This product's base URL, as the stand-in calls it.")

    def handle(self, *args, port, server, **options):
        try:
            provider = demo_standin(port=port, server=server)
        except LookupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Stand-in provider on {provider.url}/ — text {DEMO_SMS_NUMBER} or hand over a call to "
            f"{DEMO_VOICE_NUMBER} from its page; replies show there. Ctrl-C stops it."
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            provider.stop()
