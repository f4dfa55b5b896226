from django.apps import AppConfig


class ChannelsAppConfig(AppConfig):
    name = "channels_app"

    def ready(self):
        from channels_app.messaging import webhooks

        webhooks.watch_connections()
