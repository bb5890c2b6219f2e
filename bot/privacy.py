"""How a Telegram user appears in the store: a keyed hash, never the id, the name or a photo.

``user_hash`` is HMAC-SHA256 of the user id under ``BOT_USER_HASH_KEY``: the same user always
gets the same hash (so ``/forget`` and the rate limits work across containers), and without the
key nobody can tell which user a hash belongs to. Without a key a fixed per-bot salt is used:
still no id in the store, but someone holding the table could test a known id against it, so
production sets the key (template.yaml reads it from Secrets Manager).

``button_tag`` is a short, differently salted hash that goes into callback data, so a button
pressed by someone else in a group is recognised without a store round trip.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

HASH_LENGTH = 32  # hex characters (128 bits)
TAG_LENGTH = 8  # hex characters in callback data (32 bits: only to tell group members apart)


@dataclass(frozen=True)
class UserHasher:
    key: bytes

    @classmethod
    def for_bot(cls, secret: str | None, bot_id: str) -> UserHasher:
        """From ``BOT_USER_HASH_KEY``, or the public fallback salt of this bot."""
        if secret:
            return cls(hashlib.sha256(b"breedbot-user-key:" + secret.encode()).digest())
        return cls(hashlib.sha256(f"breedbot-public-salt:{bot_id}".encode()).digest())

    def _digest(self, purpose: str, user_id: int) -> str:
        message = f"{purpose}:{int(user_id)}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def user_hash(self, user_id: int) -> str:
        return self._digest("user", user_id)[:HASH_LENGTH]

    def button_tag(self, user_id: int) -> str:
        return self._digest("button", user_id)[:TAG_LENGTH]
