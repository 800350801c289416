from conversations.routing import websocket_urlpatterns as conversation_patterns
from widgets.routing import websocket_urlpatterns as widget_patterns

websocket_urlpatterns = [*conversation_patterns, *widget_patterns]
