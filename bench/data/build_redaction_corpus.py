"""Writes `redaction.jsonl`, the labelled corpus `bench/redaction.py` measures against.

    .venv/bin/python bench/data/build_redaction_corpus.py

Deterministic (fixed seed). Each line: {"group", "text", "pii": [{"kind", "value"}], "keep": [...]}.
Groups: structured (written cards, SSNs, IBANs, phones, e-mails, IPs), spoken (the same read
aloud or spelt out), names_addresses, lookalike (numbers that must survive: order and ticket
numbers, versions, dates, prices, invalid cards and SSNs). Values are generated valid (Luhn,
mod 97, SSA rules, real area codes), so the corpus tests validators, not memorised strings.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

R = random.Random(1414)
OUT = Path(__file__).with_name("redaction.jsonl")
UNITS = "zero one two three four five six seven eight nine".split()
FIRST = """James Maria Aisha Wei Olusegun Priya Jan Sofia Mateo Chloe Hiroshi Fatima Liam Noor Ethan Zanele Ivan
Carmen Kwame Ingrid Diego Mei Tomasz Amara Lucas Yusuf Hannah Rahul Elena Omar Grace Kenji Leila Pedro Anna Samuel
Nadia Arjun Bianca Daniel Zoe Mohammed Isabel Felix Ayesha Marco Keisha Dmitri Lucia Patrick Ngozi Sven Rosa Tariq
Emily Joon Camille Viktor Precious Aaron Siobhan""".split()
LAST = """Smith Gonzalez Chen Adeyemi Raman Kowalski Rossi Martinez Dubois Tanaka Khan Murphy Patel Okafor Novak
Johansson Silva Nguyen Mensah Schmidt Ivanova Haddad Williams Lopez Kim Fischer Garcia Brown Nakamura Ali Costa
O'Brien Andersen Moreau Petrov Yilmaz Hughes Cohen Ramirez Singh Dlamini Bauer Jensen Walsh Ortiz Papadopoulos
Sato Lindqvist Okonkwo Fernandes Kaplan Reyes Bergstrom MacLeod Hassan Dubrovnik Torres Whitfield""".split()
STREETS = """Elm Oak Maple Main Pine Cedar Washington Lincoln Park Lake Hill Sunset Highland Church Mill River Spring
Market Chestnut Walnut Broad Jackson Franklin Willow Meadow Ridge Harbor Orchard Victoria Kingsway""".split()
TYPES = "Street St Avenue Ave Road Rd Boulevard Blvd Lane Ln Drive Dr Court Ct Way Place Terrace Parkway".split()
CITIES = [("Springfield", "IL", "62704"), ("Denver", "CO", "80204"), ("Austin", "TX", "78701"),
          ("Portland", "OR", "97205"), ("Boston", "MA", "02116"), ("Seattle", "WA", "98101"),
          ("Madison", "WI", "53703"), ("Tampa", "FL", "33602")]  # fmt: skip
DOMAINS = [
    "gmail.com",
    "outlook.com",
    "yahoo.co.uk",
    "proton.me",
    "example.org",
    "acme-corp.io",
    "web.de",
    "icloud.com",
]
AREAS = [212, 415, 617, 312, 206, 303, 512, 646, 718, 202, 305, 404, 702, 818, 971, 614, 919, 503, 480, 713]


def luhn_complete(prefix: str, length: int) -> str:
    body = prefix + "".join(str(R.randint(0, 9)) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def card() -> str:
    prefix, length = R.choice([("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("34", 15), ("37", 15),
                               ("6011", 16), ("65", 16), ("35", 16), ("4", 13), ("62", 19)])  # fmt: skip
    return luhn_complete(prefix, length)


def bad_card() -> str:
    good = card()
    return good[:-1] + str((int(good[-1]) + R.randint(1, 9)) % 10)


def ssn() -> str:
    area = R.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}{R.randint(1, 99):02d}{R.randint(1, 9999):04d}"


def iban() -> str:
    country, bban = R.choice(
        [
            ("GB", lambda: "".join(R.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4)) + digits(14)),
            ("DE", lambda: digits(18)),
            ("NL", lambda: "".join(R.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4)) + digits(10)),
            ("ES", lambda: digits(20)),
            ("FR", lambda: digits(10) + digits(11) + digits(2)),
            ("BE", lambda: digits(12)),
            ("CH", lambda: digits(17)),
        ]
    )
    body = bban()
    number = int("".join(str(int(c, 36)) for c in body + country + "00"))
    return f"{country}{98 - number % 97:02d}{body}"


def digits(n: int) -> str:
    return "".join(str(R.randint(0, 9)) for _ in range(n))


def us_phone() -> str:
    return f"{R.choice(AREAS)}{R.randint(2, 9)}{digits(2)}{digits(4)}"


def group(s: str, sizes, sep: str) -> str:
    out, i = [], 0
    for n in sizes:
        out.append(s[i : i + n])
        i += n
    if i < len(s):
        out.append(s[i:])
    return sep.join(p for p in out if p)


def spoken(s: str, *, doubles: bool = False) -> str:
    words, i = [], 0
    while i < len(s):
        ch = s[i]
        if not ch.isdigit():
            words.append({"-": "dash", " ": ",", ".": "dot"}.get(ch, ch))
            i += 1
            continue
        if doubles and i + 1 < len(s) and s[i + 1] == ch:
            words.append("double " + UNITS[int(ch)])
            i += 2
            continue
        words.append(R.choice(["oh", "zero"]) if ch == "0" else UNITS[int(ch)])
        i += 1
    return " ".join(words).replace(" ,", ",")


def email_parts():
    first, last = R.choice(FIRST).lower(), R.choice(LAST).lower().replace("'", "")
    local = R.choice([f"{first}.{last}", f"{first}{last}", f"{first[0]}{last}", f"{first}_{last}{R.randint(1, 99)}",
                      f"{first}.{last}+shop", f"{last}{R.randint(1970, 2005)}"])  # fmt: skip
    return local, R.choice(DOMAINS)


SENTENCES = [
    "Hi, {v} is the one on file.",
    "you can use {v} for that",
    "Sure — {v}.",
    "ok so it's {v} if that helps, thanks!",
    "I already gave you {v} twice, please check again",
    "Please update my details to {v} before Friday.",
    "The one I used last month was {v} but it might have changed.",
    "{v} — that's it.",
    "Can you confirm you have {v}? I think I typed it wrong earlier.",
    "hello? {v}",
]
LEADS = {
    "CARD": ["my card is", "card number", "charge it to", "use my visa", "credit card:", "the card ends up being",
             "pay with", "my debit card number is"],
    "SSN": ["my SSN is", "social security number", "my social is", "SSN:", "ssn", "the social on the account is"],
    "IBAN": ["my IBAN is", "IBAN:", "send the refund to", "bank account (IBAN)", "please wire it to"],
    "PHONE": ["call me on", "my number is", "phone:", "text me at", "reach me at", "my cell is", "you can ring",
              "contact number", ""],
    "EMAIL": ["email me at", "my email is", "send it to", "e-mail:", "contact:", ""],
    "IP": ["my IP is", "the server at", "connecting from", "IP address", "blocked address"],
}  # fmt: skip


def case(group_name, text, pii=(), keep=()):
    return {"group": group_name, "text": text, "pii": [{"kind": k, "value": v} for k, v in pii], "keep": list(keep)}


def in_sentence(kind, value):
    lead = R.choice(LEADS[kind])
    shown = f"{lead} {value}".strip()
    return R.choice(SENTENCES).replace("{v}", shown)


def structured():
    out = []
    for _ in range(40):
        c = card()
        fmt = R.choice(["plain", "4s", "4d", "dots", "odd", "amex"])
        value = {
            "plain": c,
            "4s": group(c, [4, 4, 4, 4, 4], " "),
            "4d": group(c, [4, 4, 4, 4, 4], "-"),
            "dots": group(c, [4, 4, 4, 4, 4], "."),
            "odd": group(c, [2, 6, 3, 5], " "),
            "amex": group(c, [4, 6, 5], " "),
        }[fmt]
        out.append(case("structured", in_sentence("CARD", value), [("CARD", value)]))
    for _ in range(30):
        s = ssn()
        value = R.choice([group(s, [3, 2, 4], "-"), group(s, [3, 2, 4], " "), group(s, [3, 2, 4], "."), s])
        out.append(case("structured", in_sentence("SSN", value), [("SSN", value)]))
    for _ in range(30):
        i = iban()
        value = R.choice([i, group(i, [4] * 9, " "), group(i, [4] * 9, " ").lower(), group(i, [4] * 9, "-")])
        out.append(case("structured", in_sentence("IBAN", value), [("IBAN", value)]))
    for _ in range(45):
        p = us_phone()
        value = R.choice([f"({p[:3]}) {p[3:6]}-{p[6:]}", f"{p[:3]}-{p[3:6]}-{p[6:]}", f"{p[:3]}.{p[3:6]}.{p[6:]}", p,
                          f"+1 {p[:3]} {p[3:6]} {p[6:]}", f"1-{p[:3]}-{p[3:6]}-{p[6:]}", f"{p[:3]} {p[3:6]} {p[6:]}",
                          f"+1{p}", "+44 20 7946 0" + digits(3), "+44 7700 900" + digits(3),
                          "+49 30 " + digits(8), "+33 1 " + group(digits(8), [2, 2, 2, 2], " ")])  # fmt: skip
        out.append(case("structured", in_sentence("PHONE", value), [("PHONE", value)]))
    for _ in range(35):
        local, domain = email_parts()
        value = R.choice([f"{local}@{domain}"] * 4 + [f"{local} (at) {domain.replace('.', ' (dot) ')}",
                                                       f"{local}[at]{domain.replace('.', '[dot]')}"])  # fmt: skip
        out.append(case("structured", in_sentence("EMAIL", value), [("EMAIL", value)]))
    for _ in range(15):
        value = R.choice(
            [f"{R.randint(11, 223)}.{R.randint(0, 255)}.{R.randint(0, 255)}.{R.randint(1, 254)}",
             f"2001:db8:{R.randint(1, 9999):x}::{R.randint(1, 999):x}", f"fe80::{R.randint(1, 65535):x}:{R.randint(1, 65535):x}"]
        )  # fmt: skip
        out.append(case("structured", in_sentence("IP", value), [("IP", value)]))
    # Several values in one longer message.
    for _ in range(15):
        p, c = us_phone(), card()
        local, domain = email_parts()
        pv, cv, ev = f"{p[:3]}-{p[3:6]}-{p[6:]}", group(c, [4, 4, 4, 4], " "), f"{local}@{domain}"
        text = (f"Hello, I was charged twice on {cv} last week. Please call me at {pv} or write to {ev} "
                f"as soon as possible, this is the third time I'm asking.")  # fmt: skip
        out.append(case("structured", text, [("CARD", cv), ("PHONE", pv), ("EMAIL", ev)]))
    return out


def spoken_cases():
    out = []
    for _ in range(30):
        c = card()
        value = spoken(group(c, [4, 4, 4, 4], " "), doubles=R.random() < 0.3)
        out.append(case("spoken", R.choice(["my card number is {v}", "it's {v}", "uh the card is {v} yeah",
                                            "okay {v} is the card"]).replace("{v}", value), [("CARD", value)]))  # fmt: skip
    for _ in range(30):
        s = ssn()
        value = spoken(R.choice([group(s, [3, 2, 4], " "), s, group(s, [3, 2, 4], "-")]), doubles=R.random() < 0.3)
        out.append(case("spoken", R.choice(["my social is {v}", "social security number {v}", "ssn is {v} okay",
                                            "the social is {v}"]).replace("{v}", value), [("SSN", value)]))  # fmt: skip
    for _ in range(35):
        p = us_phone()
        value = spoken(R.choice([group(p, [3, 3, 4], " "), p, group(p, [3, 3, 4], "-")]), doubles=R.random() < 0.4)
        out.append(case("spoken", R.choice(["call me back on {v}", "my number is {v}", "you can reach me at {v} anytime",
                                            "it's {v}, that's my cell"]).replace("{v}", value), [("PHONE", value)]))  # fmt: skip
    for _ in range(30):
        local, domain = email_parts()
        said_local = local.replace(".", " dot ").replace("_", " underscore ").replace("+", " plus ")
        value = f"{said_local} at {domain.replace('.', ' dot ')}"
        out.append(case("spoken", R.choice(["my email is {v}", "email {v}", "send it to {v} please",
                                            "it's {v}"]).replace("{v}", value), [("EMAIL", value)]))  # fmt: skip
    for _ in range(15):
        c = luhn_complete(R.choice(["4", "51", "6011"]), 16)
        value = " ".join(c[i : i + 4] for i in range(0, 16, 4)).replace(" ", "  ")
        mixed = spoken(c[:8]) + " " + c[8:12] + " " + c[12:]
        value = R.choice([value, mixed, " ".join(c)])
        out.append(case("spoken", f"card {value} thanks", [("CARD", value)]))
    return out


def address():
    number = R.choice([str(R.randint(1, 9999)), str(R.randint(10, 999)) + R.choice("AB")])
    street = f"{number} {R.choice(['', 'N ', 'West ', 'E '])}{R.choice(STREETS)} {R.choice(TYPES)}"
    city, state, zipc = R.choice(CITIES)
    return R.choice([street, f"{street}, {city}, {state} {zipc}", f"{street}, Apt {R.randint(1, 40)}{R.choice('ABC')}",
                     f"{street} {city}", f"PO Box {R.randint(10, 9999)}", f"{street}, London SW1A {R.randint(1, 9)}AA"])  # fmt: skip


def spoken_address():
    n = R.randint(21, 99)
    tens = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"][n // 10]
    said = tens + ("" if n % 10 == 0 else " " + UNITS[n % 10])
    return f"{said} {R.choice(STREETS).lower()} {R.choice(['street', 'avenue', 'road', 'lane', 'drive'])}"


def names_addresses():
    out = []
    name_templates = [
        "Hi, my name is {n} and I need help with my bill.", "my name is {lo}", "This is {n} calling about my booking.",
        "I spoke with {n} yesterday and she said it was fixed.", "Please ask {n} to call me back.",
        "The account is under {n}.", "{n} here, the delivery never arrived.", "Thanks, {n}",
        "hi its {lo} again", "Can you put me through to {n}?", "I'm {f}, I ordered a lamp last week.",
        "My husband {n} set up the account.", "name: {n}", "Regards,\n{n}", "it's for {n}, my daughter",
        "i am {lo} and i want a refund", "Send it to the attention of {n}.", "{n} is the account holder.",
        "Dear support, {n} asked me to write to you.", "Is {n} working today?",
        "This is Dr. {n} speaking.", "I'm speaking with Ms. {l} now.", "it's mr {last_lo} from the shop",
    ]  # fmt: skip
    for _ in range(110):
        f, last = R.choice(FIRST), R.choice(LAST)
        template = R.choice(name_templates)
        value = {"{n}": f"{f} {last}", "{lo}": f"{f} {last}".lower(), "{f}": f, "{l}": last, "{last_lo}": last.lower()}
        key = next(k for k in value if k in template)
        out.append(case("names_addresses", template.replace(key, value[key]), [("NAME", value[key])]))
    address_templates = [
        "I live at {a}.", "Ship it to {a} please", "my address is {a}", "The package went to {a} instead of my house.",
        "new address: {a}", "I moved to {a} last month", "deliver to {a}, leave it at the door",
    ]  # fmt: skip
    for _ in range(60):
        a = address()
        out.append(case("names_addresses", R.choice(address_templates).replace("{a}", a), [("ADDRESS", a)]))
    for _ in range(20):
        a = spoken_address()
        out.append(case("names_addresses", R.choice(["i live at {a}", "it's {a}", "ship to {a} please"]).replace("{a}", a),
                        [("ADDRESS", a)]))  # fmt: skip
    for _ in range(20):
        f, last = R.choice(FIRST), R.choice(LAST)
        a = address()
        text = f"This is {f} {last}, please send the replacement to {a}."
        out.append(case("names_addresses", text, [("NAME", f"{f} {last}"), ("ADDRESS", a)]))
    return out


def lookalikes():
    out = []
    keepers = [
        lambda: ("Where is my order {k}?", str(R.randint(10**9, 10**10 - 1))),
        lambda: ("order number {k} still hasn't shipped", str(R.randint(10**6, 10**8))),
        lambda: ("Ticket #{k} was closed without an answer", str(R.randint(10**5, 10**10))),
        lambda: ("re: case {k}", f"{R.randint(10**7, 10**8 - 1)}"),
        lambda: ("I'm on version {k} and it crashes", f"{R.randint(1, 9)}.{R.randint(0, 20)}.{R.randint(1000, 9999)}.{R.randint(1, 99)}"),
        lambda: ("upgraded to {k} yesterday", f"v{R.randint(1, 12)}.{R.randint(0, 30)}.{R.randint(0, 9)}"),
        lambda: ("build {k} fixed it", f"10.0.{R.randint(10000, 22631)}.{R.randint(100, 4000)}"),
        lambda: ("The invoice date is {k}.", f"{R.randint(2019, 2026)}-{R.randint(1, 12):02d}-{R.randint(1, 28):02d}"),
        lambda: ("delivered on {k}", f"{R.randint(1, 12):02d}/{R.randint(1, 28):02d}/{R.randint(2019, 2026)}"),
        lambda: ("expires {k}", f"{R.randint(1, 28):02d}.{R.randint(1, 12):02d}.{R.randint(2019, 2030)}"),
        lambda: ("It cost {k} and broke in a week", f"${R.randint(1, 99)},{R.randint(100, 999)}.{R.randint(10, 99)}"),
        lambda: ("the total was {k}", f"€{R.randint(1, 999)}.{R.randint(10, 99)}"),
        lambda: ("I paid {k} for shipping", f"{R.randint(1, 999)},{R.randint(10, 99)} EUR"),
        lambda: ("that card {k} was declined", bad_card()),
        lambda: ("card number {k} is wrong", group(bad_card(), [4, 4, 4, 4], " ")),
        lambda: ("is {k} a valid SSN?", f"{R.choice(['000', '666', str(R.randint(900, 999))])}-{R.randint(10, 99)}-{R.randint(1000, 9999)}"),
        lambda: ("SSN {k} was rejected", f"{R.randint(100, 665)}-00-{R.randint(1000, 9999)}"),
        lambda: ("the form says {k}", f"{R.randint(100, 665)}-{R.randint(10, 99)}-0000"),
        lambda: ("tracking {k}", f"1Z{R.randint(100, 999)}AA1{R.randint(10**9, 10**10 - 1)}"),
        lambda: ("reference {k}", f"{R.randint(10**11, 10**12 - 1)}"),
        lambda: ("The part number is {k}", f"{R.randint(100, 999)}-{R.randint(100, 999)}-{R.randint(1000, 9999)}"),
        lambda: ("flight {k} was delayed", f"UA {R.randint(100, 9999)}"),
        lambda: ("We need {k} units by Monday", f"{R.randint(1, 9)},{R.randint(100, 999)}"),
        lambda: ("error code {k}", f"0x{R.randint(0x80000000, 0x8FFFFFFF):08X}"),
        lambda: ("meeting at {k}", f"{R.randint(1, 12)}:{R.randint(0, 59):02d} pm"),
        lambda: ("a member since {k}", f"{R.randint(1990, 2025)}"),
        lambda: ("IBAN {k} bounced", iban()[:-1] + "X"),
        lambda: ("room {k}", f"{R.randint(100, 999)}"),
        lambda: ("please look at {k}", "example dot com"),
        lambda: ("This is {k}", R.choice(["urgent", "ridiculous", "the third time", "not working", "great"])),
        lambda: ("I'm {k}", R.choice(["fine", "waiting", "not happy", "confused", "on the train"])),
        lambda: ("serial {k}", f"SN{R.randint(10**8, 10**9)}"),
        lambda: ("the account has {k} users", f"{R.randint(1000, 99999)}"),
        lambda: ("{k} people were affected", f"{R.randint(1000, 99999):,}"),
        lambda: ("sorted by {k}", f"{R.randint(1, 9)} {R.randint(10, 99)} {R.randint(100, 999)}"),
        lambda: ("The promo code is {k}", f"SAVE{R.randint(10, 99)}"),
        lambda: ("it weighs {k}", f"{R.randint(1, 99)}.{R.randint(1, 9)} kg"),
        lambda: ("release {k}", f"{R.randint(2019, 2026)}.{R.randint(1, 12)}.{R.randint(1, 31)}"),
        lambda: ("call {k} was dropped", f"#{R.randint(1000, 99999)}"),
        lambda: ("between {k}", f"{R.randint(1, 500)} and {R.randint(501, 999)}"),
    ]  # fmt: skip
    for i in range(200):
        template, value = keepers[i % len(keepers)]()
        out.append(case("lookalike", template.replace("{k}", value), keep=[value]))
    return out


def unallocated_phones():
    """Phones as examples and forms write them (unallocated ranges, extensions), and the same
    shape after a word that makes it something else. Drawn last, so the cases before stay as they were."""
    out = []
    for _ in range(15):
        value = R.choice([f"(555) {digits(3)}-{digits(4)}", f"{R.choice(['555', '123'])}.{digits(3)}.{digits(4)}x{R.randint(1, 9999)}",
                          f"{us_phone()[:3]}-{digits(3)}-{digits(4)} ext. {R.randint(1, 999)}", f"1-{R.randint(100, 199)}-{digits(3)}-{digits(4)}"])  # fmt: skip
        out.append(case("structured", in_sentence("PHONE", value), [("PHONE", value)]))
    for _ in range(10):
        value = f"{R.randint(200, 999)}-{R.randint(100, 999)}-{R.randint(1000, 9999)}"
        template = R.choice(["order {k} never came", "The part number is {k}", "ticket {k} is still open"])
        out.append(case("lookalike", template.replace("{k}", value), keep=[value]))
    return out


def main() -> None:
    cases = structured() + spoken_cases() + names_addresses() + lookalikes() + unallocated_phones()
    with OUT.open("w") as fh:
        for c in cases:
            fh.write(json.dumps(c) + "\n")
    print(f"{len(cases)} cases written to {OUT}")


if __name__ == "__main__":
    main()
