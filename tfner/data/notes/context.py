"""The context one note is drawn from (shared by every module that writes values)."""

from __future__ import annotations

from datetime import date, timedelta

from tfner.data.notes.lang import LOCALE_INFO


class Ctx:
    """What one note draws from: random stream, seeded Faker, locale, label set and 'today'."""

    def __init__(self, rng, fake, locale: str, extended: bool):
        self.rng = rng
        self.fake = fake
        self.locale = locale
        self.lang, self.cc, self.trunk, self.country = LOCALE_INFO[locale]
        self.extended = extended
        self.today = date(rng.randint(2012, 2025), rng.randint(1, 12), rng.randint(1, 28))

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def days_ago(self, lo: int, hi: int) -> date:
        return self.today - timedelta(days=self.rng.randint(lo, hi))
