"""The Telegram front end: `newsqa telegram`.

app.py       the python-telegram-bot Application: thin handlers (parse, call, render, reply)
services.py  what the handlers call, in worker threads: answering, ingesting, the overview
render.py    answers as Telegram HTML, split into messages Telegram accepts (pure)
access.py    allowlists, admins and the per-user rate limit (pure)
logs.py      logging that never shows the bot token
command.py   the CLI entry point
"""
