"""The trigger engine: which rules fire for a visitor message. Pure: no Django, no I/O.

    ruleset = compile_rules(specs, embed=embed)          # once per rule change (triggers.rule_cache)
    result = evaluate(ruleset, message, conversation, customer)
    result.matches   # every rule that fired, in order, with the values that matched
    result.handoff   # the first of them (by order) that hands off, or None

Everything a rule may look at arrives in three small dataclasses (MessageContext,
ConversationContext, CustomerContext) that triggers.selectors builds from the database, so the
engine can be tested exhaustively without one and runs inline on every visitor message. The
embedding model is not called here either: the caller passes the message's vector, and
`compile_rules` takes an `embed` function for the rules' example phrases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from triggers import detectors, phrases
from triggers.conditions import Condition, Intent, RuleError, evaluate_all, parse_conditions
from triggers.conditions.context import Context
from triggers.conditions.keywords import Keywords
from triggers.conditions.patterns import MESSAGE_PATTERN_BUDGET_SECONDS, WORD_RUN
from triggers.text import content_words, normalize, tokens, word_overlap
from triggers.vectors import numpy

if TYPE_CHECKING:
    import numpy as np

Phase = Literal["message", "sentiment"]
Embed = Callable[[list[str]], "np.ndarray"]


# --- What the engine looks at ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageContext:
    text: str
    # -1 (very negative) .. 1; None until the sentiment worker has scored the message.
    sentiment: float | None = None
    # The widget's "talk to a person" button sent this message.
    is_explicit_button: bool = False
    # The message's L2-normalised sentence embedding (384 floats), when any rule needs it.
    vector: Any = None
    normalized: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "normalized", normalize(self.text))


@dataclass(frozen=True, slots=True)
class ConversationContext:
    status: str = "bot"
    channel: str = "web"
    # Counts include the message being evaluated.
    visitor_message_count: int = 1
    message_count: int = 1
    # Oldest first, excluding the message being evaluated; only messages already scored.
    previous_visitor_sentiments: tuple[float, ...] = ()
    sentiment: float | None = None  # the conversation's running score
    # The bot's answers so far, oldest first (confidence None when the bot did not say).
    bot_confidences: tuple[float | None, ...] = ()
    bot_texts: tuple[str, ...] = ()
    # The visitor message each of those answers replied to ("" when not known), same order.
    bot_questions: tuple[str, ...] = ()
    # The visitor's earlier messages, oldest first, and optionally their embeddings (same order).
    previous_visitor_texts: tuple[str, ...] = ()
    previous_visitor_vectors: Any = None
    negative_feedback_count: int = 0
    # Since the visitor's oldest message nobody has answered yet.
    waiting_seconds: float = 0.0
    age_seconds: float = 0.0
    # Is the default team (where a rule without a team hands off) open now (None: it has no business
    # hours), and each team with hours by slug.
    business_hours_open: bool | None = None
    teams_open: Mapping[str, bool] = field(default_factory=dict)
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CustomerContext:
    attributes: Mapping[str, Any] = field(default_factory=dict)


# --- Rules ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule as stored (triggers.models.TriggerRule carries the same fields)."""

    id: int
    name: str
    conditions: Any
    match: str = "all"
    order: int = 100
    handoff: bool = False
    enabled: bool = True
    team: str = ""  # the slug of the team it hands off to ("" for the default queue)


@dataclass(frozen=True, slots=True)
class Rule:
    id: int
    name: str
    order: int
    match: str
    handoff: bool
    conditions: tuple[Condition, ...]
    uses_sentiment: bool


# Not frozen: one is built for every rule that fires on every message (dozens with 200 rules), and a
# frozen dataclass's __init__ (object.__setattr__ per field) costs four times a plain one's.
@dataclass(slots=True)
class RuleMatch:
    rule_id: int
    rule_name: str
    order: int
    handoff: bool
    details: dict


@dataclass(frozen=True, slots=True)
class ConditionTrace:
    description: str
    matched: bool
    details: dict


@dataclass(frozen=True, slots=True)
class RuleTrace:
    """Why a rule did or did not fire: every top-level condition, evaluated without short-circuit."""

    rule_id: int
    rule_name: str
    order: int
    matched: bool
    conditions: tuple[ConditionTrace, ...]
    skipped: str = ""


