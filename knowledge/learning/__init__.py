"""Human in the loop: training suggestions learned from conversations, and the reviewer's decisions.

Generation (knowledge.learning.generation, after each resolved conversation; knowledge.learning.nightly,
every night) reads what happened and proposes:
  - new_article: an agent answered, after a handoff, a question the bot could not (the handoff was
    resolved, not reopened, and not rated badly): the visitor's question becomes the example
    question and the agent's answer the body (rewritten by the chat model when one is configured,
    otherwise cleaned of greetings and personal data by knowledge.scrub);
  - example_question: the agent's answer matches an existing article, or the bot answered the
    question unsure and the visitor liked it (thumbs up, good rating): the phrasing is added to it;
  - content_gap (knowledge.learning.gaps): clusters of questions the bot declined or was unsure
    about over a period, that no person answered, with their counts: a proposed article for a
    reviewer to write;
  - answer_revision: a bot answer that got a thumbs down, or after which the visitor asked for a
    person: the article it came from needs work.
knowledge.learning.recording stores the proposals, merging repeats into pending suggestions as evidence.

Reviewing (knowledge.learning.review, called by the admin): approve (optionally edited), reject,
revert. knowledge.learning.weekly draws the weekly sample of bot conversations a reviewer reads;
knowledge.learning.selectors holds the reads behind both screens.

This package imports nothing itself: importing a module of it loads only what that module needs
(content gaps need numpy, which the web process does not).
"""
