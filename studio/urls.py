from django.urls import path

from studio import views

app_name = "studio"

urlpatterns = [
    path("bots/<int:bot_id>/builder/", views.builder, name="builder"),
    path("bots/<int:bot_id>/validate", views.validate, name="validate"),
    path("bots/<int:bot_id>/console/turn", views.console_turn, name="console_turn"),
    path("bots/<int:bot_id>/console/speech", views.console_speech, name="console_speech"),
    path("bots/<int:bot_id>/test-cases", views.test_cases, name="test_cases"),
    path("bots/<int:bot_id>/test-cases/run", views.run_tests, name="run_tests"),
]
