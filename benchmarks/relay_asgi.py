"""The baseline: a bare Channels relay through the same Redis, with no database and no logic.

A socket at ``/relay/<room>/`` joins the room's group; whatever text it sends is sent to the
group as is. The chat benchmark runs the same traffic through it and through the product, so
their ratio is the product's own overhead.

It runs on channels_redis's pub/sub layer (``RedisPubSubChannelLayer``), whatever the product's
settings say: the core layer drops messages under load (its per-channel capacity and expiry), and
a baseline that loses half its messages is not one. ``RELAY_LAYER=core`` runs it on the product's
own layer instead, to measure the two layers on the same traffic (chat_latency --relay-layer core).
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omnichannel.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

# Read when the layer is first used (channels.layers.ChannelLayerManager reads the setting then).
# RELAY_LAYER=core runs the relay on the product's own layer instead, to measure the two layers
# against each other on the same traffic (chat_latency --relay-layer core).
if os.environ.get("RELAY_LAYER", "pubsub") == "core":
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = "relay"
else:
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [os.environ["REDIS_URL"]]},
        }
    }

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
