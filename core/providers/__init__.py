"""Model provider clients (Anthropic Messages, OpenAI-compatible Chat Completions) over httpx.

Clients never retry: the retry engine (``core.retry``) is the single retry owner. A client
raises a :class:`~core.providers.errors.ProviderError` carrying everything the engine needs to
classify the failure (status, headers, Retry-After, whether the request reached the server).
"""
