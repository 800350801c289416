from django.urls import path

from conversations.channels import views

urlpatterns = [
    path("twilio/sms/inbound/", views.twilio_sms_inbound, name="sms_inbound"),
    path("twilio/sms/status/<uuid:outbound_id>/", views.twilio_sms_status, name="sms_status_callback"),
    path("twilio/voice/handoff/", views.twilio_voice_handoff, name="voice_handoff"),
]
