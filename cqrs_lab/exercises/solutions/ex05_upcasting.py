"""Worked solution of exercise 5: the OrderItemAdded v1 -> v2 upcaster."""

from typing import Any


def upcast_item_added_v1(data: dict[str, Any]) -> dict[str, Any]:
    """OrderItemAdded v1 data (price, a float) as v2 data (price_cents, an int)."""
    v2 = {name: value for name, value in data.items() if name != "price"}
    # 19.99 * 100 is 1998.9999999999998: round to the nearest cent, never truncate
    v2["price_cents"] = round(data["price"] * 100)
    return v2
