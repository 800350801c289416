from django.db import models
from django.utils.translation import gettext_lazy as _


class Scenario(models.TextChoices):
    """Why an agent is notified (NOT-1); each has a default template (NOT-6a)."""

    INCOMING_CHAT = "incoming_chat", _("Incoming chat")
    INCOMING_SMS = "incoming_sms", _("Incoming SMS")
    INCOMING_VOICE = "incoming_voice", _("Incoming voice call")
    CASE_ASSIGNMENT = "case_assignment", _("Case assignment")
    WORK_ITEM = "work_item", _("Work item assigned")
    TRANSFER = "transfer", _("Conversation transfer")
    ESCALATION = "escalation", _("Conversation escalation")
    BOT_ESCALATION = "bot_escalation", _("Escalation from a bot")
    CONSULT = "consult", _("Consult request")


# NOT-3/NOT-4: alerts carry Accept/Reject; toasts inform and vanish.
TOAST_SCENARIOS = frozenset({Scenario.WORK_ITEM, Scenario.TRANSFER, Scenario.ESCALATION, Scenario.CONSULT})
# NOT-14: a case assignment cannot be rejected.
NO_REJECT_SCENARIOS = frozenset({Scenario.CASE_ASSIGNMENT})
