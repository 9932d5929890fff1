"""Page through a query: a total count in the body and RFC 8288 Link headers to the neighbours."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from shared.links import absolute_url


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int

    @property
    def last_page(self) -> int:
        return max(1, -(-self.total // self.per_page))


def paginate(session: Session, statement: Select, page: int, per_page: int) -> Page:
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    items = session.scalars(statement.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items=list(items), total=total or 0, page=page, per_page=per_page)


def link_header(page: Page) -> str:
    """first/prev/next/last links that keep every other query parameter of the request."""
    query = request.args.to_dict(flat=False)

    def link(number: int, rel: str) -> str:
        query["page"] = [str(number)]
        query["per_page"] = [str(page.per_page)]
        return f'<{absolute_url(request.path, query)}>; rel="{rel}"'

    links = [link(1, "first")]
    if page.page > 1:
        links.append(link(min(page.page - 1, page.last_page), "prev"))
    if page.page < page.last_page:
        links.append(link(page.page + 1, "next"))
    links.append(link(page.last_page, "last"))
    return ", ".join(links)


def page_response(page: Page) -> tuple[dict, dict]:
    """What a list view returns: the envelope and its headers."""
    body = {"items": page.items, "total": page.total, "page": page.page, "per_page": page.per_page}
    return body, {"Link": link_header(page), "X-Total-Count": str(page.total)}


def whole_list(items: list) -> dict:
    """The list envelope for short lists that are never paged (modules, providers)."""
    return {"items": items, "total": len(items), "page": 1, "per_page": max(len(items), 1)}
