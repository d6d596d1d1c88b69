"""``/api/v1/news`` and ``/api/v1/site_settings``: the news banner shown to logged-in users and the site settings
(healthcare-compliance flag) of the reporter service.

Reading active news and dismissing them: any logged-in user. Writing news and settings: administrators (checked by
the reporter service). Reading the site settings needs no login: the login page shows the compliance banner.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, StrictBool

from gateway.api import bp
from gateway.api.schemas import Answer, Request
from gateway.auth import call, call_as_user
from gateway.openapi import operation

TAG = "news and site settings"
Priority = Literal["urgent", "warning", "info"]


class NewsBody(Request):
    title: str = Field(min_length=1, max_length=200, description="plain text, one line")
    content: str = Field("", max_length=4000, description="plain text (markup is shown as typed, never "
                                                          "interpreted); newlines kept")
    priority: Priority = Field("info", description="banner order and colour: urgent, warning, info")
    expires_on: date = Field(description="last day the item is shown (UTC), YYYY-MM-DD")


class NewsChangesBody(Request):
    title: str | None = Field(None, min_length=1, max_length=200)
    content: str | None = Field(None, max_length=4000)
    priority: Priority | None = None
    expires_on: date | None = None


class NewsListQuery(Request):
    include_expired: bool = Field(True, description="false: only items still shown")


class SiteSettingsBody(Request):
    healthcare_compliance: StrictBool | None = Field(
        description="true: compliant for clinical use; false: Research Use Only; null: follow the server "
                    "configuration (REPSEQ_HEALTHCARE_COMPLIANCE)")


class NewsAnswer(Answer):
    id: int
    title: str
    content: str
    priority: Priority
    expires_on: str = Field(description="YYYY-MM-DD")
    active: bool = Field(description="shown today (expires_on is today or later, UTC)")


class SiteSettingsAnswer(Answer):
    healthcare_compliance: bool
    healthcare_compliance_source: Literal["administrator", "configuration"]
    healthcare_compliance_default: bool = Field(description="REPSEQ_HEALTHCARE_COMPLIANCE")


@operation(bp, "/news", "GET", summary="News for the caller's banner (active, not dismissed)", tag=TAG,
           response=list[NewsAnswer])
def active_news():
    """Most urgent first, then newest; at most 20. Title and content are plain text: escape them to show them."""
    return call_as_user("reporter", "list_active_news")


@operation(bp, "/news/<int:news_id>/read", "POST", summary="Dismiss a news item (for the caller)", tag=TAG,
           response={"type": "object"})
def mark_news_read(news_id: int):
    """Marks the item read for the caller: it leaves their banner until an administrator edits it."""
    return call_as_user("reporter", "mark_news_read", news_id)


@operation(bp, "/news/all", "GET", summary="Every news item with its read count (administrators)", tag=TAG,
           query=NewsListQuery, response=list[NewsAnswer])
def list_news(query: NewsListQuery):
    return call_as_user("reporter", "list_news", query.include_expired)


@operation(bp, "/news", "POST", summary="Publish a news item (administrators)", tag=TAG, body=NewsBody,
           response=NewsAnswer, status=201)
def create_news(body: NewsBody):
    """Shown to every logged-in user through ``expires_on``, until each dismisses it."""
    return call_as_user("reporter", "create_news", body.model_dump(mode="json"))


@operation(bp, "/news/<int:news_id>", "PATCH", summary="Edit a news item (administrators; shown again to all)",
           tag=TAG, body=NewsChangesBody, response=NewsAnswer)
def update_news(news_id: int, body: NewsChangesBody):
    """Fields left out are kept. Every edit clears the read markers: users who dismissed it see it again."""
    return call_as_user("reporter", "update_news", news_id, body.model_dump(mode="json", exclude_unset=True))


@operation(bp, "/news/<int:news_id>", "DELETE", summary="Delete a news item (administrators)", tag=TAG,
           response={"type": "object"})
def delete_news(news_id: int):
    return call_as_user("reporter", "delete_news", news_id)


@operation(bp, "/site_settings", "GET", summary="Site settings shown on every page (compliance banner)", tag=TAG,
           response=SiteSettingsAnswer, auth=False)
def get_site_settings():
    """No login needed. ``healthcare_compliance_source`` says whether an administrator chose the value or it
    follows the server configuration."""
    return call("reporter", "get_site_settings")


@operation(bp, "/site_settings", "PUT", summary="Change the site settings (administrators)", tag=TAG,
           body=SiteSettingsBody, response=SiteSettingsAnswer)
def set_site_settings(body: SiteSettingsBody):
    """``healthcare_compliance``: the hosting institution's declaration, shown on the login page, user pages and
    set forms."""
    return call_as_user("reporter", "set_site_settings", body.healthcare_compliance)
