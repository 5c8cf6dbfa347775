"""Scoring one text: places, threats and severity from the matches of the compiled automaton.

Offsets: every evidence span indexes into ``title + "\\n\\n" + text``.

How a call is made, in order:
1. One automaton pass over the scan form of the text (folded, punctuation as spaces), whose keys
   carry their word boundaries, so every match is a whole-word (or word-start) match.
2. Threats: per type, leftmost-longest among its terms and exclusions (so "counter-terrorism"
   shadows "terror"); historical, hypothetical and negated sentences weigh less; terms in the
   sentence that states an advisory level (its risk list) weigh more.
3. Places: leftmost-longest matches; a name must be capitalised as a proper noun (or spelled
   exactly, for "US"); person context ("President X", "Michael Jordan") rules it out; a name that
   is also a word, or a small place, needs support (its country named elsewhere, or "in X").
4. Each place mention scores by where it stands (title, lede), whether its sentence names a
   threat, a preposition before it, and whether it names an actor ("the US Embassy", "Turkey
   said") or a nationality ("Americans") rather than a location. Countries add up their places.
5. Severity: an overall official level in the title or lede fixes it; else the highest of partial
   levels, raisers and the threats' base; no threat and no level is none.

The hot path builds plain dicts; ``classify`` validates them into a ``Classification`` once.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import defaultdict
from typing import Any

from monitor.classify.engine import CompiledRules
from monitor.classify.fold import scan_form, sentence_starts
from monitor.classify.gazetteer import (
    AMBIG,
    DEMONYM,
    EXACT,
    NEVER,
    PEOPLE,
    PERSON,
    SUBDIV,
    WEAK,
    Gazetteer,
    Region,
    owner_of,
)
from monitor.classify.severity import decide_severity
from monitor.classify.threats import CUE_LEVEL, CUE_MODIFIER, CUE_PARTIAL
from monitor.models import Classification

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
_MAX_EVIDENCE = 6
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

Span = dict[str, Any]  # {"text", "start", "end"}


class _Mention:
    __slots__ = ("actor", "agent", "cands", "end", "initial", "mission", "owner", "people", "prep", "region", "sent",
                 "start", "weak", "weight")

    def __init__(self, start: int, end: int, cands: tuple[Any, ...], sent: int) -> None:
        self.start = start
        self.end = end
        self.cands = cands
        self.sent = sent
        self.region: Region | None = None
        self.owner = ""
        self.actor = False
        self.agent = False  # after "by": who acts ("brokered by Qatar")
        self.mission = False  # names a country's embassy or consulate, which stands abroad
        self.people = False
        self.prep = False
        self.initial = False
        self.weak = False
        self.weight = 1.0


def _combo_spans(hits: list[tuple[int, int, float, bool, int]], starts: list[int], si: int,
                 room: int) -> list[tuple[int, int]]:
    """The combo words of sentence ``si`` as evidence (they are not in it yet: alone they weigh 0)."""
    lo = starts[si]
    hi = starts[si + 1] if si + 1 < len(starts) else 1 << 62
    return [(s, -ne) for s, ne, _w, _r, mask in hits if mask and lo <= s < hi][:room]


def _title_is_title_case(title: str) -> bool:
    words = [w for w in title.split() if len(w) >= 4 and w[0].isalpha()]
    return len(words) >= 3 and sum(w[0].isupper() for w in words) >= 0.7 * len(words)


class Engine:
    """Classifies texts with one compiled rule set. Cheap to call; build it with load_engine."""

    def __init__(self, compiled: CompiledRules) -> None:
        self.compiled = compiled
        self.version: str = compiled.version
        self.gazetteer: Gazetteer = compiled.gazetteer
        self.threat_types = [t.id for t in compiled.taxonomy.types]
        self._actor = re.compile(compiled.actor_pattern)
        self._iter = compiled.automaton.iter
        self._records = compiled.records
        self._regions = compiled.gazetteer.order
        self._s = compiled.scoring

    # -- the gazetteer questions alert rules ask ---------------------------------------------------
    def region(self, name_or_id: str) -> Region:
        """The one region an id, name or alias means; RegionLookupError lists candidates."""
        return self.gazetteer.lookup(name_or_id)

    def resolve(self, name_or_id: str) -> list[Region]:
        return self.gazetteer.resolve(name_or_id)

    def ancestors(self, region_id: str) -> set[str]:
        return self.gazetteer.ancestors(region_id)

    # -- classification ----------------------------------------------------------------------------
    def classify(self, title: str, text: str) -> Classification:
        """Regions, threats and severity of one item. Evidence offsets index into
        ``title + "\\n\\n" + text``."""
        return Classification.model_validate(self.analyse(title, text))

    def analyse(self, title: str, text: str) -> dict[str, Any]:
        """``classify`` as plain data (the shape of Classification), for callers that only serialise."""
        full = f"{title}\n\n{text}"
        scan = scan_form(full)
        n = len(scan)
        tax = self.compiled.taxonomy
        records = self._records
        tlen = len(title)
        lede_end = tlen + 2 + tax.lede_chars
        starts = sentence_starts(full)

        raw_places: list[tuple[int, int, tuple[Any, ...]]] = []
        # Per type: (start, -end, weight, risk, combo mask); -end so that a plain sort puts the longest
        # of the matches at one start first (leftmost-longest).
        terms: dict[int, list[tuple[int, int, float, bool, int]]] = {}
        cues: list[tuple[int, int, int, int]] = []
        # The automaton sees " " + scan + " ": a key " name " ending at `end` spans
        # scan[end - klen + 1:end - 1]; a prefix key " name" spans from the same start to the word's end.
        find = scan.find
        for end, ri in self._iter(f" {scan} "):
            klen, prefix, places, tentries, tcues = records[ri]
            s = end - klen + 1
            if prefix:
                e = find(" ", end)
                if e < 0:
                    e = n
            else:
                e = end - 1
            # A place name counts only capitalised (never "nice", "reading"): drop the rest here, before
            # any work is spent on them.
            if places is not None and full[s].isupper():
                raw_places.append((s, e, places))
            if tentries is not None:
                for threat, weight, risk, mask in tentries:
                    hit = (s, -e, weight, risk, mask)
                    if threat in terms:
                        terms[threat].append(hit)
                    else:
                        terms[threat] = [hit]
            if tcues is not None:
                for kind, value, _prefix in tcues:
                    cues.append((s, e, kind, value))
        if tax.regex is not None:
            for m in tax.regex.finditer(full):
                hit = (m.start(), -m.end(), 1.0, False, 0)
                terms.setdefault(tax.regex_types[m.lastgroup or ""], []).append(hit)

        # Sentence context: modifiers, and the sentences that state an advisory level.
        factors = tax.modifier_factors
        sent_factor: dict[int, float] = {}
        level_sents: set[int] = set()
        partial_sents: set[int] = set()
        for s, _e, kind, value in cues:
            si = bisect_right(starts, s) - 1
            if kind == CUE_MODIFIER:
                sent_factor[si] = min(sent_factor.get(si, 1.0), factors[value])
            elif kind == CUE_LEVEL:
                level_sents.add(si)
                # "Exercise increased caution\n\nin Bolivia due to crime, unrest and health.": a level
                # stated without a full stop goes on in the next line's risk list.
                if si + 1 < len(starts) and full[starts[si]:starts[si + 1]].rstrip()[-1:] not in ".!?":
                    level_sents.add(si + 1)
            elif kind == CUE_PARTIAL:
                partial_sents.add(si)

        threats, threat_sents = self._threats(full, terms, starts, tlen, sent_factor, level_sents)
        mentions = self._places(full, scan, raw_places, starts, tlen, lede_end, threat_sents)
        regions, countries = self._score_regions(full, mentions)
        for threat, sents in threats:
            ids: list[str] = threat["regions"]
            for mention in mentions:
                region = mention.region
                if mention.sent in sents and not mention.actor and region is not None and region.id not in ids:
                    ids.append(region.id)
        local_sents = {m.sent for m in mentions if m.region is not None and m.region.kind in ("city", "region")}
        severity, sev_evidence = decide_severity(self.compiled.taxonomy, self.threat_types, full, cues, starts,
                                                 tlen, lede_end, local_sents, partial_sents, sent_factor,
                                                 [h for h, _ in threats])
        return {
            "title": title,
            "countries": countries,
            "regions": regions,
            "threats": [h for h, _ in threats],
            "severity": severity,
            "severity_evidence": sev_evidence,
            "rules_version": self.version,
        }

    # -- threats ---------------------------------------------------------------------------------
    def _threats(self, full: str, terms: dict[int, list[tuple[int, int, float, bool, int]]], starts: list[int],
                 tlen: int, sent_factor: dict[int, float], level_sents: set[int]
                 ) -> tuple[list[tuple[dict[str, Any], set[int]]], set[int]]:
        types = self.compiled.taxonomy.types
        title_x = self._s["title_threat"]
        risk_x = self._s["risk_list"]
        out: list[tuple[dict[str, Any], set[int]]] = []
        threat_sents: set[int] = set()
        for t, hits in terms.items():
            ttype = types[t]
            combos = ttype.combos
            hits.sort()
            last = -1
            score = 0.0
            strong = False
            spans: list[tuple[int, int]] = []  # evidence, made into dicts only if the type is reported
            sents: set[int] = set()
            # Combo groups seen per sentence, and sentences where the type's own exclusions frame the
            # matter otherwise ("counter-terrorism operation"): there weak words do not compose.
            seen: dict[int, int] = {}
            vetoed: set[int] = set()
            si = 0
            next_start = starts[1] if len(starts) > 1 else 1 << 62
            for s, ne, w, risk, mask in hits:
                if s < last:
                    continue
                if s >= next_start:
                    si = bisect_right(starts, s) - 1
                    next_start = starts[si + 1] if si + 1 < len(starts) else 1 << 62
                if w <= 0:
                    if mask:
                        # A combo word alone weighs nothing and shadows nothing ("suicide bomber" keeps
                        # "suicide bomb*"), but negation still silences it.
                        if sent_factor.get(si, 1.0) > 0:
                            seen[si] = seen.get(si, 0) | mask
                    else:
                        last = -ne
                        vetoed.add(si)  # an exclusion: it only shadows, and vetoes combos
                    continue
                last = -ne
                f = sent_factor.get(si, 1.0)
                if f <= 0:
                    continue
                if mask:
                    seen[si] = seen.get(si, 0) | mask
                if si in level_sents:
                    # The advisory's stated risks ("due to crime, unrest and health").
                    if risk:
                        w = 1.0
                    w *= risk_x
                # Weak terms only add up: a type needs at least one strong term (or a stated risk, or a
                # combo below).
                if w >= 1.0:
                    strong = True
                if s < tlen:
                    w *= title_x
                score += w * f
                sents.add(si)
                if len(spans) < _MAX_EVIDENCE:
                    spans.append((s, -ne))
            if seen and combos:
                # One term of every group of a combo in one sentence ("Gunmen attack police post"): as one
                # strong term of that sentence.
                for si, got in seen.items():
                    if si in vetoed or not any(got & c == c for c in combos):
                        continue
                    strong = True
                    w = sent_factor.get(si, 1.0) * (title_x if starts[si] < tlen else 1.0)
                    score += w
                    if si not in sents:
                        sents.add(si)
                        if len(spans) < _MAX_EVIDENCE:
                            spans.extend(_combo_spans(hits, starts, si, _MAX_EVIDENCE - len(spans)))
            if strong and score >= ttype.threshold:
                spans.sort()
                evidence = [{"text": full[s:e], "start": s, "end": e} for s, e in spans]
                out.append(({"type": ttype.id, "score": round(score, 2), "evidence": evidence, "regions": []},
                            sents))
                threat_sents |= sents
        out.sort(key=lambda x: -x[0]["score"])
        return out, threat_sents

    # -- places ----------------------------------------------------------------------------------
    def _places(self, full: str, scan: str, raw: list[tuple[int, int, tuple[Any, ...]]], starts: list[int], tlen: int,
                lede_end: int, threat_sents: set[int]) -> list[_Mention]:
        c = self.compiled
        sc = self._s
        regions = self._regions
        title_case = _title_is_title_case(full[:tlen])
        raw.sort(key=lambda h: (h[0], -h[1]))
        last = -1
        mentions: list[_Mention] = []
        for s, e, place in raw:
            if s < last:
                continue
            last = e
            cands, flags_any, all_people, all_demonym, owner = place
            filtered = feature = False
            if flags_any & NEVER or not full[s].isupper():
                continue
            # "Meteo-France", "Air-India": joined by a hyphen to a capitalised word that is no place, the
            # name is part of another ("Pakistan-India border" keeps both; "Russo-Ukrainian" is an adjective).
            if (s >= 2 and full[s - 1] == "-" and full[s - 2].isalpha() and not all_demonym
                    and not (mentions and mentions[-1].end == s - 1)
                    and full[scan.rfind(" ", 0, s - 1) + 1].isupper()):
                continue
            if flags_any & EXACT:
                span = full[s:e]
                cands = tuple(cd for cd in cands if not cd.flags & EXACT or cd.exact == span)
                if not cands:
                    continue
                filtered = True
            # The word before: a title or a given name makes this a person; a preposition a place.
            j = s - 1
            while j >= 0 and scan[j] == " ":
                j -= 1
            k = scan.rfind(" ", 0, j + 1)
            prev = scan[k + 1:j + 1]
            if prev and not flags_any & (DEMONYM | PEOPLE):
                prev_cap = full[k + 1].isupper()
                if prev in c.person_titles and (prev_cap or s < tlen):
                    continue  # "President Aliyev", "King Charles"
                if prev_cap and prev in c.given_names:
                    continue  # "Michael Jordan", "Whitney Houston"
                compound = prev_cap and prev in c.compound_prefixes and not full[j + 1:s].strip()
                if compound and not (s < tlen and title_case):
                    continue  # "Old England", "Mount Salem": part of another name
            # Only a capitalised word right after the name can change the reading.
            nxt = _NEXT_WORD.match(full, e) if full[e + 1:e + 2].isupper() else None
            if nxt is not None and not (s < tlen and title_case):
                word = nxt.group(1).lower()
                if word in c.admin_words:
                    # "Manchester Parish": the subdivision of that name, where there is one.
                    subs = tuple(cd for cd in cands if regions[cd.region].kind == "region")
                    if subs:
                        cands, filtered = subs, True
                elif word not in _PLACE_TAILS and (flags_any & PERSON or cands[0].flags & WEAK):
                    continue  # "Jordan Peterson", "March Pen": a person, or a longer unknown name
                elif word in _FEATURES and regions[cands[0].region].kind != "country":
                    feature = True
            m = _Mention(s, e, cands, bisect_right(starts, s) - 1)
            m.owner = owner_of(cands, regions) if filtered else owner
            i = s - 1
            while i >= 0 and full[i] in _MARKUP:
                i -= 1
            m.initial = i < 0 or full[i] in _SENTENCE_OPENERS or (s < tlen and title_case)
            origin = self._read_context(m, full, scan, prev, j, k, mentions)
            weight = 1.0
            if all_people or origin:
                weight = sc["people"]
                m.people = True
            elif all_demonym and not (full[e:e + 1] == " " and scan[e + 1:scan.find(" ", e + 1)] in _PLACE_NOUNS):
                # (but "the Greek island of Rhodes", "the Somali capital" say where)
                weight = sc["demonym"]
            elif flags_any & EXACT and e + 1 < len(full) and full[e] == " " and full[e + 1].islower():
                word_after = scan[e + 1:scan.find(" ", e + 1)]
                if word_after not in _FUNCTION_WORDS and not word_after.endswith(("ing", "ed")):
                    weight = sc["demonym"]
            if m.actor:
                weight = min(weight, 1.0) * sc["actor"]
            if s < tlen:
                weight *= sc["title"]
            elif s < lede_end:
                weight *= sc["lede"]
            if m.sent in threat_sents:
                weight *= sc["threat_sentence"]
            if m.prep:
                weight *= sc["preposition"]
            m.weight = weight
            top = cands[0].flags
            m.weak = feature or bool(top & WEAK or (m.initial and top & (AMBIG | SUBDIV)))
            mentions.append(m)

        return self._resolve(mentions)

    def _read_context(self, m: _Mention, full: str, scan: str, prev: str, j: int, k: int,
                      mentions: list[_Mention]) -> bool:
        """Set what the words around mention ``m`` say of it: a place (after a preposition), who acts
        (an agent, an actor or a speaker, an embassy's country), or where people come from. ``prev``
        is the word before it, ending at ``j``; ``k`` is the space before that word. True for an origin."""
        c = self.compiled
        s, e = m.start, m.end
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
        return origin

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

    def _resolve(self, mentions: list[_Mention]) -> list[_Mention]:
        """Pick each mention's region. Support for an ambiguous or small place is local (its country
        named as a location in the same or a neighbouring sentence: "Mobile, Alabama", "Split,
        Croatia") or topical (the country the text is mostly about); for a well-known name that is also
        a word, its country named anywhere will do. A name with no support is dropped unless a place
        preposition stands before it ("in Nice")."""
        regions = self._regions
        # Owners named per sentence; a mention looks at its own sentence and both neighbours.
        by_sent: dict[int, set[str]] = {}
        weight: dict[str, float] = {}
        for m in mentions:
            # An embassy's country is the one place its city is not ("the US Embassy in Lima").
            if m.weak or m.people or m.mission:
                continue
            owner = m.owner
            if owner:
                # An actor still says whose ground is near ("Azerbaijani forces ... in the Kalbajar
                # district"), but not what the text is about.
                if m.sent in by_sent:
                    by_sent[m.sent].add(owner)
                else:
                    by_sent[m.sent] = {owner}
                if not m.actor:
                    weight[owner] = weight.get(owner, 0.0) + m.weight
        top = max(weight.values(), default=0.0)
        topical = {c for c, w in weight.items() if w >= 0.5 * top}
        named = set(weight)
        kept: list[_Mention] = []
        for m in mentions:
            chosen = None
            top_cand = m.cands[0]
            if regions[top_cand.region].kind == "country" and not top_cand.flags & (AMBIG | PERSON):
                chosen = top_cand  # a country's own name means the country, whatever else is named
            else:
                near: set[str] = set()
                for si in (m.sent - 1, m.sent, m.sent + 1):
                    if si in by_sent:
                        near |= by_sent[si]
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
            m.region = regions[chosen.region]
            kept.append(m)
        return kept

    def _score_regions(self, full: str, mentions: list[_Mention]) -> tuple[list[dict[str, Any]], list[str]]:
        sc = self._s
        known = self.gazetteer.regions
        score: dict[str, float] = defaultdict(float)
        geo: dict[str, float] = defaultdict(float)
        evidence: dict[str, list[Span]] = defaultdict(list)
        for m in mentions:
            region = m.region
            assert region is not None
            ev = {"text": full[m.start:m.end], "start": m.start, "end": m.end}
            located = not (m.actor or m.people)
            score[region.id] += m.weight
            if located:
                geo[region.id] += m.weight
            if len(evidence[region.id]) < _MAX_EVIDENCE:
                evidence[region.id].append(ev)
            if region.kind == "country":
                continue
            if region.country:
                owners: tuple[str, ...] = (region.country,)
            else:
                owners = tuple(p for p in region.parents if p in known and known[p].kind == "country")
            for owner in owners:
                share = m.weight / len(owners)
                score[owner] += share
                if located:
                    geo[owner] += share
                if len(evidence[owner]) < _MAX_EVIDENCE:
                    evidence[owner].append(ev)
        country_ids = [rid for rid in score if known[rid].kind == "country"]
        # Primary is decided on where things happen (geo), not on who speaks or whose citizens.
        top = max((geo[r] for r in country_ids), default=0.0)
        ratio, minimum = sc["primary_ratio"], sc["primary_min"]
        primary = sorted((r for r in country_ids if geo[r] >= ratio * top and geo[r] >= minimum),
                         key=lambda r: (-geo[r], -score[r]))
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
