"""Street addresses and postcodes, by their shape: a house number, a street name and a street
type ("42 Elm Street", "1600 Pennsylvania Ave NW, Apt 4", "Flat 2, Beverley Hills"), then the
town, state and postcode that follow ("…, Springfield, IL 62704", "…, Manly, NSW, 2095",
"…, Leeds LS1 4AP"); a PO box; a UK postcode on its own."""

from __future__ import annotations

import re

# Street types of everyday speech, found in any case ("42 elm street").
_STREET_TYPES = (
    r"street|st|avenue|ave|av|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|terrace|ter|"
    r"parkway|pkwy|highway|hwy|circle|cir|square|sq|trail|trl|crescent|cres|close|row|alley|plaza|loop|"
    r"grove|gardens|gdns|mews|hill|park|walk|green|view|point|pike|route|rte|expressway|freeway"
)
# The rest of the postal services' lists (USPS, Royal Mail, Australia Post), plurals included.
# Many are ordinary words too ("3 Oak Forges" is a street, "3 forges" is not), so these count
# only in a capitalised street name.
_TITLED_STREET_TYPES = (
    r"arcade|bayou|beach|bend|bluffs?|brooks?|bypass|canyon|causeway|cent(?:er|re)s?|circles|cliffs?|commons?|"
    r"corners?|courts|coves?|creek|crest|crossing|crossroad|curve|dale|drives|estates?|esplanade|falls|ferry|"
    r"fields?|flats?|fords?|forest|forges?|forks?|fort|garden|glens?|greens|groves|harbou?rs?|haven|heights|"
    r"hills|hollow|inlet|islands?|junction|knolls?|lakes?|landing|lodge|manors?|meadows?|mills?|mount|"
    r"mountains?|orchard|parks|parkways|paths?|pines?|plains?|ports?|prairie|ranch|rapids?|ridges?|river|roads|"
    r"shoals?|shores?|skyway|springs?|squares|stravenue|stream|streets|summit|throughway|tunnel|turnpike|"
    r"valleys?|views|villages?|ville|vista|walks|ways|wells?|wharf|yard|rise|parade|quay|vale|wynd|chase|gate|"
    r"grange|mead|brace|circuit|outlook|retreat|glade"
)
_CORE_TYPES = frozenset(_STREET_TYPES.split("|"))
_UNIT = r"(?:,?\s*(?:(?:apt|apartment|unit|suite|ste|flat|floor|fl)\b|#)\.?\s*#?\s*[A-Za-z0-9-]{1,6})"
# A house number ("42", "221B", "12-14", "797/43"), a flat or studio before it or instead of it.
_FLAT = r"(?i:flat|apartment|apt|unit|suite|studio|level|floor)\.?\s+\d{1,5}[A-Za-z]?"
_HOUSE = rf"(?:(?:{_FLAT},?\s+)?\d{{1,6}}[A-Za-z]?(?:[-/]\d{{1,4}}[A-Za-z]?)?|{_FLAT})"
_DIRECTION = r"(?:[NSEW]|N\.?[EW]|S\.?[EW]|north|south|east|west|northeast|northwest|southeast|southwest)\.?"
_UK_POSTCODE = r"(?-i:[A-Z]{1,2}\d[A-Z\d]?\s*\d[ABD-HJLNP-UW-Z]{2})\b"
_CA_POSTCODE = r"(?-i:[A-Z]\d[A-Z]\s?\d[A-Z]\d)\b"
# "Springfield", "Port Nicoleshire", "O'Connorstad", "St. Albans", "Stratford-upon-Avon".
_TOWN_NAME = r"(?-i:(?:St\.?\s+)?[A-Z](?:[a-z]|['’][A-Z])+(?:(?:[\s-][A-Z]|-[a-z]+-[A-Z])(?:[a-z]|['’][A-Z])+){0,2})"
_STATE = r"(?-i:[A-Z]{2,3})\b"
_STATE_POSTCODE = rf"(?:\d{{4,5}}(?:-\d{{4}})?\b|{_CA_POSTCODE})"  # as it follows a state
# "Springfield, IL 62704", "Port Nicoleshire, HR5 9TD", "Manly, NSW, 2095", "Toronto, ON M5V 2T6".
_TOWN = rf"(?:,?\s*{_TOWN_NAME}(?:,?\s+{_STATE})?(?:,?\s+{_STATE_POSTCODE})?)?"
STREET = re.compile(
    rf"(?<![\w.,-]){_HOUSE},?\s+(?:{_DIRECTION}\s+)?"
    rf"(?P<name>(?:(?:\d{{1,3}}(?:st|nd|rd|th)|[A-Za-z][A-Za-z'’.-]*)\s+){{1,4}})"
    rf"(?P<type>{_STREET_TYPES}|{_TITLED_STREET_TYPES})\b\.?"
    rf"(?:\s+{_DIRECTION}(?![\w']))?{_UNIT}?{_TOWN}(?:,?\s+{_UK_POSTCODE})?",
    re.IGNORECASE,
)
# Any street type, when a town and a postcode follow: "5116 Timothy Fall, Mccormickmouth, CO 95112",
# "1 Crystal Riviera, Port Brandonbury, ACT, 9246", "4 Kirby Lights, Danielmouth, DA9 7BH". A
# four-digit postcode only after a state: alone, it is as likely a year.
POSTAL_LINE = re.compile(
    rf"(?<![\w.,-]){_HOUSE},?\s+(?:[A-Z][A-Za-z'’.-]*\s+){{0,3}}[A-Z][a-z]+\.?(?i:{_UNIT})?"
    rf",\s*{_TOWN_NAME}"
    rf"(?:,?\s+{_STATE},?\s+{_STATE_POSTCODE}|,?\s+(?:\d{{5}}(?:-\d{{4}})?\b|{_UK_POSTCODE}|{_CA_POSTCODE}))"
)
# US military mail: "Unit 5131 Box 3735, DPO AE 63763", "USNS Sanchez, FPO AA 29057".
MILITARY = re.compile(
    r"\b(?:(?:Unit|PSC|CMR)\s+\d{1,5},?\s+Box\s+\d{1,5}|US(?:NS|NV|S|CGC)\s+[A-Z][a-z]+),?\s+[ADF]PO,?\s+A[AEP]\s+\d{5}\b"
)
PO_BOX = re.compile(r"\bp\.?\s?o\.?\s*box\s+\d{1,7}\b", re.IGNORECASE)
UK_POSTCODE = re.compile(rf"\b{_UK_POSTCODE}")
# Words no street name starts with: "the old one was Cole Street" is not an address at number one.
_NOT_STREET_START = frozenset(
    """and or of to for in at on the a an items things times people days hours minutes was is are were be been
    has have had will would can could should may might must do does did""".split()
)


def addresses(text: str):
    for m in STREET.finditer(text):
        if m.group("name").split()[0].lower().rstrip(",") in _NOT_STREET_START:
            continue
        if m.group("type").lower() not in _CORE_TYPES and not all(
            word[0].isupper() or word[0].isdigit() for word in (*m.group("name").split(), m.group("type"))
        ):
            continue
        yield m.start(), m.end(), "ADDRESS"
    for pattern in (POSTAL_LINE, MILITARY, PO_BOX, UK_POSTCODE):
        for m in pattern.finditer(text):
            yield m.start(), m.end(), "ADDRESS"
