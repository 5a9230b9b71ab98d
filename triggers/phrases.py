"""Built-in vocabulary and example phrases the engine ships with. Pure data.

The example phrases were written for this project (they are not copied from any evaluation set):
they describe how customers ask for a person, complain, or ask the everyday questions a bot should
answer itself. Intent conditions compare a message's embedding with them; managers add their own
phrases per rule, and knowledge-base articles tagged with a category add theirs.
"""

from __future__ import annotations

from triggers.not_typos import NOT_TYPOS as GENERATED_NOT_TYPOS

# --- Explicit requests for a person --------------------------------------------------------------

# Verbs that ask to be put in touch ("talk to", "reach", "connect me with"). Past tenses are left
# out on purpose: "I spoke to your agent yesterday" tells a story, it does not ask for anyone.
CONTACT_VERBS = frozenset(
    {
        "talk",
        "talking",
        "speak",
        "speaking",
        "chat",
        "chatting",
        "contact",
        "contacting",
        "reach",
        "reaching",
        "connect",
        "connecting",
        "transfer",
        "escalate",
        "escalating",
        "call",
        "calling",
        "phone",
        "ring",
        "message",
        "communicate",
        "communicating",
        "converse",
    }
)
# Verbs that make sense with the person after them only when "me" follows: "transfer me to".
VERBS_NEEDING_ME = frozenset({"transfer", "connect", "connecting", "put", "pass", "forward", "hand", "switch"})
# Whoever the visitor wants, as a noun. "Strong" ones are a request on their own ("agent please");
# "weak" ones ("someone") only with a contact verb ("can I speak to someone").
STRONG_PERSON_NOUNS = frozenset(
    {
        "human",
        "humans",
        "person",
        "persons",
        "agent",
        "agents",
        "representative",
        "representatives",
        "rep",
        "reps",
        "operator",
        "operators",
        "staff",
        "employee",
        "employees",
        "manager",
        "supervisor",
        "advisor",
        "adviser",
        "associate",
        "consultant",
        "specialist",
    }
)
WEAK_PERSON_NOUNS = frozenset({"someone", "somebody", "anyone", "anybody", "assistant", "individual", "guy", "people"})
PERSON_ADJECTIVES = frozenset({"real", "live", "actual", "human", "physical", "proper", "flesh"})
WANT_VERBS = frozenset(
    {"want", "wanna", "need", "needs", "require", "request", "prefer", "give", "get", "demand", "like"}
)
POLITE_WORDS = frozenset({"please", "pls", "plz", "pleaseee", "now", "asap", "immediately", "thanks", "thank"})
FILLER_WORDS = frozenset(
    {"a", "an", "the", "to", "me", "i", "i'd", "i'm", "im", "just", "with", "some", "one", "and", "hi", "hello", "hey"}
)
BOT_WORDS = frozenset({"bot", "bots", "robot", "robots", "chatbot", "machine", "ai", "automated", "computer"})
BOT_REJECTIONS = frozenset(
    {"not", "no", "don't", "dont", "stop", "hate", "enough", "useless", "stupid", "dumb", "without", "instead"}
)
# Word pairs where a person noun means something else.
NOT_A_PERSON = frozenset(
    {
        ("human", "resources"),
        ("in", "person"),
        ("virtual", "assistant"),
        ("ai", "assistant"),
        ("digital", "assistant"),
        ("travel", "agent"),
        ("estate", "agent"),
        ("shipping", "agent"),
        ("user", "agent"),
        ("contact", "person"),
    }
)

# Real English words one typo away from the vocabulary above: "personal" is not a misspelt "person",
# "changing" not "chatting". Typo correction never rewrites them. The list is generated from the
# embedding model's word list (bench/trigger_wordlists.py).
NOT_TYPOS = GENERATED_NOT_TYPOS | {"stuff", "task", "walk", "tall", "teach", "persona", "assistance"}

# --- Frustration ---------------------------------------------------------------------------------

