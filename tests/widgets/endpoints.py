"""Calling the widget's public endpoints (/widget/<key>/<endpoint>/) as the customer's page does."""

import json

ORIGIN = "https://shop.example.com"


def call(client, widget, endpoint, body=None, *, origin=ORIGIN, method="post", content_type="application/json", **h):
    """A request to the widget's ``endpoint`` from a page of ``origin`` (none when ``None``); a POST
    sends ``body`` as JSON unless it is already a string or bytes."""
    url = f"/widget/{widget.public_key}/{endpoint}/"
    if origin is not None:
        h["HTTP_ORIGIN"] = origin
    if method == "get":
        return client.get(url, body or {}, **h)
    if method == "options":
        return client.options(url, **h)
    data = body if isinstance(body, str | bytes) else json.dumps(body or {})
    return client.post(url, data=data, content_type=content_type, **h)
