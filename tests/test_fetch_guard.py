"""The private-network guard: every form that reaches a non-public address is refused, as a
literal host, as a name's DNS answer, and as a redirect target; public addresses pass."""

import asyncio
import socket

import pytest

from monitor.demo.servers import free_port
from monitor.fetch import BlockedError, Fetcher, FetchSettings, guard
from monitor.fetch.guard import AmbiguousHostError, GuardedResolver, PrivateAddressError, check_host, is_public

GUARDED = FetchSettings(respect_robots=False)

# (IPv6 form, the IPv4 address it reaches)
EMBEDDING = [
    ("::ffff:127.0.0.1", "127.0.0.1"),  # IPv4-mapped
    ("::ffff:a9fe:a9fe", "169.254.169.254"),  # IPv4-mapped, hex
    ("::127.0.0.1", "127.0.0.1"),  # IPv4-compatible (deprecated)
    ("::a00:1", "10.0.0.1"),  # IPv4-compatible, hex
    ("64:ff9b::a9fe:a9fe", "169.254.169.254"),  # NAT64 of the cloud metadata address
    ("64:ff9b::7f00:1", "127.0.0.1"),  # NAT64 of loopback
    ("2002:7f00:1::", "127.0.0.1"),  # 6to4
    ("2002:a9fe:a9fe::1", "169.254.169.254"),  # 6to4
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "127.0.0.1"),  # Teredo, client 127.0.0.1 (obfuscated)
]


@pytest.mark.parametrize(("address", "reaches"), EMBEDDING)
def test_ipv6_forms_that_embed_a_private_ipv4_are_not_public(address, reaches):
    assert not is_public(address)
    with pytest.raises(PrivateAddressError, match=f"it reaches .*{reaches}"):
        check_host(address)


@pytest.mark.parametrize("address", ["::1", "fe80::1", "fe80::1%lo", "fd00::1", "fc00::5", "::", "ff02::1",
                                     "64:ff9b:1::a00:1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "100.64.0.1",
                                     "169.254.169.254", "0.0.0.0", "224.0.0.1", "240.0.0.1", "255.255.255.255"])
def test_other_non_public_addresses(address):
    assert not is_public(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::1111", "::ffff:93.184.215.14",
                                     "64:ff9b::5db8:d70e", "2002:5db8:d70e::1"])
def test_public_addresses_pass_in_every_form(address):
    # NAT64 and 6to4 of a public address are how IPv6-only networks reach IPv4 sites.
    assert is_public(address)
    check_host(address)


@pytest.mark.parametrize(("host", "means"), [("2130706433", "127.0.0.1"), ("0177.0.0.1", "127.0.0.1"),
                                              ("0x7f.0.0.1", "127.0.0.1"), ("0x7f000001", "127.0.0.1"),
                                              ("127.1", "127.0.0.1"), ("017700000001", "127.0.0.1"),
                                              ("10.1", "10.0.0.1"), ("3232235777", "192.168.1.1")])
def test_legacy_numeric_hosts_are_refused(host, means):
    with pytest.raises(AmbiguousHostError, match=f"legacy numeric form of {means}"):
        check_host(host)


@pytest.mark.parametrize("url", [
    "http://2130706433/", "http://0177.0.0.1/", "http://0x7f.1/", "http://[::127.0.0.1]/",
    "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/", "http://[2002:7f00:1::]/", "http://[::ffff:127.0.0.1]/",
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", "http://[fe80::1]/", "http://[::1]:8080/",
])
async def test_the_fetcher_refuses_them_before_connecting(url):
    async with Fetcher(GUARDED) as f:
        with pytest.raises(BlockedError, match="non-public address|legacy numeric form"):
            await f.get(url)


@pytest.fixture
def fake_dns(monkeypatch):
    """Names → addresses, answered by the event loop's getaddrinfo (which aiohttp's resolver calls)."""
    answers: dict[str, list[str]] = {}
    lookups: list[str] = []

    async def getaddrinfo(self, host, port, **kw):  # noqa: ANN001, ANN202
        lookups.append(host)
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port, 0, 0) if ":" in a else (a, port)) for a in answers[host]]

    monkeypatch.setattr(asyncio.unix_events._UnixSelectorEventLoop, "getaddrinfo", getaddrinfo)
    return answers, lookups


@pytest.mark.parametrize("address", ["64:ff9b::a9fe:a9fe", "::127.0.0.1", "2002:7f00:1::", "::ffff:10.0.0.1",
                                     "2001:0:4136:e378:8000:63bf:80ff:fffe", "fd12::1", "10.0.0.7"])
async def test_a_name_that_resolves_to_a_hidden_private_address_is_refused(fake_dns, address):
    answers, _ = fake_dns
    answers["sneaky.example"] = [address]
    async with Fetcher(GUARDED) as f:
        with pytest.raises(BlockedError, match=f"sneaky.example resolves to non-public address {address}"):
            await f.get("http://sneaky.example/feed")


async def test_one_private_answer_among_public_ones_is_enough_to_refuse(fake_dns):
    answers, _ = fake_dns
    answers["mixed.example"] = ["93.184.215.14", "127.0.0.1"]
    with pytest.raises(PrivateAddressError):
        await GuardedResolver().resolve("mixed.example", 80, socket.AF_UNSPEC)
    assert [r["host"] for r in await GuardedResolver(guard=False).resolve("mixed.example", 80)] == \
        ["93.184.215.14", "127.0.0.1"]


async def test_redirects_to_private_addresses_are_refused(fake_dns, monkeypatch):
    """A public site that redirects to the metadata address (in any form) or to a name that
    resolves to a private one: the hop is vetted like the first URL."""
    answers, lookups = fake_dns
    port = free_port()
    answers["public.example"] = ["127.0.0.1"]  # the test's server, treated as public below
    answers["inside.example"] = ["10.0.0.1"]
    monkeypatch.setattr(guard, "is_public", lambda a, real=guard.is_public: a == "127.0.0.1" or real(a))
    targets = {"/nat64": "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/", "/compat": "http://[::127.0.0.2]/",
               "/decimal": "http://2852039166/", "/name": "http://inside.example/admin",
               "/fine": "/ok"}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                path = (await reader.readuntil(b"\r\n\r\n")).split(b" ")[1].decode()
                if path == "/ok":
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                else:
                    writer.write(f"HTTP/1.1 302 Found\r\nLocation: {targets[path]}\r\nContent-Length: 0\r\n\r\n".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    try:
        async with Fetcher(GUARDED) as f:
            assert (await f.get(f"http://public.example:{port}/fine")).body == b"ok"
            for path, refused in [("/nat64", "169.254.169.254"), ("/compat", "127.0.0.2"),
                                  ("/decimal", "169.254.169.254"), ("/name", "10.0.0.1")]:
                with pytest.raises(BlockedError, match=refused):
                    await f.get(f"http://public.example:{port}{path}")
        assert lookups.count("public.example") == 1  # one vetted lookup, reused: nothing to rebind
    finally:
        server.close()
        await server.wait_closed()
