"""The baseline: a bare Channels relay through the same Redis, with no database and no logic.

A socket at ``/relay/<room>/`` joins the room's group; whatever text it sends is sent to the
group as is. The chat benchmark runs the same traffic through it and through the product, so
their ratio is the product's own overhead.

It runs on the product's channel layer (``core.channel_layer.RedisPubSubLayer``: Redis pub/sub,
``group_add`` confirmed before the socket is accepted), with a prefix of its own. ``RELAY_LAYER``
tries another on the same traffic (chat_latency --relay-layer): ``channels-pubsub`` is
channels_redis's pub/sub layer as it ships, ``core`` its core layer (lists and sorted sets, which
drops messages under load: not a baseline, a comparison).
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omnichannel.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

RELAY_LAYERS = {
    "product": "core.channel_layer.RedisPubSubLayer",
    "channels-pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
    "core": "channels_redis.core.RedisChannelLayer",
}
# Read when the layer is first used (channels.layers.ChannelLayerManager reads the setting then).
relay_layer = os.environ.get("RELAY_LAYER", "product")
prefix = f"{settings.CHANNEL_LAYERS['default']['CONFIG']['prefix']}-relay"
if relay_layer == "product":
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = prefix
else:
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": RELAY_LAYERS[relay_layer],
            "CONFIG": {"hosts": [os.environ["REDIS_URL"]], "prefix": prefix},
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
