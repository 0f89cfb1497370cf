"""Surrogates: realistic replacements of the same type and shape, consistent within a document.

`Surrogates(key, document_id)` is made once per document. Every random choice is seeded from
HMAC-SHA256(key, document_id) and the original value (never Python's `hash()`), so the same key, document
and value always give the same surrogate (with the same faker version), another key another one, and
nothing can be recomputed without the key (keep it secret; `--seed` is for tests). A surrogate never
contains the original (case-insensitively): draws are retried, character-class replacement is the last resort.

Policies, by label (`kind_of`; unknown labels get character-class replacement):

- names (PATIENT, DOCTOR, NAME, PER...): each name part maps to one faker name part for the whole document
  (compared case-insensitively), so "John Smith" -> "Paul Berg" makes "Smith" -> "Berg", "Mr. Smith" ->
  "Mr. Berg", "SMITH, John" -> "BERG, Paul". Titles, suffixes, punctuation, order and casing are kept;
  an initial becomes the initial of the surrogate of a full name of the document it abbreviates, else a
  random letter. Given names keep their gender where faker's lists know it. Full names of a document are
  registered first (`prepare`) so roles are right whatever the order of mentions.
- DATE: one offset per document, +-32..365 days (never 0; > 31 so no date becomes a superstring of
  itself), applied to every date, so intervals within a document are kept; each date is re-rendered in
  its own format (`dates.shift_date`). Ambiguous numeric dates ("03/04/2020") are month-first for *_US
  locales, day-first for others (or `day_first=`); unparseable -> digit for digit.
- AGE: every number replaced keeping its digit count and the surrounding text ("45-year-old" ->
  "72-year-old"): 1..89 -> another value 1..89 of the same width; 90 and over (HIPAA's "90 or older"
  category) -> another value in 90..99, so the surrogate tells no more than ">= 90".
- PHONE, ID, MRN, SSN, ZIP and other numbers: each digit -> a random digit, each letter -> a random
  letter of the same case; punctuation and length kept.
- places: words -> faker cities (a word before a street suffix -> a surname: "Main Street" -> "Berg
  Street"), two capitals -> a state code, digits (house numbers, postcodes) digit for digit;
  HOSPITAL/ORGANIZATION: the proper-name words replaced, generic words ("General Hospital") kept.
- EMAIL, URL, USERNAME: faker values.
"""

import functools
import hashlib
import hmac
import random
import re
import string
import threading

from faker import Faker

from tfner.deid.dates import case_like, full_month_names, shift_date, splice

_LOCAL = threading.local()
_KIND_WORDS = {
    "name": "PATIENT DOCTOR NAME PER PERSON STAFF PHYSICIAN NURSE RELATIVE FAMILY CLINICIAN PROVIDER",
    "date": "DATE DOB BIRTHDATE",
    "age": "AGE",
    "email": "EMAIL MAIL",
    "url": "URL WEB WEBSITE",
    "username": "USERNAME USER",
    "state": "STATE PROVINCE",
    "country": "COUNTRY",
    "place": "LOC LOCATION PLACE GPE GEO CITY TOWN STREET ADDRESS",
    "org": "HOSPITAL FACILITY CLINIC ORGANIZATION ORGANISATION ORG EMPLOYER DEPARTMENT",
    "company": "COMPANY",
    "number": "PHONE FAX TEL ID IDNUM MRN SSN NUMBER RECORD MEDICALRECORD ACCOUNT LICENSE DEVICE BIOID "
    "HEALTHPLAN VEHICLE ZIP ZIPCODE POSTCODE POSTAL PAGER IP",
}
_FAKER_METHODS = {"email": "email", "url": "url", "username": "user_name", "country": "country", "company": "company"}
_KINDS = {word: kind for kind, words in _KIND_WORDS.items() for word in words.split()}
_KEEP_NAME = set(
    "mr mrs ms miss mx dr prof sir madam rev fr sister nurse jr sr ii iii iv md phd rn np pa dds "
    "msc mph facs esq".split()
)
_STREET = set(
    "street st road rd avenue ave lane ln drive dr boulevard blvd way court ct place pl terrace "
    "circle highway hwy square sq parkway pkwy alley strasse straße weg platz".split()
)
_ADDRESS = _STREET | set(
    "apt apartment suite ste unit floor fl room rm box po no building bldg north south "
    "east west n s e w ne nw se sw of the".split()
)
_ORG = set(
    "hospital hospitals general memorial medical center centre clinic clinics health healthcare "
    "university regional community children's childrens institute care nursing home rehab "
    "rehabilitation of the and st saint inc corp llc ltd co company group hospice practice "
    "associates foundation trust infirmary".split()
)
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_RUN = re.compile(r"[^\W\d_]+(?:['’.]?[ \t-]*[^\W\d_]+)*\.?")


