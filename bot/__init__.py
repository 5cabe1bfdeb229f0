"""Answering questions and talking to people: the answer pipeline, the CLI, the REPL, Telegram."""