EXASPERATION_PHRASES = (
    "this is ridiculous",
    "ridiculous",
    "absurd",
    "unacceptable",
    "not acceptable",
    "waste of time",
    "wasting my time",
    "waste of my time",
    "useless",
    "pointless",
    "not helpful",
    "not being helpful",
    "not helping",
    "no help",
    "you're not helping",
    "you are not helping",
    "doesn't help",
    "does not help",
    "sick of",
    "sick and tired",
    "fed up",
    "had enough",
    "are you kidding",
    "you must be joking",
    "what a joke",
    "a joke",
    "joke of a",
    "worst service",
    "worst company",
    "worst experience",
    "terrible service",
    "horrible service",
    "awful service",
    "pathetic",
    "disgrace",
    "disgraceful",
    "shameful",
    "for the last time",
    "i already told you",
    "i already said",
    "how many times",
    "again and again",
    "over and over",
    "still waiting",
    "still not",
    "still no",
    "nobody answers",
    "no one answers",
    "never again",
    "i give up",
    "come on",
    "seriously",
    "you don't understand",
    "you do not understand",
    "doesn't understand",
    "not what i asked",
    "that's not what i asked",
    "makes no sense",
    "frustrated",
    "frustrating",
    "annoyed",
    "annoying",
    "furious",
    "angry",
    "outraged",
    "livid",
    "fuming",
    "disappointed",
    "disgusted",
)

# Common profanity and its usual disguises; matched as whole words after folding.
PROFANITY = (
    "fuck",
    "fucking",
    "fucked",
    "fucker",
    "fck",
    "fcking",
    "fuk",
    "fking",
    "f*ck",
    "f**k",
    "f***",
    "wtf",
    "ffs",
    "stfu",
    "shit",
    "shitty",
    "bullshit",
    "sh*t",
    "crap",
    "crappy",
    "damn",
    "dammit",
    "goddamn",
    "hell",
    "bloody",
    "bastard",
    "bastards",
    "bitch",
    "asshole",
    "arsehole",
    "ass",
    "idiot",
    "idiots",
    "idiotic",
    "moron",
    "morons",
    "stupid",
    "dumb",
    "screw you",
    "piss",
    "pissed",
    "bollocks",
    "scam",
    "scammers",
    "thieves",
    "rip off",
    "ripoff",
)

# --- Intent categories -----------------------------------------------------------------------------

# Each category: a label for admin, keywords (whole words or phrases; a match is enough), example
# phrases whose embeddings a message is compared with, and the contrast topics it overlaps with.
CATEGORIES: dict[str, dict] = {
    "human_request": {
        "label": "Asks for a person",
        "keywords": (),
        "examples": (
            "I want to talk to a human",
            "can I speak to a real person please",
            "connect me with an agent",
            "let me talk to someone from your team",
            "I would like to chat with a live agent",
            "put me through to a representative",
            "is there a person I can talk to",
            "get me a human",
            "I need to speak with a member of staff",
            "transfer me to customer support agent",
            "please let me speak with an operator",
            "I don't want to talk to a bot",
            "stop the bot and get me someone real",
            "how do I reach a live person",
            "I need help from an actual human being",
            "can a human being help me instead",
            "I want to speak to your manager",
            "escalate this to a supervisor",
            "I'd rather talk to somebody",
            "how can I get in touch with one of your agents",
            "can I get an agent on the chat",
            "you are not helping, I need a real person",
            "are there any humans working there",
            "human please",
        ),
    },
    "complaint": {
        "label": "Complaint",
        "keywords": (
            "complaint",
            "complaints",
            "complain",
            "complaining",
            "grievance",
            "reclamation",
            "reclamations",
            "formal claim",
            "claim against",
            "lodge a claim",
            "file a claim",
            "filing a claim",
            "make a claim",
            "making a claim",
            "submit a claim",
            "customer claim",
            "consumer claim",
            "not happy with your",
            "not satisfied with your",
            "unhappy with your",
            "dissatisfied with your",
        ),
        "examples": (
            "I want to make a complaint",
            "I would like to file a formal complaint about your service",
            "how do I complain about an employee",
            "I am very unhappy with how I was treated",
            "your service has been terrible and I want someone to know",
            "I'm not satisfied with your company at all",
            "this is the worst experience I have had with any shop",
            "I want to report bad service",
            "where can I send a complaint about my order",
            "I'm disappointed with the quality of your work",
            "the product arrived broken and nobody has helped me",
            "I have been waiting for weeks and this is unacceptable",
            "I want to escalate a complaint",
            "your courier was rude to me",
            "I want to lodge a grievance against your company",
            "I am furious about how this was handled",
            "I've been charged wrongly and I want this fixed now",
            "I'm going to leave a terrible review unless this is sorted",
        ),
    },
    "technical_issue": {
        "label": "Technical issue",
        "keywords": (
            *("error message", "bug", "crash", "crashes", "crashing"),
            *("not loading", "doesn't load", "broken link"),
        ),
        "examples": (
            "the app keeps crashing when I open it",
            "I get an error when I try to log in",
            "the website is not loading",
            "the page shows a blank screen",
            "my device won't connect",
            "the checkout button does nothing",
            "I can't upload my file, it fails every time",
            "the app is very slow and freezes",
            "I see error 500 on your site",
            "the update broke my installation",
            "my password reset link doesn't work",
            "the integration stopped syncing",
        ),
    },
    "billing": {
        "label": "Billing",
        "keywords": ("invoice", "invoices", "billing", "charged twice", "double charged", "overcharged", "refund"),
        "overlaps": ("payments", "refunds"),
        "examples": (
            "I was charged twice this month",
            "why is my bill higher than usual",
            "I need a copy of my invoice",
            "there is a charge on my card I don't recognise",
            "can I change my payment method",
            "my payment was declined",
            "I want a refund for my last payment",
            "how much will I be billed next month",
            "update the billing address on my account",
            "I was overcharged for my subscription",
        ),
    },
    "cancellation": {
        "label": "Cancellation",
        "keywords": ("cancel my subscription", "cancel my account", "close my account", "unsubscribe", "terminate"),
        "overlaps": ("cancellation_questions", "newsletter"),
        "examples": (
            "I want to cancel my subscription",
            "how do I close my account",
            "please terminate my contract",
            "I'd like to end my membership",
            "stop my plan from renewing",
            "I want to cancel my order",
            "delete my account and all my data",
            "I'm leaving, how do I cancel",
            "is there a fee to cancel early",
            "I don't want to be charged again, cancel everything",
        ),
    },
}

