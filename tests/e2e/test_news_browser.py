"""News banner and healthcare-compliance banner in the browser (Debian's Chromium): an administrator publishes a
news item on "News and banners", a lab user sees it at the top of the page and dismisses it (it stays gone after
a reload); the administrator declares the server compliant and the login page, the set form and the account page
change their banner. Screenshots in test-output/screenshots/news-*.png."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta, timezone

from gateway_helpers import Api
from test_browser import log_in


def as_admin(page, admin):
    page.goto("/login")
    page.fill("#email", admin["email"])
    page.fill("#password", admin["password"])
    page.press("#password", "Enter")
    page.wait_for_url(re.compile(r"/sets"))


def test_admin_publishes_news_and_a_user_dismisses_it(page, browser, stack, web_admin, web_user, screenshot):
    title = f"<b>Maintenance</b> {secrets.token_hex(3)}"
    expires = (datetime.now(timezone.utc).date() + timedelta(days=2)).isoformat()
    as_admin(page, web_admin)
    page.click("text=Administration")
    page.click(".admin-nav >> text=News and banners")
    page.wait_for_url(re.compile(r"/admin/news$"))
    page.fill("#nn-title", title)
    page.fill("#nn-content", "The server stops on Saturday from 8 to 12 h.\nFinish your uploads before.")
    page.select_option("#nn-priority", "urgent")
    page.fill("#nn-expires", expires)
    with page.expect_navigation():  # the page reloads once the API accepted the item
        page.click("#new-news button[type=submit]")
    row = page.locator("#news-table tbody tr", has_text=title)
    row.wait_for()
    assert expires in row.inner_text()
    assert page.locator("#news-audit tbody tr", has_text="created").count() >= 1
    screenshot(page, "news-01-admin-page")

    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=stack.url)
    try:
        user_page = context.new_page()
        errors = []
        user_page.on("pageerror", lambda error: errors.append(str(error)))
        log_in(user_page, web_user)
        banner = user_page.locator(".news-list .news", has_text=title)
        banner.wait_for()
        # shown as typed: the markup is text, not a bold element; the content keeps its line break
        assert banner.locator("b").count() == 0
        assert "news-urgent" in banner.get_attribute("class")
        assert "Finish your uploads before." in banner.locator(".news-content").inner_text()
        screenshot(user_page, "news-02-user-banner")

        url = user_page.url
        banner.locator("button", has_text="Dismiss").click()
        banner.wait_for(state="detached")
        assert user_page.url == url, "dismissing must not leave the page"
        user_page.reload()
        user_page.locator("h1").first.wait_for()
        assert user_page.locator(".news-list .news", has_text=title).count() == 0
        user_page.goto("/sets?kind=run")
        assert user_page.locator(".news-list .news", has_text=title).count() == 0
        screenshot(user_page, "news-03-user-after-dismiss")

        # an edit shows the item again to those who dismissed it
        page.reload()
        row = page.locator("#news-table tbody tr", has_text=title)
        row.locator("summary", has_text="Edit").click()
        row.locator("textarea[name=content]").fill("Moved to Sunday, 8 to 10 h.")
        with page.expect_navigation():
            row.locator("button", has_text="Save").click()
        assert "Moved to Sunday" in page.locator("#news-table tbody tr", has_text=title).inner_text()
        user_page.reload()
        banner = user_page.locator(".news-list .news", has_text=title)
        banner.wait_for()
        assert "Moved to Sunday, 8 to 10 h." in banner.inner_text()
        assert errors == []
    finally:
        context.close()
        api = Api(stack.url)
        api.login(web_admin["email"], web_admin["password"])
        for item in api.ok("GET", "/news/all", 200):
            if item["title"] == title:
                api.ok("DELETE", f"/news/{item['id']}", 200)


def test_admin_flips_the_compliance_setting_and_the_banners_follow(page, browser, stack, web_admin, web_user,
                                                                   screenshot):
    anonymous = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=stack.url)
    user_context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=stack.url)
    try:
        login_page = anonymous.new_page()
        login_page.goto("/login")
        assert "Research Use Only" in login_page.inner_text("#compliance-banner")
        screenshot(login_page, "news-04-login-research-use-only")

        as_admin(page, web_admin)
        page.goto("/admin/news")
        page.select_option("#hc-choice", "true")
        with page.expect_navigation():
            page.click("#compliance-form button[type=submit]")
        page.locator("#compliance-saved").wait_for()
        assert page.locator("#hc-choice").input_value() == "true"
        change = "healthcare compliance: Research Use Only → compliant"
        assert page.locator("#news-audit tbody tr", has_text=change).count() >= 1
        screenshot(page, "news-05-admin-compliance-set")

        login_page.reload()
        banner = login_page.locator("#compliance-banner")
        assert "compliant for clinical use" in banner.inner_text()
        assert "Research Use Only" not in banner.inner_text()
        assert "ok" in banner.get_attribute("class").split()
        screenshot(login_page, "news-06-login-compliant")

        user_page = user_context.new_page()
        log_in(user_page, web_user)
        user_page.goto("/sets/new?kind=patient")
        assert "compliant for clinical use" in user_page.inner_text("#compliance-banner")
        screenshot(user_page, "news-07-set-form-compliant")
        user_page.click(".who a.email")
        user_page.wait_for_url(re.compile(r"/account$"))
        assert web_user["email"] in user_page.inner_text("#account")
        assert "compliant for clinical use" in user_page.inner_text("#compliance-banner")
        screenshot(user_page, "news-08-account-compliant")

        page.goto("/admin")
        assert "declared compliant" in page.inner_text("table.settings")
    finally:
        page.goto("/admin/news")
        page.select_option("#hc-choice", "default")
        with page.expect_navigation():
            page.click("#compliance-form button[type=submit]")
        anonymous.close()
        user_context.close()
    check = Api(stack.url).ok("GET", "/site_settings", 200)
    assert check["healthcare_compliance_source"] == "configuration"
