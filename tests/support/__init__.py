"""Test helpers shared by the bot and webhook tests."""
