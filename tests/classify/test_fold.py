from __future__ import annotations

from monitor.classify.fold import fold, scan_form, scan_key, sentence_of, sentence_starts


def test_fold_keeps_length_and_drops_diacritics() -> None:
    for text in ["Türkiye", "Côte d’Ivoire", "İstanbul", "Naxçıvan", "Şəmkir", "ÆØÅ"]:
        assert len(fold(text)) == len(text)
    assert fold("Türkiye") == "turkiye"
    assert fold("Côte d’Ivoire") == "cote d'ivoire"


def test_scan_form_is_ascii_with_punctuation_as_spaces() -> None:
    text = "The U.S. Embassy in Baku—“Kyiv”, Qarabağ!"
    scan = scan_form(text)
    assert len(scan) == len(text)
    assert scan.isascii()
    assert scan == "the u s  embassy in baku  kyiv   qarabag "


def test_scan_key_marks_word_boundaries() -> None:
    assert scan_key("Nagorno-Karabakh") == " nagorno karabakh "
    assert scan_key("kidnap", prefix=True) == " kidnap"
    # Punctuation inside a name folds the same way as in the text it must meet.
    assert scan_key("St. Kitts") in f" {scan_form('Visit St. Kitts today')} "


def test_sentences_do_not_split_after_initials() -> None:
    text = "The U.S. Embassy warned. Next one!\n\nA new line"
    starts = sentence_starts(text)
    assert [text[s:s + 4] for s in starts] == ["The ", "Next", "A ne"]
    assert sentence_of(starts, text.index("Embassy")) == 0
    assert sentence_of(starts, text.index("line")) == 2


def test_vietnamese_and_dotted_transliterations_fold_to_plain_letters() -> None:
    text = "Al Ḩudaydah, Hà Nội, Đà Nẵng, Şanlıurfa"
    assert scan_form(text) == "al hudaydah  ha noi  da nang  sanliurfa"
    assert len(scan_form(text)) == len(text)
