"""The email channel: agents' replies emailed to visitors who are not in the chat (outbound.py), and their
emailed answers threaded back into the same conversation (inbound.py), from the inbound-parse webhook
(views.py) or an IMAP mailbox (imap.py). Parsing and quote stripping: parsing.py; addresses: addresses.py."""
