from django.urls import path

from widgets.consumers import WidgetConsumer
from widgets.visit_consumer import VisitConsumer

websocket_urlpatterns = [
    path("ws/widget/<uuid:key>/", WidgetConsumer.as_asgi()),
    path("ws/widget/<uuid:key>/visit/", VisitConsumer.as_asgi()),
]
