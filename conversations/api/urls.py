from django.urls import path
from rest_framework.routers import SimpleRouter

from conversations.api import bot, views

router = SimpleRouter()
router.register("conversations", views.ConversationViewSet, basename="conversation")

urlpatterns = [
    path("bot/conversations/", bot.BotConversationStartApi.as_view(), name="bot-conversation-start"),
    path(
        "bot/conversations/<int:conversation_id>/messages/",
        bot.BotMessageApi.as_view(),
        name="bot-conversation-messages",
    ),
    path(
        "bot/conversations/<int:conversation_id>/escalate/",
        bot.BotEscalateApi.as_view(),
        name="bot-conversation-escalate",
    ),
    path(
        "conversations/<int:conversation_id>/messages/",
        views.ConversationMessageListApi.as_view(),
        name="conversation-messages",
    ),
    *router.urls,
]