def kind_of(label):
    """The surrogate policy of an entity label: name/date/age/email/url/username/state/country/place/org/
    number, or "other" (character-class replacement). Matched on the label's words, then substrings."""
    words = [w for w in re.split(r"[^A-Z0-9]+", label.upper()) if w and w not in ("B", "I", "E", "S")]
    for word in words:
        if word in _KINDS:
            return _KINDS[word]
    for word, kind in sorted(_KINDS.items(), key=lambda item: -len(item[0])):
        if len(word) > 3 and word in label.upper():
            return kind
    return "other"


def check_locale(locale):
    """Raise ValueError unless faker knows `locale`."""
    try:
        _faker(locale)
    except AttributeError:
        raise ValueError(f"unknown locale {locale!r} (faker has no such locale)") from None


def _faker(locale):
    cache = _LOCAL.__dict__.setdefault("fakers", {})  # one per thread: draws seed the instance
    if locale not in cache:
        cache[locale] = Faker(locale)
    return cache[locale]


@functools.cache
def _name_lists(locale):
    person = next((p for p in _faker(locale).get_providers() if hasattr(p, "last_names")), None)
    return {
        attr: frozenset(n.lower() for n in getattr(person, attr, ()))
        for attr in ("first_names", "first_names_female", "first_names_male", "last_names")
    }


def _differs(original, new):
    core = original.strip().lower()
    return not core or core not in new.lower()


