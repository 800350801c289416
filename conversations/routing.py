from django.urls import path

from conversations.consumers import WorkspaceConsumer
from conversations.supervisor import SupervisorConsumer

websocket_urlpatterns = [
    path("ws/workspace/", WorkspaceConsumer.as_asgi()),
    path("ws/supervisor/", SupervisorConsumer.as_asgi()),
]
