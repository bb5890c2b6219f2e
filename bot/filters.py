"""Message filters that need the bot's own identity (known only after ``getMe``)."""

from __future__ import annotations

import re

from telegram import Message, MessageEntity
from telegram.ext.filters import MessageFilter

_COMMAND_RE = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,64}))?(?=\s|$)")


def addressed_command(text: str | None, bot_username: str | None) -> str | None:
    """``'/breed@ThisBot please'`` -> ``'breed'``; None when there is no command or it is
    addressed to another bot."""
    if not text:
        return None
    match = _COMMAND_RE.match(text)
    if not match:
        return None
    target = match.group(2)
    if target and (not bot_username or target.casefold() != bot_username.casefold()):
        return None
    return match.group(1).casefold()


def mentions_bot(message: Message) -> bool:
    """``@this_bot`` (or a text mention of the bot) in the text or the caption."""
    bot = message.get_bot()
    username = (bot.username or "").casefold()
    entity_types = [MessageEntity.MENTION, MessageEntity.TEXT_MENTION]
    found = {**message.parse_entities(entity_types), **message.parse_caption_entities(entity_types)}
    for entity, text in found.items():
        if entity.type == MessageEntity.MENTION and username and text.casefold() == f"@{username}":
            return True
        if entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot.id:
            return True
    return False


def is_reply_to_bot(message: Message) -> bool:
    replied = message.reply_to_message
    return bool(replied and replied.from_user and replied.from_user.id == message.get_bot().id)


class CaptionCommand(MessageFilter):
    """A caption starting with ``/<command>`` or ``/<command>@this_bot``.

    ``CommandHandler`` only reads ``message.text``, so a photo captioned ``/breed`` needs this.
    """

    __slots__ = ("command",)

    def __init__(self, command: str) -> None:
        super().__init__(name=f"CaptionCommand({command})")
        self.command = command.casefold()

    def filter(self, message: Message) -> bool:
        return addressed_command(message.caption, message.get_bot().username) == self.command


class MentionsBot(MessageFilter):
    __slots__ = ()

    def filter(self, message: Message) -> bool:
        return mentions_bot(message)


class ReplyToBot(MessageFilter):
    __slots__ = ()

    def filter(self, message: Message) -> bool:
        return is_reply_to_bot(message)


MENTIONS_BOT = MentionsBot(name="MentionsBot")
REPLY_TO_BOT = ReplyToBot(name="ReplyToBot")
