"""The outside systems `emit` tells, each registered under a stable type string."""

from integrations import services
from integrations.events import subscriber

subscriber("webhook")(services.webhook_deliveries_create)
subscriber("zendesk")(services.zendesk_queue)
