from django.urls import path

from widgets.consumers import WidgetConsumer

websocket_urlpatterns = [
    path("ws/widget/<uuid:key>/", WidgetConsumer.as_asgi()),
]
