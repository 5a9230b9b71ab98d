"""Shared pieces of the browser tests: the widget seen from a page, and ORM calls that broadcast."""

import re
import threading

from playwright.sync_api import expect


class Widget:
    def __init__(self, page) -> None:
        self.page = page
        # Its label follows the state: "Open chat: ..." closed, "Minimise chat: ..." open.
        self.launcher = page.get_by_role("button", name=re.compile("^(Open|Minimise) chat"))
        self.panel = page.get_by_role("dialog", name="Northwind help")
        self.input = page.get_by_label("Your message")
        self.log = page.get_by_role("log")
        self.status = page.locator(".hw-status")

    def open(self) -> None:
        self.launcher.click()
        expect(self.panel).to_be_visible()

    def say(self, text: str) -> None:
        self.input.fill(text)
        self.input.press("Enter")
        expect(self.sent(text)).to_be_visible()

    def sent(self, text: str):
        """The visitor's bubble once the server has acked it."""
        return self.log.locator(".hw-msg--visitor[data-seq]").filter(has_text=text)

    def answers(self):
        return self.log.locator(".hw-msg--bot[data-seq]:not(.hw-msg--greeting)")

    def shadow(self, expression: str):
        """Evaluate `expression` with `root` bound to the widget's shadow root."""
        root = "document.querySelector('#handoff-widget').shadowRoot"
        return self.page.evaluate(f"(() => {{ const root = {root}; return {expression}; }})()")


def in_thread(func, /, **kwargs):
    """Run ORM code that broadcasts in its own thread: Playwright's sync API keeps an event loop
    on this one, where async_to_sync (used by chat.realtime after commit) refuses to run."""
    from django.db import connection

    result = {}

    def run():
        try:
            result["value"] = func(**kwargs)
        except BaseException as exc:  # re-raised in the test's thread
            result["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    if "error" in result:
        raise result["error"]
    return result["value"]
