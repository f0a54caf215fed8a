"""Evidence people read: the best sentence or two, spaced, without the title again."""

from __future__ import annotations

from domain.models import Evidence
from service.evidence import best_sentences, focus, readable, split_sentences


def _evidence(text: str, start: int = 0) -> Evidence:
    return Evidence(passage_index=0, start=start, end=start + len(text), text=text)


def test_glued_sentences_are_split_and_get_their_space_back():
    text = "An integrating sphere for RF is feasible.This will be shown on a planar array. U.S. Army e.g. tests it."
    assert split_sentences(text) == ["An integrating sphere for RF is feasible.", "This will be shown on a planar array.",
                                     "U.S. Army e.g. tests it."]
    assert readable("is feasible.This will") == "is feasible. This will"
    assert readable("see example.com and Node.js") == "see example.com and Node.js"


def test_a_sentence_glued_after_an_acronym_is_split_too():
    """The demo's evidence had read "... mitigating the loss of GPS.System & Technology Research is developing"."""
    text = "It mitigates the loss of GPS.System & Technology Research is developing a framework. NASA.gov hosts it."
    assert split_sentences(text) == ["It mitigates the loss of GPS.", "System & Technology Research is developing a framework.",
                                     "NASA.gov hosts it."]
    assert readable("the loss of GPS.System & Technology") == "the loss of GPS. System & Technology"
    assert readable("U.S.Army and e.g.The") == "U.S.Army and e.g.The"  # one letter before the stop: left alone


def test_the_best_one_or_two_sentences_not_the_whole_passage():
    title = "Integrating spheres for RF"
    passage = (f"{title}\n{title}. Antennas are hard to test indoors. We build an integrating sphere for RF "
               "measurement.The sphere gives a uniform field for antenna tests. Funding ends in 2027. "
               + "Unrelated filler sentence. " * 40)
    ev = focus(_evidence(passage, start=100), "uniform field antenna measurement chamber", title=title)
    assert ev.text == ("We build an integrating sphere for RF measurement. The sphere gives a uniform field for "
                       "antenna tests.")
    assert len(ev.text) < 320 and not ev.text.startswith(title)
    assert passage[ev.start - 100 : ev.end - 100].replace(".The", ". The") == ev.text  # offsets still point in


def test_japanese_sentences_by_sudachi_words():
    text = "本研究は三年計画である。ダイヤモンドNV中心を用いた量子センサで磁場を計測した。成果は学会で発表した。"
    a, b = best_sentences(text, {"量子", "センサ", "磁場"})
    assert text[a:b] == "ダイヤモンドNV中心を用いた量子センサで磁場を計測した。"
    assert focus(None, "x") is None


def test_a_text_that_starts_with_its_title_does_not_spend_the_evidence_on_it():
    title = "Atomic Triaxial Magnetometer"
    passage = f"{title}\n{title} Improved magnetic anomaly detection can counter threats from quieter submarines."
    ev = focus(_evidence(passage), "magnetic anomaly detection submarines", title=title)
    assert ev.text == "Improved magnetic anomaly detection can counter threats from quieter submarines."
    assert passage[ev.start : ev.end] == ev.text
    only = focus(_evidence(title), "magnetometer", title=title)
    assert only.text == title  # nothing else to show


# A real SBIR topic's tail (AF162-D001): its references and keywords once were the need-side evidence.
SBIR_TAIL = ("Phase II will demonstrate detection and defeat of small drones at a test range. "
             "REFERENCES:1. Mandelbaum, Jay; Ralston, James; Gutmanis, Ivars; Hull, Andrew; Martin, Christopher. "
             "Terrain Trafficability Analysis, IDA Paper P-5234, Institute for Defense Analyses, Aug 2015."
             "KEYWORDS: Drone, sUAS, UAS, counter-UAS, RF detection, jamming, kinetic defeat")


