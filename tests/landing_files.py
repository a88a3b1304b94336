"""Writing small hand-made landing files in tests."""

from __future__ import annotations

import gzip
import json
from pathlib import Path


def write_lines(root: Path, source: str, dt: str, name: str, lines: list) -> Path:
    """Write `lines` (dicts become JSON, str and bytes are written as they are) to
    `<root>/<source>/dt=<dt>/<name>`, gzip-compressed when the name ends in .gz."""
    folder = root / source / f"dt={dt}"
    folder.mkdir(parents=True, exist_ok=True)
    parts = []
    for line in lines:
        if isinstance(line, dict):
            line = json.dumps(line, ensure_ascii=False)
        parts.append(line if isinstance(line, bytes) else line.encode("utf-8"))
    data = b"\n".join(parts) + b"\n"
    path = folder / name
    path.write_bytes(gzip.compress(data, mtime=0) if name.endswith(".gz") else data)
    return path


def send(message_id: str, user_id: str = "u1", campaign_id: str = "cmp_cart_es",
         sent_at: str = "2024-06-25T11:58:05.514Z", **extra) -> dict:
    return {"message_id": message_id, "campaign_id": campaign_id, "user_id": user_id,
            "phone": "+5511999990000", "order_form_id": "ede846222cd44046ba6c638442c3505a",
            "template": "cart_reminder_v2", "language": "es", "sent_at": sent_at,
            "checkout_items": [{"id": "1234", "name": "Camiseta Azul", "quantity": 2, "price": 4990}], **extra}


def webhook(statuses: list[dict] = (), messages: list[dict] = ()) -> dict:
    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "1"}}
    if statuses:
        value["statuses"] = list(statuses)
    if messages:
        value["messages"] = list(messages)
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "waba1", "changes": [{"field": "messages", "value": value}]}]}


def status(message_id: str, state: str, timestamp: int | str) -> dict:
    return {"id": message_id, "status": state, "timestamp": str(timestamp), "recipient_id": "5511999990000"}
