"""Nine languages and more on the caller's side: the spoken prompts and quick replies, the
language menu (1 to 9, then 0), the caller page (Arabic right to left) and the operator
console in the operator's own language."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from hotline.call.prompts import (
    LANGUAGE_NAMES,
    PROMPT_LANGUAGES,
    PROMPTS,
    QUICK_REPLIES,
    prompt,
)
from hotline.clients.client import CallerClient
from hotline.config import CallConfig
from tests.conftest import url
from tests.e2e import test_browser as pages

STATIC = Path(__file__).resolve().parents[2] / "hotline" / "static"
CALLER_LANGUAGES = 10
CONSOLE_LANGUAGES = ("en", "zh", "es", "ko")

browsers = pages.browsers
"""The fixture of test_browser.py: ``await browsers(name, wav=None)`` → a headless page."""


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def js_strings(name: str) -> dict[str, dict[str, str]]:
    """The ``STRINGS`` table of a page's words module: language → key → text."""
    source = (STATIC / name).read_text(encoding="utf-8")
    table = source.split("export const STRINGS = {", 1)[1].split("\n};", 1)[0]
    blocks = re.findall(r"^  (\w+): \{\n(.*?)^  \},", table, flags=re.M | re.S)
    return {
        language: dict(re.findall(r'^    (\w+): "((?:[^"\\]|\\.)*)",$', body, flags=re.M))
        for language, body in blocks
    }


def js_placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


# --- what the hotline says: pure, no server --------------------------------------------


@pytest.mark.parametrize("table", [PROMPTS, QUICK_REPLIES], ids=["prompts", "quick replies"])
def test_every_prompt_and_quick_reply_is_written_in_every_prompt_language(table):
    assert len(PROMPT_LANGUAGES) >= CALLER_LANGUAGES
    assert {"ja", "ru", "de", "ar"} <= set(PROMPT_LANGUAGES)
    for name, texts in table.items():
        assert set(texts) == set(PROMPT_LANGUAGES), name
        assert all(text.strip() for text in texts.values()), name


@pytest.mark.parametrize("table", [PROMPTS, QUICK_REPLIES], ids=["prompts", "quick replies"])
def test_placeholders_match_across_languages(table):
    for name, texts in table.items():
        english = placeholders(texts["en"])
        for language, text in texts.items():
            assert placeholders(text) == english, (name, language, text)


def test_every_prompt_language_has_a_name_in_itself_and_the_default_menu_offers_them_all():
    assert set(LANGUAGE_NAMES) == set(PROMPT_LANGUAGES)
    assert LANGUAGE_NAMES["ja"] == "日本語" and LANGUAGE_NAMES["ar"] == "العربية"
    # config.py may not import hotline.call, so its default is written out; this keeps it true.
    assert CallConfig().menu_languages == list(PROMPT_LANGUAGES)
    assert len(PROMPT_LANGUAGES) <= 10, "one key per language: 1 to 9, then 0"
    assert prompt("menu_item", "ar", digit="0") == "للعربية، يُرجى الضغط على 0."


def test_the_caller_page_and_the_console_have_every_string_in_their_languages():
    caller = js_strings("i18n.js")
    assert set(PROMPT_LANGUAGES) <= set(caller)
    console = js_strings("console-i18n.js")
    assert set(console) == set(CONSOLE_LANGUAGES)
    for table in (caller, console):
        english = table["en"]
        for language, texts in table.items():
            assert set(texts) == set(english), (language, set(english) ^ set(texts))
            for key, text in texts.items():
                assert js_placeholders(text) == js_placeholders(english[key]), (language, key)


# --- the menu on a real server ---------------------------------------------------------


async def test_a_caller_without_a_language_hears_every_prompt_language_and_picks_by_key(
    start_server,
):
    server = await start_server()
    for digit, language in [("7", "ja"), ("0", "ar")]:
        caller = CallerClient(url(server, "/call"))
        menu = await caller.call(None)
        assert menu["type"] == "menu"
        assert [o["language"] for o in menu["options"]] == list(PROMPT_LANGUAGES)
        assert [o["digit"] for o in menu["options"]] == list("1234567890")
        option = next(o for o in menu["options"] if o["language"] == language)
        assert (option["digit"], option["name"]) == (digit, LANGUAGE_NAMES[language])
        await caller.wait_for(lambda m: m["type"] == "say" and m.get("prompt") == "menu_item")
        await caller.dtmf(digit)
        ready = await caller.wait_for(lambda m: m["type"] == "ready")
        assert ready["language"] == language
        greeting = await caller.wait_for(
            lambda m: m["type"] == "say" and m.get("prompt") == "greeting"
        )
        assert greeting["text"] == prompt("greeting", language)
        await caller.hangup()
        await caller.close()
    assert prompt("greeting", "ja").startswith("市民ホットライン")


# --- the pages in headless Chromium ----------------------------------------------------


