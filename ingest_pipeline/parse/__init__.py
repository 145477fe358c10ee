"""Bytes to pages: local extraction (`extraction/`), the parser protocols, LlamaParse jobs, their tracking and
webhooks, the stage, and the resources."""