def test_references_keywords_and_boilerplate_are_never_evidence():
    from service.evidence import is_boilerplate, shown_evidence

    for text in ["REFERENCES:1. Mandelbaum, Jay; Ralston, James; Gutmanis, Ivars; Hull, Andrew.",
                 "Terrain Trafficability Analysis, IDA Paper P-5234, Institute for Defense Analyses, Aug 2015.",
                 "KEYWORDS: Drone, sUAS, UAS, counter-UAS, RF detection, jamming",
                 "Drone; sUAS; UAS; counter-UAS; RF detection; jamming; kinetic defeat",
                 "Smith, J., Doe, A. et al. Proceedings of the IEEE Radar Conference, pp. 12-19, 2019.",
                 "The technology within this topic is restricted under the International Traffic in Arms Regulation (ITAR).",
                 "Please direct questions to the AF SBIR/STTR Contracting Officer, Ms. Gail Nyikon, gail.nyikon@us.af.mil."]:
        assert is_boilerplate(text), text
    for text in ["Phase II will demonstrate detection and defeat of small drones at a test range.",
                 "The sensor, the antenna, the amplifier, the processor and the battery fit in 50 g.",
                 "本研究では、ダイヤモンド中の窒素空孔中心を用いた量子センサにより、室温で磁場感度を実証した。"]:
        assert not is_boilerplate(text), text

    # The ranker's passage is the references and keywords: the need's own best sentence is shown instead.
    need = "Counter-sUAS\nDevelop a system that can detect and defeat sUAS. " + SBIR_TAIL
    start = need.index("REFERENCES")
    ev = Evidence(passage_index=3, start=start, end=len(need), text=need[start:])
    shown = shown_evidence(ev, need, "Drone detection and jamming with RF sensing", title="Counter-sUAS")
    assert not is_boilerplate(shown.text) and "Mandelbaum" not in shown.text and "KEYWORDS" not in shown.text
    assert need[shown.start:shown.end] == shown.text
    # Within a passage that holds a statement too, the statement is chosen.
    start = need.index("Phase II")
    ev = Evidence(passage_index=2, start=start, end=len(need), text=need[start:])
    shown = shown_evidence(ev, need, "drone defeat", title="Counter-sUAS")
    assert shown.text == "Phase II will demonstrate detection and defeat of small drones at a test range."


def _cross_language_match(need_title: str, need_text: str, doc_title: str, doc_text: str, concepts: list[str]):
    from domain.models import DocKind, Document, Match, ScoreBreakdown
    from service.evidence import analysed

    need = Document(id="need-1", source="needs_file", kind=DocKind.need, title=need_title, text=need_text,
                    url="https://example.org/need")
    doc = Document(id="doc-1", source="feeds", kind=DocKind.startup, title=doc_title, text=doc_text,
                   url="https://example.org/doc")
    need_a, doc_a = analysed(need), analysed(doc)
    start = len(doc_title) + 1  # the ranker's passage: the whole text after the title
    match = Match(need_id=need.id, doc_id=doc.id, rank=1, score=0.3, breakdown=ScoreBreakdown(), title=doc_title,
                  shared_concepts=concepts,
                  need_evidence=Evidence(passage_index=0, start=0, end=len(need_a), text=need_a),
                  doc_evidence=Evidence(passage_index=0, start=start, end=len(doc_a), text=doc_a[start:]))
    return match, need, need_a, doc_a


def test_a_japanese_need_quotes_the_english_sentence_about_what_both_share():
    """Seen in the demo's mail: a Japanese need on radar-absorbing metamaterials quoted an English document's
    first sentence, "After the Daiichi nuclear disaster ...": the two share no word, so every sentence tied.
    The concepts both hold name the same thing in each language and decide."""
    from service.evidence import match_evidence

    match, need, need_a, doc_a = _cross_language_match(
        "広帯域・薄型の電波吸収メタマテリアル",
        "航空機のレーダ断面積を低減するため、薄く軽量な電波吸収体が求められている。メタマテリアルによる広帯域化を期待する。",
        "Metamaterial Void Sensor for Fast Transient Testing",
        "After the Daiichi nuclear disaster the US Congress placed emphasis on accident tolerant fuels. "
        "Testing such fuels takes months. We propose a metamaterial sensor whose resonance shifts with the void "
        "fraction. Funding will support two students.", ["metamaterial"])
    need_ev, doc_ev = match_evidence(match, need, need_a, doc_a)
    assert doc_ev.text == "We propose a metamaterial sensor whose resonance shifts with the void fraction."
    assert doc_a[doc_ev.start:doc_ev.end] == doc_ev.text
    assert "メタマテリアル" in need_ev.text


