"""A labelled knowledge set: the help center of “Brightside”, a home-appliance shop.

DOCUMENTS maps a title to Markdown. OLD_VERSIONS are earlier versions of four of them, which the
current ones supersede. QUESTIONS are (question, title of the document that answers it, kind):
"words" shares words with its passage, "paraphrase" shares few, and "no_overlap" shares no
content word with the document at all (checked by `check()`, stop words aside and compared by
their first five letters, so no stemming rescues them). Questions about a superseded topic are
labelled with the current version.
"""

from __future__ import annotations

import re

DOCUMENTS = {
    "Delivery times": """# Delivery times
Orders placed before 2 pm on a working day leave our warehouse the same day. Standard delivery takes two to four working days on the mainland.

## Express
Express delivery arrives the next working day and costs 9 euros. It is not available for furniture or large appliances.""",
    "Shipping abroad": """# Shipping abroad
We ship to every country of the European Union, the United Kingdom, Switzerland and Norway. Outside the EU, import duties and taxes are charged by the carrier when the parcel arrives.""",
    "Shipping costs": """# Shipping costs
Standard shipping is free on orders over 50 euros. Below that, a flat fee of 4.90 euros applies, whatever the size of the order.""",
    "Returns": """# Returns
Unused items can be returned within 30 days of delivery in their original packaging. Start a return from your order page to print a prepaid label, then drop the parcel at any post office.""",
    "Refunds": """# Refunds
We refund the original payment method within five working days of the returned parcel reaching our warehouse. Delivery costs are refunded only when the item was faulty or wrong.""",
    "Warranty": """# Warranty
Every appliance has a three-year warranty against manufacturing defects. Register the product online within 60 days to extend it to five years.

## Making a claim
Keep the receipt and the serial number printed under the base, then contact support with both and a short description of the fault.""",
    "Damaged deliveries": """# Damaged deliveries
If a parcel arrives broken, photograph the box and the damage and tell us within 48 hours. We send a replacement at no cost and collect the broken item.""",
    "Order tracking": """# Order tracking
A tracking link is emailed as soon as the courier collects your parcel. Updates can take up to 24 hours to appear on the courier's site.""",
    "Changing or cancelling an order": """# Changing or cancelling an order
You can change the address or cancel an order until it is packed, usually within one hour of payment. After that, refuse the delivery or return it once it arrives.""",
    "Payment methods": """# Payment methods
We accept Visa, Mastercard, American Express, PayPal, Apple Pay and MB Way. Businesses can pay invoices by bank transfer within 30 days.""",
    "Instalments": """# Instalments
Purchases over 300 euros can be split into three or six interest-free monthly instalments at checkout, subject to approval by our financing partner.""",
    "Gift cards": """# Gift cards
Gift cards are sold from 10 to 500 euros, never expire and can be used online or in our shops. They cannot be exchanged for cash.""",
    "Price match": """# Price match
If you find the same product cheaper at a national retailer within 14 days of buying it, we refund the difference. Marketplace sellers and clearance sales are excluded.""",
    "Opening hours": """# Opening hours
Our Lisbon shop on Rua Augusta opens Monday to Saturday from 10:00 to 20:00 and is closed on Sundays and public holidays.

## Customer support
Support answers by chat and phone on weekdays from 9:00 to 18:00.""",
    "Account and password": """# Account and password
To reset your password, choose Forgot password on the sign-in page and follow the link we email you. The link stays valid for one hour.""",
    "Deleting your account": """# Deleting your account
You can close your account from Settings › Privacy. We erase your personal data within 30 days, except invoices, which the law requires us to keep for ten years.""",
    "Newsletter": """# Newsletter
Unsubscribe from marketing emails with the link at the bottom of any newsletter, or switch them off in Settings › Notifications.""",
    "Descaling the espresso machine": """# Descaling the espresso machine
Descale every two months with the citric tablets supplied in the box. Afterwards run two full tanks of clean water through the machine to rinse the pipes.""",
    "Espresso machine error E4": """# Espresso machine error E4
E4 means the water tank is not seated. Remove the tank, check that the valve underneath is clean and push the tank firmly back until it clicks.""",
    "Robot vacuum mapping": """# Robot vacuum mapping
The vacuum builds a map of your home during its first three cleaning runs. In the app you can then draw no-go zones and name rooms.""",
    "Robot vacuum battery": """# Robot vacuum battery
A full charge lasts about 120 minutes on carpet-free floors. The battery should be replaced after roughly 500 charge cycles; spare batteries are sold in our shop.""",
    "Washing machine installation": """# Washing machine installation
Our technicians install washing machines free of charge on the mainland when you book the slot at checkout. They connect the water inlet and drain and remove the transport bolts.""",
    "Old appliance recycling": """# Old appliance recycling
When we deliver a large appliance, the driver takes away your old one for free. Tell us at checkout so that the crew brings the right trolley.""",
    "Fridge temperature": """# Fridge temperature
Keep the fridge at 4 °C and the freezer at −18 °C. A fridge that is warmer than 8 °C for more than two hours may spoil food; check that the door seal is closed.""",
    "Air fryer cleaning": """# Air fryer cleaning
The basket and tray are dishwasher safe. Wipe the heating element with a damp cloth once the appliance has cooled down; never immerse the body in water.""",
    "Smart home app": """# Smart home app
The Brightside app connects appliances over 2.4 GHz Wi-Fi. Hold the pairing button for five seconds until the light blinks blue, then follow the steps in the app.""",
    "Student discount": """# Student discount
Students get 10 % off small appliances after verifying their university email address. The discount cannot be combined with other promotions.""",
    "Business accounts": """# Business accounts
Companies can open a business account to get VAT invoices, a dedicated account manager and volume pricing from ten units.""",
}