class Surrogates:
    """Surrogate values for one document (see the module docstring for the policies).

    key: str. The secret; document_id: str, stable across runs (e.g. "notes.jsonl:7");
    locale: faker locale of the drawn names and places; day_first: bool or None, the order of ambiguous
    numeric dates (None: month-first for *_US locales, day-first otherwise).
    """

    def __init__(self, key, document_id, locale="en_US", day_first=None):
        key = key.encode() if isinstance(key, str) else bytes(key)
        self._secret = hmac.new(key, str(document_id).encode(), hashlib.sha256).digest()
        self.locale = locale
        self._fake = _faker(locale)
        rng = self._rng("date-offset")
        days = rng.randint(32, 365)
        self.date_offset = days if rng.random() < 0.5 else -days
        self.day_first = (not locale.endswith("_US")) if day_first is None else bool(day_first)
        self._cache, self._parts, self._used, self._pairs = {}, {}, set(), set()
        self._full_months = True  # is "May" a full month name? From the document's other dates (`prepare`)
        self._names = _name_lists(locale)

    def _rng(self, *parts):
        digest = hmac.new(self._secret, "\x1f".join(parts).encode(), hashlib.sha256).digest()
        return random.Random(int.from_bytes(digest[:16], "big"))

    def _draw(self, rng, method, accept=lambda s: True):
        value = ""
        for _ in range(50):
            self._fake.seed_instance(rng.getrandbits(64))
            value = getattr(self._fake, method)() if hasattr(self._fake, method) else self._fake.last_name()
            if accept(value):
                break
        return value

    def prepare(self, items):
        """Register the (label, value) pairs of a document: full names first, so that the parts of later
        mentions ("Smith", "J. Smith") reuse them whatever their order in the text."""
        items = list(items)
        names = [v for label, v in items if kind_of(label) == "name"]
        self._full_months = full_month_names(v for label, v in items if kind_of(label) == "date")
        for value in sorted(names, key=lambda v: -len([w for w in _WORD.findall(v) if len(w) > 1])):
            self.surrogate("NAME", value)

    def surrogate(self, label, value):
        """The surrogate of `value` (an entity of type `label`) in this document."""
        kind = kind_of(label)
        if (kind, value) not in self._cache:
            if kind in _FAKER_METHODS:
                new = self._draw(self._rng(kind, value.lower()), _FAKER_METHODS[kind], lambda s: _differs(value, s))
            else:
                new = self._chars(value, kind) if kind in ("number", "other") else getattr(self, "_" + kind)(value)
            candidates = (new, self._chars(value, "fallback"), "*" * len(value), "#" * len(value))
            self._cache[kind, value] = next(c for c in candidates if _differs(value, c))  # last: no letters/digits
        return self._cache[kind, value]

    def _chars(self, value, salt, letters=True):
        """Digits -> random digits, letters (if `letters`) -> random letters of the same case; retried
        until it differs (`surrogate` falls back to letters too when there was nothing to change)."""
        rng, new = self._rng("chars", salt, value), value
        for _ in range(20):
            new = "".join(
                rng.choice(string.digits)
                if c.isdigit()
                else rng.choice(string.ascii_uppercase)
                if letters and c.isupper()
                else rng.choice(string.ascii_lowercase)
                if letters and c.isalpha()
                else c
                for c in value
            )
            if _differs(value, new):
                break
        return new

    def _digits(self, text):
        """Each run of digits -> random digits (seeded by the run, so a postcode is the same everywhere)."""
        return re.sub(r"\d+", lambda m: self._chars(m.group(), "digits"), text)

    def _name_part(self, word, role):
        key = word.lower()
        if key not in self._parts:
            female, male = key in self._names["first_names_female"], key in self._names["first_names_male"]
            method = (
                "last_name"
                if role == "last"
                else "first_name_female"
                if female and not male
                else "first_name_male"
                if male and not female
                else "first_name"
            )
            accept = lambda s: (
                re.fullmatch(r"[^\W\d_]+", s)
                and key not in s.lower()
                and s.lower() not in self._used
                and s.lower() not in self._parts
            )
            self._parts[key] = self._draw(self._rng("name", key), method, accept)
            self._used.add(self._parts[key].lower())
        return self._parts[key]

    def _name_word(self, word, role):
        pieces = re.split(r"(-)", word)
        return "".join(p if p == "-" else case_like(p, self._name_part(p, role)) for p in pieces)

    def _name(self, value):
        words = [m for m in _WORD.finditer(value)]
        names = [m for m in words if m.group().lower() not in _KEEP_NAME or len(words) == 1]
        full = [m for m in names if len(m.group()) > 1]
        if not names:
            return self._chars(value, "name")
        comma = full[0].end() if len(full) > 1 and re.match(r"\s*,", value[full[0].end() :]) else -1
        lone = full[0].group().lower() if len(full) == 1 else None
        roles = {
            m.start(): (
                "first" if lone in self._names["first_names"] and lone not in self._names["last_names"] else "last"
            )
            if lone
            else ("last" if m.start() < comma else "first")
            if comma >= 0
            else "last"
            if m is full[-1]
            else "first"
            for m in full
        }
        given = [m.group().lower() for m in full if roles[m.start()] == "first"]
        last = [m.group().lower() for m in full if roles[m.start()] == "last"]
        if given and last:
            self._pairs.update((g, s) for g in given for s in last)
        return splice(
            value,
            [
                (
                    m.start(),
                    m.end(),
                    self._name_word(m.group(), roles[m.start()])
                    if len(m.group()) > 1
                    else case_like(m.group(), self._initial(m.group().lower(), given, last)),
                )
                for m in names
            ],
        )

    def _initial(self, letter, given, last):
        for g, s in sorted(self._pairs):
            if s in last and g[0] == letter:
                return self._name_part(g, "first")[0]
            if g in given and s[0] == letter:
                return self._name_part(s, "last")[0]
        rng = self._rng("initial", letter, *last, *given)
        return rng.choice([c for c in string.ascii_lowercase if c != letter])

    def _words(self, value, keep, draw):
        """Each run of proper-name words (not in `keep`) -> draw(run, next word); digits digit for digit."""
        out, pos, changed = [], 0, False
        for m in _RUN.finditer(value):
            words = list(re.finditer(r"[^\W\d_]+(?:['’.][^\W\d_]+)*", m.group()))
            lo, hi = 0, len(words)
            while lo < hi and words[lo].group().lower().strip(".") in keep:
                lo += 1
            while hi > lo and words[hi - 1].group().lower().strip(".") in keep:
                hi -= 1
            if lo == hi:
                continue
            a, b = m.start() + words[lo].start(), m.start() + words[hi - 1].end()
            core = value[a:b]
            following = words[hi].group().lower().strip(".") if hi < len(words) else ""
            out += [self._digits(value[pos:a]), case_like(core, draw(core, following))]
            pos, changed = b, True
        out.append(self._digits(value[pos:]))
        return "".join(out), changed

    def _place(self, value):
        def draw(core, following):
            if re.fullmatch(r"[A-Z]{2}", core):
                return (
                    self._chars(core, "state")
                    if not hasattr(self._fake, "state_abbr")
                    else self._draw(self._rng("state", core), "state_abbr", lambda s: s != core)
                )
            method = "last_name" if following in _STREET else "city"
            return self._draw(self._rng("place", core.lower()), method, lambda s: _differs(core, s))

        return self._words(value, _ADDRESS, draw)[0]

    def _org(self, value):
        def draw(core, following):
            return self._draw(self._rng("org", core.lower()), "last_name", lambda s: _differs(core, s))

        new, changed = self._words(value, _ORG, draw)
        words = value.split()
        return (
            new
            if changed
            else self.surrogate("COMPANY-NAME", value)
            if len(words) < 2
            else draw(value, "") + " " + words[-1]
        )  # only generic words: "General Hospital" -> "Scott Hospital"

    def _state(self, value):
        if re.fullmatch(r"\s*[A-Z]{2}\s*", value):
            return self._place(value)
        return self._draw(self._rng("state", value.lower()), "state", lambda s: _differs(value, s))

    def _age(self, value):
        rng = self._rng("age", value)
        if not re.search(r"\d", value):
            return str(rng.randint(18, 89))

        def replace(m):
            n, width = int(m.group()), len(m.group())
            lo, hi = (90, 99) if n >= 90 else (1, 9) if width == 1 else (10, 89)
            choices = [v for v in range(lo, hi + 1) if v != n] or [v for v in range(1, 90) if v != n]
            return str(rng.choice(choices)).zfill(width if m.group().startswith("0") else 1)

        return re.sub(r"\d+", replace, value)

    def _date(self, value):
        scramble = lambda text: self._chars(text, "date", letters=False)
        new = shift_date(value, self.date_offset, self.day_first, full_months=self._full_months, scramble=scramble)
        return scramble(value) if new is None else new
