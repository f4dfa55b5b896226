from django.urls import path

from inbox import views

app_name = "inbox"
urlpatterns = [
    path("", views.page, name="page"),
    path("login/", views.InboxLogin.as_view(), name="login"),
    path("presence", views.presence, name="presence"),
    path("handoffs/<int:handoff_id>/", views.handoff_detail, name="handoff"),
    path("handoffs/<int:handoff_id>/claim", views.claim, name="claim"),
    path("handoffs/<int:handoff_id>/reply", views.reply, name="reply"),
    path("handoffs/<int:handoff_id>/note", views.note, name="note"),
    path("handoffs/<int:handoff_id>/transfer", views.transfer, name="transfer"),
    path("handoffs/<int:handoff_id>/resolve", views.resolve, name="resolve"),
    path("handoffs/<int:handoff_id>/return", views.return_to_bot, name="return"),
]