# Earlier versions, superseded by the document of the same title in DOCUMENTS.
OLD_VERSIONS = {
    "Returns": """# Returns (2023)
Unused items can be returned within 14 days of delivery in their original packaging. Returns are sent at your own cost by any carrier.""",
    "Warranty": """# Warranty (2023)
Every appliance has a two-year warranty against manufacturing defects. Registration does not extend the warranty.""",
    "Shipping costs": """# Shipping costs (2023)
Standard shipping is free on orders over 80 euros. Below that, a flat fee of 6.90 euros applies.""",
    "Opening hours": """# Opening hours (2023)
Our Lisbon shop on Rua Augusta opens Monday to Friday from 9:00 to 19:00. Support answers by phone on weekdays from 10:00 to 17:00.""",
}

QUESTIONS: list[tuple[str, str, str]] = [
    # --- sharing words with the passage
    ("how long does standard delivery take", "Delivery times", "words"),
    ("how much does express delivery cost", "Delivery times", "words"),
    ("do you ship to Switzerland", "Shipping abroad", "words"),
    ("who pays import duties outside the EU", "Shipping abroad", "words"),
    ("is shipping free on orders over 50 euros", "Shipping costs", "words"),
    ("how many days do I have to return an unused item", "Returns", "words"),
    ("where do I print a prepaid return label", "Returns", "words"),
    ("when will my refund reach my payment method", "Refunds", "words"),
    ("are delivery costs refunded for a faulty item", "Refunds", "words"),
    ("how long is the warranty on an appliance", "Warranty", "words"),
    ("where is the serial number printed", "Warranty", "words"),
    ("my parcel arrived broken, what should I do", "Damaged deliveries", "words"),
    ("when do I get the tracking link", "Order tracking", "words"),
    ("can I cancel an order after payment", "Changing or cancelling an order", "words"),
    ("can I pay with PayPal", "Payment methods", "words"),
    ("can I pay by bank transfer as a business", "Payment methods", "words"),
    ("can I split a purchase into monthly instalments", "Instalments", "words"),
    ("do gift cards expire", "Gift cards", "words"),
    ("will you match a cheaper price from another retailer", "Price match", "words"),
    ("what are the opening hours of the Lisbon shop", "Opening hours", "words"),
    ("when does customer support answer by phone", "Opening hours", "words"),
    ("how do I reset my password", "Account and password", "words"),
    ("how do I delete my account", "Deleting your account", "words"),
    ("how do I unsubscribe from the newsletter", "Newsletter", "words"),
    ("how often should I descale the espresso machine", "Descaling the espresso machine", "words"),
    ("the espresso machine shows error E4", "Espresso machine error E4", "words"),
    ("how do I set no-go zones for the robot vacuum", "Robot vacuum mapping", "words"),
    ("how long does the robot vacuum battery last", "Robot vacuum battery", "words"),
    ("is washing machine installation free", "Washing machine installation", "words"),
    ("will you take away my old appliance", "Old appliance recycling", "words"),
    ("what temperature should the fridge be", "Fridge temperature", "words"),
    ("is the air fryer basket dishwasher safe", "Air fryer cleaning", "words"),
    ("how do I pair an appliance with the app", "Smart home app", "words"),
    ("is there a student discount", "Student discount", "words"),
    ("can a company get VAT invoices", "Business accounts", "words"),
    # --- paraphrased: few words in common
    ("my order has not come yet, how many days is normal", "Delivery times", "paraphrase"),
    ("can I get it tomorrow", "Delivery times", "paraphrase"),
    ("do you send parcels to Norway or the UK", "Shipping abroad", "paraphrase"),
    ("what is the fee when my basket is small", "Shipping costs", "paraphrase"),
    ("I changed my mind about a kettle, can I send it back", "Returns", "paraphrase"),
    ("money back timing after I return something", "Refunds", "paraphrase"),
    ("my toaster stopped working after a year, is it covered", "Warranty", "paraphrase"),
    ("how can I get five years of cover", "Warranty", "paraphrase"),
    ("the box came crushed and the blender is cracked", "Damaged deliveries", "paraphrase"),
    ("where is my package right now", "Order tracking", "paraphrase"),
    ("I typed the wrong address on my purchase", "Changing or cancelling an order", "paraphrase"),
    ("do you take Apple Pay or MB Way", "Payment methods", "paraphrase"),
    ("can I pay for an expensive fridge little by little", "Instalments", "paraphrase"),
    ("can I turn a voucher into cash", "Gift cards", "paraphrase"),
    ("I saw this cheaper elsewhere last week", "Price match", "paraphrase"),
    ("are you open on Sunday", "Opening hours", "paraphrase"),
    ("I cannot remember my login", "Account and password", "paraphrase"),
    ("please erase all my personal data", "Deleting your account", "paraphrase"),
    ("stop sending me marketing emails", "Newsletter", "paraphrase"),
    ("limescale in my coffee maker", "Descaling the espresso machine", "paraphrase"),
    ("the coffee maker says E4 and will not start", "Espresso machine error E4", "paraphrase"),
    ("can the vacuum learn the rooms of my flat", "Robot vacuum mapping", "paraphrase"),
    ("when should I buy a new battery for the robot", "Robot vacuum battery", "paraphrase"),
    ("do your technicians connect the washer", "Washing machine installation", "paraphrase"),
    ("what happens to my previous fridge when the new one comes", "Old appliance recycling", "paraphrase"),
    ("food goes off in my fridge, how cold should it be", "Fridge temperature", "paraphrase"),
    ("the Wi-Fi setup of my appliance fails", "Smart home app", "paraphrase"),
    ("discount for university students", "Student discount", "paraphrase"),
    ("we need ten units for our office", "Business accounts", "paraphrase"),
    ("what do I do when the courier brings a smashed parcel", "Damaged deliveries", "paraphrase"),
    ("how many working days until a standard parcel arrives", "Delivery times", "paraphrase"),
    # --- no content word in common with the document
    ("I want my cash back", "Refunds", "no_overlap"),
    ("how quickly do I get reimbursed", "Refunds", "no_overlap"),
    ("can I bring back something I bought", "Returns", "no_overlap"),
    ("my kitchen gadget broke, who fixes it at no charge", "Warranty", "no_overlap"),
    ("what guarantee comes with my purchase", "Warranty", "no_overlap"),
    ("postage price", "Shipping costs", "no_overlap"),
    ("how soon will my purchase get here", "Delivery times", "no_overlap"),
    ("overnight option", "Delivery times", "no_overlap"),
    ("do you mail to Germany", "Shipping abroad", "no_overlap"),
    ("the goods were smashed in transit", "Damaged deliveries", "no_overlap"),
    ("where is my stuff", "Order tracking", "no_overlap"),
    ("I want to undo my purchase", "Changing or cancelling an order", "no_overlap"),
    ("which credit cards work", "Payment methods", "no_overlap"),
    ("pay bit by bit over time", "Instalments", "no_overlap"),
    ("present voucher validity", "Gift cards", "no_overlap"),
    ("found it for less somewhere", "Price match", "no_overlap"),
    ("when is the store open at weekends", "Opening hours", "no_overlap"),
    ("locked out, cannot log in", "Account and password", "no_overlap"),
    ("remove my profile entirely", "Deleting your account", "no_overlap"),
    ("too much spam from you", "Newsletter", "no_overlap"),
    ("removing limescale from my coffee maker", "Descaling the espresso machine", "no_overlap"),
    ("keep the hoover out of the nursery", "Robot vacuum mapping", "no_overlap"),
    ("how long does the hoover keep going before it needs power", "Robot vacuum battery", "no_overlap"),
    ("who sets up my new washer", "Washing machine installation", "no_overlap"),
    ("getting rid of my broken dishwasher", "Old appliance recycling", "no_overlap"),
    ("milk turns sour quickly", "Fridge temperature", "no_overlap"),
    ("how to wash my frying gadget", "Air fryer cleaning", "no_overlap"),
    ("grease on the frier", "Air fryer cleaning", "no_overlap"),
    ("linking my gadget to my phone", "Smart home app", "no_overlap"),
    ("cheaper prices for undergraduates", "Student discount", "no_overlap"),
    ("corporate purchasing with tax receipts", "Business accounts", "no_overlap"),
    ("coffee maker blinks a warning about its reservoir", "Espresso machine error E4", "no_overlap"),
    ("customs fees when ordering to Britain", "Shipping abroad", "no_overlap"),
    ("money back when the product was defective", "Refunds", "no_overlap"),
]

