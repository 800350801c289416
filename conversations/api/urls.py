from django.urls import path
from rest_framework.routers import SimpleRouter

from conversations.api import views

router = SimpleRouter()
router.register("conversations", views.ConversationViewSet, basename="conversation")

urlpatterns = [
    path(
        "conversations/<int:conversation_id>/messages/",
        views.ConversationMessageListApi.as_view(),
        name="conversation-messages",
    ),
    *router.urls,
]
