"""HTML pages of the demo world: articles wrapped in the furniture of a real news site (cookie banner,
navigation, related links, newsletter box, footer), outlet home pages and the world's index page."""

from __future__ import annotations

from datetime import datetime
from html import escape

from scooptrace.demo.model import Article, Outlet, World
from scooptrace.demo.render import body_html, feed_path, local_article_path


def _head(title: str, extra: str, outlet: Outlet | None = None) -> str:
    feeds = ""
    if outlet is not None:
        feeds = "".join(
            f'<link rel="alternate" type="application/rss+xml" title="{escape(f.title)}" href="{feed_path(f)}">'
            for f in outlet.feeds
        )
    return (
        '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>{extra}{feeds}"
        "<style>body{font-family:Georgia,serif;max-width:72rem;margin:auto}"
        ".cookie-banner{position:fixed;bottom:0;background:#222;color:#fff;padding:1rem}"
        "nav ul{display:flex;gap:1rem;list-style:none}</style></head>"
    )


def _chrome_top(world: World, outlet: Outlet) -> str:
    words = world.chrome[outlet.language]
    nav = "".join(
        f'<li><a href="/o/{outlet.slug}/section/{i}">{escape(label)}</a></li>'
        for i, label in enumerate(outlet.nav)
    )
    return (
        f'<div class="cookie-banner" id="cookie-consent" role="dialog"><p>{escape(words["cookie"])}</p>'
        f'<button type="button">{escape(words["accept"])}</button>'
        f'<button type="button">{escape(words["settings"])}</button></div>'
        f'<header class="site-header"><a class="logo" href="/o/{outlet.slug}/">{escape(outlet.name)}</a>'
        f'<p class="tagline">{escape(outlet.tagline)}</p>'
        f'<nav aria-label="main"><ul><li><a href="/o/{outlet.slug}/">{escape(words["home"])}</a></li>{nav}</ul></nav>'
        "</header>"
    )


def _chrome_bottom(world: World, outlet: Outlet) -> str:
    words = world.chrome[outlet.language]
    return (
        f'<div class="newsletter"><p>{escape(words["newsletter"])}</p>'
        '<form action="/newsletter" method="post"><input type="email" name="email"><button>OK</button></form></div>'
        f'<footer class="site-footer"><p>© 2026 {escape(outlet.name)}. {escape(words["footer"])}</p>'
        f'<ul class="footer-links"><li><a href="/o/{outlet.slug}/about">About</a></li>'
        f'<li><a href="/o/{outlet.slug}/privacy">Privacy</a></li></ul></footer>'
    )


def _byline_time(published: datetime, outlet: Outlet) -> str:
    local = published.astimezone(outlet.zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def _related(world: World, article: Article) -> list[Article]:
    """Up to three earlier articles of the same outlet (never later ones: the page must not leak the future)."""
    earlier = [a for a in world.outlet_articles(article.outlet) if a.published < article.published]
    return earlier[::-1][:3]


def render_article_page(world: World, base: str, article: Article) -> str:
    outlet = world.outlets[article.outlet]
    words = world.chrome[outlet.language]
    url = base + local_article_path(world, article)
    canonical = (
        base + local_article_path(world, world.articles[article.canonical]) if article.canonical else url
    )
    published = article.published.astimezone(outlet.zone).isoformat(timespec="seconds")
    meta = (
        f'<link rel="canonical" href="{escape(canonical)}">'
        f'<meta name="description" content="{escape(article.summary)}">'
        f'<meta name="author" content="{escape(article.author)}">'
        f'<meta property="og:type" content="article"><meta property="og:title" content="{escape(article.title)}">'
        f'<meta property="og:site_name" content="{escape(outlet.name)}"><meta property="og:url" content="{escape(url)}">'
        f'<meta property="article:published_time" content="{published}">'
    )
    paragraphs = "".join(f"<p>{body_html(world, base, p)}</p>" for p in world.body_of(article))
    related = "".join(
        f'<li><a href="{escape(base + local_article_path(world, r))}">{escape(r.title)}</a></li>'
        for r in _related(world, article)
    )
    return (
        f'<!DOCTYPE html>\n<html lang="{outlet.language}" dir="{outlet.direction}">'
        + _head(f"{article.title} | {outlet.name}", meta, outlet)
        + "<body>"
        + _chrome_top(world, outlet)
        + f'<main><article class="story"><h1>{escape(article.title)}</h1>'
        f'<p class="dek">{escape(article.summary)}</p>'
        f'<p class="byline">{escape(words["by"])} <span class="author">{escape(article.author)}</span> · '
        f'<time datetime="{published}">{_byline_time(article.published, outlet)}</time></p>'
        f'<div class="article-body">{paragraphs}</div></article>'
        f'<aside class="related"><h2>{escape(words["related"])}</h2><ul>{related}</ul></aside></main>'
        + _chrome_bottom(world, outlet)
        + "</body></html>\n"
    )


def render_outlet_home(world: World, base: str, outlet: Outlet, clock: datetime) -> str:
    visible = [a for a in world.outlet_articles(outlet.slug) if a.published <= clock][::-1]
    items = "".join(
        f'<li><a href="{escape(base + local_article_path(world, a))}">{escape(a.title)}</a> '
        f"<small>{_byline_time(a.published, outlet)}</small></li>"
        for a in visible
    )
    return (
        f'<!DOCTYPE html>\n<html lang="{outlet.language}" dir="{outlet.direction}">'
        + _head(outlet.name, "", outlet)
        + "<body>"
        + _chrome_top(world, outlet)
        + f'<main><ul class="latest">{items}</ul></main>'
        + _chrome_bottom(world, outlet)
        + "</body></html>\n"
    )


def render_index(world: World, base: str, clock: datetime) -> str:
    rows = "".join(
        f'<li><a href="/o/{o.slug}/">{escape(o.name)}</a> ({o.language}, {escape(o.timezone)}): '
        + ", ".join(f'<a href="{feed_path(f)}">{f.format}</a>' for f in o.feeds)
        + "</li>"
        for o in world.outlets.values()
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">'
        + _head(world.name, "")
        + f"<body><h1>{escape(world.name)}</h1><p>Simulated clock: {clock:%Y-%m-%d %H:%M} UTC</p>"
        f'<ul>{rows}</ul><p><a href="/world.opml">OPML of every feed</a></p></body></html>\n'
    )
