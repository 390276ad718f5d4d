"""Every view is a URL: each page's parameters, their defaults and validation, and the one canonical link builder.

Canonical form: known parameters only, defaults left out (the dataset is always kept: the first dataset of one store
is not the first of another), repeated parameters for lists (sorted), keys sorted, and the schema version `v`.
Pages read their state from the URL and write it back (dashboard/widgets.py); the CLI's `report` reads links with
`parse_link`. Data-dependent choices (a judge name, a map) are validated by the page against what the store holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit

from analytics.pages import DEFAULT_PAGE, REGISTRY, Param

VERSION = "1"


DATASET = Param("dataset", keep=True)
PRESENT = Param("present", False, "bool")
AGENDA = Param("agenda", "")  # presenting a saved view as a step of the agenda: that view's id
COMMON = (DATASET, PRESENT, AGENDA)

# page -> (url path, parameters), from the page registry
PAGES: dict[str, tuple[str, tuple[Param, ...]]] = {name: (page.path, page.params) for name, page in REGISTRY.items()}
# every page by its path; the Overview (served at "/") also by its own name, the path the dashboard's alias takes
PATH_TO_PAGE = {path: page for page, (path, _) in PAGES.items()} | {DEFAULT_PAGE: DEFAULT_PAGE}


class LinkError(ValueError):
    """A link that does not name a prefatlas page."""


def params_of(page: str) -> dict[str, Param]:
    if page not in PAGES:
        raise LinkError(f"unknown page '{page}'; pages: {', '.join(PAGES)}")
    return {p.name: p for p in (*COMMON, *PAGES[page][1])}


def _text(param: Param, value: object) -> str:
    if param.kind == "bool":
        return "true" if value in (True, "true", "True", "1") else "false"
    return str(value)


def is_default(param: Param, value: object) -> bool:
    if param.keep or param.default is None:
        return False
    return _text(param, value) == _text(param, param.default)


def canonical_query(page: str, params: Mapping[str, object]) -> list[tuple[str, str]]:
    """(key, value) pairs of the canonical link: known keys, no defaults, sorted, with the version."""
    known = params_of(page)
    out: list[tuple[str, str]] = []
    for key in sorted(params):
        param = known.get(key)
        value = params[key]
        if param is None or value is None or value == "" or value == []:
            continue
        if param.kind == "list":
            values = value if isinstance(value, list | tuple) else [value]
            out += [(key, str(v)) for v in sorted(map(str, values))]
        elif not is_default(param, value):
            out.append((key, _text(param, value)))
    return [*out, ("v", VERSION)]


def link_params(page: str, values: Mapping[str, object]) -> dict[str, object]:
    """A page's parameters as a link carries them (what parse_link returns): known keys, text values, lists as
    lists of text; a view's controls (typed values) and a link give its content the same input."""
    known = params_of(page)
    out: dict[str, object] = {}
    for key, value in values.items():
        param = known.get(key)
        if param is None or value is None:
            continue
        if param.kind == "list":
            out[key] = [str(v) for v in (value if isinstance(value, list | tuple) else [value])]
        else:
            out[key] = _text(param, value)
    return out


def page_link(page: str, params: Mapping[str, object], base_url: str = "/") -> str:
    """The canonical link to a page: base_url is the server's address and prefix (e.g. http://host/prefs/)."""
    path = PAGES[page][0] if page in PAGES else ""
    base = base_url if base_url.endswith("/") else base_url + "/"
    return f"{base}{path}?{urlencode(canonical_query(page, params))}"


def is_web_link(url: str) -> bool:
    """An absolute http(s) link with a host: the only kind a report, a saved view or a page makes clickable (a
    `javascript:` or `data:` link would run code or show content of the link's author's choosing)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if any(c in url for c in '\x00\n\r\t<>"'):
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def host_allowed(host_header: str | None, allowed: list[str]) -> bool:
    """Whether a request's Host header (name, optional port) names this server: one of `allowed` (a leading '.'
    allows subdomains). An empty list allows any host (a server whose operator chose so). A request without a
    Host header (not a browser) is allowed."""
    if not allowed or not host_header:
        return True
    host = host_header.strip().lower()
    if host.startswith("["):  # [::1]:8501
        host = host[1 : host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    for name in (a.strip().lower() for a in allowed):
        if host == name or (name.startswith(".") and (host.endswith(name) or host == name[1:])):
            return True
    return False


def parse_link(url: str, base_path: str = "/") -> tuple[str, dict[str, object]]:
    """(page, params) of a prefatlas link (lists as lists). base_path is the server's URL prefix, if any. A link is
    http(s) or a bare path (`/judges?…`); any other scheme is refused."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise LinkError(f"not a link: {exc}") from None
    if parts.scheme and not is_web_link(url):
        raise LinkError(f"only http(s) links to a prefatlas server are read, not '{parts.scheme}:' links")
    path = parts.path
    prefix = "/" + base_path.strip("/") if base_path.strip("/") else ""
    if prefix and path.startswith(prefix):
        path = path[len(prefix) :]
    page = PATH_TO_PAGE.get(path.strip("/"))
    if page is None:
        raise LinkError(f"{url}: '{path}' is not a prefatlas page ({', '.join('/' + p for p, _ in PAGES.values())})")
    known = params_of(page)
    params: dict[str, object] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=False):
        param = known.get(key)
        if param is None:
            continue
        if param.kind == "list":
            params.setdefault(key, [])
            params[key].append(value)  # type: ignore[union-attr]
        else:
            params[key] = value
    if "dataset" not in params:
        raise LinkError(f"{url}: the link names no dataset")
    return page, params