@dataclass(frozen=True, slots=True)
class EngineResult:
    matches: tuple[RuleMatch, ...]
    handoff: RuleMatch | None
    traces: tuple[RuleTrace, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Topic:
    """Rows of the example matrix for one topic, and which contrast blocks it is compared with."""

    block: int
    contrast_blocks: tuple[int, ...]


# The result of a keyword condition the index rules out. One shared object for every message: only
# a miss is ever pre-filled, and a miss's details are never written to.
_KEYWORD_MISS: tuple[bool, dict] = (False, {})


@dataclass(frozen=True, slots=True)
class KeywordIndex:
    """An inverted index of the keyword conditions made only of literal whole-word terms (the
    commonest kind), by the word runs their terms start with (Keywords.required_words).

    Each message's word runs are looked up once; an indexed condition none of whose runs is there
    cannot match, so its slot starts out as a miss and it is never tested. The rest start empty
    and are tested as before, so what matches, and what the firing log records, is unchanged.
    """

    initial: tuple[tuple[bool, dict] | None, ...] = ()  # by slot: a miss for indexed ones, else None
    exact: Mapping[str, tuple[int, ...]] = field(default_factory=dict)  # run -> slots
    prefixes: Mapping[str, tuple[int, ...]] = field(default_factory=dict)  # start of a run -> slots
    prefix_lengths: tuple[int, ...] = ()

    @classmethod
    def build(cls, conditions: Mapping[int, Condition], slot_count: int) -> KeywordIndex:
        initial: list[tuple[bool, dict] | None] = [None] * slot_count
        exact: dict[str, list[int]] = {}
        prefixes: dict[str, list[int]] = {}
        for slot, condition in conditions.items():
            required = condition.required_words() if isinstance(condition, Keywords) else None
            if required is None:
                continue
            initial[slot] = _KEYWORD_MISS
            for run in required[0]:
                exact.setdefault(run, []).append(slot)
            for run in required[1]:
                prefixes.setdefault(run, []).append(slot)
        return cls(
            initial=tuple(initial),
            exact={run: tuple(slots) for run, slots in exact.items()},
            prefixes={run: tuple(slots) for run, slots in prefixes.items()},
            prefix_lengths=tuple(sorted({len(run) for run in prefixes})),
        )

    def results(self, normalized: str) -> list[tuple[bool, dict] | None]:
        """Evaluation.results for a message: indexed conditions it cannot match pre-filled as misses."""
        results = list(self.initial)
        exact, prefixes, lengths = self.exact, self.prefixes, self.prefix_lengths
        if not exact and not prefixes:
            return results
        for run in set(WORD_RUN.findall(normalized)):
            for slot in exact.get(run, ()):
                results[slot] = None
            for length in lengths:
                for slot in prefixes.get(run[:length], ()):
                    results[slot] = None
        return results


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    # Example phrases of every topic stacked in one matrix, so one product per message scores them all.
    examples: Any = None  # np.ndarray (n, dims) or None
    block_starts: Any = None  # np.ndarray of the first row of each block
    topics: Mapping[str, _Topic] = field(default_factory=dict)
    errors: Mapping[int, str] = field(default_factory=dict)  # rules left out, with why
    needs_message_vector: bool = False
    needs_previous_vectors: bool = False
    needs_business_hours: bool = False
    knowledge_categories: frozenset[str] = frozenset()
    slot_count: int = 0  # distinct conditions (see Condition.slot)
    keyword_index: KeywordIndex = field(default_factory=KeywordIndex)

    def __len__(self) -> int:
        return len(self.rules)

    @cached_property
    def sentiment_rules(self) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.uses_sentiment)


