from django.urls import path

from voice import views

app_name = "voice"

urlpatterns = [
    path("twilio/incoming/", views.incoming, name="incoming"),
    path("twilio/status/", views.status, name="status"),
    path("twilio/whisper/<int:call_id>/", views.whisper, name="whisper"),
    path("twilio/dial-done/<int:call_id>/", views.dial_done, name="dial_done"),
]