async def test_caller_page_in_arabic_is_laid_out_right_to_left(start_server, browsers):
    expect = pages.async_api.expect
    server = await start_server()
    page = await browsers("caller-ar", width=900, height=900)

    await page.goto(f"{pages.base_url(server)}/caller?lang=en")
    await expect(page.locator("html")).to_have_attribute("dir", "ltr")
    english = {
        "title": await page.locator("header h1").bounding_box(),
        "change": await page.locator("#change-language").bounding_box(),
        "text": await page.locator("#type-text").bounding_box(),
        "send": await page.locator("#type-send").bounding_box(),
    }
    assert english["title"]["x"] < english["change"]["x"]
    assert english["text"]["x"] < english["send"]["x"]

    await page.click("#change-language")
    await expect(page.locator("#languages button")).to_have_count(len(PROMPT_LANGUAGES))
    arabic_button = page.locator("#languages button[data-lang=ar]")
    await expect(arabic_button).to_have_attribute("dir", "rtl")
    await arabic_button.click()
    html = page.locator("html")
    await expect(html).to_have_attribute("dir", "rtl")
    await expect(html).to_have_attribute("lang", "ar")
    await expect(page.locator("#phone")).to_have_css("direction", "rtl")
    await expect(page.locator("#call")).to_have_text("اتصال")
    await expect(page.locator("header h1")).to_have_text("الخط الساخن للمدينة")
    await expect(page.locator("#reference")).to_have_attribute("dir", "ltr")

    # Mirrored: the title moves to the right of the bar, the send button to the left of the
    # box it sends.
    title = await page.locator("header h1").bounding_box()
    change = await page.locator("#change-language").bounding_box()
    text = await page.locator("#type-text").bounding_box()
    send = await page.locator("#type-send").bounding_box()
    assert title["x"] > change["x"], (title, change)
    assert send["x"] < text["x"], (send, text)
    assert title["x"] + title["width"] > english["title"]["x"] + english["title"]["width"]

    pages.ARTIFACTS.mkdir(exist_ok=True)
    shot = pages.ARTIFACTS / "caller-ar.png"
    shot.unlink(missing_ok=True)
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.exists() and shot.stat().st_size > 10_000
    assert pages.csp_violations(page) == []


async def test_console_in_chinese_for_an_operator_who_chooses_it(start_server, browsers):
    expect = pages.async_api.expect
    server = await start_server()
    await pages.add_operator(server, "li", ["ko", "en"])
    console = await browsers("console-zh")
    await console.goto(f"{pages.base_url(server)}/console")
    await expect(console.locator("#signin-button")).to_have_text("Sign in")  # the default
    await expect(console.locator("#signin-console-language")).to_have_value("en")

    await console.select_option("#signin-console-language", "zh")
    await expect(console.locator("#signin-button")).to_have_text("登录")
    await expect(console.locator("html")).to_have_attribute("lang", "zh")
    await console.fill("#signin-name", "li")
    await console.fill("#signin-password", pages.PASSWORD)
    await console.click("#signin-button")
    await expect(console.locator("#desk")).to_be_visible()

    await expect(console.locator("#connection")).to_have_text("已登录")
    await expect(console.locator("#queue-title")).to_contain_text("等待中的来电")
    await expect(console.locator("#queue-empty")).to_have_text("暂无等待的来电。")
    await expect(console.locator("#hangup")).to_contain_text("挂断")
    await expect(console.locator("#ptt")).to_contain_text("按住说话")
    await expect(console.locator(".shortcuts summary")).to_have_text("快捷键")
    await expect(console.locator("#record-title")).to_have_text("来电记录")
    await expect(console.locator("#record-kind option[value=complaint]")).to_have_text("投诉")
    await expect(console.locator("#call-status")).to_have_text("当前无通话。")
    # The account's languages (Korean; English) are offered first in the bar's choice.
    options = console.locator("#console-language option")
    await expect(options).to_have_count(len(CONSOLE_LANGUAGES))
    assert [await o.get_attribute("value") for o in await options.all()] == ["ko", "en", "zh", "es"]
    await expect(console.locator("#console-language")).to_have_value("zh")

    caller = CallerClient(url(server, "/call"))
    await caller.call("en")
    entry = console.locator("#queue li", has_text="English")
    await expect(entry.locator("button.accept")).to_have_text("接听")
    await expect(entry.locator(".wait")).to_contain_text("已等待")

    await console.select_option("#console-language", "ko")  # switched at the desk
    await expect(console.locator("#hangup")).to_contain_text("전화 끊기")
    await expect(entry.locator("button.accept")).to_have_text("받기")
    await expect(console.locator("#connection")).to_have_text("로그인됨")
    pages.ARTIFACTS.mkdir(exist_ok=True)
    await console.screenshot(path=str(pages.ARTIFACTS / "console-ko.png"))
    assert pages.csp_violations(console) == []
    await caller.hangup()
    await caller.close()
