"""Breed Bot's web side: the Telegram webhook, the upload form and the JSON API on FastAPI.

``webhook.main:app`` is the ASGI app (``make run``); ``webhook.main:handler`` is the AWS Lambda
entry point (Mangum). ``python -m webhook set|delete|info`` manages the Telegram webhook.
"""
