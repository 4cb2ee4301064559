"""Great Expectations Data Docs that work offline.

GX 1.24 writes pages that load Bootstrap, jQuery, Font Awesome (the pass/fail icons), and
bootstrap-table, datepicker and Vega from public CDNs, and its logo from S3. Where those are
out of reach (this project's machines) a page waits for them and then shows unstyled, iconless
text. Each page is rewritten after GX writes it: the styles and scripts it needs come from local
copies of the same libraries (the XStatic packages on PyPI, installed with the project), copied
once under the site's static/offline/; the ones the validation pages do not need (sortable
tables, date pickers, Vega charts of profiling pages) are dropped, and the logo is GX's own copy
under static/images/.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import xstatic.pkg.bootstrap
import xstatic.pkg.font_awesome
import xstatic.pkg.jquery

OFFLINE_DIR = Path("static") / "offline"

# The local file standing in for each CDN resource, keyed by a pattern of its URL.
LOCAL_COPIES = {
    r"/bootstrap/[\d.]+/css/bootstrap\.min\.css": "bootstrap/css/bootstrap.min.css",
    r"bootstrap/[\d.]+/js/bootstrap\.min\.js": "bootstrap/js/bootstrap.bundle.min.js",  # includes Popper
    r"jquery-[\d.]+\.min\.js": "jquery/jquery.min.js",
    r"font-awesome/[\d.]+/css/all\.min\.css": "font-awesome/css/all.min.css",
}
# Files copied from each package's data directory (Font Awesome's CSS finds its fonts beside it).
PACKAGE_FILES = {
    "bootstrap": (xstatic.pkg.bootstrap.BASE_DIR, ["css/bootstrap.min.css", "js/bootstrap.bundle.min.js"]),
    "jquery": (xstatic.pkg.jquery.BASE_DIR, ["jquery.min.js"]),
    "font-awesome": (xstatic.pkg.font_awesome.BASE_DIR, ["css/all.min.css", "webfonts"]),
}
GX_LOGO = Path("static") / "images" / "logo-long.png"  # GX writes it into every site

_REMOTE_TAG = re.compile(
    r"<link\b[^>]*\bhref=\"(https?://[^\"]+)\"[^>]*/?>"
    r"|<script\b[^>]*\bsrc=\"(https?://[^\"]+)\"[^>]*>\s*</script>"
)
_REMOTE_LOGO = re.compile(r"src=\"https://great-expectations-web-assets[^\"]*/logo-long\.png[^\"]*\"")


def install_assets(site: Path) -> None:
    """Copy the local libraries into the site once (a new GX version of a page needs no more)."""
    for name, (base, files) in PACKAGE_FILES.items():
        for relative in files:
            source, target = Path(base) / relative, site / OFFLINE_DIR / name / relative
            if target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target)
            else:
                shutil.copy2(source, target)


def local_tag(url: str, is_script: bool, page: Path, site: Path) -> str:
    """The tag loading the local copy of a CDN resource, or nothing for one the page can do without."""
    for pattern, local in LOCAL_COPIES.items():
        if re.search(pattern, url):
            href = os.path.relpath(site / OFFLINE_DIR / local, page.parent)
            return f'<script src="{href}"></script>' if is_script else f'<link rel="stylesheet" href="{href}">'
    return ""


def make_offline(site: Path, page: Path) -> None:
    """Rewrite one page of the site to load nothing from the network."""
    install_assets(site)
    html = page.read_text(encoding="utf-8")

    def replace(match: re.Match) -> str:
        link_url, script_url = match.groups()
        return local_tag(script_url or link_url, script_url is not None, page, site)

    html = _REMOTE_TAG.sub(replace, html)
    html = _REMOTE_LOGO.sub(f'src="{os.path.relpath(site / GX_LOGO, page.parent)}"', html)
    page.write_text(html, encoding="utf-8")