# Everyday questions a bot should answer itself, by topic. An intent condition fires only when the
# message is closer to the category's examples than to these, which keeps "what are your support
# hours" from looking like "let me talk to support". A category skips the topics it overlaps with
# (billing questions are not a contrast for the billing category).
CONTRAST_EXAMPLES: dict[str, tuple[str, ...]] = {
    "orders": (
        "where is my order",
        "how do I track my package",
        "when will my parcel arrive",
        "I want to change something in my order",
        "can I add an item to my order",
        "how do I place an order",
        "I'd like to buy this product",
    ),
    "delivery": (
        "what delivery options do you have",
        "how long does shipping take",
        "can I change the delivery address",
        "how do I add a new shipping address",
        "do you ship abroad",
    ),
    "refunds": (
        "what is your return policy",
        "how do I return an item",
        "when will I get my money back",
        "how do I check the status of my refund",
    ),
    "payments": (
        "what payment methods do you accept",
        "can I pay with paypal",
        "how do I download my invoice",
        "where can I find my bill",
    ),
    "account": (
        "how do I create an account",
        "how do I reset my password",
        "I forgot my password",
        "how do I change my email address",
        "how do I update my profile",
        "can I switch to another account",
        "I can't finish signing up",
    ),
    "newsletter": (
        "how do I subscribe to the newsletter",
        "how do I unsubscribe from emails",
    ),
    "contact_info": (
        "what are your opening hours",
        "what time is customer service available",
        "what is the customer service phone number",
        "what is your support email address",
        "how can I contact customer support",
        "is there a number I can call",
        "when is your support team available",
    ),
    "feedback": (
        "I want to leave a review",
        "where can I give feedback about a product",
        "how do I rate my purchase",
        "I'd like to share some suggestions",
    ),
    "small_talk": (
        "thank you, that helps",
        "great, thanks a lot",
        "hello",
        "hi there",
        "who are you",
        "are you a bot",
        "what can you help me with",
        "can I speak English or Spanish here",
    ),
    "products": (
        "do you have this in a larger size",
        "is this item in stock",
        "how much does it cost",
        "do you offer discounts for students",
        "what is the warranty on this product",
        "how do I use a promo code",
        "what are the terms and conditions",
    ),
    "cancellation_questions": (
        "how do I cancel an order",
        "what is the cancellation fee",
    ),
}