def compile_rules(
    specs: Iterable[RuleSpec],
    *,
    embed: Embed | None = None,
    extra_examples: Mapping[str, Sequence[str]] | None = None,
) -> RuleSet:
    """Parse and order enabled rules and embed their example phrases.

    A rule whose conditions do not parse (saved around the admin's validation) is left out and
    reported in `errors` rather than taking every other rule down with it. `extra_examples` adds
    phrases to a category (the knowledge base's articles tagged with it). Without `embed`, intent
    conditions fall back to their keywords and "asks for a person" to its phrases.
    """
    rules, errors = [], {}
    for spec in sorted(specs, key=lambda s: (s.order, s.id)):
        if not spec.enabled:
            continue
        try:
            conditions = parse_conditions(spec.conditions)
            if spec.match not in ("all", "any"):
                raise RuleError(f"match must be 'all' or 'any', got {spec.match!r}")
            if not conditions:
                raise RuleError("the rule has no conditions")
        except RuleError as error:
            errors[spec.id] = str(error)
            continue
        flat = [c for top in conditions for c in top.walk()]
        for condition in flat:
            # "Business hours" means the hours of the team this rule would hand off to.
            if isinstance(condition, Context) and condition.uses_business_hours and not condition.team:
                condition.team = spec.team
        for n, condition in enumerate(flat):
            if isinstance(condition, Intent):
                # Conditions naming only a category share its block of examples.
                if condition.examples:
                    condition.topic = f"rule:{spec.id}:{n}"
                else:
                    condition.topic = condition.category + ("" if condition.knowledge_base else ":built-in")
        rules.append(
            Rule(
                id=spec.id,
                name=spec.name,
                order=spec.order,
                match=spec.match,
                handoff=spec.handoff,
                conditions=conditions,
                uses_sentiment=any(c.uses_sentiment for c in flat),
            )
        )
    everything = [c for rule in rules for top in rule.conditions for c in top.walk()]
    # Rules repeat conditions ("plan is pro", "asks for a person"): equal ones (same kind and options,
    # so the same repr) share a slot and are tested once per message, whichever rule asks first.
    slots: dict[str, int] = {}
    by_slot: dict[int, Condition] = {}
    for condition in everything:
        condition.slot = slots.setdefault(repr(condition), len(slots))
        by_slot.setdefault(condition.slot, condition)
    intents = [c for c in everything if isinstance(c, Intent)]
    needs_vectors = any(c.uses_vectors for c in everything)
    knowledge_categories = frozenset(c.category for c in intents if c.category and c.knowledge_base)
    ruleset_fields: dict[str, Any] = {
        "rules": tuple(rules),
        "errors": errors,
        "needs_previous_vectors": embed is not None and any(c.uses_previous_vectors for c in everything),
        "needs_business_hours": any(c.uses_business_hours for c in everything),
        "knowledge_categories": knowledge_categories,
        "slot_count": len(slots),
        "keyword_index": KeywordIndex.build(by_slot, len(slots)),
    }
    if embed is None or not needs_vectors:
        return RuleSet(**ruleset_fields)

    # One block per topic and per contrast group; each topic remembers its contrast blocks.
    blocks: list[tuple[str, ...]] = []
    block_of: dict[str, int] = {}

    def add_block(key: str, texts: Sequence[str]) -> int | None:
        texts = tuple(dict.fromkeys(t for t in texts if t.strip()))
        if not texts:
            return None
        if key not in block_of:
            block_of[key] = len(blocks)
            blocks.append(texts)
        return block_of[key]

    contrast = {name: add_block(f"contrast:{name}", examples) for name, examples in phrases.CONTRAST_EXAMPLES.items()}
    extra = {key.casefold(): list(value) for key, value in (extra_examples or {}).items()}
    wanted: dict[str, tuple[tuple[str, ...], str]] = {}
    if any(c.uses_vectors and c.kind == "explicit_request" for c in everything):
        wanted["human_request"] = (phrases.CATEGORIES["human_request"]["examples"], "human_request")
    for condition in intents:
        builtin = phrases.CATEGORIES.get(condition.category, {}).get("examples", ()) if condition.category else ()
        kb = extra.get(condition.category, []) if condition.category and condition.knowledge_base else []
        wanted[condition.topic] = ((*builtin, *kb, *condition.examples), condition.category)
    topics: dict[str, _Topic] = {}
    for topic, (texts, category) in wanted.items():
        block = add_block(f"topic:{topic}", texts)
        if block is None:
            continue
        overlaps = set(phrases.CATEGORIES.get(category, {}).get("overlaps", ()))
        others = tuple(index for name, index in contrast.items() if index is not None and name not in overlaps)
        topics[topic] = _Topic(block=block, contrast_blocks=others)

    np = numpy()
    texts = [text for block in blocks for text in block]
    matrix = np.asarray(embed(texts), dtype=np.float32)
    starts = np.cumsum([0] + [len(block) for block in blocks[:-1]])
    return RuleSet(
        **ruleset_fields,
        examples=matrix,
        block_starts=starts,
        topics=topics,
        needs_message_vector=True,
    )


# --- Evaluation ------------------------------------------------------------------------------------------


