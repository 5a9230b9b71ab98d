"""The demo company's help centre: Northwind Outfitters, an outdoor-gear shop.

Each article's url is /help/<slug>, where the demo site serves a page of the same name.
"""

from __future__ import annotations

from knowledge.classifier import classifier_train
from knowledge.models import Source
from knowledge.services import article_upsert, articles_embed

DEMO_SOURCE_NAME = "Northwind Outfitters help centre"

# slug, title, tags, body, example questions
ARTICLES: list[tuple[str, str, list[str], str, list[str]]] = [
    (
        "shipping",
        "Shipping times and costs",
        ["shipping", "delivery"],
        "Standard delivery within the UK takes 2-4 working days and costs £4.95; it is free on orders over £50. "
        "Express delivery arrives the next working day if you order before 2pm, for £9.95. "
        "We ship to the EU in 4-7 working days for £12.95 and to the rest of the world in 7-14 working days "
        "from £19.95. Import duties outside the UK are paid by the recipient.",
        [
            "How long does delivery take?",
            "How much is shipping?",
            "Do you offer free shipping?",
            "Do you ship internationally?",
            "Can I get next day delivery?",
        ],
    ),
    (
        "order-tracking",
        "Tracking your order",
        ["orders", "shipping"],
        "As soon as your parcel leaves our warehouse we email you a tracking link. You can also follow it under "
        "Account > Orders on our website. Tracking can take up to 24 hours to show the first scan. If your "
        "parcel has not moved for 5 working days, contact us and we will open an investigation with the courier.",
        [
            "Where is my order?",
            "How can I track my package?",
            "My parcel hasn't arrived yet",
            "I didn't get a tracking number",
        ],
    ),
    (
        "change-or-cancel-order",
        "Changing or cancelling an order",
        ["orders", "cancellation"],
        "You can change the size, colour or delivery address of an order, or cancel it, within 1 hour of placing "
        "it from Account > Orders. After that the order is already being packed: we cannot change it any more, "
        "but you can return the items for free once they arrive.",
        [
            "Can I cancel my order?",
            "How do I change the delivery address of my order?",
            "I ordered the wrong size, can I change it?",
            "I want to cancel my purchase",
        ],
    ),
    (
        "returns",
        "Returns and refunds",
        ["returns", "refunds"],
        "You can return unused items in their original packaging within 30 days of delivery. Start a return under "
        "Account > Orders > Return items and print the free returns label. Refunds go back to the original "
        "payment method within 5 working days of the return reaching our warehouse. Worn footwear and opened "
        "gas canisters cannot be returned for hygiene and safety reasons.",
        [
            "How do I return an item?",
            "What is your return policy?",
            "When will I get my refund?",
            "Can I return shoes I have worn?",
            "Is the return shipping free?",
        ],
    ),
    (
        "exchanges",
        "Exchanging an item for another size or colour",
        ["returns", "sizing"],
        "To exchange an item, return it as usual and place a new order for the size or colour you want: this is "
        "faster than a traditional exchange, and we refund the original item as soon as it arrives back.",
        [
            "Can I exchange my jacket for a bigger size?",
            "How do exchanges work?",
            "I want a different colour",
        ],
    ),
    (
        "payment-methods",
        "Payment methods",
        ["payments", "billing"],
        "We accept Visa, Mastercard, American Express, PayPal, Apple Pay and Google Pay, and Klarna for paying in "
        "three interest-free instalments. Your card is charged when the order ships, not when you place it. "
        "Northwind gift cards can be combined with any other payment method.",
        [
            "What payment methods do you accept?",
            "Can I pay with PayPal?",
            "Do you take American Express?",
            "Can I pay in instalments?",
            "When is my card charged?",
        ],
    ),
    (
        "sizing-guide",
        "Sizing guide",
        ["sizing", "products"],
        "Our clothing follows standard UK sizes; each product page has a size chart with chest, waist and inside "
        "leg measurements in centimetres and inches. Hiking boots fit true to size, but if you are between sizes "
        "or wear thick socks, pick the larger size. Still unsure? Order two sizes and return the one that does "
        "not fit for free.",
        [
            "What size should I order?",
            "Do your hiking boots run small?",
            "Where can I find the size chart?",
            "I'm between two sizes, which one do I pick?",
        ],
    ),
    (
        "warranty",
        "Warranty and repairs",
        ["warranty", "products"],
        "All Northwind-branded gear has a 2-year warranty against manufacturing defects, and our tents and "
        "backpacks a lifetime warranty on seams and zips. Normal wear and tear and accidental damage are not "
        "covered, but our repair service can fix most gear at a fair price. To make a claim, send us photos of "
        "the defect and your order number.",
        [
            "Is my tent covered by warranty?",
            "The zip on my backpack broke",
            "How do I make a warranty claim?",
            "Do you repair damaged gear?",
        ],
    ),
    (
        "password-reset",
        "Resetting your password",
        ["account", "login"],
        "Click 'Sign in' and then 'Forgot password?', enter the email address of your account, and we will send "
        "you a link to choose a new password. The link works for 1 hour. If the email does not arrive within "
        "10 minutes, check your spam folder.",
        [
            "How do I reset my password?",
            "I forgot my password",
            "I can't log in to my account",
            "The password reset email never came",
        ],
    ),
    (
        "account-deletion",
        "Deleting your account",
        ["account", "privacy"],
        "You can delete your account under Account > Settings > Delete account. We erase your personal data "
        "within 30 days, except order records we must keep for 6 years for tax purposes. Deleting your account "
        "also cancels newsletter subscriptions and any unused store credit.",
        [
            "How do I delete my account?",
            "Please remove my personal data",
            "Can I close my account?",
        ],
    ),
    (
        "gift-cards",
        "Gift cards",
        ["gift cards", "payments"],
        "Northwind gift cards come in any amount from £10 to £500, as an e-gift card by email or a printed card "
        "by post. They are valid for 2 years and can be used online and in our stores. Check your balance on "
        "the Gift cards page. Lost gift cards cannot be replaced unless you have the order number.",
        [
            "Do you sell gift cards?",
            "How do I check my gift card balance?",
            "How long is a gift card valid?",
            "Can I use a gift card in store?",
        ],
    ),
    (
        "store-locations",
        "Store locations and opening hours",
        ["stores"],
        "Visit us in Keswick (Main Street), Fort William (High Street), Bristol (Cabot Circus) and Manchester "
        "(Deansgate). Stores are open Monday to Saturday 9am-6pm and Sunday 10am-4pm. You can also collect "
        "online orders from any store for free.",
        [
            "Where are your stores?",
            "What are your opening hours?",
            "Do you have a shop in Manchester?",
            "Can I pick up my order in store?",
        ],
    ),
    (
        "discount-codes",
        "Discount codes and promotions",
        ["promotions", "payments"],
        "Enter a discount code in the basket before checkout; only one code can be used per order. Codes do not "
        "apply to gift cards or to items already on sale. Sign up to our newsletter for 10% off your first order.",
        [
            "My discount code doesn't work",
            "Can I use two promo codes?",
            "Do you have a student discount?",
            "How do I get 10% off?",
        ],
    ),
    (
        "contact-us",
        "Contacting customer support",
        ["support"],
        "Our support team answers chat and email (help@northwind.example) Monday to Friday 8am-8pm UK time, and "
        "phone (0330 123 4567) Monday to Friday 9am-5pm. Have your order number ready when you contact us.",
        [
            "How can I contact you?",
            "What is your phone number?",
            "When is customer service open?",
        ],
    ),
]


def load_demo_knowledge_base() -> int:
    """Create or update the demo articles and embed them now; returns the number of demo articles. Idempotent."""
    source, _ = Source.objects.get_or_create(name=DEMO_SOURCE_NAME, defaults={"kind": Source.Kind.MANUAL})
    articles = []
    for slug, title, tags, body, questions in ARTICLES:
        article, _outcome = article_upsert(
            source=source,
            external_key=slug,
            title=title,
            body=body,
            url=f"/help/{slug}",
            tags=tags,
            questions=questions,
        )
        articles.append(article)
    articles_embed(articles=articles)
    classifier_train()
    source.status = Source.Status.DONE
    source.save(update_fields=["status", "updated_at"])
    return len(articles)