# Questions a home-appliance shop's help center does not cover (general knowledge, chit-chat,
# another trade): retrieval should give no passage for them rather than the nearest noise.
OFF_TOPIC = [
    "Who painted the Mona Lisa?",
    "How tall is Mount Everest?",
    "What time does the football game start tonight?",
    "Can you write me a poem about the sea?",
    "What is the square root of 144?",
    "Which planet is closest to the sun?",
    "How do I bake sourdough bread?",
    "What's the best pizza topping?",
    "Do you know any good movies to watch?",
    "How many legs does a spider have?",
    "Translate hello into Japanese",
    "What year did the Berlin wall fall?",
    "Can you book me a table for two at an Italian restaurant?",
    "How do I treat a sunburn?",
    "What is the population of Brazil?",
    "Recommend a hiking trail near the mountains",
    "Who is the president of the United States?",
    "How do I change a flat bicycle tyre?",
    "What does a dentist check during a cleaning?",
    "Is it going to snow in Oslo next week?",
]

_STOP = set(
    """a about after all am an and any are as at be been before being but by can could did do does doing
    for from get got had has have how i if in into is it its me my no not of off on or our out over please
    should so some than that the their them then there these they this to too up us was we were what when
    where which while who why will with would you your""".split()
)


def _stems(text: str) -> set[str]:
    return {w[:5] for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOP}


def check() -> None:
    """The set is what it says: every label exists, and no-overlap questions share no content word."""
    assert len(DOCUMENTS) + len(OLD_VERSIONS) >= 30 and len(QUESTIONS) >= 100
    for question, title, kind in QUESTIONS:
        assert title in DOCUMENTS, title
        if kind == "no_overlap":
            shared = _stems(question) & _stems(title + " " + DOCUMENTS[title])
            assert not shared, (question, shared)
    assert sum(kind == "no_overlap" for *_, kind in QUESTIONS) * 3 >= len(QUESTIONS)