class Evaluation:
    """One message against one rule set: the inputs, plus features computed at most once and only
    when a condition asks (the frustration scan, the person-request parse, the similarity scores)."""

    def __init__(
        self,
        ruleset: RuleSet,
        message: MessageContext,
        conversation: ConversationContext,
        customer: CustomerContext,
    ) -> None:
        self.ruleset = ruleset
        self.message = message
        self.conversation = conversation
        self.customer = customer
        self.notes: list[str] = []
        self.pattern_seconds_left = MESSAGE_PATTERN_BUDGET_SECONDS  # spent by Keywords' regular expressions
        # By Condition.slot; keyword conditions the message cannot match start out decided.
        self.results = ruleset.keyword_index.results(message.normalized)
        self._corrected: dict[int, str | None] = {}
        self._similarities: dict[str, tuple[float, float] | None] = {}
        self._contrasts: dict[tuple[int, ...], float] = {}

    @cached_property
    def words(self) -> list[str]:
        return tokens(self.message.normalized)

    def corrected(self, vocabulary: detectors.FuzzyVocabulary) -> str | None:
        """The message with typos of the vocabulary's words fixed (None when there were none)."""
        key = id(vocabulary)
        if key not in self._corrected:
            self._corrected[key] = detectors.correct_words(self.words, vocabulary)
        return self._corrected[key]

    @cached_property
    def person_request(self) -> detectors.Detection:
        return detectors.detect_person_request(self.message.normalized, self.words)

    @cached_property
    def frustration(self) -> dict[str, str]:
        return detectors.detect_frustration(self.message.text, self.message.normalized)

    @cached_property
    def _block_max(self):
        ruleset = self.ruleset
        if ruleset.examples is None or self.message.vector is None:
            return None
        np = numpy()
        similarities = ruleset.examples @ np.asarray(self.message.vector, dtype=np.float32)
        return np.maximum.reduceat(similarities, ruleset.block_starts).tolist()

    def intent_similarity(self, topic: str) -> tuple[float, float] | None:
        """(best similarity to the topic's examples, best similarity to its contrast examples)."""
        if topic in self._similarities:
            return self._similarities[topic]
        block_max = self._block_max
        found = self.ruleset.topics.get(topic)
        similarity = None
        if block_max is not None and found is not None:
            similarity = (block_max[found.block], self._contrast(found.contrast_blocks))
        self._similarities[topic] = similarity
        return similarity

    def _contrast(self, blocks: tuple[int, ...]) -> float:
        # Topics of unrelated categories share one set of contrast blocks: its best is found once.
        if blocks not in self._contrasts:
            block_max = self._block_max
            self._contrasts[blocks] = max((block_max[i] for i in blocks), default=-1.0)
        return self._contrasts[blocks]

    def rephrased(self, within: int, min_similarity: float) -> tuple[str, float] | None:
        """An earlier visitor message (of the last `within`) that says the same thing as this one."""
        conversation = self.conversation
        texts = conversation.previous_visitor_texts[-within:]
        if not texts or len(content_words(self.message.text)) < 2:
            return None  # "yes", "ok", "thanks" repeated are not a question asked twice
        vectors = conversation.previous_visitor_vectors
        if vectors is not None and self.message.vector is not None and len(vectors) >= len(texts):
            np = numpy()
            recent = np.asarray(vectors, dtype=np.float32)[-len(texts) :]
            scores = (recent @ np.asarray(self.message.vector, dtype=np.float32)).tolist()
        else:
            # Without embeddings: the share of content words the two messages have in common.
            mine = content_words(self.message.text)
            scores = [word_overlap(mine, content_words(text)) for text in texts]
            min_similarity = min(min_similarity, 0.6)
        best = max(range(len(texts)), key=scores.__getitem__)
        if scores[best] >= min_similarity and normalize(texts[best]) != "":
            return texts[best], scores[best]
        return None


def evaluate(
    ruleset: RuleSet,
    message: MessageContext,
    conversation: ConversationContext | None = None,
    customer: CustomerContext | None = None,
    *,
    phase: Phase | None = None,
    skip_rule_ids: frozenset[int] | set[int] = frozenset(),
    explain: bool = False,
) -> EngineResult:
    """Every rule that fires for this message, in order; the first that hands off wins the handoff.

    phase "sentiment" runs only rules that look at sentiment (the message has just been scored);
    "message" and None run them all (sentiment conditions are false until a score exists).
    `skip_rule_ids` leaves out rules that already fired for this message. With explain, every
    rule's top-level conditions are evaluated and returned as traces (the admin's test panel).
    """
    ev = Evaluation(ruleset, message, conversation or ConversationContext(), customer or CustomerContext())
    matches: list[RuleMatch] = []
    traces: list[RuleTrace] = []
    # Only the explanation needs a trace of the rules a phase leaves out.
    rules = ruleset.sentiment_rules if phase == "sentiment" and not explain else ruleset.rules
    for rule in rules:
        skipped = ""
        if phase == "sentiment" and not rule.uses_sentiment:
            skipped = "does not look at sentiment (already evaluated when the message arrived)"
        elif rule.id in skip_rule_ids:
            skipped = "already fired for this message"
        if skipped:
            if explain:
                traces.append(RuleTrace(rule.id, rule.name, rule.order, False, (), skipped))
            continue
        matched, details = evaluate_all(rule.conditions, rule.match, ev)
        if matched:
            matches.append(RuleMatch(rule.id, rule.name, rule.order, rule.handoff, details))
        if explain:
            traces.append(_trace(rule, ev, matched))
    handoff = next((match for match in matches if match.handoff), None)
    return EngineResult(tuple(matches), handoff, tuple(traces), tuple(ev.notes))


def _trace(rule: Rule, ev: Evaluation, matched: bool) -> RuleTrace:
    conditions = []
    for condition in rule.conditions:
        hit, details = condition.test(ev)
        conditions.append(ConditionTrace(condition.describe(), hit, details))
    return RuleTrace(rule.id, rule.name, rule.order, matched, tuple(conditions))