def test_an_english_need_quotes_the_japanese_sentence_about_what_both_share():
    from service.evidence import match_evidence

    match, need, need_a, doc_a = _cross_language_match(
        "GPS-denied navigation with quantum sensors",
        "Platforms lose satellite navigation under jamming. Quantum inertial sensors could bridge the gaps.",
        "東都工業大学、新しい研究棟を開設",
        "本学は新しい研究棟を開設した。式典には多くの来賓が出席した。研究棟では衛星測位が使えない環境での航法を研究する。",
        ["gnss"])
    _, doc_ev = match_evidence(match, need, need_a, doc_a)
    assert doc_ev.text == "研究棟では衛星測位が使えない環境での航法を研究する。"


def test_the_concepts_never_overrule_shared_words():
    """Where the two sides share words (a same-language pair), the concepts do not move the evidence: it stays
    the sentence that shares most words, the earlier one among equals."""
    text = "Funding ends in 2027. We test antennas indoors. A metamaterial absorber lines the chamber."
    a, b = best_sentences(text, {"antenna", "indoor"}, bridge={"metamaterial", "absorber"})
    assert text[a:b] == "We test antennas indoors."
    a, b = best_sentences(text, {"unrelated"}, bridge={"metamaterial", "absorber"})
    assert text[a:b] == "A metamaterial absorber lines the chamber."
    a, b = best_sentences(text, {"unrelated"})
    assert text[a:b] == "Funding ends in 2027."


def test_a_reference_mark_does_not_end_a_sentence():
    """The demo's Navy APT topic showed "... a stealthy foothold on a targeted system (Ref." as what the need
    says: "Ref." in brackets was read as the end of a sentence."""
    from service.evidence import split_sentences

    text = ("The Advanced Persistent Threat (APT) is a cyber-adversary that attempts to gain a stealthy foothold on "
            "a targeted system (Ref. 1). The APT can remain present within the system (Refs. 2, 3). See Fig. 4.")
    assert split_sentences(text) == [
        "The Advanced Persistent Threat (APT) is a cyber-adversary that attempts to gain a stealthy foothold on "
        "a targeted system (Ref. 1).", "The APT can remain present within the system (Refs. 2, 3).", "See Fig. 4."]


def test_an_address_is_found_as_the_plain_pattern_found_it_in_linear_time():
    """The address pattern tried only from the start of a run says what the plain one said, on random text."""
    import random
    import re

    from service.evidence import _ADDRESS, is_boilerplate

    plain, linear = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"), re.compile(_ADDRESS)
    rng = random.Random(28)
    for _ in range(5000):
        text = "".join(rng.choice("ab1._+-@ é") for _ in range(rng.randint(0, 24)))
        assert bool(plain.search(text)) == bool(linear.search(text)), text
    assert is_boilerplate("Write to j.doe+scout@example.co.jp for details.")
    assert not is_boilerplate("x" * 5000)


def test_a_ranker_span_that_is_the_title_alone_gives_way_to_the_texts_best_sentence():
    """The demo's mail quoted "Load Bearing Thermal Protection Structure for Hypersonic Flight" as what that
    award says (the ranker's evidence span was the title line of the analysed text, 0-63): the need page, the
    brief and the mail now quote the text's best sentence for the need, as they do for boilerplate."""
    from service.evidence import shown_evidence

    title = "Load Bearing Thermal Protection Structure for Hypersonic Flight"
    text = (f"{title} Hypersonic weapons and vehicle systems require high temperature structures to resist aerothermal "
            "loads.Load bearing thermal protection systems can reduce size and weight by 50% or more over traditional "
            "parasitic thermal protection systems.")
    analysed_text = f"{title}\n{text}"
    ranker_span = Evidence(passage_index=0, start=0, end=len(title), text=title)
    need = "Hypersonic vehicles need load bearing thermal protection systems that reduce weight."
    shown = shown_evidence(ranker_span, analysed_text, need, title=title)
    assert shown.text == ("Hypersonic weapons and vehicle systems require high temperature structures to resist "
                          "aerothermal loads. Load bearing thermal protection systems can reduce size and weight by "
                          "50% or more over traditional parasitic thermal protection systems.")
    assert analysed_text[shown.start:shown.end].startswith("Hypersonic weapons")  # offsets still point in
    # a document that is its title and nothing more still shows it
    assert shown_evidence(ranker_span, title, need, title=title).text == title
