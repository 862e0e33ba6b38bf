"""Provider clients by id: one pooled client per configured provider, built on first use.

Clients are built lazily because each ``httpx.AsyncClient`` creates an SSL context (tens of ms)
and most configs list providers that a given run never calls. The gateway adds the simulator
itself (:meth:`ProviderRegistry.add_simulator`): it is not in ``models.providers`` (the id is
reserved), but it gets the section's first-byte and idle limits like every provider, so the
simulator's own ``timeout`` fault cannot hang a turn either.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.config.schema.providers import ModelDefinition, ModelsConfig, ProviderConfig
from core.providers.anthropic import AnthropicClient
from core.providers.base import ProviderClient, Publish
from core.providers.openai_compat import OpenAICompatClient

__all__ = ["ProviderRegistry", "build_client"]

_CLIENTS: dict[str, type[ProviderClient]] = {
    AnthropicClient.api: AnthropicClient,
    OpenAICompatClient.api: OpenAICompatClient,
}


def build_client(provider_id: str, cfg: ProviderConfig, *, publish: Publish | None = None,
                 defaults: ModelsConfig | None = None) -> ProviderClient:
    """A client for ``cfg.api`` with the provider's URL, key (``${VAR}`` already resolved by the
    loader) and timeouts; a first-byte or idle limit the provider leaves unset comes from
    ``defaults`` (the ``models`` section; None: the schema's defaults)."""
    try:
        cls = _CLIENTS[cfg.api]
    except KeyError:
        raise ValueError(f"provider {provider_id!r}: unsupported api {cfg.api!r}") from None
    section = defaults if defaults is not None else ModelsConfig()
    first_byte, idle = section.stream_timeouts(cfg)
    return cls(
        provider_id, cfg.base_url, cfg.api_key,
        timeout_ms=cfg.timeout_ms, connect_timeout_ms=cfg.connect_timeout_ms,
        first_byte_timeout_ms=first_byte, idle_timeout_ms=idle, publish=publish,
    )


class ProviderRegistry:
    """One client per provider id; ``resolve("provider/model")`` is how callers pick a model.

    ``defaults`` is the ``models`` section whose first-byte and idle limits apply where a provider
    sets none (None: the schema's defaults); :meth:`for_models` builds a registry from it.
    """

    def __init__(self, providers: Mapping[str, ProviderConfig] | None = None, *,
                 publish: Publish | None = None, defaults: ModelsConfig | None = None) -> None:
        self._configs: dict[str, ProviderConfig] = dict(providers or {})
        self._clients: dict[str, ProviderClient] = {}
        self._publish = publish
        self._defaults = defaults if defaults is not None else ModelsConfig()

    @classmethod
    def for_models(cls, models: ModelsConfig, *, publish: Publish | None = None) -> ProviderRegistry:
        """The registry of a ``models`` section: its providers and its default limits."""
        return cls(models.providers, publish=publish, defaults=models)

    def __contains__(self, provider_id: object) -> bool:
        return provider_id in self._clients or provider_id in self._configs

    def ids(self) -> list[str]:
        """Every provider id known (configured or added), sorted."""
        return sorted({*self._configs, *self._clients})

    def get(self, provider_id: str) -> ProviderClient:
        """The client for ``provider_id``, built on first use. KeyError names the known ids."""
        client = self._clients.get(provider_id)
        if client is not None:
            return client
        cfg = self._configs.get(provider_id)
        if cfg is None:
            raise KeyError(f"unknown provider {provider_id!r}; known: {', '.join(self.ids()) or 'none'}")
        client = self._clients[provider_id] = build_client(provider_id, cfg, publish=self._publish,
                                                           defaults=self._defaults)
        return client

    def resolve(self, ref: str) -> tuple[ProviderClient, str, ModelDefinition | None]:
        """``"provider/model"`` → (client, model id, the model's config entry or None). The model
        id is everything after the first ``/`` (OpenRouter ids contain slashes)."""
        provider_id, slash, model_id = ref.partition("/")
        if not slash or not model_id:
            raise ValueError(f"model ref {ref!r} is not of the form provider/model")
        client = self.get(provider_id)
        cfg = self._configs.get(provider_id)
        return client, model_id, cfg.model(model_id) if cfg is not None else None

    def add(self, provider_id: str, client: ProviderClient) -> ProviderClient | None:
        """Register a ready client (the simulator). Returns the client it replaced, which the
        caller should ``aclose()``."""
        previous = self._clients.get(provider_id)
        self._clients[provider_id] = client
        return previous if previous is not client else None

    def add_simulator(self, provider_id: str, base_url: str) -> ProviderClient | None:
        """Register the built-in simulator at ``base_url`` (it speaks Anthropic Messages, needs no
        key, and takes the section's first-byte and idle limits). Returns the replaced client,
        as :meth:`add` does."""
        first_byte, idle = self._defaults.stream_timeouts(None)
        client = AnthropicClient(provider_id, base_url, None, first_byte_timeout_ms=first_byte,
                                 idle_timeout_ms=idle, publish=self._publish)
        return self.add(provider_id, client)

    async def aclose(self) -> None:
        """Close every client built or added."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
