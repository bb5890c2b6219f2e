"""Telegram update handlers, one module per concern; ``bot.application`` registers them."""
