"""Sending webhooks over HTTP: resolve the host, refuse internal addresses, POST, read a bit.

The address checked is the address connected to: the host is resolved once, every address
it resolves to is checked, and the request goes to the first one by IP (the `Host`
header and TLS server name stay the host's), so a DNS answer cannot change between the
check and the connection. Redirects are never followed. Each request has one deadline
for everything (resolution, connection, sending, the answer), so a receiver that trickles
bytes cannot hold a worker longer than the timeout.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from recur.domain.webhooks import Address, Target, address_refusal, literal_address, parse_url

Resolver = Callable[[str, int], list[str]]

USER_AGENT = "Recur/1.0 (+webhooks)"
EXCERPT_BYTES = 1000
# Resolution runs in threads of its own: a stuck DNS query must not keep `asyncio.run`
# waiting at exit (it waits for the default executor, not for this one).
_RESOLVERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="recur-dns")


class TargetError(Exception):
    """The URL's host cannot be used: unresolvable, or an address webhooks may not reach."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses from the operating system's resolver."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def resolve_target(target: Target, *, allow_private: bool, resolver: Resolver) -> list[Address]:
    """Every address the target's host resolves to, all of them allowed; else TargetError."""
    literal = literal_address(target.host)
    if literal is not None:
        addresses: list[Address] = [literal]
    else:
        try:
            raw = resolver(target.host, target.port)
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in raw]
        except (OSError, UnicodeError, ValueError):
            addresses = []
        if not addresses:
            raise TargetError(f"the host name {target.host} could not be resolved")
    if not allow_private:
        for address in addresses:
            reason = address_refusal(address)
            if reason is not None:
                shown = "" if literal is not None else f"{target.host} resolves to "
                raise TargetError(f"{shown}{reason}, which webhooks may not reach")
    return addresses


@dataclass(frozen=True, slots=True)
class Request:
    """One webhook to POST."""

    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of a request: a status, or an error before any status came."""

    status: int | None
    error: str | None
    duration_ms: int
    excerpt: str | None = None


@dataclass
class WebhookSender:
    """POSTs webhooks concurrently, each within `timeout` seconds all told."""

    allow_private: bool = False
    resolver: Resolver = system_resolver
    timeout: float = 15.0

    def send_all(self, requests: Sequence[Request]) -> list[Outcome]:
        """Send every request (concurrently); one outcome each, in order."""
        if not requests:
            return []
        return asyncio.run(self._send_all(requests))

    async def _send_all(self, requests: Sequence[Request]) -> list[Outcome]:
        clients: dict[str, httpx.AsyncClient] = {}
        try:
            return list(await asyncio.gather(*(self._send(clients, r) for r in requests)))
        finally:
            for client in clients.values():
                await client.aclose()

    async def _send(self, clients: dict[str, httpx.AsyncClient], request: Request) -> Outcome:
        started = time.monotonic()
        try:
            return await asyncio.wait_for(self._post(clients, request, started), self.timeout)
        except TimeoutError:
            return Outcome(None, f"timed out after {self.timeout:g} s", _since(started))

    async def _post(
        self, clients: dict[str, httpx.AsyncClient], request: Request, started: float
    ) -> Outcome:
        try:
            target = parse_url(request.url, livemode=False)
            loop = asyncio.get_running_loop()
            addresses = await loop.run_in_executor(
                _RESOLVERS,
                lambda: resolve_target(
                    target, allow_private=self.allow_private, resolver=self.resolver
                ),
            )
        except TargetError as error:
            return Outcome(None, f"refused: {error.message}", _since(started))
        except Exception as error:  # a URL that stopped parsing: stored before a rule changed
            return Outcome(None, f"invalid URL: {error}", _since(started))
        url = httpx.URL(request.url).copy_with(host=str(addresses[0]))
        headers = {
            **request.headers,
            "Host": _host_header(target),
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
        }
        try:
            client = clients.get(target.host) or clients.setdefault(target.host, self._new_client())
            async with client.stream(
                "POST",
                url,
                content=request.body,
                headers=headers,
                extensions={"sni_hostname": target.host},
            ) as response:
                excerpt = b""
                async for chunk in response.aiter_bytes():
                    excerpt += chunk
                    if len(excerpt) >= EXCERPT_BYTES:
                        break
            # NUL is the one character PostgreSQL's text refuses.
            text = excerpt[:EXCERPT_BYTES].decode("utf-8", "replace").replace("\x00", "\ufffd")
            return Outcome(response.status_code, None, _since(started), text)
        except httpx.HTTPError as error:
            return Outcome(None, _describe(error), _since(started))

    def _new_client(self) -> httpx.AsyncClient:
        # One pool per host name and batch: a kept-alive TLS connection was verified for
        # its name, so two names served from one address must not share it.
        return httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout),
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: the checked address is used
            verify=_tls(),
        )


@functools.cache
def _tls() -> ssl.SSLContext:
    """The TLS settings (system CAs, hostname checks), loaded once per process, not per batch."""
    return ssl.create_default_context()


def _host_header(target: Target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    default = 443 if target.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"


def _describe(error: httpx.HTTPError) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    if isinstance(error, httpx.ConnectError):
        return f"connection failed: {error}" if str(error) else "connection failed"
    return f"{type(error).__name__}: {error}"[:500]


def _since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
