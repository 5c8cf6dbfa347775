"""Places in one read text: which capitalised names are places, which region each means, and
what each country scores.

A name must be capitalised as a proper noun (or spelled exactly, for "US"); person context
("President X", "Michael Jordan") rules it out; a name that is also a word, or a small place, needs
support (its country named elsewhere, or "in X"). Each mention scores by where it stands (title,
lede), whether its sentence names a threat, a preposition before it, and whether it names an actor
("the US Embassy", "Turkey said") or a nationality ("Americans") rather than a location. Countries
add up their places.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import Any

from monitor.classify.compiled import CompiledRules, PlaceRecord
from monitor.classify.gazetteer import (
    AMBIG,
    DEMONYM,
    EXACT,
    NEVER,
    PEOPLE,
    PERSON,
    SUBDIV,
    WEAK,
    NameCandidate,
    Region,
    owner_of,
)
from monitor.classify.mentions import ARTICLES, Mention, PlaceTally, mark_datelines, noun_use
from monitor.classify.reading import Reading
from monitor.classify.threats import CUE_ISSUER

_NEXT_WORD = re.compile(r" ([A-Z][a-z]+)")
_PLACE_TAILS = frozenset("river valley basin province region state city county district island islands "
                         "mountains mountain lake sea coast border capital republic".split())
# "Guadalupe River", "Mosul Dam": after a town's name these make it part of a feature's name, which
# can lie far from the town; the town then needs support like any small place.
_FEATURES = frozenset("river valley basin mountains mountain lake sea bay gulf strait dam delta desert "
                      "peninsula canal creek falls".split())
# Between a place and an actor word after it, any of these ends the clause: "in Kidal, officials said".
_CLAUSE_BREAK = re.compile(r"[.,;:!?\n()\[\]]")
_SENTENCE_OPENERS = frozenset('.!?\n:"“(')
_MARKUP = frozenset(" \t*_[#>-")
_COORDINATORS = frozenset(("and", "or"))
# After an adjective of a country these nouns make it a place: "the Greek island", "the Libyan capital".
_PLACE_NOUNS = frozenset("capital island islands city town village port coast coastline border region province "
                         "mainland countryside territory enclave side".split())
# After an abbreviated country name, a lowercase word that is none of these makes the name attributive
# ("a US teacher", "the Russia desk"): a nationality, weighed like an adjective.
_FUNCTION_WORDS = frozenset(
    "is was were are be been has have had and or but nor to in on at for of with by from as will would could "
    "should may might can did does do said says say since after before where which that who whose while when "
    "over into about than because if also again last this next its it their his her remains remained s "
    "under near across against between during until through via per".split())


def _title_is_title_case(title: str) -> bool:
    words = [w for w in title.split() if len(w) >= 4 and w[0].isalpha()]
    return len(words) >= 3 and sum(w[0].isupper() for w in words) >= 0.7 * len(words)


class PlaceReader:
    """Finds and resolves the place mentions of read texts with one compiled rule set."""

    def __init__(self, compiled: CompiledRules) -> None:
        self.compiled = compiled
        self._s = compiled.scoring
        self._regions = compiled.gazetteer.order
        self._known = compiled.gazetteer.regions
        self._actor = re.compile(compiled.actor_pattern)
        self._passing = re.compile(compiled.passing_pattern)
        # The last words of those phrases, and their last two: only after one of them is the pattern
        # worth trying (most names follow "in", "of" or "from", few follow "talks in").
        self._passing_last = compiled.passing_last
        self._passing_tails = compiled.passing_tails
        self._name_words = compiled.person_titles | compiled.given_names | compiled.compound_prefixes

    def read(self, reading: Reading, threat_sents: set[int]) -> list[Mention]:
        """The place mentions of ``reading``, leftmost-longest, weighed and resolved to regions."""
        title_case = _title_is_title_case(reading.full[:reading.title_end])
        raw = reading.places
        raw.sort()
        last = -1
        mentions: list[Mention] = []
        for s, ne, place in raw:
            if s < last:
                continue
            last = e = -ne
            m = self._mention(reading, s, e, place, title_case, mentions)
            if m is not None:
                mentions.append(m)
        mark_datelines(reading.full, reading.title_end, mentions)
        self._weigh(mentions, reading, threat_sents)
        return self._resolve(mentions)

    def _mention(self, reading: Reading, s: int, e: int, place: PlaceRecord, title_case: bool,
                 mentions: list[Mention]) -> Mention | None:
        """The mention of ``place`` at ``s:e``, or None when the words around it make it no place."""
        full, scan = reading.full, reading.scan
        cands, flags_any, all_people, all_demonym, owner = place
        if flags_any & NEVER or not full[s].isupper():
            return None
        # "Meteo-France", "Air-India": joined by a hyphen to a capitalised word that is no place, the
        # name is part of another ("Pakistan-India border" keeps both; "Russo-Ukrainian" is an adjective).
        if (s >= 2 and full[s - 1] == "-" and full[s - 2].isalpha() and not all_demonym
                and not (mentions and mentions[-1].end == s - 1)
                and full[scan.rfind(" ", 0, s - 1) + 1].isupper()):
            return None
        filtered = False
        if flags_any & EXACT:
            cands = tuple(cd for cd in cands if not cd.flags & EXACT or full.startswith(cd.exact or "", s))
            if not cands:
                return None
            filtered = True
        heading = s < reading.title_end and title_case  # a title in title case capitalises any word
        # The word before: a title or a given name makes this a person; a preposition a place.
        j = s - 1
        while j >= 0 and scan[j] == " ":
            j -= 1
        k = scan.rfind(" ", 0, j + 1)
        prev = scan[k + 1:j + 1]
        # (most words before a place are none of the words that make it a person's or another name)
        if prev and prev in self._name_words and not flags_any & (DEMONYM | PEOPLE) and self._names_other(
                full, s, j, k, prev, s < reading.title_end, heading):
            return None
        subdivision = feature = False
        # Only a capitalised word right after the name can change the reading.
        if full[e + 1:e + 2].isupper() and not heading:
            after = self._name_after(full, e, cands, flags_any)
            if after is None:
                return None
            cands, subdivision, feature = after
        m = Mention(s, e, cands, bisect_right(reading.starts, s) - 1)
        m.owner = owner_of(cands, self._regions) if filtered or subdivision else owner
        i = s - 1
        while i >= 0 and full[i] in _MARKUP:
            i -= 1
        m.initial = i < 0 or full[i] in _SENTENCE_OPENERS or heading
        self._read_context(m, full, scan, prev, j, k, mentions)
        # (a nationality noun that is also a town's name, "Brits", reads as the nationality)
        if all_people or (cands[0].flags & PEOPLE and self._regions[cands[0].region].kind == "country"):
            m.people = True
        m.demonym = all_demonym
        if all_demonym and prev in ARTICLES and noun_use(full, scan, e):
            m.people = True  # "a German and a Spaniard": a nationality noun, who not where
        m.flags = flags_any
        top = cands[0].flags
        m.weak = feature or bool(top & WEAK or (m.initial and top & (AMBIG | SUBDIV)))
        return m

    def _names_other(self, full: str, s: int, j: int, k: int, prev: str, in_title: bool, heading: bool) -> bool:
        """Whether the word before (``prev``, ending at ``j``, after the space at ``k``) makes the name
        at ``s`` a person's or part of a longer name."""
        c = self.compiled
        prev_cap = full[k + 1].isupper()
        if prev in c.person_titles and (prev_cap or in_title):
            return True  # "President Aliyev", "King Charles"
        if prev_cap and prev in c.given_names:
            return True  # "Michael Jordan", "Whitney Houston"
        compound = prev_cap and prev in c.compound_prefixes and not full[j + 1:s].strip()
        return compound and not heading  # "Old England", "Mount Salem": part of another name

    def _name_after(self, full: str, e: int, cands: tuple[NameCandidate, ...], flags_any: int
                    ) -> tuple[tuple[NameCandidate, ...], bool, bool] | None:
        """(candidates, narrowed to a subdivision, part of a feature's name) as the capitalised word
        after the name ending at ``e`` reads it; None when that word makes it no place."""
        nxt = _NEXT_WORD.match(full, e)
        if nxt is None:
            return cands, False, False
        regions = self._regions
        word = nxt.group(1).lower()
        if word in self.compiled.admin_words:
            # "Manchester Parish": the subdivision of that name, where there is one.
            subs = tuple(cd for cd in cands if regions[cd.region].kind == "region")
            return (subs, True, False) if subs else (cands, False, False)
        if word not in _PLACE_TAILS and (flags_any & PERSON or cands[0].flags & WEAK):
            return None  # "Jordan Peterson", "March Pen": a person, or a longer unknown name
        return cands, False, word in _FEATURES and regions[cands[0].region].kind != "country"

    def _weigh(self, mentions: list[Mention], reading: Reading, threat_sents: set[int]) -> None:
        """Set how much each mention says the text is about its place."""
        sc = self._s
        full, scan, tlen, lede_end = reading.full, reading.scan, reading.title_end, reading.lede_end
        people, demonym, actor = sc["people"], sc["demonym"], sc["actor"]
        title_x, lede_x, threat_x, prep_x = sc["title"], sc["lede"], sc["threat_sentence"], sc["preposition"]
        for m in mentions:
            s, e = m.start, m.end
            weight = 1.0
            if m.people:
                weight = people
            elif m.demonym and not (full[e:e + 1] == " " and scan[e + 1:scan.find(" ", e + 1)] in _PLACE_NOUNS):
                # (but "the Greek island of Rhodes", "the Somali capital" say where)
                weight = demonym
            elif m.flags & EXACT and (after := e + (full[e:e + 1] == "." and full[e - 2:e - 1] == ".")) + 1 < len(
                    full) and full[after] == " " and full[after + 1].islower():
                # ("the U.S. relationship": the full stop of "U.S." ends the name, not the sentence)
                word_after = scan[after + 1:scan.find(" ", after + 1)]
                if word_after not in _FUNCTION_WORDS and not word_after.endswith(("ing", "ed")):
                    weight = demonym
            if m.actor:
                weight = min(weight, 1.0) * actor
            if s < tlen:
                weight *= title_x
                m.in_title = True
            elif s < lede_end:
                weight *= lede_x
            if m.sent in threat_sents:
                weight *= threat_x
            if m.prep:
                weight *= prep_x
            m.weight = weight

    def _read_context(self, m: Mention, full: str, scan: str, prev: str, j: int, k: int,
                      mentions: list[Mention]) -> None:
        """Set what the words around mention ``m`` say of it: a place (after a preposition), who acts
        (an agent, an actor or a speaker, an embassy's country), or where people come from. ``prev``
        is the word before it, ending at ``j``; ``k`` is the space before that word."""
        c = self.compiled
        s, e = m.start, m.end
        if (prev in self._passing_last or (prev == "the" and scan[scan.rfind(" ", 0, k) + 1:k] in self._passing_last)) \
                and self._passing_before(scan, prev, k) and (
                found := self._passing.search(scan, s - 48 if s > 48 else 0, s)) is not None:
            # "the Embassy of Ireland", "return to the UK", "felt as far as Taipei", "talks in Geneva",
            # "beat Lebanon": named in passing, like the people of a place. (A neighbour named for
            # the border it shares locates what is said in the text's own country.)
            m.people = True
            m.passing = "border" not in found.group() and "frontier" not in found.group()
            return
        if mentions and mentions[-1].passing and (
                (prev in _COORDINATORS and mentions[-1].end == k) or full[mentions[-1].end:s] in (", ", ", in ")):
            m.people = m.passing = True  # "donations from Japan and Norway", "felt as far as Bangkok, Thailand"
            return
        # The word before ``prev``, and the two together ("due to", "outskirts of").
        start2 = scan.rfind(" ", 0, k) + 1 if k > 0 else 0
        word_before = scan[start2:k] if k > 0 else ""
        two_words = scan[start2:j + 1]
        # "a peacekeeper from Malawi", "tourists from Germany": where people come from, a nationality.
        origin = prev == "from" and k > 0 and word_before in c.origin_nouns
        if origin:
            m.people = True
        elif prev in c.prepositions:
            # "due to Israeli strikes", "according to Turkey": a cause or a source, not a place.
            m.prep = k <= 0 or two_words not in c.not_place_phrases
        elif k > 0:
            # "in Sevare, Mali": the town is unknown, so the country stands for the place. (After a
            # known town, "in Manila, Philippines", the town is the place and the country only its address.)
            m.prep = two_words in c.prepositions or (
                full[s - 2:s] == ", " and not (mentions and mentions[-1].end == s - 2)
                and self._after_place(full, scan, s - 2)) or (
                # "in Moscow and Kyiv": the second place shares the first one's preposition.
                prev in _COORDINATORS and bool(mentions) and mentions[-1].prep and mentions[-1].end == k)
        # "the army in Amman said": after a preposition the place is where, not who. An actor word
        # only counts in the same clause: "in Mali. Officials said" is a place, then a speaker.
        if not m.prep and (prev in c.agent_words or (
                prev == "the" and k > 0 and word_before in c.agent_words) or (
                prev in _COORDINATORS and mentions and mentions[-1].agent and mentions[-1].end == k)):
            m.actor = m.agent = True  # "brokered by the United Arab Emirates (and Qatar)": who acts
        elif not m.prep:
            a = self._actor.match(scan, e)
            # (the full stop of "U.S." or "U.K." ends the name, not the clause)
            b = e + 1 if full[e:e + 1] == "." and full[e - 2:e - 1] == "." else e
            m.actor = a is not None and not _CLAUSE_BREAK.search(full, b, a.end())
            m.mission = m.actor and a is not None and scan[a.start():a.end()].endswith(c.mission_words)

    def _passing_before(self, scan: str, prev: str, k: int) -> bool:
        """Whether the last words of a phrase that names a place in passing stand before it (``prev``,
        after the space at ``k``, or the word before "the"): only then can the pattern match."""
        if prev in self._passing_last and self._ends_phrase(scan, prev, k):
            return True
        if prev != "the" or k <= 0:
            return False
        k2 = scan.rfind(" ", 0, k)
        word = scan[k2 + 1:k]
        return word in self._passing_last and self._ends_phrase(scan, word, k2)

    def _ends_phrase(self, scan: str, word: str, k: int) -> bool:
        """Whether ``word`` (after the space at ``k``) is a passing phrase's last word, and the word
        before it the phrase's word before that (the pattern wants both, one space apart)."""
        tails = self._passing_tails
        return word in tails or (k > 0 and f"{scan[scan.rfind(' ', 0, k) + 1:k]} {word}" in tails)

    def _elsewhere(self, region: Region, flags: int, weight: dict[str, float]) -> bool:
        """Whether an unsupported small place, kept for its preposition, is named in passing: another
        country is clearly the location ("outside Atlantis" in a story from Nassau)."""
        if not flags & (WEAK | AMBIG) or region.kind == "country":
            return False
        own = region.country or region.id
        return any(w >= self._s["primary_min"] for c, w in weight.items() if c != own)

    def _primary(self, reading: Reading, tally: PlaceTally, country_ids: list[str], top: float) -> list[str]:
        """The primary countries, most relevant first. Primary is decided on where things happen
        (geo), not on who speaks or whose citizens. A country named once, outside the title, needs a
        larger share; the issuer of an advisory named in the text ("FCDO", "Smartraveller") is
        primary only when the text is most about it."""
        sc = self._s
        geo = tally.geo
        ratio, minimum, single = sc["primary_ratio"], sc["primary_min"], sc["primary_ratio_single"]
        primary = sorted((r for r in country_ids if geo[r] >= ratio * top and geo[r] >= minimum and (
                              tally.named[r] > 1 or tally.in_title[r] or geo[r] >= single * top)),
                         key=lambda r: (-geo[r], -tally.score[r]))
        # (the issuers named matter only to a second primary country, or when no place is located)
        issuers = self._issuers(reading) if len(primary) > 1 or (not primary and top < minimum) else set()
        if issuers:
            primary = primary[:1] + [r for r in primary[1:] if r not in issuers]
        if not primary and top < minimum:
            # No place is named as where things happen: a story about what a country's government or
            # parliament did is about that country ("Tunisia's parliament passed the budget").
            acting = [r for r in country_ids if tally.acting[r] and r not in issuers]
            if acting:
                primary = [max(acting, key=lambda r: (tally.acting[r], tally.score[r]))]
        return primary

    def _issuers(self, reading: Reading) -> set[str]:
        """The countries of the advisory issuers named in the text."""
        out: set[str] = set()
        for _s, _e, kind, value in reading.cues:
            if kind == CUE_ISSUER:
                out |= self.compiled.issuers[value]
        return out

    def _after_place(self, full: str, scan: str, comma: int) -> bool:
        """Whether "<preposition> <Capitalised words>," ends at ``comma``: "in Sevare, Mali" names the
        country as a place even when the town before it is one the gazetteer lacks."""
        j = comma
        for _ in range(3):
            k = scan.rfind(" ", 0, j)
            word = scan[k + 1:j]
            if not word or not full[k + 1].isupper():
                return False
            j = k
            while j > 0 and scan[j - 1] == " " and full[j - 1] in " -'’":
                j -= 1
            k2 = scan.rfind(" ", 0, j)
            if scan[k2 + 1:j] in self.compiled.prepositions:
                return True
        return False

    def _resolve(self, mentions: list[Mention]) -> list[Mention]:
        """Pick each mention's region. Support for an ambiguous or small place is local (its country
        named as a location in the same or a neighbouring sentence: "Mobile, Alabama", "Split,
        Croatia") or topical (the country the text is mostly about); for a well-known name that is also
        a word, its country named anywhere will do. A name with no support is dropped unless a place
        preposition stands before it ("in Nice"); then, with another country clearly named as a
        location, it is named in passing ("outside Atlantis" in a story from Nassau)."""
        regions = self._regions
        # Owners named per sentence; a mention looks at its own sentence and both neighbours. A
        # well-known place keeps its own reading unless another's country is named as a location
        # nearby (a "U.S. citizen" in a Moscow court is no support for Moscow, Idaho).
        by_sent: dict[int, set[str]] = {}
        by_sent_located: dict[int, set[str]] = {}
        weight: dict[str, float] = {}
        for m in mentions:
            # An embassy's country is the one place its city is not ("the US Embassy in Lima").
            if m.weak or m.people or m.mission:
                continue
            owner = m.owner
            if owner:
                # An actor still says whose ground is near ("Azerbaijani forces ... in the Kalbajar
                # district"), but not what the text is about.
                by_sent.setdefault(m.sent, set()).add(owner)
                if not m.actor:
                    by_sent_located.setdefault(m.sent, set()).add(owner)
                    weight[owner] = weight.get(owner, 0.0) + m.weight
        top = max(weight.values(), default=0.0)
        topical = {c for c, w in weight.items() if w >= 0.5 * top}
        named = set(weight)
        kept: list[Mention] = []
        for m in mentions:
            chosen = None
            top_cand = m.cands[0]
            if regions[top_cand.region].kind == "country" and not top_cand.flags & (AMBIG | PERSON):
                chosen = top_cand  # a country's own name means the country, whatever else is named
            else:
                near: set[str] = set()
                sents = by_sent if top_cand.flags & (WEAK | AMBIG) else by_sent_located
                for si in (m.sent - 1, m.sent, m.sent + 1):
                    if si in sents:
                        near |= sents[si]
                # A small place needs its country nearby or as the topic; a well-known name that is
                # also a word ("Turkey's involvement") only needs its country named anywhere.
                wide = topical if m.cands[0].flags & WEAK else named
                for pool in (near, wide):
                    for cd in m.cands:
                        region = regions[cd.region]
                        if (region.country or region.id) in pool:
                            chosen = cd
                            break
                    if chosen is not None:
                        break
            if chosen is None:
                if m.weak and not (m.prep and not m.initial):
                    continue
                chosen = top_cand
                m.people = m.people or self._elsewhere(regions[chosen.region], top_cand.flags, weight)
            m.region = regions[chosen.region]
            kept.append(m)
        return kept

    def score(self, reading: Reading, mentions: list[Mention]) -> tuple[list[dict[str, Any]], list[str]]:
        """(every region named, highest score first, in the shape of RegionHit; the primary
        countries). A place's weight also counts for its country."""
        known = self._known
        full = reading.full
        tally = PlaceTally()
        tally.add_all(mentions, full, known)
        score, geo, evidence = tally.score, tally.geo, tally.evidence
        country_ids = [rid for rid in score if known[rid].kind == "country"]
        top = max((geo[r] for r in country_ids), default=0.0)
        primary = self._primary(reading, tally, country_ids, top)
        ratio = self._s["primary_ratio"]
        prim = set(primary)
        hits: list[dict[str, Any]] = []
        for rid, value in sorted(score.items(), key=lambda kv: -kv[1]):
            region = known[rid]
            if region.kind == "country":
                role = "primary" if rid in prim else "mentioned"
            elif region.kind in ("city", "region") and (region.country in prim or (
                    region.country is None and any(p in prim for p in region.parents))):
                role = "primary" if geo[rid] >= ratio * top * 0.5 else "mentioned"
            else:
                role = "mentioned"
            spans = evidence[rid]
            spans.sort(key=lambda x: x["start"])
            hits.append({"id": rid, "name": region.name, "kind": region.kind, "country": region.country,
                         "role": role, "score": round(value, 2), "evidence": spans})
        return hits, primary

