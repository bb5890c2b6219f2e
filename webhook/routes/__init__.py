"""One router per concern: the Telegram webhook, the upload form, the JSON API, health."""
