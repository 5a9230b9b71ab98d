"""knowledge.scrub: what an agent's chat reply loses on its way into the knowledge base (pure functions)."""

import pytest

from knowledge.scrub import (
    normalise,
    scrub_answer,
    scrub_personal_data,
    scrub_question,
    strip_pleasantries,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Write to dana.smith+help@northwind.example.co.uk today", "Write to [email] today"),
        ("Your order NW-12345 shipped", "Your order [order number] shipped"),
        ("Order ORD20231145 is on its way", "Order [order number] is on its way"),
        ("About order #123456, and #98765", "About order [order number], and [order number]"),
        ("Reference 48213377 is refunded", "Reference [order number] is refunded"),
        ("Card 4111 1111 1111 1111 was charged", "Card [card number] was charged"),
        ("Card 4111-1111-1111-1111 was charged", "Card [card number] was charged"),
        ("Call 0330 123 4567 or 07700 900123", "Call [phone number] or [phone number]"),
        ("Call +44 20 7946 0958 or +1 (555) 123-4567", "Call [phone number] or [phone number]"),
        ("Call (555) 123-4567", "Call [phone number]"),
        ("Use {{Order Number}} from {{Account Section}}", "Use [order number] from [account section]"),
    ],
)
def test_personal_data_is_replaced_by_placeholders(text, expected):
    assert scrub_personal_data(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Standard delivery takes 2-4 working days and costs £4.95; free over £50.",
        "Open Monday to Saturday 9am-6pm, Sunday 10am-4pm.",
        "Returns within 30 days; refunds in 5 working days; 2-year warranty since 2019.",
        "Gift cards from £10 to £500, valid for 2 years.",
        "The QX-7 tent sleeps 3 people and weighs 2.4 kg.",
    ],
)
def test_ordinary_numbers_prices_times_and_product_names_are_kept(text):
    assert scrub_personal_data(text) == text


def test_a_long_number_that_is_not_a_valid_card_is_an_order_number_not_a_card():
    assert scrub_personal_data("purchase 1234 5678 9012 3456") == "purchase [order number]"
    assert scrub_personal_data("purchase 113542617735900") == "purchase [order number]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("purchase 00004587345", "purchase [order number]"),
        ("purchase 370795561790", "purchase [order number]"),
        ("call 07700900123", "call [phone number]"),
    ],
)
def test_a_run_of_digits_is_a_phone_number_only_when_shaped_like_one(text, expected):
    assert scrub_personal_data(text) == expected


def test_known_names_are_replaced_whole_and_in_parts_as_whole_words_only():
    text = "Ada Lovelace asked; Ada's parcel went to Lovelace Road. Adam and Dana joined."

    assert scrub_personal_data(text, names=["Ada Lovelace", "Dana"]) == (
        "[name] asked; [name]'s parcel went to [name] Road. Adam and [name] joined."
    )


def test_names_that_are_everyday_words_are_replaced_only_as_written():
    text = "Bill, we will refund the bill. Will said so."

    assert scrub_personal_data(text, names=["Bill Hope", "Will"]) == "[name], we will refund the bill. [name] said so."


def test_an_email_given_as_a_name_is_not_used_as_a_pattern():
    assert scrub_personal_data("Hello world", names=["ada@example.com", ""]) == "Hello world"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi Ada, thanks for waiting! Returns are free.", "Returns are free."),
        ("Hello there! Returns are free.", "Returns are free."),
        ("Good morning Ada - sorry for the wait. Returns are free.", "Returns are free."),
        ("Hey, I'm Dana. Returns are free.", "Returns are free."),
        ("Dana here, happy to help. Returns are free.", "Returns are free."),
        ("Returns are free. Best, Dana", "Returns are free."),
        ("Returns are free.\n\nKind regards,\nDana Smith", "Returns are free."),
        ("Returns are free. Is there anything else I can help with? Have a great day!", "Returns are free."),
        ("Thank you for your patience. Returns are free. I hope this helps!", "Returns are free."),
        ("Returns are free.\nCheers!", "Returns are free."),
        ("Returns are free - Dana", "Returns are free."),
    ],
)
def test_greetings_introductions_thanks_and_sign_offs_are_stripped(text, expected):
    assert strip_pleasantries(text, names=["Ada Lovelace", "Dana Smith"]) in (expected, expected.rstrip("."))


@pytest.mark.parametrize(
    "text",
    [
        "I'm sorry, but worn footwear cannot be returned.",
        "Best practice is to reproof your jacket every season.",
        "Thanks to our 2-year warranty, zips are covered.",
        "Regardless of the size, exchanges are free.",
    ],
)
def test_sentences_that_only_start_like_pleasantries_are_kept(text):
    assert strip_pleasantries(text) == text


def test_an_agent_reply_becomes_a_neutral_answer():
    reply = (
        "Hi Ada, thanks for waiting!\n"
        "I'm Dana from Northwind.\n"
        "Your order NW-12345 can be returned within 30 days: print the free label under Account > Orders, "
        "and we refund card 4111 1111 1111 1111 within 5 working days. Questions? help@northwind.example "
        "or 0330 123 4567.\n"
        "Best,\nDana"
    )

    assert scrub_answer(reply, names=["Ada Lovelace", "Dana"]) == (
        "Your order [order number] can be returned within 30 days: print the free label under Account > Orders, "
        "and we refund card [card number] within 5 working days. Questions? [email] or [phone number]."
    )


def test_a_reply_that_is_only_pleasantries_becomes_empty():
    assert scrub_answer("Hi Ada! I'm Dana. Let me check that for you.", names=["Ada", "Dana"]) == ""


def test_a_visitor_question_loses_its_greeting_and_personal_data():
    question = "hi, my order NW-99881 never came, can you help? ada@example.com"

    assert scrub_question(question, names=["Ada"]) == "My order [order number] never came, can you help? [email]"


def test_normalise_makes_spellings_of_one_question_equal():
    assert (
        normalise("Can you ENGRAVE my bottle??")
        == normalise("can you engrave my bottle")
        == ("can you engrave my bottle")
    )
