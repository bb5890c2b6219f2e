"""The one place that builds the bot: polling mode and the webhook share it.

Webhook use (no updater, one update at a time, all work done inside ``process_update``)::

    app = build_application(settings, updater=False)
    await app.initialize()                      # once per process: getMe
    await register_commands(app.bot)            # once per deployment, not per request
    update = Update.de_json(payload, app.bot)
    await app.process_update(update)            # runs every handler inline, then returns
    ...
    await app.shutdown()

Every handler is blocking (``block=True``, ptb's default) and starts no task that outlives
it, so ``process_update`` returns only when the reply has been sent. Polling mode gets its
concurrency from ``concurrent_updates`` instead (each update is processed in its own task).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    Update,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.config import BotSettings
from bot.dedup import UpdateClaims, bot_id_of, install_dedup
from bot.filters import MENTIONS_BOT, REPLY_TO_BOT, CaptionCommand
from bot.handlers import commands, feedback, other, photos
from bot.handlers.errors import on_error
from bot.logs import install_secret_redaction, install_token_redaction
from bot.privacy import UserHasher
from bot.retry import RetryPolicy, call_with_retries
from bot.safe_updates import GuardedUpdatesRequest
from bot.services import SERVICES_KEY, Services
from bot.store import Store, StoreSettings, process_store
from classifier import Classifier, get_classifier

log = logging.getLogger(__name__)

# The update types the bot handles (use it for setWebhook's allowed_updates too): messages,
# and presses of the feedback buttons.
ALLOWED_UPDATES: tuple[str, ...] = (Update.MESSAGE, Update.CALLBACK_QUERY)

PRIVATE_COMMANDS = (
    BotCommand("start", "What this bot does"),
    BotCommand("breed", "Reply to a photo with /breed to get its breed"),
    BotCommand("breeds", "List the breeds I know"),
    BotCommand("about", "The model, its accuracy, and privacy"),
    BotCommand("forget", "Delete the feedback and answers kept about you"),
    BotCommand("help", "How to use me"),
)
GROUP_COMMANDS = (
    BotCommand("breed", "Reply to a photo with /breed to get its breed"),
    BotCommand("breeds", "List the breeds I know"),
    BotCommand("about", "The model, its accuracy, and privacy"),
    BotCommand("forget", "Delete the feedback and answers kept about you"),
    BotCommand("help", "How to use me here"),
)

_NEW = filters.UpdateType.MESSAGE  # edited messages are not answered again
_MEDIA = (
    filters.PHOTO
    | filters.Document.ALL
    | filters.Sticker.ALL
    | filters.VIDEO
    | filters.VIDEO_NOTE
    | filters.VOICE
    | filters.AUDIO
    | filters.ANIMATION
)
_IMAGE_CARRIERS = filters.PHOTO | filters.Document.ALL


def build_application(
    settings: BotSettings | None = None,
    *,
    updater: bool = True,
    classifier_factory: Callable[[], Classifier] = get_classifier,
    store: Store | None = None,
    store_settings: StoreSettings | None = None,
) -> Application:
    """Build the ptb Application with every handler. ``updater=False`` for the webhook.

    ``store``: default, this process's store for ``BREEDBOT_STORE`` (``bot.store``).
    """
    settings = settings or BotSettings()
    token = settings.require_token()
    install_token_redaction(token)
    key = settings.user_hash_key.get_secret_value() if settings.user_hash_key else None
    install_secret_redaction(key)
    store_settings = store_settings or StoreSettings()
    store = store or process_store(settings.state_dir, store_settings)

    def request(kind: type[HTTPXRequest] = HTTPXRequest) -> HTTPXRequest:
        return kind(
            connection_pool_size=max(8, settings.concurrent_updates * 2),
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            write_timeout=settings.write_timeout,
            pool_timeout=settings.pool_timeout,
        )

    builder = (
        Application.builder()
        .token(token)
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .request(request())
        .get_updates_request(request(GuardedUpdatesRequest))
        .concurrent_updates(settings.concurrent_updates if updater else 1)
        .job_queue(None)
    )
    if not updater:
        builder = builder.updater(None)
    app = builder.build()
    app.bot_data[SERVICES_KEY] = Services(
        settings=settings,
        retry=RetryPolicy.from_settings(settings),
        classifier_factory=classifier_factory,
        store=store,
        store_settings=store_settings,
        hasher=UserHasher.for_bot(key, bot_id_of(token)),
    )
    add_handlers(app)
    if updater:
        # Polling: Telegram re-sends updates a stopped bot fetched but did not confirm. (The
        # webhook route claims each update itself, see webhook.routes.telegram.)
        claims = UpdateClaims(store, bot_id_of(token), lease_seconds=store_settings.claim_seconds)
        install_dedup(app, claims)
    return app


def add_handlers(app: Application) -> None:
    """Order matters: in one group, the first matching handler wins."""
    app.add_handler(CommandHandler("start", commands.on_start, filters=_NEW))
    app.add_handler(CommandHandler("help", commands.on_help, filters=_NEW))
    app.add_handler(CommandHandler("breeds", commands.on_breeds, filters=_NEW))
    app.add_handler(CommandHandler("about", commands.on_about, filters=_NEW))
    app.add_handler(CommandHandler("breed", commands.on_breed, filters=_NEW))
    app.add_handler(CommandHandler("forget", feedback.on_forget, filters=_NEW))
    app.add_handler(CommandHandler("stats", feedback.on_stats, filters=_NEW))
    # Presses of the feedback buttons (and any other callback data, answered politely).
    app.add_handler(CallbackQueryHandler(feedback.on_feedback_button))
    # CommandHandler ignores captions: a photo or file captioned /breed (any chat).
    app.add_handler(MessageHandler(_NEW & CaptionCommand("breed"), photos.on_media))
    # Private chats: every photo and file is answered; other media get an explanation.
    app.add_handler(MessageHandler(_NEW & filters.ChatType.PRIVATE & _MEDIA, photos.on_media))
    # Groups: only photos and files that mention the bot or reply to it.
    app.add_handler(
        MessageHandler(
            _NEW & filters.ChatType.GROUPS & _IMAGE_CARRIERS & (MENTIONS_BOT | REPLY_TO_BOT),
            photos.on_media,
        )
    )
    app.add_handler(
        MessageHandler(
            _NEW & filters.ChatType.GROUPS & filters.TEXT & MENTIONS_BOT, photos.on_group_mention
        )
    )
    # Private text and unknown commands: a brief help.
    app.add_handler(
        MessageHandler(_NEW & filters.ChatType.PRIVATE & filters.TEXT, other.on_private_text)
    )
    app.add_error_handler(on_error)


async def register_commands(bot: Bot, retry: RetryPolicy | None = None) -> None:
    """``setMyCommands`` for private chats and for groups. Call once at start-up (polling) or
    once per deployment (webhook), not per request. Raises TelegramError after retries."""
    retry = retry or RetryPolicy()
    for scope, bot_commands in (
        (BotCommandScopeAllPrivateChats(), PRIVATE_COMMANDS),
        (BotCommandScopeAllGroupChats(), GROUP_COMMANDS),
    ):
        await call_with_retries(
            "setMyCommands",
            lambda scope=scope, bot_commands=bot_commands: bot.set_my_commands(
                bot_commands, scope=scope
            ),
            retry,
            idempotent=True,
        )
