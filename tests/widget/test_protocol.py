"""Validation of client frames: every bad input gets its own error code before touching the database."""

import json

import pytest

from widget import protocol
from widget.protocol import ProtocolError


def parse(event) -> protocol.ClientEvent:
    return protocol.parse_client_event(json.dumps(event))


def error_code(raw: str | None) -> str:
    with pytest.raises(ProtocolError) as caught:
        protocol.parse_client_event(raw)
    return caught.value.code


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "malformed_json"),
        ("", "malformed_json"),
        ("[1, 2]", "malformed_json"),
        ('"hello"', "malformed_json"),
        (None, "malformed_json"),  # a binary frame
        ("{}", "unknown_type"),
        ('{"type": "launch_missiles"}', "unknown_type"),
        ('{"type": 7}', "unknown_type"),
        ('{"type": "message", "text": "hi"}', "invalid_client_id"),
        ('{"type": "message", "client_id": "has spaces", "text": "hi"}', "invalid_client_id"),
        ('{"type": "message", "client_id": "' + "x" * 65 + '", "text": "hi"}', "invalid_client_id"),
        ('{"type": "message", "client_id": "a1", "text": 42}', "invalid_field"),
        ('{"type": "message", "client_id": "a1", "text": ""}', "empty_message"),
        ('{"type": "message", "client_id": "a1", "text": " \\n\\t "}', "empty_message"),
        ('{"type": "message", "client_id": "a1", "text": "nul \\u0000 byte"}', "invalid_text"),
        ('{"type": "message", "client_id": "a1", "text": "lone \\ud800 surrogate"}', "invalid_text"),
        ('{"type": "resume", "after_seq": -1}', "invalid_field"),
        ('{"type": "resume", "after_seq": "3"}', "invalid_field"),
        ('{"type": "resume", "after_seq": true}', "invalid_field"),
        ('{"type": "typing", "is_typing": "yes"}', "invalid_field"),
        ('{"type": "hello", "token": 12}', "invalid_field"),
        ('{"type": "hello", "page": "http://x"}', "invalid_field"),
    ],
)
def test_it_rejects_bad_frames_with_a_specific_code(raw, code):
    assert error_code(raw) == code


def test_it_refuses_a_frame_too_large_to_be_a_message_before_parsing_it():
    assert error_code("x" * (protocol.MAX_FRAME_BYTES + 1)) == "frame_too_large"


def test_a_message_of_exactly_the_limit_is_accepted_and_one_more_character_is_not():
    limit = protocol.MAX_MESSAGE_CHARS
    assert parse({"type": "message", "client_id": "a", "text": "é" * limit}).text == "é" * limit
    with pytest.raises(ProtocolError) as caught:
        parse({"type": "message", "client_id": "a", "text": "é" * (limit + 1)})
    assert caught.value.code == "message_too_long"
    assert caught.value.client_id == "a"  # so the widget can mark that bubble as not sent
    assert "4,000" in caught.value.message


def test_the_limit_counts_characters_not_utf16_units():
    emoji = "\N{GRINNING FACE}"  # two UTF-16 units in the browser, one character here
    assert parse({"type": "message", "client_id": "a", "text": emoji * protocol.MAX_MESSAGE_CHARS}).text


def test_text_is_kept_exactly_as_sent():
    text = "  <b>bold</b> & 'quotes'\n  "
    assert parse({"type": "message", "client_id": "c-1", "text": text}) == protocol.SendMessage("c-1", text)


def test_hello_and_friends_parse_to_typed_events():
    assert parse({"type": "hello"}) == protocol.Hello(token=None)
    assert parse({"type": "hello", "token": "abc", "page": {"url": "https://shop/x", "title": "X"}}) == protocol.Hello(
        token="abc", page_url="https://shop/x", page_title="X"
    )
    assert parse({"type": "resume", "after_seq": 12}) == protocol.Resume(after_seq=12)
    assert parse({"type": "resume"}) == protocol.Resume(after_seq=0)
    assert parse({"type": "typing", "is_typing": False}) == protocol.Typing(is_typing=False)
    assert parse({"type": "handoff_request"}) == protocol.HandoffRequest()
    assert parse({"type": "ping"}) == protocol.Ping()
