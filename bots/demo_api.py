"""A pretend shop API the demo bot's order-status tool calls, so the demo works offline."""

from django.http import JsonResponse
from django.views.decorators.http import require_GET

ORDERS = {
    "1001": {"order_id": "1001", "status": "shipped", "carrier": "UPS", "eta": "in 2 days", "items": 2},
    "1002": {"order_id": "1002", "status": "processing", "carrier": "", "eta": "ships tomorrow", "items": 1},
    "1003": {"order_id": "1003", "status": "delivered", "carrier": "DHL", "eta": "delivered on Monday", "items": 3},
    "1004": {"order_id": "1004", "status": "cancelled", "carrier": "", "eta": "", "items": 1},
}


@require_GET
def order_status(request, order_id: str):
    order = ORDERS.get(order_id.strip().lstrip("#"))
    if order is None:
        return JsonResponse({"error": f"No order {order_id} found. Demo orders are 1001 to 1004."}, status=404)
    return JsonResponse(order)
