"""The baseline: a bare Channels relay through the same Redis, with no database and no logic.

A socket at ``/relay/<room>/`` joins the room's group; whatever text it sends is sent to the
group as is. The chat benchmark runs the same traffic through it and through the product, so
their ratio is the product's own overhead.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omnichannel.settings")

import django  # noqa: E402

django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402


class RelayConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.room = f"relay.{self.scope['url_route']['kwargs']['room']}"
        await self.channel_layer.group_add(self.room, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.room, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        await self.channel_layer.group_send(self.room, {"type": "relay.message", "text": text_data})

    async def relay_message(self, event):
        await self.send(text_data=event["text"])


application = ProtocolTypeRouter({"websocket": URLRouter([path("relay/<int:room>/", RelayConsumer.as_asgi())])})
