"""Administration pages in the browser: overview, users, groups and rights (create a group, grant a capability
with a checkbox, see it kept after reload), configurations, workers and queue, audit log. A lab user is refused.
Screenshots in test-output/screenshots/."""

from __future__ import annotations

import re
import secrets

from test_browser import log_in


def as_admin(page, web_admin):
    page.goto("/login")
    page.fill("#email", web_admin["email"])
    page.fill("#password", web_admin["password"])
    page.press("#password", "Enter")
    page.wait_for_url(re.compile(r"/sets"))


def test_admin_pages_and_rights(page, stack, web_admin, screenshot):
    as_admin(page, web_admin)
    page.click("text=Administration")
    page.wait_for_url(re.compile(r"/admin$"))
    assert "Research Use Only" in page.inner_text("table.settings")
    screenshot(page, "10-admin-overview")

    page.click(".admin-nav >> text=Users")
    assert page.locator("#users-table tbody tr", has_text=web_admin["email"]).count() == 1
    screenshot(page, "11-admin-users")

    name = f"lab-{secrets.token_hex(3)}"
    page.click(".admin-nav >> text=Groups and rights")
    page.fill("#ng-name", name)
    page.fill("#ng-description", "haematology lab (browser test)")
    page.click("#new-group button[type=submit]")
    row = page.locator("#groups-table tbody tr", has_text=name)
    row.wait_for()
    run_box = row.locator("input[value=run]")
    assert not run_box.is_checked()
    run_box.check()
    with page.expect_navigation():  # the page reloads once the API accepted the change
        row.locator("button", has_text="Save").click()
    page.reload()
    row = page.locator("#groups-table tbody tr", has_text=name)
    row.wait_for()
    assert row.locator("input[value=run]").is_checked()
    screenshot(page, "12-admin-groups")

    row.locator("a", has_text=name).click()
    page.select_option("#am-user", label=web_admin["email"])
    page.click("#add-member button")
    page.locator("#members-table", has_text=web_admin["email"]).wait_for()

    page.click(".admin-nav >> text=Configurations")
    assert page.locator("#configs-table tbody tr", has_text="multi+inc").count() == 1
    screenshot(page, "13-admin-configs")
    page.click(".admin-nav >> text=Workers and queue")
    assert page.locator("#workers-table tbody tr").count() >= 1
    screenshot(page, "14-admin-queue")
    page.click(".admin-nav >> text=Audit log")
    assert page.locator("#audit-table tbody tr", has_text="login").count() >= 1
    screenshot(page, "15-admin-audit")


def test_a_lab_user_cannot_open_administration(page, guard, stack, web_user):
    log_in(page, web_user)
    assert page.locator("text=Administration").count() == 0
    guard.allow_console(r"status of 403 .*/admin/users\)$")
    response = page.goto("/admin/users")
    assert response.status == 403
